"""The BM25 index kept under the home folder: loaded only when built from the same documents."""

import numpy as np
import pytest

from anisim.lexical import _STOPWORDS, LexicalScorer, item_documents

QUERIES = ("a boy reborn as a slime in another world", "Edward Elric alchemy", "zzzz")


@pytest.fixture(scope="module")
def documents(small_catalogs) -> list[str]:
    return list(item_documents(small_catalogs["anime"]))


def _refuse_to_build(monkeypatch) -> None:
    def build(self, documents):
        raise AssertionError("built although a current index was saved")
    monkeypatch.setattr(LexicalScorer, "__init__", build)


def test_a_saved_index_scores_exactly_like_a_fresh_one(documents, tmp_path, monkeypatch):
    fresh = LexicalScorer(documents)
    LexicalScorer.cached(lambda: documents, tmp_path / "lexical")
    _refuse_to_build(monkeypatch)
    loaded = LexicalScorer.cached(lambda: documents, tmp_path / "lexical")
    for query in QUERIES:
        assert np.array_equal(loaded.scores(query), fresh.scores(query))
    assert loaded.scores("Edward Elric alchemy").max() > 0


def test_an_index_of_other_documents_is_rebuilt_not_served(documents, tmp_path):
    folder = tmp_path / "lexical"
    LexicalScorer.cached(lambda: documents, folder)
    changed = [*documents[:-1], documents[-1] + " Edward Elric"]
    rebuilt = LexicalScorer.cached(lambda: changed, folder)
    assert np.array_equal(rebuilt.scores("Edward Elric"), LexicalScorer(changed).scores("Edward Elric"))


def test_a_damaged_manifest_means_a_rebuild(documents, tmp_path):
    folder = tmp_path / "lexical"
    LexicalScorer.cached(lambda: documents, folder)
    (folder / "anisim.json").write_text("{not json")
    scorer = LexicalScorer.cached(lambda: documents, folder)
    assert np.array_equal(scorer.scores(QUERIES[0]), LexicalScorer(documents).scores(QUERIES[0]))


def test_an_unwritable_home_only_costs_the_build(documents, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder's parent should be")
    scorer = LexicalScorer.cached(lambda: documents, blocker / "lexical")
    assert np.array_equal(scorer.scores(QUERIES[1]), LexicalScorer(documents).scores(QUERIES[1]))


def test_a_word_said_again_counts_less_each_time(documents):
    """A post that says "movie" five times is not five times about movies: n mentions weigh 1 + ln n."""
    scorer = LexicalScorer(documents)
    once, elric = scorer.scores("alchemy"), scorer.scores("Elric")
    assert once.max() > 0 and elric.max() > 0
    np.testing.assert_allclose(scorer.scores("alchemy alchemy Elric alchemy"), (1 + np.log(3)) * once + elric, rtol=1e-5)


def test_query_tokens_are_bm25s_tokens(documents, dev_queries):
    """The index was tokenized by `bm25s.tokenize`; a query is tokenized without it (per call it
    made progress bars under a process-wide lock), so the two must give the same words."""
    import bm25s

    scorer = LexicalScorer(documents[:50])
    texts = [q[form] for q in dev_queries["anime"][:200] for form in ("query", "short")]
    texts += ["", "the a an", "Ōkami-san: ÉCOLE d'été!! x 2", "AKIRA (1988)\tneo-Tokyo\nbiker gangs", "日本語のタイトル"]
    for text in texts:
        expected = bm25s.tokenize([text], stopwords=_STOPWORDS, stemmer=scorer.stemmer, return_ids=False,
                                   show_progress=False)[0]
        assert scorer.tokens(text) == expected
