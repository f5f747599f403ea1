"""Where one search's time goes, stage by stage, on today's whole anime catalog (or one grown).

    python scripts/profile_search.py [--queries 200] [--size 100000]

The bench's query mix (short and long dev descriptions), each searched as the API worker does
(hybrid, the served default model, ONNX Runtime on every core for a lone query), with each stage
timed on its own: cleaning and understanding, encoding, the dense first pass over the int8 codes,
BM25, the priors and cue terms, the fusion, the exact rescoring of the items that could reach the
page, the page, what matched, and the v1 records. Prints median and p95 per stage
and its share of the summed medians. `--size` grows the catalog as `bench_scale.py` does (repeated
titles under new ids), to see which stages grow with it. Needs a built home (`anisim prepare`).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections import defaultdict

import numpy as np
from bench import SETTINGS, percentile, query_mix
from bench_scale import grown

from anisim.api.records import RecordMaker
from anisim.catalog import load_catalog
from anisim.encoder import Embedder
from anisim.index import load_index
from anisim.lexical import LexicalScorer, item_documents
from anisim.models import resolve
from anisim.query import Query
from anisim.ranking import page_of, refined
from anisim.search import Searcher


def _timed(times: dict[str, list[float]], stage: str, call):
    started = time.perf_counter()
    out = call()
    times[stage].append((time.perf_counter() - started) * 1000)
    return out


def _one(searcher: Searcher, encode, records: RecordMaker, text: str, times: dict[str, list[float]]) -> None:
    """One search, stage by stage, as `Searcher.search` and the v1 route run it."""
    terms, fusion, dense = searcher.terms, searcher.fusion, searcher.dense
    query = _timed(times, "clean + understand", lambda: Query.parse(text, "hybrid", searcher.names))
    vector = _timed(times, "encode (ONNX Runtime)", lambda: encode([query.text])[0])
    approximate, bound = _timed(times, "dense first pass (int8 codes)", lambda: dense.approximate(vector))
    similarities = {"dense": approximate, "bm25": _timed(times, "BM25", lambda: terms["bm25"].scores(query, vector))}
    boost = _timed(times, "priors and cue terms", lambda: fusion.boost(terms, query, vector))
    scores = _timed(times, "fusion", lambda: fusion.combine(similarities, boost))
    exact = searcher.exact_hybrid(vector, similarities, boost)
    scores = _timed(times, "exact where an item could reach the page", lambda: refined(
        scores, bound * fusion.share("dense"), 10, None, exact))
    page = _timed(times, "page (top 10 of all)", lambda: page_of(scores, 1, 10))
    matches = _timed(times, "what matched", lambda: searcher.matches(query, vector, page.positions, similarities))
    _timed(times, "v1 records", lambda: records.v1(dataclasses.replace(page, matches=matches)))


def profile(searcher: Searcher, encode, records: RecordMaker, texts: list[str]) -> dict[str, list[float]]:
    """Milliseconds per stage, per query."""
    times: dict[str, list[float]] = defaultdict(list)
    for text in texts:
        _one(searcher, encode, records, text, times)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200, help="how many queries of the bench's mix")
    parser.add_argument("--size", type=int, help="grow the catalog to this many titles (a cost figure only)")
    args = parser.parse_args()
    spec = resolve(SETTINGS.models[0])
    if args.size:
        catalog = load_catalog(SETTINGS.home / "catalog", "anime")
        catalog, index = grown(catalog, load_index(catalog, spec, SETTINGS.home), args.size)
        searcher = Searcher(catalog, index, LexicalScorer(item_documents(catalog)))
    else:
        searcher = Searcher.open("anime", spec, SETTINGS.home)
    encode = Embedder(spec, "onnx", SETTINGS.home, latency=True).encode
    records = RecordMaker(searcher.catalog, searcher.columns)
    texts = query_mix(args.queries)
    profile(searcher, encode, records, texts[:10])  # warm-up
    times = profile(searcher, encode, records, texts)
    medians = {stage: float(np.median(ms)) for stage, ms in times.items()}
    total = sum(medians.values())
    print(f"{len(texts)} queries, {len(searcher.catalog.items):,} anime, {searcher.index.rows.size:,} index rows")
    print("| stage | median ms | p95 ms | share |")
    print("|---|---|---|---|")
    for stage, ms in times.items():
        print(f"| {stage} | {medians[stage]:.2f} | {percentile(ms, 95):.2f} | {medians[stage] / total:.0%} |")
    print(f"| sum of medians | {total:.2f} | | |")


if __name__ == "__main__":
    main()
