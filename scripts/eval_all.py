"""Retrieval quality of every search mode on both dev sets: the README's table.

    python scripts/eval_all.py [--json]

Each query form is encoded once and shared by the modes (the same code path as `anisim eval`).
The last column, "plain dense", is the baseline: dense search over whole synopses only (the same
index with its passage rows left out), as the old system searched.
"""

from __future__ import annotations

import argparse
import copy
import json

import numpy as np

from anisim import config
from anisim.encoder import Encoder
from anisim.evaluation import FORMS, evaluate, load_queries
from anisim.index import Index, load_index, text_hash
from anisim.models import DEFAULT_MODEL, resolve
from anisim.search import MODES, Searcher
from anisim.similarity import DenseScorer
from anisim.store import open_searcher, prepare

COLUMNS = (*MODES, "plain dense")


def whole_synopses_only(searcher: Searcher, spec) -> Searcher:
    """A copy of `searcher` whose dense index keeps only the rows of whole synopses."""
    index = load_index(searcher.catalog, spec, config.home_dir())
    whole = {text_hash(text) for text in searcher.catalog.synopses["text"]}
    keep = np.array([h in whole for h in index.manifest["text_hashes"]])
    plain = copy.copy(searcher)
    plain.dense = DenseScorer(Index(index.vectors[keep], index.rows[keep], index.manifest), len(searcher.catalog.items))
    return plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON list of reports")
    args = parser.parse_args()
    spec = resolve(DEFAULT_MODEL)
    prepare(spec)
    encoder = Encoder(spec)
    cache: dict[tuple[str, ...], object] = {}

    def encode(texts: list[str]):
        key = tuple(texts)
        if key not in cache:
            cache[key] = encoder.encode(texts)
        return cache[key]

    reports = []
    for kind in config.KINDS:
        searcher = open_searcher(kind, spec)
        queries = load_queries(config.eval_dir() / f"{kind}_dev.jsonl")
        reports += [evaluate(searcher, encode, queries, mode) for mode in MODES]
        plain = evaluate(whole_synopses_only(searcher, spec), encode, queries, "dense")
        reports.append({**plain, "mode": "plain dense"})
    if args.json:
        print(json.dumps(reports))
        return
    print(f"recall@1 / recall@10 / MRR@10, {spec.name}")
    print("| set | form | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for kind in config.KINDS:
        by_mode = {r["mode"]: r for r in reports if r["kind"] == kind}
        for form in FORMS:
            cells = [f"{by_mode[m][form]['recall@1']:.3f} / {by_mode[m][form]['recall@10']:.3f} / "
                     f"{by_mode[m][form]['mrr@10']:.3f}" for m in COLUMNS]
            print(f"| {kind} ({by_mode[MODES[0]]['n']:,}) | {form} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
