"""The metric code on a hand-made case, and known-item search on the real subset."""

import numpy as np
import pytest

from anisim.errors import AnisimError
from anisim.evaluation import evaluate, load_queries, rank_of, summarize


def test_rank_of_follows_the_stable_order():
    scores = np.array([0.2, 0.9, 0.5, 0.9], dtype=np.float32)
    assert [rank_of(scores, p) for p in range(4)] == [4, 1, 3, 2]


def test_metrics_on_a_hand_made_case():
    # one answer ranked 1st, one 3rd, one absent (not found at all)
    metrics = summarize([1, 3, None])
    assert metrics == {"recall@1": round(1 / 3, 4), "recall@10": round(2 / 3, 4), "recall@100": round(2 / 3, 4),
                       "mrr@10": round((1 + 1 / 3) / 3, 4)}
    assert summarize([11])["recall@10"] == 0 and summarize([11])["mrr@10"] == 0


def test_a_catalog_synopsis_as_its_own_query_ranks_first(searchers, encoder):
    for searcher in searchers.values():
        synopses = searcher.catalog.synopses.drop_duplicates("item_id").iloc[::25]
        queries = [{"query": text, "id": int(item_id)} for item_id, text in zip(synopses["item_id"], synopses["text"])]
        for mode in ("dense", "hybrid"):
            report = evaluate(searcher, encoder.encode, queries, mode, forms=("query",))
            assert report["query"]["recall@1"] == 1.0, (searcher.catalog.kind, mode)


def test_dev_queries_find_most_answers_in_the_subset(searchers, encoder, dev_queries):
    searcher = searchers["anime"]
    queries = [q for q in dev_queries["anime"] if q["id"] in searcher.catalog.position.index][:40]
    report = evaluate(searcher, encoder.encode, queries, "hybrid", forms=("short",))
    assert report["short"]["recall@10"] >= 0.8


def test_a_bad_query_file_is_a_clear_error(tmp_path):
    with pytest.raises(AnisimError, match="cannot read"):
        load_queries(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "query": "x"}\n{"query": "no id"}\n')
    with pytest.raises(AnisimError, match="bad.jsonl:2"):
        load_queries(bad)
