"""Hostile-client benchmark: the worst 5,000-character descriptions, in process and served.

    python scripts/abuse.py [--seconds 15] [--json FILE]

1. in process  understanding (`Query.parse`: cleaning, cues, maker names) of each adversarial
               family at the API's 5,000-character limit, against both catalogs, worst of 5 runs,
               and its ratio to a realistic 5,000-character post (real posts joined). Targets: at
               most 20 ms, and at most 3x the realistic post.
2. served      a real `bentoml serve` of the home: 4 normal clients (short and long dev
               descriptions) for --seconds alone, then beside 1 and beside 4 abusive clients that
               send the families back to back. Normal clients' p50, p99, requests and errors.
               Target: p99 beside one abusive client at most 2x alone, with 0 errors.

Needs a built home (`anisim prepare`). Prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time

import httpx

from anisim.api.server import start_server, stop_server, wait_ready
from anisim.catalog import load_catalog
from anisim.columns import Columns
from anisim.evaluation import load_queries
from anisim.limits import KINDS
from anisim.query import Query
from anisim.search import catalog_names
from anisim.settings import Settings

SETTINGS = Settings.from_env()
LIMIT = 5000  # the v1 query's most characters


def _fill(unit: str) -> str:
    return (unit * (LIMIT // len(unit) + 1))[:LIMIT]


FAMILIES: dict[str, str] = {
    "apostrophes": _fill("'"),
    "&# repeated": _fill("&#"),
    "brackets": _fill("[]"),
    "combining marks": _fill("a\u0301\u0302"),
    "emoji": _fill("\U0001F600"),
    "digits with apostrophes": _fill("1990's 80's "),
    "studio repeated": _fill("studio "),
    "one letter": _fill("a"),
}


def realistic_post() -> str:
    """Real forum posts joined to the limit: what a long, honest description costs."""
    posts = load_queries(SETTINGS.eval_dir / "anime_tomt_dev.jsonl")
    return " ".join(p["query"] for p in posts)[:LIMIT]


def in_process() -> list[dict]:
    """Worst understanding time of each family per kind, and its ratio to the realistic post."""
    rows = []
    texts = {"realistic 5,000-character post": realistic_post(), **FAMILIES}
    for kind in KINDS:
        catalog = load_catalog(SETTINGS.catalog_dir, kind)
        names = catalog_names(catalog, Columns(catalog))
        times = {}
        for family, text in texts.items():
            runs = []
            for _ in range(5):
                started = time.perf_counter()
                Query.parse(text, "hybrid", names)
                runs.append((time.perf_counter() - started) * 1000)
            times[family] = max(runs)
        base = times["realistic 5,000-character post"]
        rows += [{"kind": kind, "family": f, "worst_ms": round(ms, 1), "ratio": round(ms / base, 2)}
                 for f, ms in times.items()]
    return rows


def _client(url: str, bodies: list[dict], stop: threading.Event, out: list[tuple[float, object]]) -> None:
    with httpx.Client(base_url=url, timeout=60) as http:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status: object = http.post("/v1/search", json=bodies[i % len(bodies)]).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            out.append(((time.perf_counter() - started) * 1000, status))
            i += 1


def phase(url: str, normal: list[dict], abusive: list[dict], abusers: int, seconds: float) -> dict:
    """Normal clients' figures for `seconds`, beside `abusers` abusive clients."""
    stop = threading.Event()
    normal_out: list[list[tuple[float, object]]] = [[] for _ in range(4)]
    abuse_out: list[tuple[float, object]] = []
    threads = [threading.Thread(target=_client, args=(url, normal[n::4], stop, normal_out[n])) for n in range(4)]
    threads += [threading.Thread(target=_client, args=(url, abusive[n::1], stop, abuse_out)) for n in range(abusers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    results = [r for out in normal_out for r in out]
    latencies = sorted(ms for ms, _ in results)
    errors = [s for _, s in results if s != 200]
    return {"abusive_clients": abusers, "requests": len(results), "errors": len(errors),
            "error_kinds": sorted({str(s) for s in errors}),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
            "abusive_requests": len(abuse_out)}


def served(seconds: float) -> list[dict]:
    queries = load_queries(SETTINGS.eval_dir / "anime_dev.jsonl")[:200]
    normal = [{"kind": "anime", "query": q[form]} for q in queries for form in ("short", "query")]
    abusive = [{"kind": kind, "query": text} for text in FAMILIES.values() for kind in KINDS]
    process, url = start_server("service:AniSearch", {"ANISIM_RATE_LIMIT": "0"})
    try:
        wait_ready(url, process)
        phase(url, normal, abusive, 0, 3)  # warm-up
        return [phase(url, normal, abusive, n, seconds) for n in (0, 1, 4)]
    finally:
        stop_server(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each served phase runs")
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--in-process-only", action="store_true", help="skip the served part (seconds, not a minute)")
    args = parser.parse_args()
    report = {"in_process": in_process(), "served": [] if args.in_process_only else served(args.seconds)}
    print("| kind | family (5,000 characters) | worst of 5, ms | / realistic post |")
    print("|---|---|---|---|")
    for row in report["in_process"]:
        print(f"| {row['kind']} | {row['family']} | {row['worst_ms']} | {row['ratio']} |")
    if report["served"]:
        alone = report["served"][0]["p99_ms"]
        print("\n| abusive clients | normal requests | errors | p50 ms | p99 ms | p99 / alone | abusive requests |")
        print("|---|---|---|---|---|---|---|")
        for row in report["served"]:
            print(f"| {row['abusive_clients']} | {row['requests']} | {row['errors']} {row['error_kinds'] or ''} | "
                  f"{row['p50_ms']} | {row['p99_ms']} | {row['p99_ms'] / alone:.2f} | {row['abusive_requests']} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
