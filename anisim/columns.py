"""Per-item columns of a catalog, built once at load: what the filters, the ranking terms and the
response records read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from anisim.catalog import MAKER_FIELDS
from anisim.filters import NAME_FIELDS
from anisim.priors import main_entry, mal_score, numbers, popularity, reach
from anisim.taxonomy import TAG_FIELDS

if TYPE_CHECKING:
    from anisim.catalog import Catalog

# Content ratings a kids' title has, and a title for grown-ups (MAL's; "Rx" is hentai, not meant).
_KIDS_RATINGS = ("G - All Ages", "PG - Children")
_MATURE_RATINGS = ("R - 17+", "R+ - ")


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Membership:
    """Which names of a vocabulary (genres, studios, ...) each item has, kept as each name's item
    positions: a filter or a cue over the whole catalog is a few vector operations, and a large
    vocabulary (thousands of authors) costs memory in proportion to the names items have."""

    def __init__(self, per_item: list[set[str]]) -> None:
        self.size = len(per_item)
        rows: dict[str, list[int]] = {}
        for position, names in enumerate(per_item):
            for name in names:
                rows.setdefault(name, []).append(position)
        self.rows = {name: np.array(found, dtype=np.int64) for name, found in rows.items()}

    def count(self, wanted: set[str]) -> np.ndarray:
        """How many of `wanted` each item has."""
        out = np.zeros(self.size, dtype=np.int64)
        for name in wanted:
            if name in self.rows:
                out[self.rows[name]] += 1
        return out

    def any_of(self, wanted: set[str]) -> np.ndarray:
        return self.count(wanted) > 0

    def all_of(self, wanted: set[str]) -> np.ndarray:
        return self.count(wanted) == len(wanted)


class Columns:
    """A catalog's per-item columns, in catalog order."""

    def __init__(self, catalog: Catalog) -> None:
        items = catalog.items
        self.size = len(items)
        # what a record shows: each item's fields, its title by MAL id, its synopses' rows
        self.rows = items.to_dict(orient="records")
        self.titles = dict(zip(items["id"], items["title"]))
        self.synopsis_starts, self.synopsis_ends = catalog.synopsis_ranges()
        self.types = np.array([t or "" for t in items["type"]], dtype=object)  # as MAL writes them
        self.types_lower = np.array([t.lower() for t in self.types], dtype=object)
        self.years = numbers(items["start_year"])
        self.scores = numbers(items["score"])
        self.adult = np.array([bool(a) for a in items["adult"]])
        self.popularity = popularity(catalog)
        self.reach = reach(catalog)
        self.main_entry = main_entry(catalog)
        self.mal_score = mal_score(catalog)
        # studios, authors and magazines: the makers people name ("Ghibli", "Jump"); producers are
        # mostly broadcasters and labels ("Cartoon Network" says where it aired, not who made it)
        self.makers = [{n for names in group for n in (names or [])} for group in zip(*(items[f] for f in MAKER_FIELDS))]
        self.makers_lower = Membership([{n.lower() for n in m} for m in self.makers])
        self.demographics = Membership([set(d or []) for d in items["demographics"]])
        self.genres = Membership([set(g or []) | set(t or []) for g, t in zip(items["genres"], items["themes"])])
        ratings = [r or "" for r in items["rating"]]
        # audiences a content rating says a title is for, besides its demographics
        self.rated = {audience: np.array([r.startswith(prefixes) for r in ratings])
                      for audience, prefixes in (("Kids", _KIDS_RATINGS), ("Mature", _MATURE_RATINGS))}
        # what filters match, lower-cased: tags are genres, themes and demographics alike
        self.tags = Membership([{t.lower() for field in fields for t in (field or [])}
                                for fields in zip(*(items[field] for field in TAG_FIELDS))])
        self.names = {field: Membership([{n.lower() for n in _as_list(v)} for v in items[field]])
                      for field in NAME_FIELDS}

    def maker_names(self) -> set[str]:
        """Every studio, author and magazine of the catalog (for `understanding.Names`)."""
        return set().union(*self.makers) if self.makers else set()
