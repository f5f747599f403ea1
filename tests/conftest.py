"""Shared fixtures: real MAL data, the real MiniLM model, and small real subsets of the catalogs.

Subsets keep the suite fast on a 2-core CPU: each kind keeps the answers of the first dev-set
queries, a few known titles, and a fixed random sample of others.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
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
    """Both served models on the torch engine, loaded once: {name: Embedder}."""
    from anisim.encoder import Embedder
    return {name: Embedder(resolve(name), "torch", device="cpu") for name in SERVED}


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
    """An ANISIM_HOME with the small catalogs, real indexes of both served models (built by the
    torch engine) and both models' ONNX exports (so a server on this CPU encodes queries with
    ONNX Runtime, as `make serve` does: one index, two engines)."""
    import dataclasses

    from anisim.index import DEFAULT_PASSAGE_WORDS, build_index
    from anisim.prepare import ensure_export
    home = tmp_path_factory.mktemp("anisim_home")
    for catalog in small_catalogs.values():
        save_catalog(catalog, home / "catalog")
        for embedder in embedders.values():
            build_index(catalog, embedder, home, DEFAULT_PASSAGE_WORDS)
    for name in SERVED:
        ensure_export(resolve(name), dataclasses.replace(SETTINGS, home=home))
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


@pytest.fixture(scope="session")
def served(service_env, tmp_path_factory):
    """(process, base URL, log path) of one real `bentoml serve` of the small catalogs, shared by
    every module that talks to a server."""
    from anisim.api.server import start_server, stop_server, wait_ready
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    process, url = start_server("service:AniSearch", service_env, log_path)
    try:
        wait_ready(url, process)
        yield process, url, log_path
    except Exception:
        print(log_path.read_text()[-5000:])
        raise
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def server(served) -> str:
    return served[1]


@contextmanager
def serving_without_manga_index(small_home: Path, folder: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, home) of a real `bentoml serve` of the stock model whose home lacks the manga
    index, as on a first run before the background build writes it (this process holds the build
    lock meanwhile, as that build does); yielded once the server has loaded what there is
    (health: `building`)."""
    import shutil
    import time

    import httpx

    from anisim.api.server import START_TIMEOUT_S, start_server, stop_server
    from anisim.buildlock import build_lock
    home = folder / "home"
    shutil.copytree(small_home / "catalog", home / "catalog")
    shutil.copytree(small_home / "anime" / MINILM, home / "anime" / MINILM)
    shutil.copytree(small_home / "onnx", home / "onnx")
    with build_lock(home, say=lambda _: None):
        process, url = start_server("service:AniSearch", {"ANISIM_HOME": str(home), "ANISIM_MODELS": MINILM},
                                    folder / "serve.log")
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/v1/health", timeout=2).json().get("status") == "building":
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.5)
            yield url, home
        finally:
            stop_server(process)


@pytest.fixture(scope="session")
def half_served(small_home, tmp_path_factory) -> Iterator[str]:
    """The base URL of a server whose manga index is missing (and stays missing)."""
    with serving_without_manga_index(small_home, tmp_path_factory.mktemp("half_served")) as (url, _):
        yield url
