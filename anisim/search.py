"""Search one catalog: dense, lexical (BM25) or hybrid scores, filters, exact pages.

Hybrid weighs and adds the terms of `anisim.terms` (dense, BM25, the priors and how well a title
fits the description's cues) as the kind's `anisim.fusion` says; dense and lexical are one term
each. `Searcher.search` takes a `Query` (or the raw text) and either its vector or a function that
encodes, so the service can batch encoding in its own process, `anisim eval` can encode in bulk,
and the CLI can simply pass its model's `encode`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np

from anisim.catalog import Catalog, load_catalog
from anisim.columns import Columns
from anisim.errors import IndexProblem, NotFound
from anisim.filters import Filters
from anisim.fusion import FUSIONS, Fusion
from anisim.index import Index, load_index
from anisim.lexical import LexicalScorer, item_documents
from anisim.models import ModelSpec
from anisim.query import Query
from anisim.ranking import Match, Page, page_of, refined
from anisim.similarity import DenseScorer
from anisim.terms import catalog_terms
from anisim.understanding import Names, name_word

_LOWER_WORD = re.compile(r"(?<![\w-])[a-z][a-z'-]+(?![\w-])")
_NAME_WORD = re.compile(r"(?<![\w-])[A-Z][\w-]+")  # a capitalised word, as names are written
Encode = Callable[[list[str]], np.ndarray]


class Searcher:
    """Everything needed to answer queries over one catalog with one model's index."""

    def __init__(self, catalog: Catalog, index: Index | None, lexical: LexicalScorer | None = None,
                 fusion: Fusion | None = None) -> None:
        """`index` None: BM25 only (the service answers so while a model's index is being built).
        `fusion` None: the kind's own (`anisim/fusion.toml`)."""
        self.catalog = catalog
        self.columns = Columns(catalog)
        self.fusion = FUSIONS[catalog.kind] if fusion is None else fusion
        self.names = catalog_names(catalog, self.columns)
        self.index = index
        self.dense = DenseScorer(index, len(catalog.items)) if index else None
        self.lexical = lexical or LexicalScorer(item_documents(catalog))
        self.terms = catalog_terms(self.columns, self.dense, self.lexical)

    @classmethod
    def open(cls, kind: str, spec: ModelSpec, home: Path) -> Searcher:
        """Load the catalog and index of `kind` (IndexProblem / SourceError say how to build them)."""
        catalog = load_catalog(home / "catalog", kind)
        return cls(catalog, load_index(catalog, spec, home), LexicalScorer.for_catalog(catalog, home))

    def with_index(self, index: Index | None) -> Searcher:
        """This searcher over another model's index (the catalog, BM25 and columns are shared)."""
        twin = copy.copy(self)
        twin.index = index
        twin.dense = DenseScorer(index, len(self.catalog.items)) if index else None
        twin.terms = catalog_terms(self.columns, twin.dense, self.lexical)
        return twin

    def with_fusion(self, fusion: Fusion) -> Searcher:
        """This searcher ranking by another formula (a trial: `anisim eval --ranking`)."""
        twin = copy.copy(self)
        twin.fusion = fusion
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
        """One exact score per item (catalog order) for a query and its unit vector (None in
        lexical mode): the whole ranking, as `anisim eval` reads it."""
        if query.mode == "lexical":
            return self.terms["bm25"].scores(query, vector)
        self._dense()
        if query.mode == "dense":
            return self.terms["dense"].scores(query, vector)
        return self.fusion.scores(self.terms, query, vector)

    def search(self, query: Query | str, vector: np.ndarray | Encode | None, page: int = 1,
               page_size: int = 10, filters: Filters = Filters()) -> Page:
        """A page of results for a query (raw text is parsed in the default mode) and either its
        vector or a function that encodes it. The page is the one `scores` gives, found faster."""
        query = query if isinstance(query, Query) else Query.parse(query, names=self.names)
        if callable(vector):
            vector = vector([query.text])[0] if query.needs_vector else None
        allowed = filters.mask(self.columns)
        if query.mode == "lexical":
            scores, similarities = self.scores(query, vector), {}
        else:
            scores, similarities = self._page_scores(query, vector, page * page_size, allowed)
        found = page_of(scores, page, page_size, allowed)
        return dataclasses.replace(found, matches=self.matches(query, vector, found.positions, similarities))

    def _page_scores(self, query: Query, vector: np.ndarray, k: int,
                     allowed: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Scores whose k best are `scores`' to the bit: the dense term from the rows' int8 codes
        (`anisim.quantized`), then exact for every item whose error bound lets it reach the k best."""
        if query.mode == "dense":
            return self._dense_page_scores(vector, k, allowed), {}
        approximate, bound = self._dense().approximate(vector)
        similarities = self.fusion.similarities(self.terms, query, vector, known={"dense": approximate})
        boost = self.fusion.boost(self.terms, query, vector)
        scores = self.fusion.combine(similarities, boost)
        if "dense" not in similarities:
            return scores, similarities
        exact = self.exact_hybrid(vector, similarities, boost)
        return refined(scores, bound * self.fusion.share("dense"), k, allowed, exact), similarities

    def _dense_page_scores(self, vector: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
        """Dense scores whose k best are exact (the dense mode, and "more like this")."""
        dense = self._dense()
        approximate, bound = dense.approximate(vector)
        return refined(approximate, bound, k, allowed, lambda positions: dense.exact_at(vector, positions))

    def exact_hybrid(self, vector: np.ndarray, similarities: dict[str, np.ndarray],
                     boost: np.ndarray | float) -> Callable[[np.ndarray], np.ndarray]:
        """Exact hybrid scores of some items, from their exact dense term and the other terms
        already computed; the dense term in `similarities` becomes exact there too (`matches`
        compares it)."""
        def exact(positions: np.ndarray) -> np.ndarray:
            similarities["dense"][positions] = self._dense().exact_at(vector, positions)
            return self.fusion.combine({name: values[positions] for name, values in similarities.items()},
                                       boost[positions] if isinstance(boost, np.ndarray) else boost)
        return exact

    def matches(self, query: Query, vector: np.ndarray | None, positions: np.ndarray,
                similarities: dict[str, np.ndarray]) -> tuple[Match, ...]:
        """Per result, the text that earned its score: the best dense passage ("meaning") or the
        synopsis BM25 scored best ("words"). In hybrid (`similarities`: its dense and BM25 terms),
        whichever of the two weighted terms added more to that title's score."""
        if vector is None or ("bm25" in similarities and "dense" not in similarities):
            return self.lexical_matches(query.text, positions)
        dense = self.dense_matches(vector, positions)
        if "bm25" not in similarities or not positions.size:
            return dense
        weights = self.fusion.similarity
        by_words = weights["bm25"] * similarities["bm25"][positions] > weights["dense"] * similarities["dense"][positions]
        if not by_words.any():
            return dense
        lexical = self.lexical_matches(query.text, positions)
        return tuple(w if words else d for d, w, words in zip(dense, lexical, by_words))

    def dense_matches(self, vector: np.ndarray, positions: np.ndarray) -> tuple[Match, ...]:
        """Per result, the row (synopsis or passage) that gave it its dense score."""
        rows = self._dense().best_rows(vector, positions)
        units = self.index.units
        return tuple(Match(units.texts[r], int(units.synopses[r]), "meaning") for r in rows)

    def lexical_matches(self, text: str, positions: np.ndarray) -> tuple[Match, ...]:
        """Per result, its synopsis with the best BM25 score for `text` (the first when no word matched)."""
        scores = self.synopsis_lexical.scores(text)
        texts = self.catalog.synopses["text"]
        best = [start + int(np.argmax(scores[start:end]))
                for start, end in zip(self.columns.synopsis_starts[positions], self.columns.synopsis_ends[positions])]
        return tuple(Match(texts.iat[s], s, "words") for s in best)

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
        vector = self._dense().item_vector(position)
        allowed = filters.mask(self.columns)
        allowed = np.ones(len(self.catalog.items), dtype=bool) if allowed is None else allowed.copy()
        allowed[position] = False
        found = page_of(self._dense_page_scores(vector, page * page_size, allowed), page, page_size, allowed)
        return dataclasses.replace(found, matches=self.dense_matches(vector, found.positions))


def catalog_names(catalog: Catalog, columns: Columns) -> Names:
    """The maker names a description of this catalog's titles can mention, each found only where
    the catalog's own synopses show it cannot be mistaken for a word or a character."""
    return Names(columns.maker_names(), everyday_words(catalog), storied_names(catalog, columns.makers))


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
