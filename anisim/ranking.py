"""One stable order over items, and exact pages of it.

The order is score descending, then catalog position ascending (the catalog is sorted by MAL id,
so ties break by id). Page p of size n is exactly ranks (p-1)*n+1 .. p*n of that order among the
items the filters allow: pages never overlap, skip or come back short while items remain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Match:
    """Why a result is there: the text that scored best (a synopsis or a passage of one), the row
    of `catalog.synopses` it belongs to, and which term it earned: "meaning" (the dense cosine) or
    "words" (BM25); None where no search said (a title shown on its own)."""

    text: str
    synopsis_row: int
    by: str | None = None


@dataclass(frozen=True)
class Page:
    positions: np.ndarray  # catalog positions, best first
    ranks: np.ndarray      # 1-based global ranks
    scores: np.ndarray
    total: int             # items the filters allow
    matches: tuple[Match, ...] = ()  # one per result, when the searcher says what matched

    @property
    def has_more(self) -> bool:
        return bool(self.ranks.size) and int(self.ranks[-1]) < self.total


def top_positions(scores: np.ndarray, k: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Positions of the k best allowed items in the stable order (exact, also across ties)."""
    candidates = np.flatnonzero(allowed) if allowed is not None else np.arange(scores.size)
    if k <= 0 or candidates.size == 0:
        return candidates[:0]
    values = scores[candidates]
    if k < candidates.size:
        kth_best = np.partition(values, candidates.size - k)[candidates.size - k]
        keep = values >= kth_best  # every tie at the cut-off stays, so the sort below decides
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))
    return candidates[order][:k]


def refined(scores: np.ndarray, margin: np.ndarray, k: int, allowed: np.ndarray | None,
            exact: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Approximate `scores` (each within `margin` of its exact value) made exact wherever an item
    could be among the k best allowed: those items get `exact(positions)`, and every other item's
    exact score, and its approximate one, lie below the k-th best exact score. So the first k of
    the stable order, and any page within them, are those of the exact scores."""
    lower = scores - margin
    if allowed is not None:
        lower = np.where(allowed, lower, -np.inf)
    count = int(allowed.sum()) if allowed is not None else scores.size
    if k >= count:
        positions = np.flatnonzero(allowed) if allowed is not None else np.arange(scores.size)
    else:
        kth_lower = np.partition(lower, scores.size - k)[scores.size - k]  # k items surely reach it
        reach = scores + margin >= kth_lower
        positions = np.flatnonzero(reach & allowed if allowed is not None else reach)
    out = scores.copy()
    out[positions] = exact(positions)
    return out


def page_of(scores: np.ndarray, page: int, page_size: int, allowed: np.ndarray | None = None) -> Page:
    """Page `page` (1-based) of `page_size` items."""
    first = (page - 1) * page_size
    best = top_positions(scores, first + page_size, allowed)
    positions = best[first:]
    total = int(allowed.sum()) if allowed is not None else int(scores.size)
    ranks = np.arange(first + 1, first + 1 + positions.size)
    return Page(positions, ranks, scores[positions], total)
