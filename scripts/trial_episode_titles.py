"""Trial: do English episode titles help find an anime (docs/quality.md)?

    python scripts/trial_episode_titles.py [--max-minutes 30]

Three ways, each against today's search (the shipped weights), ranking every query once:
- `bm25`: each title's episode titles added to its BM25 document (titles, makers, synopses);
- `dense`: the episode titles joined into one more passage per title, encoded by the tuned model;
  a title's dense score is its best row, as today;
- `both`.
Prints R@1 / R@10 / MRR@10 on the synthetic train and validation splits and the real posts. The
episode titles come from the saved catalog (`anisim prepare` with `anime-metadata/` present).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from tune_priors import FORMS, REAL_POSTS, QuerySet, ranks, score_set, tuned_setup

from anisim.evaluation import load_queries, summarize
from anisim.lexical import LexicalScorer, item_documents
from anisim.pairs import in_split
from anisim.query import Query
from anisim.search import Searcher
from anisim.terms import scaled

MAX_EPISODE_WORDS = 200  # about the model's 256-token window


def episode_texts(searcher: Searcher) -> dict[int, str]:
    """Catalog position -> the title's episode titles as one passage (titles that have some)."""
    out = {}
    for position, titles in enumerate(searcher.catalog.items["episode_titles"]):
        if titles:
            out[position] = " ".join(" ".join(f"{t}." for t in titles).split()[:MAX_EPISODE_WORDS])
    return out


def with_episodes_dense(qs: QuerySet, queries: list[str], encode, positions: np.ndarray, vectors: np.ndarray) -> QuerySet:
    """The set with each title's dense score raised to its episode passage's cosine where higher."""
    dense = qs.dense.copy()
    cosine = encode(queries) @ vectors.T
    dense[:, positions] = np.maximum(dense[:, positions], cosine)
    return QuerySet(qs.name, dense, qs.lexical, qs.queries, qs.answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-minutes", type=float, default=30.0, help="stop after this long")
    args = parser.parse_args()
    deadline = time.monotonic() + 60 * args.max_minutes
    settings, encode, searcher = tuned_setup("anime")
    episodes = episode_texts(searcher)
    print(f"{len(episodes):,} titles with episode titles; encoding them", flush=True)
    positions = np.array(sorted(episodes))
    vectors = encode([episodes[p] for p in positions])
    documents = list(item_documents(searcher.catalog))
    for position, text in episodes.items():
        documents[position] += " " + text
    bm25_episodes = LexicalScorer(documents)
    queries = load_queries(settings.eval_dir / "anime_dev.jsonl")
    named = [(f"{f} {split}", in_split(queries, "anime", split), f) for split in ("train", "validation") for f in FORMS]
    named += [(f"real posts {f}", load_queries(settings.eval_dir / REAL_POSTS), f) for f in ("query", "short")]
    rows: dict[str, list[dict]] = {"today": [], "bm25": [], "dense": [], "both": []}
    for name, subset, form in named:
        if time.monotonic() > deadline:
            print("(--max-minutes reached)")
            break
        today = score_set(name, searcher, encode, subset, form)
        kept = [q for q in subset if q["id"] in searcher.catalog.position.index]
        texts = [Query.parse(q[form], "hybrid", searcher.names).text for q in kept]
        lexical = np.stack([scaled(bm25_episodes.scores(t)) for t in texts])
        bm25 = QuerySet(name, today.dense, lexical, today.queries, today.answers)
        dense = with_episodes_dense(today, texts, encode, positions, vectors)
        both = QuerySet(name, dense.dense, lexical, today.queries, today.answers)
        for label, qs in (("today", today), ("bm25", bm25), ("dense", dense), ("both", both)):
            found = summarize(ranks(qs, searcher, searcher.fusion).tolist())
            rows[label].append({"set": f"{name} ({len(qs.answers)})", **found})
    sets = [r["set"] for r in rows["today"]]
    print("| way | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(f"{c['recall@1']:.3f} / {c['recall@10']:.3f} / {c['mrr@10']:.3f}"
                                          for c in cells) + " |")


if __name__ == "__main__":
    main()
