"""Performance benchmark: the service against its own in-process ceiling and against the old design.

    python scripts/bench.py [--duration 10] [--json]

1. ceiling     in-process, same query mix, for each engine side by side (ONNX Runtime, the
               service's CPU engine, and torch): single-query latency (encode + hybrid search) and
               batched queries/s (encode 64 at once, then search each); the ratios use the
               service's own engine's, measured before and after the served runs (the mean)
2. served      `bentoml serve` on the full catalogs, an async client on loopback at 1/8/32/64
               concurrent clients (`loadgen`) for --duration s each: requests/s, p50/p95/p99, errors,
               and the CPU each process spent per request; and dense-only search at 1 client
               (hybrid must stay within 2x of its latency)
3. old design  the old Flask API's request path reproduced in-process: per request, construct the model and np.load
               every per-column embedding file (10 for anime), cosine per column, merge, dedup by
               title, and its clear_memory() (gc.collect) three times
4. cold start (process start -> /v1/health 200) and resident memory of all service processes;
               then 1 and 32 clients and the memory with ANISIM_LONE_ENCODER=1
5. similarity  scoring alone over 10k/100k/1M random unit vectors: float32 (one product; row by
               row), int8 codes, float16

Needs the full indexes (`anisim prepare`). Prints a table; --json prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psutil
from loadgen import load_level, percentile

from anisim.api.server import start_server, stop_server, wait_ready
from anisim.encoder import Embedder, choose_engine, gpu_present
from anisim.errors import AnisimError
from anisim.evaluation import load_queries
from anisim.index import Index
from anisim.models import resolve
from anisim.query import Query
from anisim.ranking import top_positions
from anisim.search import Searcher
from anisim.settings import Settings
from anisim.similarity import DenseScorer
from anisim.text import clean_query

SETTINGS = Settings.from_env()

CONCURRENCY = (1, 8, 32, 64)
SEED = 20261124
OLD_DESIGN_COLUMNS = 10  # anime synopsis columns in the old merged CSV


def query_mix(n: int) -> list[str]:
    """A fixed, seeded mix of short and long descriptions (anime dev set: `short` and `query`)."""
    queries = load_queries(SETTINGS.eval_dir / "anime_dev.jsonl")
    picked = random.Random(SEED).sample(queries, n)
    return [clean_query(q["short"] if i % 2 else q["query"][:2000]) for i, q in enumerate(picked)]


def bench_ceiling(searcher: Searcher, engine: str, texts: list[str]) -> dict:
    """Each path with the engine at its best, as the service runs it: a lone query on every core
    (the API worker's own encoder), batches spread over the cores (the Encoder service's)."""
    spec = resolve(searcher.model)
    lone = Embedder(spec, engine, SETTINGS.home, latency=True)
    encoder = Embedder(spec, engine, SETTINGS.home)
    for text in texts[:5]:  # warm-up, of the single-query path and of the batched one
        searcher.search(text, lone.encode)
    encoder.encode(texts[:16])
    single = []
    for text in texts:
        started = time.perf_counter()
        searcher.search(text, lone.encode)
        single.append((time.perf_counter() - started) * 1000)
    cpu = dict.fromkeys(("parse", "encode", "search"), 0.0)  # CPU seconds of this process, by stage
    started = time.perf_counter()
    for i in range(0, len(texts), 64):
        with _cpu_into(cpu, "parse"):
            batch = [Query.parse(text, names=searcher.names) for text in texts[i:i + 64]]  # as the service parses
        with _cpu_into(cpu, "encode"):
            vectors = encoder.encode([q.text for q in batch])
        with _cpu_into(cpu, "search"):
            for query, vector in zip(batch, vectors):
                searcher.search(query, vector)
    return {"inproc_latency_ms": statistics.median(single), "inproc_p95_ms": percentile(single, 95),
            "ceiling_qps": len(texts) / (time.perf_counter() - started),
            "ceiling_cpu_ms": {stage: seconds * 1000 / len(texts) for stage, seconds in cpu.items()}}


@contextlib.contextmanager
def _cpu_into(totals: dict[str, float], stage: str) -> Iterator[None]:
    """Adds the CPU this process spends inside the block (every thread) to `totals[stage]`."""
    started = time.process_time()
    yield
    totals[stage] += time.process_time() - started


def bench_old_design(catalog, spec, texts: list[str], requests: int = 5) -> float:
    """Median ms per request of the old per-request load-everything design."""
    from sentence_transformers import SentenceTransformer, util
    vectors = np.zeros((len(catalog.items), spec.dim), dtype=np.float32)  # contents do not change the cost
    titles = catalog.items["title"].str.lower().tolist()
    with tempfile.TemporaryDirectory() as folder:
        for column in range(OLD_DESIGN_COLUMNS):
            np.save(Path(folder) / f"embeddings_{column}.npy", vectors)
        times = []
        for text in texts[:requests]:
            started = time.perf_counter()
            gc.collect()  # clear_memory() at the start of the handler
            model = SentenceTransformer(str(spec.weights_path), device="cpu")
            query = model.encode([text.strip()])
            k, pairs, cos = 10, [], {}
            for column in range(OLD_DESIGN_COLUMNS):
                embeddings = np.load(Path(folder) / f"embeddings_{column}.npy")
                cos[column] = util.pytorch_cos_sim(query, embeddings).flatten()
                pairs += [(int(i), column) for i in cos[column].argsort()[-k:].flip(0)]
            pairs.sort(key=lambda p: -float(cos[p[1]][p[0]]))
            seen, results = set(), []
            for row, _ in pairs:
                if titles[row] not in seen:
                    seen.add(titles[row])
                    results.append(row)
                if len(results) >= k:
                    break
            gc.collect()  # clear_memory() at the end of get_similarities
            gc.collect()  # and again before the handler returns
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _roles(pid: int) -> list[tuple[str, psutil.Process]]:
    """The processes of a `bentoml serve` tree, each with its role: the supervisor (`bentoml
    serve` itself and its watchers), the encoder worker or the API worker(s)."""
    root = psutil.Process(pid)
    roles = []
    for process in [root, *root.children(recursive=True)]:
        try:
            command = " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        roles.append(("encoder" if "anisim_encoder" in command else "api" if "worker" in command else "supervisor",
                      process))
    return roles


def process_tree_rss_mb(pid: int) -> float:
    return sum(process_rss_mb(pid).values())


def process_rss_mb(pid: int) -> dict[str, float]:
    """Resident memory (MB) of each role of a `bentoml serve` tree."""
    out: dict[str, float] = {"supervisor": 0.0, "encoder": 0.0, "api": 0.0}
    for role, process in _roles(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            out[role] += process.memory_info().rss / 2**20
    return out


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU seconds used so far by each role of a `bentoml serve` tree, by this process (the load
    generator), and left idle by the machine."""
    out = {"supervisor": 0.0, "encoder": 0.0, "api": 0.0}
    for role, process in _roles(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            out[role] += times.user + times.system
    own, machine = psutil.Process().cpu_times(), psutil.cpu_times()
    return {**out, "load generator": own.user + own.system, "idle": machine.idle + machine.iowait}


def api_switches(pid: int) -> int:
    """Voluntary context switches so far of every thread of the API worker(s) (Linux's
    /proc/<pid>/task; psutil counts the main thread's only): a thread that waits for CPython's lock
    (or anything else) switches out."""
    total = 0
    for process in (process for role, process in _roles(pid) if role == "api"):
        for status in Path(f"/proc/{process.pid}/task").glob("*/status"):
            with contextlib.suppress(OSError):  # a thread that ended since the listing
                total += sum(int(line.split()[1]) for line in status.read_text().splitlines()
                             if line.startswith("voluntary_ctxt_switches"))
    return total


def measured_level(url: str, pid: int, texts: list[str], clients: int, duration: float, mode: str = "hybrid") -> dict:
    """`load_level`, with the CPU each role spent per answered request (ms), idle included: where a
    served request's cost goes, next to the in-process ceiling's; and the API worker's context
    switches per request."""
    before, switches = cpu_seconds(pid), api_switches(pid)
    level = load_level(url, texts, clients, duration, mode)
    after, requests = cpu_seconds(pid), max(level["requests"], 1)
    level["cpu_ms_per_request"] = {role: (after[role] - before[role]) * 1000 / requests for role in after}
    level["api_switches_per_request"] = (api_switches(pid) - switches) / requests
    return level


def bench_with_lone_encoder(texts: list[str], duration: float, model: str) -> dict:
    """The same service with `ANISIM_LONE_ENCODER=1` (the API worker encodes a lone query in its own
    ONNX session): 1 and 32 clients, and its memory."""
    env = {"ANISIM_RATE_LIMIT": "0", "ANISIM_MODELS": model, "ANISIM_LONE_ENCODER": "1"}
    process, url = start_server("service:AniSearch", env)
    try:
        wait_ready(url, process, timeout=300)
        load_level(url, texts, 4, 5)
        served = {str(c): load_level(url, texts, c, duration) for c in (1, 32)}
        rss = process_rss_mb(process.pid)
    finally:
        stop_server(process)
    return {"served": served, "rss_mb": sum(rss.values()), "rss_mb_by_process": rss}


def bench_served(texts: list[str], duration: float, model: str) -> dict:
    process, url = start_server("service:AniSearch", {"ANISIM_RATE_LIMIT": "0", "ANISIM_MODELS": model})
    try:
        cold_start = wait_ready(url, process, timeout=300)
        load_level(url, texts, 4, 5)  # warm-up (where the Encoder batches, a GPU, this trains BentoML's batcher)
        load_level(url, texts, 1, 3)
        served = {str(c): measured_level(url, process.pid, texts, c, duration) for c in CONCURRENCY}
        dense = load_level(url, texts, 1, duration, mode="dense")
        rss = process_rss_mb(process.pid)
    finally:
        stop_server(process)
    return {"served": served, "served_dense_1": dense, "cold_start_s": cold_start, "rss_mb": sum(rss.values()),
            "rss_mb_by_process": rss}


def scan_stores(matrix: np.ndarray) -> dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]]:
    """Ways to score every stored vector, each with its MB: the old matrix product, the exact scan
    (`DenseScorer.scores`, row by row), the int8 codes a page starts from (`anisim.quantized`), and
    float16 upcast in blocks (NumPy's float16 product is far slower)."""
    one_row_each = np.arange(len(matrix))
    dense = DenseScorer(Index(matrix, one_row_each, {}, None), len(matrix))
    half = matrix.astype(np.float16)
    codes = dense.quantized.codes.nbytes + 3 * dense.quantized.residual.nbytes

    def upcast(query: np.ndarray) -> np.ndarray:
        return np.concatenate([half[i:i + 65536].astype(np.float32) @ query for i in range(0, len(half), 65536)])

    return {"float32, one matrix product": (lambda query: matrix @ query, matrix.nbytes),
            "float32, row by row (exact scan)": (lambda query: dense.scores(query)[0], matrix.nbytes),
            "int8 codes, SimSIMD (a page's first pass)": (lambda query: dense.approximate(query)[0], codes),
            "float16, upcast in blocks": (upcast, half.nbytes)}


