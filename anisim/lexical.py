"""Lexical retrieval: BM25 (the `bm25s` library) over each item's titles and synopses.

Names are what people remember best ("the one with Edward Elric"), and dense models blur them;
BM25 matches them exactly. One document per item: every title, synonym and distinct synopsis.
"""

from __future__ import annotations

import bm25s
import numpy as np
import Stemmer

from anisim.catalog import Catalog

_STOPWORDS = "en"


def item_titles(catalog: Catalog) -> list[str]:
    """One text per item, in catalog order: every title and synonym."""
    return [" ".join(t for t in (row.title, row.title_english, row.title_japanese, *(row.title_synonyms or [])) if t)
            for row in catalog.items.itertuples(index=False)]


def item_synopses(catalog: Catalog) -> list[str]:
    """One text per item, in catalog order: its distinct synopses."""
    synopses = catalog.synopses.groupby("item_id", sort=False)["text"].agg(" ".join)
    return [synopses.get(item_id, "") for item_id in catalog.items["id"]]


def item_documents(catalog: Catalog) -> list[str]:
    """One text per item, in catalog order: its titles, then its synopses."""
    return [f"{titles} {synopses}" for titles, synopses in zip(item_titles(catalog), item_synopses(catalog))]


class LexicalScorer:
    """A BM25 index of some texts (one per item: `item_documents`); `scores(text)` gives one score per text."""

    def __init__(self, documents: list[str]) -> None:
        self.stemmer = Stemmer.Stemmer("english")
        self.n_items = len(documents)
        tokens = bm25s.tokenize(documents, stopwords=_STOPWORDS, stemmer=self.stemmer, show_progress=False)
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokens, show_progress=False)

    def scores(self, text: str) -> np.ndarray:
        tokens = bm25s.tokenize([text], stopwords=_STOPWORDS, stemmer=self.stemmer,
                                return_ids=False, show_progress=False)[0]
        if not tokens:
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
