"""Soak: 64 clients for 60 s against a real `bentoml serve` (the built full indexes), reporting
requests, errors, p50/p99 and the service's summed memory every 5 s. Not a test: a measurement.

    python scripts/soak.py [--clients 64] [--seconds 60] [--json]

Loopback only; bounded in time; stops the server it started.
"""

from __future__ import annotations

import argparse
import json

from bench import process_tree_rss_mb, query_mix
from loadgen import load_level

from anisim.api.server import start_server, stop_server, wait_ready

WINDOW_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", action="store_true", help="print one JSON list of windows")
    args = parser.parse_args()
    texts = query_mix(256)
    process, url = start_server("service:AniSearch", {"ANISIM_RATE_LIMIT": "0"})
    windows = []
    try:
        wait_ready(url, process, timeout=300)
        if not args.json:
            print(f"soak: {args.clients} clients x {args.seconds:.0f} s, POST /v1/search, windows of {WINDOW_S:.0f} s")
            print("| t s | requests | errors | p50 ms | p99 ms | RSS MB |")
            print("|---|---|---|---|---|---|")
        for window in range(int(args.seconds / WINDOW_S)):
            level = load_level(url, texts, args.clients, WINDOW_S)
            row = {"t": (window + 1) * WINDOW_S, **level, "rss_mb": process_tree_rss_mb(process.pid)}
            windows.append(row)
            if not args.json:
                print(f"| {row['t']:.0f} | {row['requests']} | {row['errors']} | {row['p50_ms']:.0f} | "
                      f"{row['p99_ms']:.0f} | {row['rss_mb']:.0f} |", flush=True)
    finally:
        stop_server(process)
    if args.json:
        print(json.dumps(windows))
    else:
        print(f"total: {sum(w['requests'] for w in windows)} requests, {sum(w['errors'] for w in windows)} errors")


if __name__ == "__main__":
    main()
