"""Cost curve: how a search's time, memory and start grow with the catalog (25k to 200k titles).

    python scripts/bench_scale.py [--sizes 25000,50000,100000,200000] [--queries 200] [--json]

The whole anime catalog (about 22k titles) is grown to each size by repeating its titles under new
ids, with their synopses, tags, makers and index rows: right for a cost curve, never for a
quality figure. Each size runs in a fresh process, so its memory is its own:
- single query p50 / p95 in process (understanding, encoding with ONNX Runtime, hybrid search,
  page), and the batched ceiling (64 queries encoded at once, then each searched): `bench.py`'s;
- resident memory of that process once the searcher is built (what the API worker holds for one
  kind and one model; the vectors saved and memory-mapped, as the service reads them);
- start: building the searcher from the loaded catalog and index (the BM25 index, the columns,
  the maker names), which a cold start pays after reading the files;
- index build: the rows over this machine's measured encode rate (`--rate`), extrapolated.
Needs a built home (`anisim prepare`). Prints a table; --json prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from bench import SETTINGS, bench_ceiling, query_mix

from anisim.catalog import Catalog, load_catalog
from anisim.index import Index, Units, load_index
from anisim.lexical import LexicalScorer, item_documents
from anisim.models import resolve
from anisim.search import Searcher

OFFSET = 10_000_000  # a repeated title's id: its own plus a multiple of this
ENCODE_RATE = 75.0   # texts/s, ONNX Runtime on this machine's 2 cores (docs/performance.md)


def grown(catalog: Catalog, index: Index, size: int) -> tuple[Catalog, Index]:
    """The catalog and its index repeated under new ids up to `size` titles."""
    n_items, n_synopses = len(catalog.items), len(catalog.synopses)
    copies = -(-size // n_items)
    items = pd.concat([catalog.items.assign(id=catalog.items["id"] + k * OFFSET) for k in range(copies)])[:size]
    synopses = pd.concat([catalog.synopses.assign(item_id=catalog.synopses["item_id"] + k * OFFSET)
                          for k in range(copies)])
    synopses = synopses[synopses["item_id"].isin(set(items["id"]))]
    rows = np.concatenate([index.rows + k * n_items for k in range(copies)])
    keep = rows < size
    rows = rows[keep]
    units = Units(rows, np.concatenate([index.units.synopses + k * n_synopses for k in range(copies)])[keep],
                  [t for t, k in zip(index.units.texts * copies, keep) if k])
    vectors = np.ascontiguousarray(np.tile(index.vectors, (copies, 1))[keep])
    return Catalog(catalog.kind, items, synopses), Index(vectors, rows, index.manifest, units)


def memory_mapped(index: Index, folder: Path) -> Index:
    """The index with its vectors saved and read back memory-mapped, as `load_index` reads them."""
    np.save(folder / "vectors.npy", index.vectors)
    return dataclasses.replace(index, vectors=np.load(folder / "vectors.npy", mmap_mode="r"))


def one_size(size: int, queries: int) -> dict:
    """Everything measured at one size, in this process."""
    spec = resolve(SETTINGS.models[0])
    catalog = load_catalog(SETTINGS.home / "catalog", "anime")
    catalog, index = grown(catalog, load_index(catalog, spec, SETTINGS.home), size)
    with tempfile.TemporaryDirectory(prefix="anisim-scale-") as folder:
        index = memory_mapped(index, Path(folder))
        gc.collect()
        started = time.perf_counter()
        searcher = Searcher(catalog, index, LexicalScorer(item_documents(catalog)))
        start_s = time.perf_counter() - started
        rss_mb = psutil.Process().memory_info().rss / 2**20
        texts = query_mix(queries)
        figures = bench_ceiling(searcher, "onnx", texts)
    return {"size": size, "rows": int(index.rows.size), "single_p50_ms": round(figures["inproc_latency_ms"], 2),
            "single_p95_ms": round(figures["inproc_p95_ms"], 2), "ceiling_qps": round(figures["ceiling_qps"], 1),
            "api_rss_mb": round(rss_mb), "cold_start_s": round(start_s, 1),
            "index_build_min": round(index.rows.size / ENCODE_RATE / 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="25000,50000,100000,200000", help="titles, comma-separated")
    parser.add_argument("--queries", type=int, default=200, help="queries per size")
    parser.add_argument("--json", action="store_true", help="print one JSON object, lists aligned on sizes")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: one size, one JSON line
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.queries)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        child = subprocess.run([sys.executable, __file__, "--one", str(size), "--queries", str(args.queries)],
                               capture_output=True, text=True, check=True)
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(f"{size:,} titles done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"sizes": [row["size"] for row in rows]} |
                         {key: [row[key] for row in rows] for key in rows[0] if key != "size"}))
        return
    base = rows[0]
    print("| titles | rows | single p50 / p95 ms | x smallest | ceiling q/s | process RSS MB | searcher build s "
          "| index build (extrapolated) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['size']:,} | {row['rows']:,} | {row['single_p50_ms']} / {row['single_p95_ms']} | "
              f"{row['single_p50_ms'] / base['single_p50_ms']:.2f} | {row['ceiling_qps']} | {row['api_rss_mb']:,} | "
              f"{row['cold_start_s']} | {row['index_build_min']} min |")


if __name__ == "__main__":
    main()
