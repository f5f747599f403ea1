"""Lexical retrieval: BM25 (the `bm25s` library) over each item's titles and synopses.

Names are what people remember best ("the one with Edward Elric"), and dense models blur them;
BM25 matches them exactly. One document per item: every title and synonym, who made it (studios,
authors, magazines: "Ghibli" reaches Studio Ghibli's films) and every distinct synopsis.

Building the anime index takes ~3 s of a cold start (22,000 documents tokenized and stemmed), so
`LexicalScorer.for_catalog` keeps it under `<home>/lexical/<kind>/` and loads it in ~0.05 s when it was
built from exactly the same documents and its files are intact (`anisim.json` beside bm25s' files
holds the SHA-256 of the documents and of each file; anything else is rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.tokenization import STOPWORDS_EN

from anisim.atomic import atomic_folder, file_hash
from anisim.catalog import MAKER_FIELDS, Catalog
from anisim.errors import WriteFailed

log = logging.getLogger(__name__)

_MANIFEST = "anisim.json"
_STOPWORDS = STOPWORDS_EN  # bm25s' English list ("en"): the documents' and every query's
# bm25s.tokenize's defaults for one text, as the index was tokenized (tests/test_lexical.py checks
# they agree): lower case, words of two or more word characters, the stop words dropped
_WORDS = re.compile(r"(?u)\b\w\w+\b").findall
_STOP_SET = frozenset(_STOPWORDS)


def item_titles(catalog: Catalog) -> list[str]:
    """One text per item, in catalog order: every title and synonym."""
    return [" ".join(t for t in (row.title, row.title_english, row.title_japanese, *(row.title_synonyms or [])) if t)
            for row in catalog.items.itertuples(index=False)]


def item_synopses(catalog: Catalog) -> Iterator[str]:
    """One text per item, in catalog order: its distinct synopses (synopses are sorted by item)."""
    texts = catalog.synopses["text"].tolist()
    for start, end in zip(*catalog.synopsis_ranges()):
        yield " ".join(texts[start:end])


def item_makers(catalog: Catalog) -> list[str]:
    """One text per item, in catalog order: its studios, authors and magazines."""
    columns = [catalog.items[f] for f in MAKER_FIELDS]
    return [" ".join(n for names in group for n in (names or [])) for group in zip(*columns)]


def item_documents(catalog: Catalog) -> Iterator[str]:
    """One text per item, in catalog order: its titles, its makers, then its synopses. One at a
    time: checking a saved index needs only their hash, and the whole list (30 MB for anime)
    left 60 MB of the API worker's heap behind (scripts/memory_breakdown.py)."""
    for titles, makers, synopses in zip(item_titles(catalog), item_makers(catalog), item_synopses(catalog)):
        yield f"{titles} {makers} {synopses}"


class LexicalScorer:
    """A BM25 index of some texts (one per item: `item_documents`); `scores(text)` gives one score per text."""

    def __init__(self, documents: Iterable[str]) -> None:
        documents = list(documents)
        self.stemmer = Stemmer.Stemmer("english")
        self.n_items = len(documents)
        tokens = bm25s.tokenize(documents, stopwords=_STOPWORDS, stemmer=self.stemmer, show_progress=False)
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokens, show_progress=False)

    @classmethod
    def for_catalog(cls, catalog: Catalog, home: Path) -> LexicalScorer:
        """The index of a catalog's `item_documents`, kept under `<home>/lexical/<kind>/` (`cached`)."""
        return cls.cached(lambda: item_documents(catalog), _lexical_dir(home, catalog.kind))

    @classmethod
    def for_synopses(cls, catalog: Catalog, home: Path) -> LexicalScorer:
        """The index of every single synopsis (which one of a title's synopses matched), kept under
        `<home>/lexical/<kind>-synopses/` (`cached`): about a second to build for anime."""
        return cls.cached(lambda: catalog.synopses["text"], _lexical_dir(home, f"{catalog.kind}-synopses"))

    @classmethod
    def cached(cls, documents: Callable[[], Iterable[str]], folder: Path) -> LexicalScorer:
        """The index of the texts `documents()` gives: loaded from `folder` when it was saved from
        exactly these texts and every file still matches its checksum, else built and saved there
        (atomically; an unwritable home only costs the build, about 3 s for anime)."""
        digest, count = _documents_hash(documents())
        wanted = {"documents_sha256": digest, "documents": count, "bm25s": bm25s.__version__}
        try:
            manifest = json.loads((folder / _MANIFEST).read_bytes().decode("utf-8"))
            if {key: manifest.get(key) for key in wanted} == wanted and _files_intact(folder, manifest["files"]):
                return cls._load(folder, count)
            log.warning("the BM25 index in %s is stale or damaged: rebuilding it", folder)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as problem:  # missing or unreadable
            log.debug("no usable BM25 index in %s: %s", folder, type(problem).__name__)
        scorer = cls(documents())
        try:
            with atomic_folder(folder) as tmp:
                scorer.bm25.save(str(tmp), show_progress=False)
                files = {path.name: file_hash(path) for path in sorted(tmp.iterdir())}
                (tmp / _MANIFEST).write_text(json.dumps({**wanted, "files": files}))
        except (OSError, WriteFailed) as problem:
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

    def tokens(self, text: str) -> list[str]:
        """A query's stemmed words, as `bm25s.tokenize` makes them, without its cost per call: it
        makes three progress bars (disabled, but each takes tqdm's process-wide lock, which the API
        worker's search threads then queue on) and a set of the stop words: 56 against 17 us a text
        in one thread, and the lock's waits on top (docs/performance.md)."""
        return self.stemmer.stemWords([word for word in _WORDS(text.lower()) if word not in _STOP_SET])

    def scores(self, text: str) -> np.ndarray:
        """BM25 of the text against each document. A word the text says n times counts 1 + ln n
        times, not n: a long post repeats its everyday words ("movie", "remember") more often than
        the telling ones (measured: docs/experiments.md, 2026-12-06, query words counted once)."""
        tokens = self.tokens(text)
        by_count: dict[int, list[str]] = defaultdict(list)
        for token, count in Counter(tokens).items():
            by_count[count].append(token)
        total = np.zeros(self.n_items, dtype=np.float32)
        for count, words in by_count.items():
            total += (1.0 + math.log(count)) * np.asarray(self.bm25.get_scores(words), dtype=np.float32)
        return total


def _files_intact(folder: Path, files: dict[str, str]) -> bool:
    """Every file bm25s saved is there with the checksum it had when saved (a flipped bit in one
    would silently drop the right answer)."""
    return bool(files) and all((folder / name).is_file() and file_hash(folder / name) == sha for name, sha in files.items())


def _documents_hash(documents: Iterable[str]) -> tuple[str, int]:
    """The SHA-256 of the texts, and how many there are."""
    digest, count = hashlib.sha256(), 0
    for document in documents:
        digest.update(document.encode())
        digest.update(b"\0")
        count += 1
    return digest.hexdigest(), count


def _lexical_dir(home: Path, kind: str) -> Path:
    return home / "lexical" / kind
