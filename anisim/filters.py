"""Search filters, applied as a boolean mask over items *before* ranking (so pages stay full)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

# Who made it and where it came from: a filter on each keeps titles with any of its names.
NAME_FIELDS = ("studios", "source_material", "authors", "serialization")

if TYPE_CHECKING:
    from anisim.columns import Columns


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

    def mask(self, columns: Columns) -> np.ndarray | None:
        """Allowed items, or None when nothing is filtered. Unknown values never pass a range."""
        if self == Filters():
            return None
        allowed = np.ones(columns.size, dtype=bool)
        include = {g.lower() for g in self.genres}
        exclude = {g.lower() for g in self.exclude_genres}
        if include:
            allowed &= columns.tags.all_of(include)
        if exclude:
            allowed &= ~columns.tags.any_of(exclude)
        if self.types:
            allowed &= np.isin(columns.types_lower, [t.lower() for t in self.types])
        with np.errstate(invalid="ignore"):
            if self.year_min is not None:
                allowed &= columns.years >= self.year_min
            if self.year_max is not None:
                allowed &= columns.years <= self.year_max
            if self.min_score is not None:
                allowed &= columns.scores >= self.min_score
        if self.exclude_adult:
            allowed &= ~columns.adult
        for field in NAME_FIELDS:
            wanted = {n.lower() for n in getattr(self, field)}
            if wanted:
                allowed &= columns.names[field].any_of(wanted)
        return allowed
