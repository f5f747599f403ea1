"""Retrieval quality, side by side: stock MiniLM and the tuned model, dense / lexical / hybrid, on
both dev sets: the README's quality table.

    python scripts/eval_all.py [--split validation|train|all] [--weights 0.1,0.2,0.3] [--json]

The tuned model was trained on the dev queries of the *train* split only (`anisim.pairs`): its
numbers on `--split validation` (the default) are the honest ones; on `all` they mix in titles it
saw in training. Each query form is encoded once per model and shared by the modes, through the
same code path as `anisim eval`. `--weights` also reports hybrid at other BM25 weights (tuning).
"""

from __future__ import annotations

import argparse
import json

from anisim.encoder import Embedder
from anisim.evaluation import FORMS, evaluate, load_queries
from anisim.models import MINILM, TUNED, resolve
from anisim.pairs import SPLITS, in_split
from anisim.search import Searcher
from anisim.settings import KINDS, Settings

MODES = ("lexical", "dense", "hybrid")


def cached(encode):
    """Encode each distinct list of texts once (every mode reuses the same query vectors)."""
    memo: dict[tuple[str, ...], object] = {}

    def encode_once(texts: list[str]):
        key = tuple(texts)
        if key not in memo:
            memo[key] = encode(texts)
        return memo[key]
    return encode_once


def columns(models: list[str], weights: list[float]) -> list[tuple[str, str, float | None]]:
    """(model, mode, hybrid weight) per column: lexical once, then each model's dense and hybrids."""
    out: list[tuple[str, str, float | None]] = [(models[0], "lexical", None)]
    for model in models:
        out += [(model, "dense", None), (model, "hybrid", None)]
        out += [(model, "hybrid", w) for w in weights]
    return out


def run(settings: Settings, split: str, weights: list[float]) -> list[dict]:
    models = [MINILM, TUNED]
    encoders = {name: cached(Embedder.for_settings(resolve(name), settings).encode) for name in models}
    reports = []
    for kind in KINDS:
        queries = in_split(load_queries(settings.eval_dir / f"{kind}_dev.jsonl"), kind, split)
        searchers = {name: Searcher.open(kind, resolve(name), settings.home) for name in models}
        for model, mode, weight in columns(models, weights):
            searcher = searchers[model]
            searcher.lexical_weight = resolve(model).lexical_weight if weight is None else weight
            report = evaluate(searcher, encoders[model], queries, mode)
            label = mode if weight is None else f"hybrid@{weight:g}"
            reports.append({**report, "column": f"{model} {label}", "split": split})
    return reports


def print_table(reports: list[dict]) -> None:
    names = list(dict.fromkeys(r["column"] for r in reports))
    print(f"recall@1 / recall@10 / MRR@10, dev {reports[0]['split']} split")
    print("| set | form | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for kind in KINDS:
        by_column = {r["column"]: r for r in reports if r["kind"] == kind}
        for form in FORMS:
            cells = [f"{by_column[c][form]['recall@1']:.3f} / {by_column[c][form]['recall@10']:.3f} / "
                     f"{by_column[c][form]['mrr@10']:.3f}" for c in names]
            print(f"| {kind} ({by_column[names[0]]['n']:,}) | {form} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=SPLITS, default="validation", help="dev queries to report on")
    parser.add_argument("--weights", default="", help="extra hybrid BM25 weights to report, comma-separated")
    parser.add_argument("--json", action="store_true", help="print one JSON list of reports")
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",") if w]
    reports = run(Settings.from_env(), args.split, weights)
    if args.json:
        print(json.dumps(reports))
    else:
        print_table(reports)


if __name__ == "__main__":
    main()
