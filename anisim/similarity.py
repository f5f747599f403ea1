"""Dense similarity: query vectors against every row of an index, reduced to one score per item.

An item's score is its best row (its best synopsis or passage), so a title with several synopses
or a long one split into passages is judged by the text that matches best. Brute force: one
float32 matrix product; see `scripts/bench.py` for where that stops being enough.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
from threadpoolctl import ThreadpoolController

from anisim.index import Index

_THREADPOOLS = ThreadpoolController()


def one_blas_thread() -> AbstractContextManager:
    """Run NumPy's BLAS on one thread inside the block (costs ~8 us).

    One query's product is small, and extra BLAS threads keep spinning after it, fighting the
    encoder's torch threads for the cores: on 2 cores that doubled single-query latency in-process
    (21-22 -> 40-50 ms) and took half the API process's CPU under load (scripts/bench.py)."""
    return _THREADPOOLS.limit(limits=1, user_api="blas")


class DenseScorer:
    """Holds an index's vectors and the start of each item's rows (rows are grouped by item)."""

    def __init__(self, index: Index, n_items: int) -> None:
        rows = index.rows
        if rows.size and (np.any(np.diff(rows) < 0) or np.unique(rows).size != n_items):
            raise ValueError("index rows must be grouped by item and cover every item")
        self.vectors = index.vectors
        self.rows = rows
        self.starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows
        self.ends = np.r_[self.starts[1:], rows.size]
        self.n_items = n_items

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """(q, n_items) cosine similarity of each query with each item's best row."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        with one_blas_thread():
            row_scores = queries @ self.vectors.T
        return np.maximum.reduceat(row_scores, self.starts, axis=1)

    def best_rows(self, query: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """For each item position, the index row that gave it its score (a few dot products per
        item: only the page's items are looked at, and nothing is encoded again)."""
        return np.array([start + int(np.argmax(self.vectors[start:end] @ query))
                         for start, end in zip(self.starts[positions], self.ends[positions])], dtype=np.int64)

    def item_vector(self, position: int) -> np.ndarray:
        """A unit vector for one item: the normalised mean of its rows (for "more like this")."""
        mean = self.vectors[self.starts[position]:self.ends[position]].mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
