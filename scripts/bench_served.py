"""Served throughput at 32 clients against the in-process ceiling, in interleaved rounds.

    python scripts/bench_served.py [--rounds 4] [--duration 10] [--json]

Each round measures the in-process ceiling (`bench.py`'s: 64 queries encoded at once, then each
searched), serves the whole catalogs (`bentoml serve`), runs 3 x --duration s at 32 clients with
the CPU each process spent per request (and the API worker's context switches), stops the
server and measures the ceiling again; the ceiling's CPU per query is split into parsing,
encoding and searching, to set each served process's figure against. This
machine's speed drifts 10-20% over minutes, so each served figure is set against the ceiling
measured around it. For a before/after, run it in a `git worktree` of the older code with
`PYTHONPATH=.` (this checkout's editable install would otherwise import its own `anisim`, in
process and in the server) and `ANISIM_HOME`, `ANISIM_DATA_DIR`, `ANISIM_EVAL_DIR` naming this
checkout's, alternating.
Needs the full indexes (`anisim prepare`). Prints a table; --json prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable

from bench import SETTINGS, bench_ceiling, measured_level, query_mix
from loadgen import load_level

from anisim.api.server import start_server, stop_server, wait_ready
from anisim.models import resolve
from anisim.search import Searcher

CLIENTS = 32
LEVELS_PER_ROUND = 3


def one_round(searcher: Searcher, texts: list[str], duration: float) -> dict:
    """The ceiling, the served levels, the ceiling again."""
    ceilings = [bench_ceiling(searcher, "onnx", texts)]
    process, url = start_server("service:AniSearch", {"ANISIM_RATE_LIMIT": "0", "ANISIM_MODELS": searcher.model})
    try:
        wait_ready(url, process, timeout=300)
        load_level(url, texts, 4, 5)  # warm-up (where the Encoder batches, a GPU, this trains BentoML's batcher)
        levels = [measured_level(url, process.pid, texts, CLIENTS, duration) for _ in range(LEVELS_PER_ROUND)]
    finally:
        stop_server(process)
    ceilings.append(bench_ceiling(searcher, "onnx", texts))
    served = statistics.mean(level["qps"] for level in levels)
    return {"ceiling_qps": [c["ceiling_qps"] for c in ceilings], "served_qps": [level["qps"] for level in levels],
            "errors": sum(level["errors"] for level in levels),
            "ratio": served / statistics.mean(c["ceiling_qps"] for c in ceilings),
            "cpu_ms_per_request": _mean_of(level["cpu_ms_per_request"] for level in levels),
            "ceiling_cpu_ms": _mean_of(c["ceiling_cpu_ms"] for c in ceilings),
            "api_switches_per_request": statistics.mean(level["api_switches_per_request"] for level in levels)}


def _mean_of(figures: Iterable[dict[str, float]]) -> dict[str, float]:
    """Key by key, the mean of dicts with the same keys."""
    figures = list(figures)
    return {key: statistics.mean(f[key] for f in figures) for key in figures[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of ceiling, served, ceiling")
    parser.add_argument("--duration", type=float, default=10, help="seconds per served level")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    texts = query_mix(256)
    searcher = Searcher.open("anime", resolve(SETTINGS.default_model), SETTINGS.home)
    rounds = [one_round(searcher, texts, args.duration) for _ in range(args.rounds)]
    result = {"clients": CLIENTS, "rounds": rounds, "mean_ratio": statistics.mean(r["ratio"] for r in rounds)}
    if args.json:
        print(json.dumps(result))
        return
    roles = list(rounds[0]["cpu_ms_per_request"])
    print(f"| round | ceiling q/s (before / after) | ceiling CPU ms a query (parse / encode / search) | "
          f"served req/s at {CLIENTS} clients | errors | served / ceiling | "
          + " | ".join(f"{role} CPU ms" for role in roles) + " | API worker context switches |")
    print("|---|---|---|---|---|---|" + "---|" * (len(roles) + 1))
    for n, r in enumerate(rounds, 1):
        print(f"| {n} | {r['ceiling_qps'][0]:.1f} / {r['ceiling_qps'][1]:.1f} | "
              + " / ".join(f"{ms:.2f}" for ms in r["ceiling_cpu_ms"].values())
              + f" | {' / '.join(f'{q:.1f}' for q in r['served_qps'])} | {r['errors']} | {r['ratio']:.2f} | "
              + " | ".join(f"{r['cpu_ms_per_request'][role]:.2f}" for role in roles)
              + f" | {r['api_switches_per_request']:.1f} |")
    print(f"mean served / ceiling: {result['mean_ratio']:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
