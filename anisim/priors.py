"""Priors: what is likely before reading the description (popularity, how widely a title was
seen, a franchise's main entry, MAL's score), each a per-item column in [0, 1].

`anisim.columns` computes them once per catalog, and `anisim.fusion.toml` weighs them (tuned on the
dev sets' train split and the real-post dev set: docs/quality.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anisim.catalog import Catalog

# Relations that make a title a later or lesser part of a franchise (a sequel, a spin-off, a recap).
_DERIVED = frozenset({"PREQUEL", "PARENT", "PARENT_STORY", "FULL_STORY", "Prequel", "Parent story", "Full story"})
# Types a person rarely means when describing a story: promotional clips and music videos.
_MINOR_TYPES = frozenset({"Music", "CM", "PV"})


def numbers(column: pd.Series) -> np.ndarray:
    """A column as floats, NaN where unknown (None or pandas' NA alike)."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


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


def mal_score(catalog: Catalog) -> np.ndarray:
    """MAL's score scaled to [0, 1] over the catalog's range; 0 where the title has none (a trial
    term: weight 0 in fusion.toml, scripts/trials/mal-score-*.toml)."""
    scores = numbers(catalog.items["score"])
    known = ~np.isnan(scores)
    if not known.any():
        return np.zeros(len(scores), dtype=np.float32)
    low, high = scores[known].min(), scores[known].max()
    return np.nan_to_num((scores - low) / max(high - low, 1e-9), nan=0.0).astype(np.float32)
