"""Trial: the anime popularity prior, once MAL's rankings fill `members` for 13k titles (docs/quality.md).

    python scripts/trial_popularity.py [--max-minutes 20]

Scores each query once (dense and BM25, as `scripts/tune_priors.py` does), then ranks the answer
under each way of reading an unknown member count and each popularity weight, the other prior
weights kept as shipped. Ways of reading "unknown":
- `predicted`: today's rule, least squares from listings, score and type over the titles that know it;
- `floor`: the same, but never above the 10th percentile of the known counts: since the rankings
  list MAL's top 10,000 by score of 2022-2026, a title missing from them is mostly obscure or new.
Prints R@1 / R@10 / MRR@10 per set: the synthetic train and validation splits and the real posts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tune_priors import FORMS, REAL_POSTS, QuerySet, ranks, score_set, tuned_setup

from anisim.evaluation import load_queries, summarize
from anisim.pairs import in_split
from anisim.priors import popularity
from anisim.search import Searcher

WEIGHT_GRID = (0.32, 0.24, 0.16, 0.08)
FLOOR_QUANTILE = 0.10


def floored(searcher: Searcher) -> np.ndarray:
    """Popularity with each unknown title's predicted value capped at a low quantile of the known."""
    values = popularity(searcher.catalog)
    known = ~np.isnan(np.asarray([np.nan if m is None else float(m) for m in searcher.catalog.items["members"]]))
    cap = np.quantile(values[known], FLOOR_QUANTILE)
    return np.where(known, values, np.minimum(values, cap)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-minutes", type=float, default=20.0, help="stop after this long (scoring is most of it)")
    args = parser.parse_args()
    deadline = time.monotonic() + 60 * args.max_minutes
    settings, encode, searcher = tuned_setup("anime")
    queries = load_queries(settings.eval_dir / "anime_dev.jsonl")
    sets: list[QuerySet] = []
    for split in ("train", "validation"):
        sets += [score_set(f"{f} {split}", searcher, encode, in_split(queries, "anime", split), f) for f in FORMS]
    posts = load_queries(settings.eval_dir / REAL_POSTS)
    sets += [score_set(f"real posts {f}", searcher, encode, posts, f) for f in ("query", "short")]
    readings = {"predicted": searcher.columns.popularity.copy(), "floor": floored(searcher)}
    print("| reading | weight | " + " | ".join(f"{qs.name} ({len(qs.answers)})" for qs in sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    for name, values in readings.items():
        searcher.columns.popularity = values
        for weight in WEIGHT_GRID:
            if time.monotonic() > deadline:
                print("(--max-minutes reached)")
                return
            weights = searcher.fusion.with_weight("popularity", weight)
            cells = [summarize(ranks(qs, searcher, weights).tolist()) for qs in sets]
            print(f"| {name} | {weight} | " + " | ".join(
                f"{c['recall@1']:.3f} / {c['recall@10']:.3f} / {c['mrr@10']:.3f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