def bench_similarity(sizes=(10_000, 100_000, 1_000_000), dim: int = 384, repeats: int = 5) -> list[dict]:
    """ms per query (every vector scored, then the exact top 10) over random unit vectors."""
    rng = np.random.default_rng(SEED)
    rows = []
    for size in sizes:
        matrix = rng.standard_normal((size, dim), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        query = matrix[0]
        for store, (scan, nbytes) in scan_stores(matrix).items():
            top_positions(scan(query), 10)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                top_positions(scan(query), 10)
                times.append((time.perf_counter() - started) * 1000)
            rows.append({"vectors": size, "dtype": store, "ms_per_query": statistics.median(times),
                         "mb": nbytes / 2**20})
        del matrix
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per concurrency level")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    spec = resolve(SETTINGS.default_model)
    texts = query_mix(256)
    searcher = Searcher.open("anime", spec, SETTINGS.home)
    gpu = "GPU" if gpu_present() else "no GPU"
    engine = choose_engine(SETTINGS.engine, spec, SETTINGS.home)
    result = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores, {gpu}",
              "model": spec.name, "engine": engine, **bench_ceiling(searcher, engine, texts)}
    other = "torch" if engine == "onnx" else "onnx"
    result["engines"] = {engine: {k: result[k] for k in ("inproc_latency_ms", "ceiling_qps")}}
    try:
        result["engines"][other] = bench_ceiling(searcher, other, texts)
    except AnisimError as problem:  # e.g. no ONNX export on this machine
        print(f"bench: {other} engine skipped: {problem}", file=sys.stderr)
    result["seed_latency_ms"] = bench_old_design(searcher.catalog, spec, texts)
    result.update(bench_served(texts, args.duration, spec.name))
    # this machine's speed drifts by 10-20% over minutes: the served figures are set against the
    # ceiling measured before and after them
    result["ceiling_qps_runs"] = [result["ceiling_qps"], bench_ceiling(searcher, engine, texts)["ceiling_qps"]]
    result["ceiling_qps"] = statistics.mean(result["ceiling_qps_runs"])
    result["with_lone_encoder"] = bench_with_lone_encoder(texts, args.duration, spec.name)
    result["similarity"] = bench_similarity()
    one, ceiling = result["served"]["1"], result["ceiling_qps"]
    result["ratios"] = {"qps32_over_ceiling": result["served"]["32"]["qps"] / ceiling,
                        "p50_1_over_inproc": one["p50_ms"] / result["inproc_latency_ms"],
                        "seed_over_served_p50": result["seed_latency_ms"] / one["p50_ms"],
                        "hybrid_over_dense_p50": one["p50_ms"] / result["served_dense_1"]["p50_ms"]}
    if args.json:
        print(json.dumps(result))
        return
    print_table(result)


