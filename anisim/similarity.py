"""Dense similarity: query vectors against every row of an index, reduced to one score per item.

An item's score is its best row (its best synopsis or passage), so a title with several synopses
or a long one split into passages is judged by the text that matches best. Exact scores are a
float32 dot product with every row (what `anisim eval` ranks by); a page is found from the
rows' int8 codes first (`anisim.quantized`) and made exact where it counts (`exact_at`).
"""

from __future__ import annotations

import mmap

import numpy as np

from anisim.index import Index
from anisim.quantized import QuantizedRows


def release_pages(vectors: np.ndarray) -> None:
    """A memory-mapped array's pages leave this process's resident memory (the file stays in the
    OS's page cache, shared): after the int8 codes are made, a search reads back only the rows it
    rescores, so the float32 rows need not stay resident (63 MB of the API worker today)."""
    mapped = getattr(vectors, "_mmap", None)
    if mapped is not None:
        mapped.madvise(mmap.MADV_DONTNEED)


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
        self.quantized = QuantizedRows(self.vectors, self.starts)
        release_pages(self.vectors)

    def scores(self, queries: np.ndarray) -> np.ndarray:
        """(q, n_items) cosine similarity of each query with each item's best row. Row by row
        (`vecdot`), not one matrix product: a row's score is then the same bits wherever the row
        lies, so `exact_at` over a few rows agrees with it (a matrix product rounds the last rows
        of a block differently: 1 float32 step, which reorders exact ties)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        row_scores = np.vecdot(self.vectors, queries[:, None, :])
        return np.maximum.reduceat(row_scores, self.starts, axis=1)

    def approximate(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each item's score from the int8 codes, and the most it can differ from `scores`'."""
        return self.quantized.scores(query)

    def exact_at(self, query: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """`scores` of some items only, to the bit: the same dot products over just their rows
        (over every row when most items are asked for, as a deep page asks: no copy of the rows)."""
        if not positions.size:
            return np.zeros(0, dtype=np.float32)
        if 2 * positions.size > self.n_items:
            return self.scores(query)[0][positions]
        lengths = self.ends[positions] - self.starts[positions]
        offsets = np.r_[0, np.cumsum(lengths)[:-1]]  # where each item's rows begin among those gathered
        rows = np.repeat(self.starts[positions] - offsets, lengths) + np.arange(lengths.sum())
        row_scores = np.vecdot(self.vectors[rows], np.asarray(query, dtype=np.float32))
        return np.maximum.reduceat(row_scores, offsets)

    def best_rows(self, query: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """For each item position, the index row that gave it its score (a few dot products per
        item: only the page's items are looked at, and nothing is encoded again)."""
        return np.array([start + int(np.argmax(np.vecdot(self.vectors[start:end], query)))
                         for start, end in zip(self.starts[positions], self.ends[positions])], dtype=np.int64)

    def item_vector(self, position: int) -> np.ndarray:
        """A unit vector for one item: the normalised mean of its rows (for "more like this")."""
        mean = self.vectors[self.starts[position]:self.ends[position]].mean(axis=0)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)
