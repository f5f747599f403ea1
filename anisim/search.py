"""Search one catalog: dense, lexical (BM25) or hybrid scores, filters, exact pages.

Hybrid is a convex combination of the dense cosine and the BM25 score scaled by the query's best
BM25 score, plus the priors (`anisim.priors`: popularity, a franchise's main entry, and how well a
title fits the description's cues), divided by the largest total the priors can add so it stays in
[-1, 1] and shows as a similarity. The weights were tuned on the dev sets (docs/quality.md).

One door: `Query.parse` cleans a user's text, splits it into the text to search and its cues
(`anisim.understanding`) and checks the mode (a blank text or an unknown mode is a
`RequestError`); `Searcher.search` takes that query (or the raw text) and either its vector or a
function that encodes, so the service can batch encoding in its own process, `anisim eval`
can encode in bulk, and the CLI can simply pass its model's `encode`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from anisim.catalog import Catalog, load_catalog
from anisim.errors import IndexProblem, NotFound, RequestError
from anisim.filters import Facets, Filters
from anisim.index import Index, load_index
from anisim.lexical import LexicalScorer, item_documents
from anisim.models import ModelSpec
from anisim.priors import Priors
from anisim.ranking import Match, Page, page_of
from anisim.settings import DEFAULT_MODE, MODES
from anisim.similarity import DenseScorer
from anisim.text import clean_query
from anisim.understanding import NO_CUES, NO_NAMES, Cues, Names, name_word, understand

HYBRID_LEXICAL_WEIGHT = 0.3
_LOWER_WORD = re.compile(r"(?<![\w-])[a-z][a-z'-]+(?![\w-])")
_NAME_WORD = re.compile(r"(?<![\w-])[A-Z][\w-]+")  # a capitalised word, as names are written
Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Query:
    """A cleaned, non-blank text to search, a known mode, and what the description said about the
    title (no cues when it was not understood: the text as typed)."""

    text: str
    mode: str = DEFAULT_MODE
    cues: Cues = NO_CUES

    @classmethod
    def parse(cls, raw: str, mode: str = DEFAULT_MODE, names: Names = NO_NAMES, understood: bool = True) -> Query:
        """`names`: the catalog's maker names to look for (`Searcher.names`)."""
        if mode not in MODES:
            raise RequestError(f"unknown mode; use one of: {', '.join(MODES)}")
        text = clean_query(raw, lines=understood)
        if not text:
            raise RequestError("the description is blank once markup and control characters are removed")
        if not understood:
            return cls(text, mode)
        found = understand(text, names)
        return cls(found.text, mode, found.cues)

    def with_cues(self, cues: Cues) -> Query:
        """The same query with other cues (a client removed some of them)."""
        return dataclasses.replace(self, cues=cues)

    @property
    def needs_vector(self) -> bool:
        return self.mode != "lexical"


