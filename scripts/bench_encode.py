"""Encode rate of the default model on this machine, both engines side by side: corpus synopses
and short queries, by mini-batch size.

    python scripts/bench_encode.py [--texts 256]

Corpus texts are real catalog synopses; queries are the `short` forms of the anime dev set.
Prints texts/s for each engine and mini-batch size (the ONNX engine needs `anisim prepare`'s export).
"""

from __future__ import annotations

import argparse
import random
import time

from anisim.catalog import build_catalog
from anisim.encoder import Embedder
from anisim.evaluation import load_queries
from anisim.models import resolve
from anisim.settings import Settings

BATCH_SIZES = (1, 8, 32, 64)


def rate(encoder: Embedder, texts: list[str], batch_size: int) -> float:
    started = time.perf_counter()
    encoder.encode(texts, batch_size=batch_size)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=256, help="texts per measurement")
    args = parser.parse_args()
    settings = Settings.from_env()
    catalog, _ = build_catalog(settings.data_dir, "anime")
    corpus = random.Random(1).sample(catalog.synopses["text"].tolist(), args.texts)
    dev = load_queries(settings.eval_dir / "anime_dev.jsonl")
    queries = [q["short"] for q in random.Random(2).sample(dev, args.texts)]
    spec = resolve(settings.default_model)
    encoders = {engine: Embedder(spec, engine, settings.home, device="cpu") for engine in ("torch", "onnx")}
    for encoder in encoders.values():
        encoder.encode(queries[:16])  # warm-up
    print(f"{spec.name} on the CPU, {args.texts} texts per cell, texts/s")
    print("| mini-batch | " + " | ".join(f"corpus, {e} | queries, {e}" for e in encoders) + " |")
    print("|---|" + "---|---|" * len(encoders))
    for size in BATCH_SIZES:
        cells = [f"{rate(e, corpus, size):.1f} | {rate(e, queries, size):.1f}" for e in encoders.values()]
        print(f"| {size} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
