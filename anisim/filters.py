"""Search filters, applied as a boolean mask over items *before* ranking (so pages stay full)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from anisim.taxonomy import TAG_FIELDS

# Who made it and where it came from: a filter on each keeps titles with any of its names.
NAME_FIELDS = ("studios", "source_material", "authors", "serialization")


def numbers(column: pd.Series) -> np.ndarray:
    """A column as floats, NaN where unknown (None or pandas' NA alike)."""
    import pandas as pd  # here: the processes that only validate requests never load pandas (~75 MB)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)

if TYPE_CHECKING:
    import pandas as pd

    from anisim.catalog import Catalog


class Facets:
    """Per-item filter fields of a catalog, precomputed as arrays (lower-cased where textual)."""

    def __init__(self, catalog: Catalog) -> None:
        items = catalog.items
        self.tags = [
            {t.lower() for t in (g or []) + (th or []) + (d or [])}
            for g, th, d in zip(*(items[field] for field in TAG_FIELDS))
        ]
        self.types = np.array([(t or "").lower() for t in items["type"]], dtype=object)
        self.years = numbers(items["start_year"])
        self.scores = numbers(items["score"])
        self.adult = np.array([bool(a) for a in items["adult"]])
        self.names = {field: [{n.lower() for n in _as_list(v)} for v in items[field]] for field in NAME_FIELDS}


@dataclass(frozen=True)
class Filters:
    """What a v1 client may ask for. Tags match MAL genres, themes and demographics alike.
    The v1 request schema (`anisim.api.schemas.SearchFilters`) has these fields, by these names."""

    genres: tuple[str, ...] = ()
    exclude_genres: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    min_score: float | None = None
    exclude_adult: bool = False
    studios: tuple[str, ...] = ()
    source_material: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    serialization: tuple[str, ...] = ()

    def mask(self, facets: Facets) -> np.ndarray | None:
        """Allowed items, or None when nothing is filtered. Unknown values never pass a range."""
        if self == Filters():
            return None
        allowed = np.ones(len(facets.tags), dtype=bool)
        include = {g.lower() for g in self.genres}
        exclude = {g.lower() for g in self.exclude_genres}
        if include or exclude:
            allowed &= np.array([include <= tags and not (exclude & tags) for tags in facets.tags])
        if self.types:
            allowed &= np.isin(facets.types, [t.lower() for t in self.types])
        with np.errstate(invalid="ignore"):
            if self.year_min is not None:
                allowed &= facets.years >= self.year_min
            if self.year_max is not None:
                allowed &= facets.years <= self.year_max
            if self.min_score is not None:
                allowed &= facets.scores >= self.min_score
        if self.exclude_adult:
            allowed &= ~facets.adult
        for field in NAME_FIELDS:
            wanted = {n.lower() for n in getattr(self, field)}
            if wanted:
                allowed &= np.array([bool(wanted & names) for names in facets.names[field]])
        return allowed
