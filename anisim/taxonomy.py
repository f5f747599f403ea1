"""MyAnimeList's tag taxonomy: which tags are genres and which are demographics.

Some sources (the CSV dumps) mix genres, themes and demographics in one pipe-separated field;
MAL's fixed lists of genres and demographics split them back. Every other tag is a theme.
"""

from __future__ import annotations

MAL_GENRES = frozenset({
    "Action", "Adventure", "Avant Garde", "Award Winning", "Boys Love", "Comedy", "Drama",
    "Ecchi", "Erotica", "Fantasy", "Girls Love", "Gourmet", "Hentai", "Horror", "Mystery",
    "Romance", "Sci-Fi", "Slice of Life", "Sports", "Supernatural", "Suspense",
})
MAL_DEMOGRAPHICS = frozenset({"Josei", "Kids", "Seinen", "Shoujo", "Shounen"})
ADULT_GENRES = frozenset({"Hentai", "Erotica"})


def split_tags(tags: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Split mixed MAL tags into (genres, themes, demographics), keeping their order."""
    genres = [t for t in tags if t in MAL_GENRES]
    demographics = [t for t in tags if t in MAL_DEMOGRAPHICS]
    themes = [t for t in tags if t not in MAL_GENRES and t not in MAL_DEMOGRAPHICS]
    return genres, themes, demographics


def is_adult(genres: list[str] | None) -> bool | None:
    """True when the genres mark adult content; None when the genres are unknown."""
    if genres is None:
        return None
    return any(g in ADULT_GENRES for g in genres)
