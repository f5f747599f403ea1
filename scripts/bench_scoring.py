"""What scoring searches side by side costs: CPU, wall time and thread switches a search, for 1, 2
and 4 search threads, with scoring free to overlap or one at a time (`Backend._scored`'s lock).

    python scripts/bench_scoring.py [--rounds 2] [--json]

Each search is understood and scored in a thread of a pool, as the API worker does it (the
queries are `bench.py`'s mix, their vectors encoded beforehand, so no encoding is timed). numpy
lets go of CPython's lock around each array operation; when another thread is waiting for it, the
two trade it back and forth, and each trade is a thread switch. Threads in one process share
these figures, so each row is its own pass over the queries, the rows alternating in each round.
Needs the anime index (`anisim prepare`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench import SETTINGS, query_mix

from anisim.encoder import Embedder
from anisim.models import resolve
from anisim.query import Query
from anisim.search import Searcher

VARIANTS = [(1, False), (2, False), (4, False), (2, True), (4, True)]  # (threads, scoring one at a time)
PASSES = 4  # over the 256 queries, per variant and round


def one_pass(searcher: Searcher, texts: list[str], vectors, threads: int, one_at_a_time: bool) -> dict:
    """CPU (user and kernel), wall time and voluntary thread switches per search."""
    scoring = threading.Lock() if one_at_a_time else contextlib.nullcontext()

    def search(i: int) -> None:
        query = Query.parse(texts[i], names=searcher.names)
        with scoring:
            searcher.search(query, vectors[i])

    jobs = list(range(len(texts))) * PASSES
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(search, jobs))
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    per = 1000 / len(jobs)
    return {"cpu_ms": (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * per,
            "kernel_ms": (after.ru_stime - before.ru_stime) * per, "wall_ms": wall * per,
            "switches": (after.ru_nvcsw - before.ru_nvcsw) / len(jobs)}


def run(rounds: int) -> dict:
    spec = resolve(SETTINGS.default_model)
    searcher = Searcher.open("anime", spec, SETTINGS.home)
    texts = query_mix(256)
    vectors = Embedder(spec, "onnx", SETTINGS.home).encode([Query.parse(t, names=searcher.names).text for t in texts])
    one_pass(searcher, texts, vectors, 1, False)  # warm-up
    passes: dict[str, list[dict]] = {_name(*v): [] for v in VARIANTS}
    for round_ in range(rounds):
        order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
        for threads, one_at_a_time in order:
            passes[_name(threads, one_at_a_time)].append(one_pass(searcher, texts, vectors, threads, one_at_a_time))
    return {name: {key: statistics.mean(p[key] for p in runs) for key in runs[0]} for name, runs in passes.items()}


def _name(threads: int, one_at_a_time: bool) -> str:
    if threads == 1:
        return "1 thread"
    return f"{threads} threads, scoring {'one at a time' if one_at_a_time else 'side by side'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes of each variant, alternating (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print("| search threads | CPU ms a search | of it kernel | wall ms a search | thread switches a search |")
    print("|---|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['cpu_ms']:.2f} | {r['kernel_ms']:.2f} | {r['wall_ms']:.2f} | {r['switches']:.1f} |")


if __name__ == "__main__":
    main()
