"""Small real subsets of the catalogs, and a home built from them in about a minute: what the
test suite and the container check serve instead of the whole catalog (whose index takes ~10 min).

Each kind keeps the answers of its first dev-set queries (so evaluation still finds them), a few
titles the tests name, and a fixed random sample of the others.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from anisim.catalog import Catalog, build_catalog, save_catalog
from anisim.encoder import Embedder
from anisim.evaluation import load_queries
from anisim.limits import KINDS
from anisim.models import resolve
from anisim.settings import Settings

FRIEREN = 52991
SOLO_LEVELING = 121496  # a manhwa, from the manhwa CSV
KNOWN_TITLES = (FRIEREN, SOLO_LEVELING)
SAMPLE_QUERIES = 40
SAMPLE_OTHERS = 260  # ~300 titles per kind
SEED = 7


def sample(catalog: Catalog, queries: Sequence[dict]) -> Catalog:
    """About 300 titles of `catalog`: the answers of the first dev queries, the known titles, and
    a fixed random sample of the rest (the same titles on every run)."""
    present = set(catalog.items["id"])
    answers = [q["id"] for q in queries if q["id"] in present][:SAMPLE_QUERIES]
    known = [i for i in KNOWN_TITLES if i in present]
    others = sorted(present - set(answers) - set(known))
    random.Random(SEED).shuffle(others)
    return catalog.subset(answers + known + others[:SAMPLE_OTHERS])


def sample_catalogs(settings: Settings) -> dict[str, Catalog]:
    """Each kind's sample, from the raw data and the dev queries the settings point at."""
    return {kind: sample(build_catalog(settings.data_dir, kind)[0], load_queries(settings.eval_dir / f"{kind}_dev.jsonl"))
            for kind in KINDS}


def build_home(home: Path, catalogs: Mapping[str, Catalog], embedders: Mapping[str, Embedder],
               settings: Settings) -> Path:
    """A complete ANISIM_HOME at `home`: the catalogs, each model's index of each, and each
    model's ONNX export (so a CPU server encodes queries with ONNX Runtime, as in production)."""
    from anisim.index import DEFAULT_PASSAGE_WORDS, build_index
    from anisim.prepare import ensure_export
    for catalog in catalogs.values():
        save_catalog(catalog, home / "catalog")
        for embedder in embedders.values():
            build_index(catalog, embedder, home, DEFAULT_PASSAGE_WORDS)
    for name in embedders:
        ensure_export(resolve(name), dataclasses.replace(settings, home=home))
    return home
