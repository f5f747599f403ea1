"""Priors: what is likely before reading the description (popularity, a franchise's main entry),
and how well a title fits the cues a description gave (type, era, maker, audience, genre).

Each is a per-item term in [0, 1], added to the search score with a weight (`PriorWeights`, tuned
on the dev sets' train split and the real-post dev set: docs/quality.md). All are soft: a cue that
is wrong (a 1984 film remembered as "90s") costs a title a little, never removes it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from anisim.catalog import MAKER_FIELDS, Catalog
from anisim.filters import numbers
from anisim.understanding import Cues

# Relations that make a title a later or lesser part of a franchise (a sequel, a spin-off, a recap).
_DERIVED = frozenset({"PREQUEL", "PARENT", "PARENT_STORY", "FULL_STORY", "Prequel", "Parent story", "Full story"})
# Types a person rarely means when describing a story: promotional clips and music videos.
_MINOR_TYPES = frozenset({"Music", "CM", "PV"})
# Content ratings a kids' title has, and a title for grown-ups (MAL's; "Rx" is hentai, not meant).
_KIDS_RATINGS = ("G - All Ages", "PG - Children")
_MATURE_RATINGS = ("R - 17+", "R+ - ")
ERA_FADE_YEARS = 8.0  # an era cue's term falls from 1 to 0 over this many years outside the range


@dataclass(frozen=True)
class PriorWeights:
    """How much each term adds to a search score (hybrid scores lie in [0, 1])."""

    popularity: float = 0.0
    reach: float = 0.0  # how many other databases list the title: how widely it was seen abroad
    main_entry: float = 0.0
    type: float = 0.0
    era: float = 0.0
    names: float = 0.0
    audience: float = 0.0
    genres: float = 0.0
    dubbed_popularity: float = 0.0  # extra popularity weight when a description says it was dubbed


NO_PRIORS = PriorWeights()
# Per catalog, as tuned by scripts/tune_priors.py (docs/quality.md has the run and its table); the
# genre term, added later, was scanned alone with the others kept (docs/quality.md, genre cues).
# Manga has none: the popularity term's gain on the manga train split (95 queries) did not hold on
# its validation split (one query fewer at rank 1 on two forms), so manga ranks as before.
WEIGHTS: dict[str, PriorWeights] = {
    "anime": PriorWeights(popularity=0.32, reach=0.08, main_entry=0.01, type=0.12, era=0.24, audience=0.08,
                          genres=0.04),
    "manga": NO_PRIORS,
}


def _log_members(items) -> np.ndarray:
    return np.log1p(numbers(items["members"]))


def _features(items) -> np.ndarray:
    """What predicts popularity where MAL's member count is missing: how many other databases
    list the title, its score (and whether it has one), and its type."""
    listings = np.nan_to_num(numbers(items["listings"]))
    score = numbers(items["score"])
    has_score = ~np.isnan(score)
    types = [t or "" for t in items["type"]]
    return np.column_stack([
        np.ones(len(items)), listings, np.where(has_score, score, 0.0), has_score,
        *[np.array([t == name for t in types], dtype=float) for name in ("TV", "Movie", "OVA", "ONA", "Music")],
    ])


def popularity(catalog: Catalog) -> np.ndarray:
    """log(1 + members) scaled to [0, 1]; where members are unknown, the value predicted from
    `_features` by least squares over the titles that know it (a title the mapper alone knows is
    not read as unpopular)."""
    known = _log_members(catalog.items)
    have = ~np.isnan(known)
    if not have.any():
        return np.zeros(len(known), dtype=np.float32)
    if (~have).any():
        features = _features(catalog.items)
        coefficients, *_ = np.linalg.lstsq(features[have], known[have], rcond=None)
        known = np.where(have, known, features @ coefficients)
    low, high = np.nanmin(known[have]), np.nanmax(known[have])
    return np.clip((known - low) / max(high - low, 1e-9), 0.0, 1.0).astype(np.float32)


def reach(catalog: Catalog) -> np.ndarray:
    """How many other databases list the title (anime-mapper's mappings), scaled to [0, 1]: titles
    that were seen abroad (dubbed, on television, on DVD) are listed far and wide."""
    listings = np.nan_to_num(numbers(catalog.items["listings"]))
    return (listings / max(float(listings.max(initial=0.0)), 1.0)).astype(np.float32)


def main_entry(catalog: Catalog) -> np.ndarray:
    """1 for a franchise's own entries (no prequel or parent story), 0 for sequels, side stories
    told from a parent, and promotional clips or music videos."""
    return np.array([
        0.0 if (kind in _MINOR_TYPES or any(r["relation"] in _DERIVED for r in related or [])) else 1.0
        for kind, related in zip(catalog.items["type"], catalog.items["related"])
    ], dtype=np.float32)


class _Membership:
    """Which names of a vocabulary (genres, demographics) each item has, as a boolean matrix, so
    that a cue's fit over the whole catalog is one vector operation, not a loop over sets."""

    def __init__(self, per_item: list[set[str]]) -> None:
        self.columns = {name: i for i, name in enumerate(sorted(set().union(*per_item)))}
        self.matrix = np.zeros((len(per_item), len(self.columns)), dtype=bool)
        for row, names in enumerate(per_item):
            self.matrix[row, [self.columns[n] for n in names]] = True

    def count(self, wanted: set[str]) -> np.ndarray:
        """How many of `wanted` each item has."""
        return self.matrix[:, [self.columns[n] for n in wanted if n in self.columns]].sum(axis=1)


class Priors:
    """A catalog's prior terms, computed once; `scores(cues)` is the total to add to a search."""

    def __init__(self, catalog: Catalog, weights: PriorWeights | None = None) -> None:
        """`weights` None: the tuned ones of the catalog's kind (`WEIGHTS`)."""
        items = catalog.items
        self.weights = WEIGHTS.get(catalog.kind, NO_PRIORS) if weights is None else weights
        self.popularity = popularity(catalog)
        self.main_entry = main_entry(catalog)
        self.reach = reach(catalog)
        self.types = np.array([t or "" for t in items["type"]], dtype=object)
        self.years = numbers(items["start_year"])
        # studios, authors and magazines: the makers people name ("Ghibli", "Jump"); producers are
        # mostly broadcasters and labels ("Cartoon Network" says where it aired, not who made it)
        makers = zip(*(items[f] for f in MAKER_FIELDS))
        self.makers = [{n for names in group for n in (names or [])} for group in makers]
        self.makers_lower = [{n.lower() for n in m} for m in self.makers]
        self.demographics = _Membership([set(d or []) for d in items["demographics"]])
        self.tags = _Membership([set(g or []) | set(t or []) for g, t in zip(items["genres"], items["themes"])])
        ratings = [r or "" for r in items["rating"]]
        # audiences a content rating says a title is for, besides its demographics
        self.rated = {audience: np.array([r.startswith(prefixes) for r in ratings])
                      for audience, prefixes in (("Kids", _KIDS_RATINGS), ("Mature", _MATURE_RATINGS))}

    @property
    def largest(self) -> float:
        """The most the terms can add, plus the hybrid score's own 1: dividing by it keeps a
        similarity in [-1, 1] and changes no order."""
        return 1.0 + sum(dataclasses.astuple(self.weights))

    def maker_names(self) -> set[str]:
        """Every studio, author and magazine of the catalog (for `understanding.Names`)."""
        return set().union(*self.makers) if self.makers else set()

    def era_fit(self, years: tuple[int | None, int | None]) -> np.ndarray:
        """1 inside the range, fading to 0 over ERA_FADE_YEARS outside; 0 for unknown years."""
        low, high = (years[0] if years[0] is not None else -np.inf), (years[1] if years[1] is not None else np.inf)
        outside = np.maximum(low - self.years, 0) + np.maximum(self.years - high, 0)
        return np.nan_to_num(np.clip(1.0 - outside / ERA_FADE_YEARS, 0.0, 1.0), nan=0.0).astype(np.float32)

    def cue_fit(self, cues: Cues) -> np.ndarray:
        """The weighted sum of the cue terms (zeros when the description gave no cue)."""
        w = self.weights
        total = np.zeros(len(self.types), dtype=np.float32)
        if cues.types and w.type:
            total += w.type * np.isin(self.types, cues.types)
        if cues.years and w.era:
            total += w.era * self.era_fit(cues.years)
        if cues.names and w.names:
            wanted = {n.lower() for n in cues.names}
            total += w.names * np.array([bool(wanted & m) for m in self.makers_lower], dtype=np.float32)
        if cues.audience and w.audience:
            wanted = set(cues.audience)
            fits = self.demographics.count(wanted) > 0
            for audience in wanted & self.rated.keys():
                fits |= self.rated[audience]
            total += w.audience * fits
        if cues.genres and w.genres:
            wanted = set(cues.genres)
            total += w.genres * self.tags.count(wanted).astype(np.float32) / len(wanted)
        if cues.dubbed and w.dubbed_popularity:
            total += w.dubbed_popularity * self.popularity
        return total

    def scores(self, cues: Cues) -> np.ndarray:
        """What to add to each item's search score for a description with these cues."""
        w = self.weights
        return w.popularity * self.popularity + w.reach * self.reach + w.main_entry * self.main_entry + \
            self.cue_fit(cues)
