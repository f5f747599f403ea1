"""MyAnimeList's taxonomy: which tags are genres, themes and demographics, and the type names.

Some sources mix tags in one field: the CSV dumps put MAL's genres, themes and demographics in one
pipe-separated field (every tag there is MAL's, so whatever is not a genre or a demographic is a
theme); the anime-mapper JSON adds AniList-style tags ("Space Travel", "Bounty Hunter") to MAL's,
which stay apart, in `tags`, so filters and chips never mix the two vocabularies.
"""

from __future__ import annotations

MAL_GENRES = frozenset({
    "Action", "Adventure", "Avant Garde", "Award Winning", "Boys Love", "Comedy", "Drama",
    "Ecchi", "Erotica", "Fantasy", "Girls Love", "Gourmet", "Hentai", "Horror", "Mystery",
    "Romance", "Sci-Fi", "Slice of Life", "Sports", "Supernatural", "Suspense",
})
MAL_DEMOGRAPHICS = frozenset({"Josei", "Kids", "Seinen", "Shoujo", "Shounen"})
TAG_FIELDS = ("genres", "themes", "demographics")  # the catalog's MAL tag fields, which filters use
MAL_THEMES = frozenset({
    "Adult Cast", "Anthropomorphic", "CGDCT", "Childcare", "Combat Sports", "Crossdressing", "Delinquents",
    "Detective", "Educational", "Gag Humor", "Gore", "Harem", "High Stakes Game", "Historical", "Idols (Female)",
    "Idols (Male)", "Isekai", "Iyashikei", "Love Polygon", "Love Status Quo", "Magical Sex Shift", "Mahou Shoujo",
    "Martial Arts", "Mecha", "Medical", "Military", "Music", "Mythology", "Organized Crime", "Otaku Culture",
    "Parody", "Performing Arts", "Pets", "Psychological", "Racing", "Reincarnation", "Reverse Harem", "Samurai",
    "School", "Showbiz", "Space", "Strategy Game", "Super Power", "Survival", "Team Sports", "Time Travel",
    "Urban Fantasy", "Vampire", "Video Game", "Villainess", "Visual Arts", "Workplace",
})
# Type spellings seen in the sources -> MAL's names (AniList's TV_SHORT is a TV series on MAL).
_TYPES = {"tv": "TV", "tv_short": "TV", "tv short": "TV", "movie": "Movie", "ova": "OVA", "ona": "ONA",
          "special": "Special", "tv special": "TV Special", "tv_special": "TV Special", "music": "Music",
          "cm": "CM", "pv": "PV", "manga": "Manga", "manhwa": "Manhwa", "manhua": "Manhua", "one-shot": "One-shot",
          "one_shot": "One-shot", "light novel": "Light Novel", "light_novel": "Light Novel", "novel": "Novel",
          "doujinshi": "Doujinshi"}
ADULT_GENRES = frozenset({"Hentai", "Erotica"})


def split_tags(tags: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Split mixed MAL tags into (genres, themes, demographics), keeping their order."""
    genres = [t for t in tags if t in MAL_GENRES]
    demographics = [t for t in tags if t in MAL_DEMOGRAPHICS]
    themes = [t for t in tags if t not in MAL_GENRES and t not in MAL_DEMOGRAPHICS]
    return genres, themes, demographics


def split_foreign_tags(tags: list[str]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Split MAL tags mixed with another site's into (genres, themes, demographics, other tags)."""
    genres, _, demographics = split_tags(tags)
    themes = [t for t in tags if t in MAL_THEMES]
    mal = MAL_GENRES | MAL_THEMES | MAL_DEMOGRAPHICS
    return genres, themes, demographics, [t for t in tags if t not in mal]


def normal_type(value: str | None) -> str | None:
    """MAL's spelling of a type ('MOVIE' -> 'Movie', 'TV_SHORT' -> 'TV'); an unknown type is kept."""
    if value is None:
        return None
    return _TYPES.get(value.strip().lower(), value.strip())


def is_adult(genres: list[str] | None) -> bool | None:
    """True when the genres mark adult content; None when the genres are unknown."""
    if genres is None:
        return None
    return any(g in ADULT_GENRES for g in genres)