def print_table(r: dict) -> None:
    ratios = r["ratios"]
    print(f"anisim benchmark, {r['date']}, {r['machine']}, anime catalog, hybrid search, page of 10")
    for engine, ceiling in r["engines"].items():
        mark = " (the service's engine)" if engine == r["engine"] else ""
        print(f"in-process ceiling, {engine}{mark}: {ceiling['inproc_latency_ms']:.1f} ms single query, "
              f"{ceiling['ceiling_qps']:.1f} queries/s batched")
    runs = " and ".join(f"{qps:.1f}" for qps in r["ceiling_qps_runs"])
    print(f"the ratios below use the ceiling measured before and after the served runs: {runs}, mean "
          f"{r['ceiling_qps']:.1f} queries/s")
    print(f"old design (model + {OLD_DESIGN_COLUMNS} files loaded per request): {r['seed_latency_ms']:.0f} ms per request")
    parts = ", ".join(f"{role} {mb:.0f}" for role, mb in r["rss_mb_by_process"].items())
    print(f"cold start {r['cold_start_s']:.1f} s, resident memory {r['rss_mb']:.0f} MB (all service processes: {parts})")
    print("| clients | req/s | p50 ms | p95 ms | p99 ms | errors | req/s / ceiling |")
    print("|---|---|---|---|---|---|---|")
    for clients, level in r["served"].items():
        print(f"| {clients} | {level['qps']:.1f} | {level['p50_ms']:.1f} | {level['p95_ms']:.1f} | {level['p99_ms']:.1f} "
              f"| {level['errors']} | {level['qps'] / r['ceiling_qps']:.2f} |")
    print("CPU ms per answered request, by process (idle: the machine's cores left unused):")
    roles = list(r["served"]["32"]["cpu_ms_per_request"])
    print("| clients | " + " | ".join(roles) + " | API worker context switches |")
    print("|---|" + "---|" * (len(roles) + 1))
    for clients, level in r["served"].items():
        print(f"| {clients} | " + " | ".join(f"{level['cpu_ms_per_request'][role]:.2f}" for role in roles)
              + f" | {level['api_switches_per_request']:.1f} |")
    engines = r["engines"]
    if len(engines) == 2:
        speedup = engines["torch"]["inproc_latency_ms"] / engines["onnx"]["inproc_latency_ms"]
        print(f"single query in-process, torch / onnx = {speedup:.2f} (>= 1.6)")
    print(f"targets: req/s at 32 clients / ceiling = {ratios['qps32_over_ceiling']:.2f} (>= 0.9); "
          f"p50 at 1 client / in-process = {ratios['p50_1_over_inproc']:.2f} (<= 1.5); "
          f"old design / served p50 = {ratios['seed_over_served_p50']:.0f}x (>= 60); "
          f"hybrid / dense p50 at 1 client = {ratios['hybrid_over_dense_p50']:.2f} (<= 2, dense p50 "
          f"{r['served_dense_1']['p50_ms']:.1f} ms)")
    lone = r["with_lone_encoder"]
    print(f"ANISIM_LONE_ENCODER=1: resident memory {lone['rss_mb']:.0f} MB, p50 at 1 client "
          f"{lone['served']['1']['p50_ms']:.1f} ms, req/s at 32 clients {lone['served']['32']['qps']:.1f}")
    print("| vectors | stored as | MB | ms per query (every vector scored + top-10) |")
    print("|---|---|---|---|")
    for row in r["similarity"]:
        print(f"| {row['vectors']:,} | {row['dtype']} | {row['mb']:.0f} | {row['ms_per_query']:.1f} |")


if __name__ == "__main__":
    main()
