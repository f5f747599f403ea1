"""Shared fixtures: real MAL data, the real MiniLM model, and small real subsets of the catalogs
(`anisim.samples`: about 300 titles per kind, which keep the suite fast on a 2-core CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from anisim.catalog import Catalog, build_catalog
from anisim.evaluation import load_queries
from anisim.limits import KINDS
from anisim.models import MINILM, TUNED, resolve
from anisim.samples import build_home, sample
from anisim.settings import Settings

SETTINGS = Settings.from_env()
SERVED = (TUNED, MINILM)  # the tuned default and the stock model, each with its own index


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (root only; unmounted afterwards), or a skip naming
    the refusal: where the fault tests fill a disk."""
    import subprocess
    folder.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    refused = subprocess.run(command, capture_output=True, text=True)
    if refused.returncode:
        pytest.skip(f"`{' '.join(command)}` was refused: {refused.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


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


@pytest.fixture(scope="session")
def small_catalogs(catalogs, dev_queries) -> dict[str, Catalog]:
    return {kind: sample(catalogs[kind], dev_queries[kind]) for kind in KINDS}


@pytest.fixture(scope="session")
def small_home(tmp_path_factory, small_catalogs, embedders) -> Path:
    """An ANISIM_HOME with the small catalogs, real indexes of both served models (built by the
    torch engine) and both models' ONNX exports (so a server on this CPU encodes queries with
    ONNX Runtime, as `make serve` does: one index, two engines)."""
    home = build_home(tmp_path_factory.mktemp("anisim_home"), small_catalogs, embedders, SETTINGS)
    _start_container_check(home)
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


# The container check (scripts/container_check.py, ~4 min, mostly downloads and image builds)
# serves the small home: it starts in the background as soon as that home is built, while the rest
# of the suite runs, and its test runs last.
_CONTAINER_CHECK: dict[str, object] = {}


SERVER_FIXTURES = {"served", "server", "half_served", "limited"}  # each starts a real `bentoml serve`


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for a served fixture is a `server` test, marked or not; image tests run last."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("server"):
            item.add_marker(pytest.mark.server)
    items.sort(key=lambda item: item.get_closest_marker("container") is not None)


def pytest_collection_finish(session: pytest.Session) -> None:
    wanted = any(item.get_closest_marker("container") for item in session.items)
    _CONTAINER_CHECK["wanted"] = wanted and not session.config.option.collectonly


def _start_container_check(home: Path) -> None:
    """Start the container check on `home` when a selected test needs it."""
    import subprocess
    import sys
    import tempfile
    if not _CONTAINER_CHECK.get("wanted"):
        return
    home.chmod(0o755)  # pytest makes its folders private; the image's user must read the home
    folder = Path(tempfile.mkdtemp(prefix="anisim-container-report-"))
    log = open(folder / "check.log", "w")  # noqa: SIM115 (held open by the background process)
    script = Path(__file__).resolve().parents[1] / "scripts" / "container_check.py"
    # a shorter split load than `make container`'s: the check shares the 2 cores with the suite
    process = subprocess.Popen([sys.executable, str(script), "--home", str(home), "--json", str(folder / "report.json"),
                                "--split-seconds", "4"],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    _CONTAINER_CHECK.update(process=process, folder=folder, log=log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop a container check still running (its test was not reached): it removes what it made."""
    import shutil
    import subprocess
    process = _CONTAINER_CHECK.get("process")
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
    _CONTAINER_CHECK["log"].close()
    shutil.rmtree(_CONTAINER_CHECK["folder"], ignore_errors=True)


@pytest.fixture(scope="session")
def container_check(small_home) -> tuple[int, Path]:
    """(exit status, folder with check.log and report.json) of the background container check."""
    process = _CONTAINER_CHECK["process"]
    return process.wait(timeout=1800), _CONTAINER_CHECK["folder"]
