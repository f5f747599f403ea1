"""int8 copies of an index's rows, and a bound on how far each score they give can be from the exact one.

A query's scan over every row is the one cost of search that grows with the catalog, and it is
bound by memory: float32 rows are 1.5 KB each. In int8 they are 384 bytes, and SimSIMD's int8 dot
products read them four times faster (docs/performance.md). A score from the codes is not the
exact cosine, but each row's error has a bound, so the exact ranking can be recovered by
rescoring, in float32, only the items whose bound lets them reach a page (`anisim.ranking.refined`).

Each dimension is scaled to use the full int8 range (`scale`); the query, scaled the same way, is
quantised too. For a unit query q, a row v and its codes c:

    q . v = step * (q_codes . c) + (rounding of the query) . c + q . (v - scale * c)

and the last two are at most `step / 2 * sum |c|` and `|v - scale * c|`, which are kept per item
(their largest over the item's rows).
"""

from __future__ import annotations

import numpy as np
import simsimd

CHUNK_ROWS = 65_536  # rows quantised at a time: the float temporaries stay small
ROUNDING = 1e-5      # float32 arithmetic in the exact scores, far above its real size


class QuantizedRows:
    """The int8 codes of an index's rows, and per item the two parts of its error bound."""

    def __init__(self, vectors: np.ndarray, starts: np.ndarray) -> None:
        """`starts`: the first row of each item (rows are grouped by item)."""
        peak = np.abs(vectors).max(axis=0) if len(vectors) else np.ones(vectors.shape[1], np.float32)
        self.scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        self.codes = np.empty(vectors.shape, dtype=np.int8)
        residual = np.empty(len(vectors), dtype=np.float32)
        weight = np.empty(len(vectors), dtype=np.float32)
        for first in range(0, len(vectors), CHUNK_ROWS):
            block = np.asarray(vectors[first:first + CHUNK_ROWS], dtype=np.float32)
            codes = np.rint(block / self.scale).astype(np.int8)
            self.codes[first:first + CHUNK_ROWS] = codes
            residual[first:first + CHUNK_ROWS] = np.linalg.norm(block - codes * self.scale, axis=1)
            weight[first:first + CHUNK_ROWS] = np.abs(codes.astype(np.int32)).sum(axis=1) / 2.0
        self.starts = starts
        self.residual = np.maximum.reduceat(residual, starts) if len(starts) else residual
        self.weight = np.maximum.reduceat(weight, starts) if len(starts) else weight
        # for each k >= 1, the items with more than k rows and their (k+1)-th row: an item's best
        # row is then a few gathers (most titles have one or two rows), where `reduceat` over
        # 100k short segments took 0.8 ms, a third of the pass
        lengths = np.diff(np.r_[starts, len(vectors)]) if len(starts) else starts
        self.later_rows = [(items, starts[items] + k) for k in range(1, int(lengths.max(initial=1)))
                           if (items := np.flatnonzero(lengths > k)).size]

    def scores(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each item's approximate score (its best row's) and the most it can be off by."""
        scaled = np.asarray(query, dtype=np.float32) * self.scale
        step = float(np.abs(scaled).max()) / 127.0 or 1.0
        codes = np.rint(scaled / step).astype(np.int8)
        # one thread: a split scan (1.85 -> 1.26 ms for 140k rows alone) fought ONNX Runtime's
        # threads for the 2 cores and doubled both in a search (profile_search.py --size 100000)
        rows = np.asarray(simsimd.cdist(codes[None], self.codes, metric="dot", out_dtype="float32"))[0]
        best = rows[self.starts]
        for items, later in self.later_rows:
            best[items] = np.maximum(best[items], rows[later])
        approximate = best * np.float32(step)
        norm = float(np.linalg.norm(query))
        return approximate, self.residual * norm + self.weight * step + ROUNDING
