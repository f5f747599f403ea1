"""Shared fixtures: real MAL data, the real MiniLM model, and small real subsets of the catalogs.

Subsets keep the suite fast on a 2-core CPU: each kind keeps the answers of the first dev-set
queries, a few known titles, and a fixed random sample of others.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from anisim.catalog import Catalog, build_catalog, save_catalog
from anisim.evaluation import load_queries
from anisim.models import MINILM, TUNED, resolve
from anisim.settings import KINDS, Settings

FRIEREN = 52991
SOLO_LEVELING = 121496  # a manhwa, from the manhwa CSV
SUBSET_QUERIES = 40
SUBSET_OTHERS = 260  # ~300 titles per kind
SETTINGS = Settings.from_env()
SERVED = (TUNED, MINILM)  # the tuned default and the stock model, each with its own index


@pytest.fixture(scope="session")
def catalogs() -> dict[str, Catalog]:
    return {kind: build_catalog(SETTINGS.data_dir, kind)[0] for kind in KINDS}


@pytest.fixture(scope="session")
def dev_queries() -> dict[str, list[dict]]:
    return {kind: load_queries(SETTINGS.eval_dir / f"{kind}_dev.jsonl") for kind in KINDS}


@pytest.fixture(scope="session")
def embedders():
    """Both served models, loaded once: {name: Embedder}."""
    from anisim.encoder import Embedder
    return {name: Embedder(resolve(name), device="cpu") for name in SERVED}


@pytest.fixture(scope="session")
def encoder(embedders):
    """The stock model (the baseline most index tests use)."""
    return embedders[MINILM]


def _subset(catalog: Catalog, queries: list[dict]) -> Catalog:
    present = set(catalog.items["id"])
    answers = [q["id"] for q in queries if q["id"] in present][:SUBSET_QUERIES]
    known = [i for i in (FRIEREN, SOLO_LEVELING) if i in present]
    others = sorted(present - set(answers) - set(known))
    random.Random(7).shuffle(others)
    return catalog.subset(answers + known + others[:SUBSET_OTHERS])


@pytest.fixture(scope="session")
def small_catalogs(catalogs, dev_queries) -> dict[str, Catalog]:
    return {kind: _subset(catalogs[kind], dev_queries[kind]) for kind in KINDS}


@pytest.fixture(scope="session")
def small_home(tmp_path_factory, small_catalogs, embedders) -> Path:
    """An ANISIM_HOME with the small catalogs and real indexes of both served models."""
    from anisim.index import build_index
    from anisim.prepare import DEFAULT_PASSAGE_WORDS
    home = tmp_path_factory.mktemp("anisim_home")
    for catalog in small_catalogs.values():
        save_catalog(catalog, home / "catalog")
        for embedder in embedders.values():
            build_index(catalog, embedder, home, DEFAULT_PASSAGE_WORDS)
    return home


@pytest.fixture(scope="session")
def searchers(small_home):
    """Stock-model searchers of the small catalogs, per kind."""
    from anisim.search import Searcher
    return {kind: Searcher.open(kind, resolve(MINILM), small_home) for kind in KINDS}


LEGACY_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
BAD_LEGACY_BODIES = [
    ({"model": LEGACY_MODEL}, "description"),
    ({"model": LEGACY_MODEL, "description": ""}, "description"),
    ({"model": LEGACY_MODEL, "description": "   \n "}, "description"),
    ({"model": LEGACY_MODEL, "description": "x" * 2001}, "too long"),
    ({"description": "a slime"}, "model"),
    ({"model": "sentence-transformers/no-such-model", "description": "a slime"}, "all-MiniLM-L6-v2"),
    ({"model": "paraphrase-mpnet-base-v2", "description": "a slime"}, "not available"),
    ({"model": "x" * 201, "description": "a slime"}, "too long"),
    ({"model": LEGACY_MODEL, "description": "<br>\u200b"}, "blank"),
    ({"model": LEGACY_MODEL, "description": "a slime", "page": 0}, "page"),
    ({"model": LEGACY_MODEL, "description": "a slime", "page": -3}, "page"),
    ({"model": LEGACY_MODEL, "description": "a slime", "resultsPerPage": 0}, "resultsPerPage"),
    ({"model": LEGACY_MODEL, "description": "a slime", "resultsPerPage": 101}, "resultsPerPage"),
    ({"model": LEGACY_MODEL, "description": "a slime", "page": "2"}, "page"),
    ({"model": LEGACY_MODEL, "description": "a slime", "resultsPerPage": None}, "resultsPerPage"),
    ({"model": LEGACY_MODEL, "description": 42}, "description"),
    ([LEGACY_MODEL, "a slime"], "JSON object"),
    ("a slime", "JSON object"),
    (b"{not json", "not valid JSON"),
]


@pytest.fixture(scope="session")
def service_env(small_home):
    """Environment for a service that serves the small catalogs."""
    import os
    env = {"ANISIM_HOME": str(small_home), "ANISIM_RATE_LIMIT": "0", "ANISIM_MODELS": ",".join(SERVED)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def asgi_client(service_env):
    """The AniSearch ASGI app in this process (its Encoder dependency runs in-process too)."""
    from starlette.testclient import TestClient

    from service import AniSearch
    with TestClient(AniSearch.to_asgi()) as client:
        yield client
