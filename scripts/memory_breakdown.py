"""Where the API worker's memory goes: its resident memory after each part loads, in the order
the worker loads them (one process; a part's figure is what it added).

    python scripts/memory_breakdown.py

Parts: Python with the libraries the worker imports; per kind the catalog, the BM25 indexes
(titles and synopses), the searcher (columns, maker names, terms), the default model's index and
the records; then the lone-query ONNX Runtime session that `ANISIM_LONE_ENCODER=1` adds. Needs a built home (`anisim prepare`).
Prints a table in MB.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import psutil

PROCESS = psutil.Process()


def rss_mb() -> float:
    gc.collect()
    return PROCESS.memory_info().rss / 2**20


def main() -> None:
    rows: list[tuple[str, float]] = []
    last = rss_mb()

    def note(part: str) -> None:
        nonlocal last
        now = rss_mb()
        rows.append((part, now - last))
        last = now
    rows.append(("Python itself", last))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # service.py, beside scripts/
    import service  # noqa: F401 (BentoML, Starlette, pydantic, numpy: what every service process imports)
    from anisim.api.records import RecordMaker
    from anisim.catalog import load_catalog
    from anisim.encoder import Embedder
    from anisim.index import load_index
    from anisim.lexical import LexicalScorer
    from anisim.limits import KINDS
    from anisim.models import resolve
    from anisim.search import Searcher
    from anisim.settings import Settings
    note("imports (service.py, pandas, anisim)")
    settings = Settings.from_env()
    spec = resolve(settings.models[0])
    held = []
    for kind in KINDS:
        catalog = load_catalog(settings.catalog_dir, kind)
        note(f"{kind}: catalog ({len(catalog.items):,} titles)")
        lexical = LexicalScorer.for_catalog(catalog, settings.home)
        synopses = LexicalScorer.for_synopses(catalog, settings.home)
        note(f"{kind}: BM25 indexes")
        searcher = Searcher(catalog, None, lexical=lexical)
        searcher.synopsis_lexical = synopses
        note(f"{kind}: columns, maker names, terms")
        index = load_index(catalog, spec, settings.home)
        searcher = searcher.with_index(index)
        note(f"{kind}: {spec.name} index ({index.rows.size:,} rows)")
        held += [searcher, RecordMaker(catalog, searcher.columns)]
        note(f"{kind}: records")
    held.append(Embedder(spec, "onnx", settings.home, latency=True))
    held[-1].encode(["warm-up"])
    note("ONNX Runtime session for lone queries (only with ANISIM_LONE_ENCODER=1)")
    total = sum(mb for _, mb in rows)
    print("| part | MB | share |")
    print("|---|---|---|")
    for part, mb in rows:
        print(f"| {part} | {mb:,.0f} | {mb / total:.0%} |")
    print(f"| total | {total:,.0f} | |")


if __name__ == "__main__":
    main()
