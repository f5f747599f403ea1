"""Known-item retrieval quality: recall@1, recall@10, recall@100 and MRR@10 over a query set.

Each query describes one title (its MAL id). The rank of that title in the same order the service
uses (`anisim.ranking`) is all that is measured; an answer missing from the catalog counts as
not found.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from anisim.errors import AnisimError
from anisim.query import Query
from anisim.search import Encode, Searcher

FORMS = ("query", "short", "noname")


def rank_of(scores: np.ndarray, position: int) -> int:
    """1-based rank of `position` in the stable order (score desc, position asc)."""
    gold = scores[position]
    return int(np.sum(scores > gold) + np.sum(scores[:position] == gold) + 1)


def summarize(ranks: list[int | None]) -> dict[str, float]:
    """recall@1, recall@10, recall@100 (what a person who scrolls finds) and MRR@10 of a list of
    ranks (None = not found)."""
    found = np.array([r if r is not None else 0 for r in ranks], dtype=float)
    hit = found > 0
    n = max(len(ranks), 1)
    return {
        "recall@1": round(float(np.sum(hit & (found == 1))) / n, 4),
        "recall@10": round(float(np.sum(hit & (found <= 10))) / n, 4),
        "recall@100": round(float(np.sum(hit & (found <= 100))) / n, 4),
        "mrr@10": round(float(np.sum(np.where(hit & (found <= 10), 1.0 / np.maximum(found, 1), 0.0))) / n, 4),
    }


def load_queries(path: Path) -> list[dict]:
    """Read a .jsonl query set: one {"id": MAL id, "<form>": text, ...} object per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnisimError(f"{path}: cannot read query set ({exc.__class__.__name__})") from None
    queries = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            query = json.loads(line)
        except json.JSONDecodeError:
            raise AnisimError(f"{path}:{number}: not a JSON object") from None
        if not isinstance(query, dict) or not isinstance(query.get("id"), int):
            raise AnisimError(f"{path}:{number}: each line needs an integer \"id\"")
        queries.append(query)
    return queries


def evaluate(searcher: Searcher, encode: Encode, queries: list[dict], mode: str,
             forms: tuple[str, ...] = FORMS) -> dict:
    """Metrics per query form, searching exactly as the service does (queries encoded in bulk)."""
    report: dict = {"kind": searcher.catalog.kind, "model": searcher.model, "mode": mode, "n": len(queries),
                    "missing_answers": sum(q["id"] not in searcher.catalog.position.index for q in queries)}
    for form in (f for f in forms if all(f in q for q in queries)):
        parsed = [Query.parse(q[form], mode, searcher.names) for q in queries]
        vectors = encode([q.text for q in parsed]) if parsed and parsed[0].needs_vector else [None] * len(parsed)
        ranks = []
        for query, text, vector in zip(queries, parsed, vectors):
            position = searcher.catalog.position.get(query["id"])
            ranks.append(None if position is None else rank_of(searcher.scores(text, vector), int(position)))
        report[form] = summarize(ranks)
    return report
