"""The score terms of search: one small object per term, each scoring every item for a query.

Similarity terms (dense, BM25) read the query's text or vector; prior terms (popularity, reach, a
franchise's main entry, MAL's score) are the same for every query; cue terms say how well each title fits what
the description said about it (type, era, maker, audience, genres, dubbed) and have nothing to say
(None) when it said nothing. `anisim.fusion` weighs and adds them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from anisim.columns import Columns
from anisim.lexical import LexicalScorer
from anisim.query import Query
from anisim.similarity import DenseScorer

ERA_FADE_YEARS = 8.0  # an era cue's term falls from 1 to 0 over this many years outside the range


class Term(Protocol):
    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        """One value per item, in catalog order (None: this query gives the term nothing to say)."""


def scaled(lexical: np.ndarray) -> np.ndarray:
    """BM25 scores divided by the query's best one, so they fall in [0, 1] like a similarity."""
    best = float(lexical.max(initial=0.0))
    return (lexical / best if best > 0 else lexical).astype(np.float32)


def era_fit(years: np.ndarray, wanted: tuple[int | None, int | None]) -> np.ndarray:
    """1 inside the range, fading to 0 over ERA_FADE_YEARS outside; 0 for unknown years."""
    low = wanted[0] if wanted[0] is not None else -np.inf
    high = wanted[1] if wanted[1] is not None else np.inf
    outside = np.maximum(low - years, 0) + np.maximum(years - high, 0)
    return np.nan_to_num(np.clip(1.0 - outside / ERA_FADE_YEARS, 0.0, 1.0), nan=0.0).astype(np.float32)


@dataclass(frozen=True)
class Dense:
    """The cosine of the query's vector and each title's best synopsis or passage."""

    scorer: DenseScorer

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray:
        return self.scorer.scores(vector)[0]


@dataclass(frozen=True)
class Bm25:
    """BM25 of the query's words over each title's titles and synopses, scaled to [0, 1]."""

    lexical: LexicalScorer

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray:
        return scaled(self.lexical.scores(query.text))


@dataclass(frozen=True)
class Column:
    """A prior: one per-item column in [0, 1], the same for every query (popularity, reach, main entry)."""

    values: Callable[[], np.ndarray]

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray:
        return self.values()


@dataclass(frozen=True)
class TypeFit:
    """1 for a title of a type the description named ("a movie")."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        return np.isin(self.columns.types, query.cues.types) if query.cues.types else None


@dataclass(frozen=True)
class EraFit:
    """How close a title's start year is to the era the description named (`era_fit`)."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        return era_fit(self.columns.years, query.cues.years) if query.cues.years else None


@dataclass(frozen=True)
class MakerFit:
    """1 for a title by a studio, author or magazine the description named."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        if not query.cues.names:
            return None
        return self.columns.makers_lower.any_of({n.lower() for n in query.cues.names}).astype(np.float32)


@dataclass(frozen=True)
class AudienceFit:
    """1 for a title for the audience the description named (a demographic, or a content rating)."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        if not query.cues.audience:
            return None
        wanted = set(query.cues.audience)
        fits = self.columns.demographics.any_of(wanted)
        for audience in wanted & self.columns.rated.keys():
            fits |= self.columns.rated[audience]
        return fits


@dataclass(frozen=True)
class GenreFit:
    """The share of the genres and themes the description named that a title has."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        if not query.cues.genres:
            return None
        wanted = set(query.cues.genres)
        return self.columns.genres.count(wanted).astype(np.float32) / len(wanted)


@dataclass(frozen=True)
class DubbedPopularity:
    """Popularity again, when the description says the title was dubbed (it was seen abroad)."""

    columns: Columns

    def scores(self, query: Query, vector: np.ndarray | None) -> np.ndarray | None:
        return self.columns.popularity if query.cues.dubbed else None


def catalog_terms(columns: Columns, dense: DenseScorer | None, lexical: LexicalScorer) -> dict[str, Term]:
    """Every term by its name in `fusion.toml` (dense only with an index)."""
    terms: dict[str, Term] = {
        "bm25": Bm25(lexical),
        "popularity": Column(lambda: columns.popularity), "reach": Column(lambda: columns.reach),
        "main_entry": Column(lambda: columns.main_entry), "mal_score": Column(lambda: columns.mal_score),
        "type": TypeFit(columns), "era": EraFit(columns), "names": MakerFit(columns),
        "audience": AudienceFit(columns), "genres": GenreFit(columns), "dubbed_popularity": DubbedPopularity(columns),
    }
    return {"dense": Dense(dense), **terms} if dense is not None else terms
