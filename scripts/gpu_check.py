"""What anisim does on a GPU, in one command: a JSON report and a table (under 8 min on one H100/H200).

    python scripts/gpu_check.py [--json report.json] [--smoke]

1. device    torch's CUDA device (name, memory, versions), or the CPU when there is none
2. encode    texts/s of synopses (corpus) and of dev queries at several batch sizes (torch engine)
3. index     the whole anime and manga index builds, in seconds (into a temporary home)
4. bench     `make bench`'s in-process ceiling and served load (1/8/32/64 clients) on that home, at
             the default batching settings and at GPU ones; req/s at 32 clients / ceiling
5. train     a few steps of `anisim train` (seconds per step; no hard negatives, which need an index)

--smoke runs every part at tiny sizes (64 titles of each kind indexed, a second per load level), so
the suite tests this script on the CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much of each part runs: the full check, or the smoke test's tiny version."""

    corpus_texts: int
    query_texts: int
    corpus_batches: tuple[int, ...]
    query_batches: tuple[int, ...]
    bench_queries: int
    bench_seconds: float
    batching: tuple[tuple[int, int], ...]  # (ANISIM_BATCH_SIZE, ANISIM_BATCH_LATENCY_MS) settings served
    train_steps: int
    train_batch: int
    index_titles: int | None = None  # titles of each kind indexed (and then served): None for all


FULL = Sizes(corpus_texts=4096, query_texts=1024, corpus_batches=(32, 128, 512), query_batches=(1, 8, 32, 128),
             bench_queries=256, bench_seconds=10, batching=((32, 3000), (128, 20)), train_steps=10, train_batch=128)
SMOKE = Sizes(corpus_texts=16, query_texts=8, corpus_batches=(4, 8), query_batches=(1, 4), bench_queries=8,
              bench_seconds=0.5, batching=((32, 3000),), train_steps=2, train_batch=8,
              index_titles=64)