def scaled(lexical: np.ndarray) -> np.ndarray:
    """BM25 scores divided by the query's best one, so they fall in [0, 1] like a similarity."""
    best = float(lexical.max(initial=0.0))
    return (lexical / best if best > 0 else lexical).astype(np.float32)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) * dense + weight * scaled(lexical)."""
    return ((1.0 - weight) * dense + weight * scaled(lexical)).astype(np.float32)


class Searcher:
    """Everything needed to answer queries over one catalog with one model's index."""

    def __init__(self, catalog: Catalog, index: Index | None, lexical_weight: float = HYBRID_LEXICAL_WEIGHT,
                 lexical: LexicalScorer | None = None) -> None:
        """`index` None: BM25 only (the service answers so while a model's index is being built)."""
        self.catalog = catalog
        self.priors = Priors(catalog)  # the kind's tuned weights (`anisim.priors.WEIGHTS`)
        self.names = catalog_names(catalog, self.priors)
        self.index = index
        self.lexical_weight = lexical_weight  # hybrid's BM25 weight, tuned per model (anisim.models)
        self.dense = DenseScorer(index, len(catalog.items)) if index else None
        self.lexical = lexical or LexicalScorer(item_documents(catalog))
        self.facets = Facets(catalog)
        item_ids = catalog.synopses["item_id"].to_numpy()
        self.synopsis_starts = np.searchsorted(item_ids, catalog.items["id"].to_numpy())  # per item position
        self.synopsis_ends = np.searchsorted(item_ids, catalog.items["id"].to_numpy(), side="right")

    @classmethod
    def open(cls, kind: str, spec: ModelSpec, home: Path) -> Searcher:
        """Load the catalog and index of `kind` (IndexProblem / SourceError say how to build them)."""
        catalog = load_catalog(home / "catalog", kind)
        return cls(catalog, load_index(catalog, spec, home), spec.lexical_weight, LexicalScorer.for_catalog(catalog, home))

    def with_index(self, index: Index | None, lexical_weight: float) -> Searcher:
        """This searcher over another model's index (the catalog, BM25 and priors are shared)."""
        twin = copy.copy(self)
        twin.index, twin.lexical_weight = index, lexical_weight
        twin.dense = DenseScorer(index, len(self.catalog.items)) if index else None
        return twin

    @property
    def model(self) -> str | None:
        return self.index.model if self.index else None

    @property
    def has_vectors(self) -> bool:
        return self.dense is not None

    def _dense(self) -> DenseScorer:
        if self.dense is None:
            raise IndexProblem(f"no {self.catalog.kind} index is loaded: only lexical search is possible")
        return self.dense

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray:
        """One score per item (catalog order) for a query and its unit vector (None in lexical mode)."""
        if query.mode == "lexical":
            return scaled(self.lexical.scores(query.text))
        dense = self._dense().scores(vector)[0]
        if query.mode == "dense":
            return dense
        fused = fuse(dense, self.lexical.scores(query.text), self.lexical_weight)
        return ((fused + self.priors.scores(query.cues)) / self.priors.largest).astype(np.float32)

    def search(self, query: Query | str, vector: np.ndarray | Encode | None, page: int = 1,
               page_size: int = 10, filters: Filters = Filters()) -> Page:
        """A page of results for a query (raw text is parsed in the default mode) and either its
        vector or a function that encodes it."""
        query = query if isinstance(query, Query) else Query.parse(query, names=self.names)
        if callable(vector):
            vector = vector([query.text])[0] if query.needs_vector else None
        found = page_of(self.scores(query, vector), page, page_size, filters.mask(self.facets))
        matches = self.lexical_matches(query.text, found.positions) if vector is None else \
            self.dense_matches(vector, found.positions)
        return dataclasses.replace(found, matches=matches)

    def dense_matches(self, vector: np.ndarray, positions: np.ndarray) -> tuple[Match, ...]:
        """Per result, the row (synopsis or passage) that gave it its dense score."""
        rows = self._dense().best_rows(vector, positions)
        units = self.index.units
        return tuple(Match(units.texts[r], int(units.synopses[r])) for r in rows)

    def lexical_matches(self, text: str, positions: np.ndarray) -> tuple[Match, ...]:
        """Per result, its synopsis with the best BM25 score for `text` (the first when no word matched)."""
        scores = self.synopsis_lexical.scores(text)
        texts = self.catalog.synopses["text"]
        best = [start + int(np.argmax(scores[start:end]))
                for start, end in zip(self.synopsis_starts[positions], self.synopsis_ends[positions])]
        return tuple(Match(texts.iat[s], s) for s in best)

    @cached_property
    def synopsis_lexical(self) -> LexicalScorer:
        """BM25 over single synopses (built on the first lexical search, about a second, unless the
        owner sets it first: the service does at load, from `LexicalScorer.for_synopses`)."""
        return LexicalScorer(self.catalog.synopses["text"].tolist())

    def similar(self, item_id: int, page: int = 1, page_size: int = 10,
                filters: Filters = Filters()) -> Page:
        """Titles nearest to one title by meaning; never the title itself."""
        if item_id not in self.catalog.position.index:
            raise NotFound(f"no {self.catalog.kind} with MAL id {item_id} in the catalog")
        position = int(self.catalog.position[item_id])
        dense = self._dense()
        vector = dense.item_vector(position)
        scores = dense.scores(vector)[0]
        allowed = filters.mask(self.facets)
        allowed = np.ones(scores.size, dtype=bool) if allowed is None else allowed.copy()
        allowed[position] = False
        found = page_of(scores, page, page_size, allowed)
        return dataclasses.replace(found, matches=self.dense_matches(vector, found.positions))


def catalog_names(catalog: Catalog, priors: Priors) -> Names:
    """The maker names a description of this catalog's titles can mention, each found only where
    the catalog's own synopses show it cannot be mistaken for a word or a character."""
    return Names(priors.maker_names(), everyday_words(catalog), storied_names(catalog, priors.makers))


def everyday_words(catalog: Catalog, min_count: int = 3) -> set[str]:
    """Lower-case words written in lower case in at least `min_count` synopses ("bones",
    "sunrise"): a maker name that is one of them is found only when capitalised."""
    counts: dict[str, int] = {}
    for text in catalog.synopses["text"]:
        for word in set(_LOWER_WORD.findall(text.replace("’", "'"))):
            counts[word] = counts.get(word, 0) + 1
    return {word for word, n in counts.items() if n >= min_count}


def storied_names(catalog: Catalog, makers: list[set[str]], min_titles: int = 15) -> set[str]:
    """Lower-case one-word maker names that the synopses of at least `min_titles` titles they did
    not make write as a name ("Gohan", "Zero", "Seven" of the Seven Deadly Sins): in a description
    they are a character or a thing far more often than the maker (measured: docs/quality.md)."""
    cores: dict[str, set[str]] = {}  # "zero" -> {"Studio Zero"}
    for name in set().union(*makers):
        if (word := name_word(name)) is not None:
            cores.setdefault(word, set()).add(name)
    titles: dict[str, set[int]] = {}
    for position, text in zip(catalog.synopses["item_id"].map(catalog.position), catalog.synopses["text"]):
        for word in {w.lower() for w in _NAME_WORD.findall(text)} & cores.keys():
            if not cores[word] & makers[position]:
                titles.setdefault(word, set()).add(position)
    return {word for word, found in titles.items() if len(found) >= min_titles}
