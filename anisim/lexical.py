"""Lexical retrieval: BM25 (the `bm25s` library) over each item's titles and synopses.

Names are what people remember best ("the one with Edward Elric"), and dense models blur them;
BM25 matches them exactly. One document per item: every title, synonym and distinct synopsis.

Building the anime index takes ~3 s of a cold start (22,000 documents tokenized and stemmed), so
`LexicalScorer.for_catalog` keeps it under `<home>/lexical/<kind>/` and loads it in ~0.05 s when it was
built from exactly the same documents (their SHA-256 is in `anisim.json` beside bm25s' files).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from anisim.atomic import atomic_folder
from anisim.catalog import Catalog

log = logging.getLogger(__name__)

_STOPWORDS = "en"
_MANIFEST = "anisim.json"


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

    @classmethod
    def for_catalog(cls, catalog: Catalog, home: Path) -> LexicalScorer:
        """The index of a catalog's `item_documents`, kept under `<home>/lexical/<kind>/` (`cached`)."""
        return cls.cached(item_documents(catalog), _lexical_dir(home, catalog.kind))

    @classmethod
    def cached(cls, documents: list[str], folder: Path) -> LexicalScorer:
        """The index of `documents`: loaded from `folder` when it was saved from exactly these
        documents, else built and saved there (atomically; an unwritable home only costs the build)."""
        digest = _documents_hash(documents)
        manifest = {"documents_sha256": digest, "documents": len(documents), "bm25s": bm25s.__version__}
        try:
            if json.loads((folder / _MANIFEST).read_text()) == manifest:
                return cls._load(folder, len(documents))
        except (OSError, ValueError) as problem:  # missing, unreadable or stale: build it again
            log.debug("no usable BM25 index in %s: %s", folder, problem)
        scorer = cls(documents)
        try:
            with atomic_folder(folder) as tmp:
                scorer.bm25.save(str(tmp), show_progress=False)
                (tmp / _MANIFEST).write_text(json.dumps(manifest))
        except OSError as problem:
            log.warning("could not save the BM25 index to %s (%s); it is rebuilt at each start", folder,
                        type(problem).__name__)
        return scorer

    @classmethod
    def _load(cls, folder: Path, n_items: int) -> LexicalScorer:
        scorer = cls.__new__(cls)
        scorer.stemmer = Stemmer.Stemmer("english")
        scorer.n_items = n_items
        scorer.bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return scorer

    def scores(self, text: str) -> np.ndarray:
        tokens = bm25s.tokenize([text], stopwords=_STOPWORDS, stemmer=self.stemmer,
                                return_ids=False, show_progress=False)[0]
        if not tokens:
            return np.zeros(self.n_items, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)


def _documents_hash(documents: list[str]) -> str:
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _lexical_dir(home: Path, kind: str) -> Path:
    return home / "lexical" / kind
