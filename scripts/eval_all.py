"""Retrieval quality, side by side: stock MiniLM and the tuned model, dense / lexical / hybrid, on
both synthetic dev sets and the real-post dev set: the README's quality table.

    python scripts/eval_all.py [--split validation|train|all] [--weights 0.1,0.2,0.3] [--json]

The tuned model was trained on the dev queries of the *train* split only (`anisim.pairs`): its
numbers on `--split validation` (the default) are the honest ones; on `all` they mix in titles it
saw in training. Each query form is encoded once per model and shared by the modes, through the
same code path as `anisim eval`. `--weights` also reports hybrid at other BM25 weights (tuning).
The real posts (`anime_tomt_dev.jsonl`, whole posts and their first 60 words) are reported whole
whatever `--split` says: no model was trained on them (the prior weights were tuned on them, see
scripts/tune_priors.py).
"""

from __future__ import annotations

import argparse
import json

from anisim.encoder import Embedder
from anisim.evaluation import FORMS, evaluate, load_queries
from anisim.limits import KINDS
from anisim.models import MINILM, TUNED, resolve
from anisim.pairs import SPLITS, in_split
from anisim.search import Searcher
from anisim.settings import Settings

MODES = ("lexical", "dense", "hybrid")
REAL_POSTS = "anime_tomt_dev.jsonl"


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
    query_sets = [(kind, f"{kind} ({split})", in_split(load_queries(settings.eval_dir / f"{kind}_dev.jsonl"), kind, split))
                  for kind in KINDS]
    query_sets.append(("anime", "real posts", load_queries(settings.eval_dir / REAL_POSTS)))
    reports = []
    for kind, name, queries in query_sets:
        searchers = {model: Searcher.open(kind, resolve(model), settings.home) for model in models}
        for model, mode, weight in columns(models, weights):
            searcher = searchers[model]
            if weight is not None:  # the kind's formula with another BM25 weight (dense takes the rest)
                searcher = searcher.with_fusion(searcher.fusion.with_weight("bm25", weight).with_weight("dense", 1 - weight))
            report = evaluate(searcher, encoders[model], queries, mode)
            label = mode if weight is None else f"hybrid@{weight:g}"
            reports.append({**report, "set": name, "column": f"{model} {label}", "split": split})
    return reports


def print_table(reports: list[dict]) -> None:
    names = list(dict.fromkeys(r["column"] for r in reports))
    print(f"recall@1 / recall@10 / recall@100 / MRR@10; synthetic sets: dev {reports[0]['split']} split")
    print("| set | form | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for name in dict.fromkeys(r["set"] for r in reports):
        by_column = {r["column"]: r for r in reports if r["set"] == name}
        for form in (f for f in FORMS if f in by_column[names[0]]):
            cells = ["{recall@1:.3f} / {recall@10:.3f} / {recall@100:.3f} / {mrr@10:.3f}".format(**by_column[c][form])
                     for c in names]
            print(f"| {name}, {by_column[names[0]]['n']:,} | {form} | " + " | ".join(cells) + " |")


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
