"""The ranking formula as data: each kind's term weights, read from a TOML file (`fusion.toml`)."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anisim.errors import RequestError
from anisim.query import Query
from anisim.terms import Term

DEFAULT_FILE = Path(__file__).with_name("fusion.toml")
GROUPS = ("similarity", "priors", "cues")
TERMS = {"similarity": ("dense", "bm25"), "priors": ("popularity", "reach", "main_entry", "mal_score"),
         "cues": ("type", "era", "names", "audience", "genres", "dubbed_popularity")}


@dataclass(frozen=True)
class Fusion:
    """One kind's hybrid formula: the weight of each term, in three groups."""

    similarity: dict[str, float]
    priors: dict[str, float] = field(default_factory=dict)
    cues: dict[str, float] = field(default_factory=dict)

    @property
    def largest(self) -> float:
        """The sum of every weight: what the terms add at most (each is at most 1)."""
        return sum(self.similarity.values()) + sum([*self.priors.values(), *self.cues.values()])

    def with_weight(self, name: str, weight: float) -> Fusion:
        """The same formula with one term's weight changed (a trial, a tuning step)."""
        group = next(g for g in GROUPS if name in TERMS[g])
        return dataclasses.replace(self, **{group: {**getattr(self, group), name: weight}})

    def boost(self, terms: dict[str, Term], query: Query, vector: np.ndarray | None) -> np.ndarray | float:
        """The priors and cue terms, weighted and added (0.0 when none has a weight)."""
        total = weighted_sum({name: terms[name].scores(query, vector) for name, w in self.priors.items() if w},
                             self.priors)
        cues = None
        for name, weight in self.cues.items():
            values = terms[name].scores(query, vector) if weight else None
            if values is not None:
                cues = np.zeros(len(values), dtype=np.float32) if cues is None else cues
                cues += weight * values  # in float32, term by term
        if cues is not None:
            total = cues if total is None else total + cues
        return 0.0 if total is None else total

    def similarities(self, terms: dict[str, Term], query: Query, vector: np.ndarray | None,
                     known: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Each similarity term with a weight, unweighted (what `matches` compares, too); `known`:
        terms already scored otherwise (a page's dense term, from the rows' int8 codes)."""
        known = known or {}
        return {name: known[name] if name in known else terms[name].scores(query, vector)
                for name, weight in self.similarity.items() if weight}

    def scores(self, terms: dict[str, Term], query: Query, vector: np.ndarray | None,
               similarities: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The hybrid score of every item (`similarities`: the terms already computed)."""
        parts = self.similarities(terms, query, vector) if similarities is None else similarities
        return self.combine(parts, self.boost(terms, query, vector))

    def combine(self, similarities: dict[str, np.ndarray], boost: np.ndarray | float) -> np.ndarray:
        """The hybrid score from its parts; item by item, so some items' scores come out to the
        bit as they do among all."""
        similarity = weighted_sum(similarities, self.similarity).astype(np.float32)
        return ((similarity + boost) / self.largest).astype(np.float32)

    def share(self, name: str) -> float:
        """How much one unit of a similarity term moves the hybrid score."""
        return self.similarity.get(name, 0.0) / self.largest


def weighted_sum(values: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray | None:
    """sum(weight * value) over the terms with a weight, in the weights' order; None when none has one."""
    total = None
    for name, weight in weights.items():
        if weight:
            part = weight * values[name]
            total = part if total is None else total + part
    return total


def _fusion(kind: str, table: dict, source: str) -> Fusion:
    unknown = set(table) - set(GROUPS)
    if unknown or "similarity" not in table:
        raise RequestError(f"{source}: [{kind}] needs a [similarity] group, and only {', '.join(GROUPS)}")
    for group, weights in table.items():
        strange = set(weights) - set(TERMS[group])
        if strange:
            raise RequestError(f"{source}: [{kind}.{group}] has no term {', '.join(sorted(strange))}; "
                               f"its terms: {', '.join(TERMS[group])}")
        if any(not isinstance(w, (int, float)) or isinstance(w, bool) or w < 0 for w in weights.values()):
            raise RequestError(f"{source}: [{kind}.{group}]'s weights must be numbers of at least 0")
    return Fusion(**{group: {name: float(w) for name, w in weights.items()} for group, weights in table.items()})


def load_fusions(path: Path = DEFAULT_FILE) -> dict[str, Fusion]:
    """{kind: Fusion} from a TOML file; RequestError names what is wrong in it."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as problem:
        raise RequestError(f"cannot read the ranking file {path.name}: {problem}") from None
    return {kind: _fusion(kind, groups, path.name) for kind, groups in table.items()}


def trial_fusion(path: Path, kind: str) -> Fusion:
    """One kind's formula from a ranking file; RequestError when the file lacks the kind."""
    fusions = load_fusions(path)
    if kind not in fusions:
        raise RequestError(f"{path.name} has no [{kind}.similarity]: it ranks {', '.join(fusions) or 'nothing'}")
    return fusions[kind]


def to_toml(fusions: dict[str, Fusion]) -> str:
    """Fusions as a ranking file that `load_fusions` reads back (what a tuning run proposes)."""
    lines = []
    for kind, fusion in fusions.items():
        for group in GROUPS:
            weights = getattr(fusion, group)
            if weights:
                lines += [f"[{kind}.{group}]", *(f"{name} = {weight:g}" for name, weight in weights.items()), ""]
    return "\n".join(lines)


FUSIONS: dict[str, Fusion] = load_fusions()
