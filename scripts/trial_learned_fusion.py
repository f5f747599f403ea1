"""Try a learned combination of scores against the convex hybrid, honestly: logistic regression over
a few features, trained and judged by 2-fold cross-validation on the dev *validation* split (the
tuned encoder saw the train split's queries, so its dense scores there are too good to learn from).

    python scripts/trial_learned_fusion.py [--model anisim-minilm-l6-v2] [--candidates 100] [--max-minutes 20]

Features of each (query, title) among the hybrid's top candidates: dense best row, dense best whole
synopsis, mean of the title's rows (passage agreement), BM25 over titles only and over synopses
only (each / the query's best), and the hybrid score itself. The learned score reranks the
candidates; the table compares recall@1 / recall@10 with the hybrid on the same held-out folds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize

from anisim.encoder import Embedder
from anisim.evaluation import FORMS, load_queries, summarize
from anisim.index import load_index, text_hash
from anisim.lexical import LexicalScorer, item_synopses, item_titles
from anisim.limits import KINDS
from anisim.models import resolve
from anisim.pairs import in_split, split_of
from anisim.query import Query
from anisim.search import Searcher
from anisim.settings import Settings
from anisim.terms import scaled

FEATURES = ("dense", "dense_whole", "row_mean", "bm25_titles", "bm25_synopses", "hybrid")


def feature_matrix(searcher: Searcher, extra: dict, query: Query, vector: np.ndarray, k: int):
    """(candidate positions by hybrid score, their feature rows)."""
    dense = searcher.dense
    row_scores = (vector[None, :] @ dense.vectors.T)[0]
    best = np.maximum.reduceat(row_scores, dense.starts)
    whole = np.maximum.reduceat(np.where(extra["whole"], row_scores, -1.0), dense.starts)
    mean = np.add.reduceat(row_scores, dense.starts) / extra["counts"]
    hybrid = searcher.scores(query, vector)
    candidates = np.argsort(-hybrid, kind="stable")[:k]
    columns = [best, whole, mean, scaled(extra["titles"].scores(query.text)),
               scaled(extra["synopses"].scores(query.text)), hybrid]
    return candidates, np.stack([c[candidates] for c in columns], axis=1)


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression weights (with bias, small L2), by L-BFGS."""
    xb = np.hstack([x, np.ones((len(x), 1))])

    def loss(w):
        z = xb @ w
        p = 1 / (1 + np.exp(-z))
        value = -np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)) + 1e-3 * w[:-1] @ w[:-1]
        grad = xb.T @ (p - y) / len(y) + np.r_[2e-3 * w[:-1], 0]
        return value, grad
    return minimize(loss, np.zeros(xb.shape[1]), jac=True, method="L-BFGS-B").x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=Settings.from_env().default_model)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--max-minutes", type=float, default=20.0, help="stop after this long")
    args = parser.parse_args()
    deadline = time.monotonic() + 60 * args.max_minutes
    settings = Settings.from_env()
    spec = resolve(args.model)
    embedder = Embedder.for_settings(spec, settings)
    print(f"learned fusion vs hybrid, {spec.name}, 2-fold CV on the validation split; R@1 / R@10")
    print("| set | form | hybrid | learned |")
    print("|---|---|---|---|")
    for kind in KINDS:
        searcher = Searcher.open(kind, spec, settings.home)
        catalog = searcher.catalog
        index = load_index(catalog, spec, settings.home)
        whole_hashes = {text_hash(t) for t in catalog.synopses["text"]}
        extra = {"whole": np.array([h in whole_hashes for h in index.manifest["text_hashes"]]),
                 "counts": np.diff(np.r_[searcher.dense.starts, len(index.rows)]),
                 "titles": LexicalScorer(item_titles(catalog)),
                 "synopses": LexicalScorer(item_synopses(catalog))}
        queries = [q for q in in_split(load_queries(settings.eval_dir / f"{kind}_dev.jsonl"), kind, "validation")
                   if q["id"] in catalog.position.index]
        fold = np.array([int(split_of(f"fold-{kind}", q["id"]) == "validation") for q in queries])
        for form in FORMS:
            if time.monotonic() > deadline:
                print("(--max-minutes reached)")
                return
            parsed = [Query.parse(q[form]) for q in queries]
            vectors = embedder.encode([q.text for q in parsed])
            rows = [feature_matrix(searcher, extra, p, v, args.candidates) for p, v in zip(parsed, vectors)]
            gold = [int(catalog.position[q["id"]]) for q in queries]
            labels = [(c == g).astype(float) for (c, _), g in zip(rows, gold)]
            hybrid_ranks, learned_ranks = [], []
            for held in (0, 1):
                train = [i for i in range(len(queries)) if fold[i] != held]
                w = fit(np.vstack([rows[i][1] for i in train]), np.concatenate([labels[i] for i in train]))
                for i in (i for i in range(len(queries)) if fold[i] == held):
                    candidates, x = rows[i]
                    learned = candidates[np.argsort(-(x @ w[:-1]), kind="stable")]
                    for order, out in ((candidates, hybrid_ranks), (learned, learned_ranks)):
                        hit = np.flatnonzero(order == gold[i])
                        out.append(int(hit[0]) + 1 if hit.size else None)
            h, lr = summarize(hybrid_ranks), summarize(learned_ranks)
            print(f"| {kind} ({len(queries)}) | {form} | {h['recall@1']:.3f} / {h['recall@10']:.3f} | "
                  f"{lr['recall@1']:.3f} / {lr['recall@10']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