def device_report() -> dict:
    import torch
    report = {"torch": torch.__version__, "cuda_available": torch.cuda.is_available(),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        report.update(device="cuda", name=props.name, memory_gb=round(props.total_memory / 2**30, 1),
                      cuda=torch.version.cuda, capability=f"{props.major}.{props.minor}")
    else:
        report.update(device="cpu", name=platform.processor() or platform.machine())
    return report


def encode_rates(embedder, texts: list[str], batches: tuple[int, ...]) -> dict[str, float]:
    """texts/s at each batch size (after one warm-up batch)."""
    rates = {}
    for batch in batches:
        embedder.encode(texts[:batch], batch_size=batch)
        started = time.perf_counter()
        embedder.encode(texts, batch_size=batch)
        rates[str(batch)] = len(texts) / (time.perf_counter() - started)
    return rates


def first_titles(catalog, count: int | None):
    """The catalog's first `count` titles (all for None): the smoke test indexes a few, in seconds."""
    return catalog if count is None else catalog.subset(list(catalog.items["id"][:count]))


def build_indexes(catalogs: dict, embedder, home: Path) -> dict[str, float]:
    """Seconds to build each kind's index into `home` (where the bench then serves it)."""
    from anisim.catalog import save_catalog
    from anisim.index import DEFAULT_PASSAGE_WORDS, build_index
    seconds = {}
    for kind, catalog in catalogs.items():
        save_catalog(catalog, home / "catalog")
        started = time.perf_counter()
        build_index(catalog, embedder, home, DEFAULT_PASSAGE_WORDS)
        seconds[kind] = time.perf_counter() - started
    return seconds


def bench(home: Path, model: str, sizes: Sizes) -> list[dict]:
    """`scripts/bench.py`'s ceiling and served load on `home`, at each batching setting."""
    os.environ["ANISIM_HOME"] = str(home)
    sys.path.insert(0, str(SCRIPTS))
    import bench as make_bench  # reads ANISIM_HOME when imported

    from anisim.encoder import choose_engine
    from anisim.models import resolve
    from anisim.search import Searcher
    spec = resolve(model)
    texts = make_bench.query_mix(sizes.bench_queries)
    engine = choose_engine("auto", spec, home)
    ceiling = make_bench.bench_ceiling(Searcher.open("anime", spec, home), engine, texts)
    rows = []
    for batch_size, latency_ms in sizes.batching:
        os.environ.update(ANISIM_BATCH_SIZE=str(batch_size), ANISIM_BATCH_LATENCY_MS=str(latency_ms))
        served = make_bench.bench_served(texts, sizes.bench_seconds, model)
        rows.append({"batch_size": batch_size, "batch_latency_ms": latency_ms, "engine": engine, **ceiling,
                     "cold_start_s": served["cold_start_s"], "rss_mb": served["rss_mb"],
                     "served": served["served"], "qps32_over_ceiling": served["served"]["32"]["qps"] / ceiling["ceiling_qps"]})
    return rows


def train_steps(catalogs: dict, dev: dict, device: str, sizes: Sizes, out: Path) -> dict[str, float]:
    from anisim.models import MINILM, resolve
    from anisim.training import train_adapter
    from anisim.training_settings import TrainSettings
    settings = TrainSettings(steps=sizes.train_steps, batch_size=sizes.train_batch, hard_negatives=False,
                             ict_per_kind=sizes.train_steps * sizes.train_batch, titles_per_kind=sizes.train_batch)
    record = train_adapter(resolve(MINILM), catalogs, dev, out, settings, device=device)
    return {"steps": record["steps_done"], "batch_size": sizes.train_batch,
            "seconds_per_step": record["seconds_per_step"]}


def whole_catalog(settings, kind: str):
    """The catalog `anisim prepare` saved in the home (12 MB, which can travel to a lent machine
    where the raw data cannot), else one built from the raw data."""
    from anisim.catalog import build_catalog, load_catalog
    from anisim.errors import AnisimError
    try:
        return load_catalog(settings.home / "catalog", kind)
    except (AnisimError, OSError):
        return build_catalog(settings.data_dir, kind)[0]


def check(sizes: Sizes, smoke: bool, work: Path) -> dict:
    from anisim.encoder import Embedder
    from anisim.evaluation import load_queries
    from anisim.limits import KINDS
    from anisim.models import TUNED, resolve
    from anisim.samples import sample_catalogs
    from anisim.settings import Settings
    settings = Settings.from_env()
    report = {"date": time.strftime("%Y-%m-%d"), "smoke": smoke, "device": device_report()}
    device = report["device"]["device"]
    print(f"device: {report['device']['name']} ({device})", flush=True)
    catalogs = sample_catalogs(settings) if smoke else {kind: whole_catalog(settings, kind) for kind in KINDS}
    dev = {kind: load_queries(settings.eval_dir / f"{kind}_dev.jsonl") for kind in KINDS}
    embedder = Embedder(resolve(TUNED), "torch", device=device)
    corpus = list(catalogs["anime"].synopses["text"][:sizes.corpus_texts])
    queries = [q["short"] for q in dev["anime"][:sizes.query_texts]]
    print("encode rates ...", flush=True)
    report["encode_texts_per_s"] = {"corpus": encode_rates(embedder, corpus, sizes.corpus_batches),
                                    "queries": encode_rates(embedder, queries, sizes.query_batches)}
    print("index builds ...", flush=True)
    home = work / "home"
    indexed = {kind: first_titles(catalog, sizes.index_titles) for kind, catalog in catalogs.items()}
    report["index_build_s"] = build_indexes(indexed, embedder, home)
    report["catalog_titles"] = {kind: len(catalog.items) for kind, catalog in indexed.items()}
    print("bench ...", flush=True)
    report["bench"] = bench(home, TUNED, sizes)
    print("train ...", flush=True)
    report["train"] = train_steps(catalogs, dev, device, sizes, work / "adapter")
    return report


def print_table(r: dict) -> None:
    d = r["device"]
    print(f"\nanisim GPU check, {r['date']}{' (smoke)' if r['smoke'] else ''}: {d['name']} ({d['device']}), torch {d['torch']}")
    for what, rates in r["encode_texts_per_s"].items():
        print(f"encode {what:<8} texts/s by batch size: " + ", ".join(f"{b}: {v:,.0f}" for b, v in rates.items()))
    print("index build: " + ", ".join(f"{kind} {r['catalog_titles'][kind]:,} titles in {s:.1f} s"
                                      for kind, s in r["index_build_s"].items()))
    print("| batch size | max latency ms | ceiling q/s | req/s at 1 / 8 / 32 / 64 clients | req/s 32 / ceiling |")
    print("|---|---|---|---|---|")
    for row in r["bench"]:
        levels = " / ".join(f"{level['qps']:.0f}" for level in row["served"].values())
        print(f"| {row['batch_size']} | {row['batch_latency_ms']} | {row['ceiling_qps']:.0f} | {levels} "
              f"| {row['qps32_over_ceiling']:.2f} |")
    t = r["train"]
    print(f"train: {t['steps']} steps of {t['batch_size']} pairs, {t['seconds_per_step']:.2f} s per step")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: every part in about a minute, on a CPU too")
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="anisim-gpu-check-"))
    try:
        report = check(SMOKE if args.smoke else FULL, args.smoke, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(report)
    if args.json:
        from anisim.atomic import write_text_atomic
        write_text_atomic(args.json, json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
