"""Search one catalog: dense, lexical (BM25) or hybrid scores, filters, exact pages.

Hybrid is a convex combination of the dense cosine and the BM25 score scaled by the query's best
BM25 score, so it stays in [-1, 1] and shows as a similarity. The weight was tuned on the dev sets
(README, "Retrieval quality"). Encoding is not done here: the caller passes the query vector, so
the service can batch encoding in its own process and `anisim eval` can encode in bulk.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np

from anisim.catalog import Catalog
from anisim.filters import Facets, Filters
from anisim.index import Index
from anisim.lexical import LexicalScorer
from anisim.ranking import Page, page_of
from anisim.similarity import DenseScorer

Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)
DEFAULT_MODE: Mode = "hybrid"
HYBRID_LEXICAL_WEIGHT = 0.3


def scaled(lexical: np.ndarray) -> np.ndarray:
    """BM25 scores divided by the query's best one, so they fall in [0, 1] like a similarity."""
    best = float(lexical.max(initial=0.0))
    return (lexical / best if best > 0 else lexical).astype(np.float32)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float = HYBRID_LEXICAL_WEIGHT) -> np.ndarray:
    """(1 - weight) * dense + weight * scaled(lexical)."""
    return ((1.0 - weight) * dense + weight * scaled(lexical)).astype(np.float32)


class Searcher:
    """Everything needed to answer queries over one catalog with one model's index."""

    def __init__(self, catalog: Catalog, index: Index) -> None:
        self.catalog = catalog
        self.model = index.model
        self.dense = DenseScorer(index, len(catalog.items))
        self.lexical = LexicalScorer(catalog)
        self.facets = Facets(catalog)

    @staticmethod
    def needs_vector(mode: str) -> bool:
        return mode != "lexical"

    def scores(self, query: str, vector: np.ndarray | None, mode: str = DEFAULT_MODE) -> np.ndarray:
        """One score per item (catalog order) for a cleaned query and its unit vector."""
        if mode == "lexical":
            return scaled(self.lexical.scores(query))
        dense = self.dense.scores(vector)[0]
        if mode == "dense":
            return dense
        return fuse(dense, self.lexical.scores(query))

    def search(self, query: str, vector: np.ndarray | None, mode: str = DEFAULT_MODE, page: int = 1,
               page_size: int = 10, filters: Filters = Filters()) -> Page:
        return page_of(self.scores(query, vector, mode), page, page_size, filters.mask(self.facets))

    def similar(self, item_id: int, page: int = 1, page_size: int = 10,
                filters: Filters = Filters()) -> Page:
        """Titles nearest to one title by meaning; never the title itself. KeyError if unknown id."""
        position = int(self.catalog.position[item_id])
        scores = self.dense.scores(self.dense.item_vector(position))[0]
        allowed = filters.mask(self.facets)
        allowed = np.ones(scores.size, dtype=bool) if allowed is None else allowed.copy()
        allowed[position] = False
        return page_of(scores, page, page_size, allowed)
