"""End to end: a real `bentoml serve` (real MiniLM, real indexes of catalog subsets), over HTTP."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from conftest import BAD_LEGACY_BODIES, LEGACY_MODEL, serving_without_manga_index

import anisim
from anisim.api.server import start_server, stop_server, wait_ready
from anisim.models import MINILM

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.server


def legacy(url: str, kind: str, body, **extra) -> httpx.Response:
    if isinstance(body, dict):
        body = {**body, **extra}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/anisearchmodel/{kind}", content=content,
                      headers={"Content-Type": "application/json"}, timeout=30)


def test_legacy_request_has_the_expected_keys_and_valid_json(server):
    response = legacy(server, "anime", {"model": LEGACY_MODEL, "description": "two brothers use alchemy"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    records = json.loads(response.text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert len(records) == 10
    for record in records:
        assert {"anime_id", "title", "title_english", "title_japanese", "title_synonyms", "main_picture", "url",
                "synopsis", "score", "episodes", "type", "status", "start_year", "start_season", "genres",
                "themes", "demographics", "rank", "similarity"} <= set(record)


@pytest.mark.parametrize("kind", ["anime", "manga"])
def test_a_known_titles_synopsis_finds_it_first(server, small_catalogs, kind):
    catalog = small_catalogs[kind]
    for item_id, text in list(zip(catalog.synopses["item_id"], catalog.synopses["text"]))[::40]:
        records = legacy(server, kind, {"model": LEGACY_MODEL, "description": text[:2000], "resultsPerPage": 3}).json()
        assert records[0][f"{kind}_id"] == item_id


@pytest.mark.parametrize("kind", ["anime", "manga"])
def test_pages_concatenate_without_gap_or_overlap(server, kind):
    body = {"model": LEGACY_MODEL, "description": "a lonely swordsman seeks revenge"}
    pages = [legacy(server, kind, body, page=p, resultsPerPage=7).json() for p in (1, 2, 3)]
    whole = legacy(server, kind, body, page=1, resultsPerPage=21).json()
    assert [r[f"{kind}_id"] for page in pages for r in page] == [r[f"{kind}_id"] for r in whole]
    assert [r["rank"] for page in pages for r in page] == list(range(1, 22))


@pytest.mark.parametrize("kind", ["anime", "manga"])
def test_every_bad_input_is_a_400_json_error(server, kind):
    for body, mentions in BAD_LEGACY_BODIES:
        response = legacy(server, kind, body)
        assert response.status_code == 400, body
        assert mentions in response.json()["error"], body


def test_v1_filters_return_only_matching_items_in_full_pages(server):
    filters = {"genres": ["Action"], "exclude_genres": ["Comedy"], "min_score": 7.0}
    response = httpx.post(f"{server}/v1/search", json={"kind": "anime", "query": "a war between nations",
                                                       "page_size": 4, "filters": filters}, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["total"] >= 8 and len(body["results"]) == 4
    for record in body["results"]:
        assert "Action" in record["genres"] and "Comedy" not in record["genres"] and record["score"] >= 7.0
    second = httpx.post(f"{server}/v1/search", json={"kind": "anime", "query": "a war between nations",
                                                     "page": 2, "page_size": 4, "filters": filters}, timeout=30).json()
    assert len(second["results"]) == 4 and second["results"][0]["rank"] == 5


def test_v1_similar_never_returns_the_title_itself(server, small_catalogs):
    for item_id in small_catalogs["manga"].items["id"][:5]:
        body = httpx.post(f"{server}/v1/similar", json={"kind": "manga", "id": int(item_id), "page_size": 20}, timeout=30).json()
        assert len(body["results"]) == 20 and int(item_id) not in [r["id"] for r in body["results"]]


def test_bentoml_sync_client_and_the_typed_wrapper(server):
    import bentoml

    from anisim.api.client import AniSimClient
    from anisim.errors import ServiceError
    with bentoml.SyncHTTPClient(server) as client:
        page = client.search(kind="anime", query="an elf mage outlives her hero party", page_size=3)
        assert len(page["results"]) == 3
        legacy = client.request("POST", "/anisearchmodel/manga", json={"model": LEGACY_MODEL, "description": "a hunter"})
        assert legacy.status_code == 200
    with AniSimClient(server) as client:
        assert client.health()["status"] == "ok"
        assert len(client.legacy_search("an elf mage", kind="anime", results_per_page=2)) == 2
        assert client.similar(52991, page_size=2)["total"] > 0
        with pytest.raises(ServiceError, match="HTTP 400"):
            client.legacy_search("   ")


def assert_the_bento_holds_every_module_the_service_imports(src: Path, env: dict[str, str]) -> None:
    """Import the service, and every anisim module it may load later (engines load lazily), from
    the Bento's own `src/` in a process that cannot see the working tree (the venv's editable
    install would supply a module the Bento lacks): each must load, and from `src/`."""
    names = ["service", *sorted(m.name for m in pkgutil.walk_packages(anisim.__path__, "anisim."))]
    code = (f"import importlib, sys\nsys.path[:0] = [{str(src)!r}]\n"
            f"for name in {names!r}:\n    print(importlib.import_module(name).__file__)")
    loaded = subprocess.run([sys.executable, "-P", "-c", code], cwd=src, env={**env, "PYTHONPATH": ""},
                            capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    files = loaded.stdout.split()
    assert len(files) == len(names) and all(Path(f).resolve().is_relative_to(src.resolve()) for f in files), files


def test_the_bento_builds_and_serves(service_env, tmp_path):
    """`bentoml build`, then `bentoml serve <tag>` answers a search; the image installs CUDA torch."""
    env = {**os.environ, **service_env, "BENTOML_HOME": str(tmp_path / "bentoml")}
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    built = subprocess.run([bentoml, "build", "--output", "tag"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    tag = built.stdout.strip().splitlines()[-1].removeprefix("__tag__:")
    bento = tmp_path / "bentoml" / "bentos" / tag.replace(":", "/")
    requirements = (bento / "env/python/requirements.txt").read_text()
    assert "torch==2.13.0" in requirements and "+cpu" not in requirements
    assert "requirements.txt" in (bento / "env/docker/Dockerfile").read_text()
    assert_the_bento_holds_every_module_the_service_imports(bento / "src", env)
    process, url = start_server(tag, {**service_env, "BENTOML_HOME": env["BENTOML_HOME"]}, tmp_path / "serve.log")
    try:
        wait_ready(url, process)
        response = httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": "alchemy", "page_size": 2}, timeout=30)
        assert response.status_code == 200 and len(response.json()["results"]) == 2
    finally:
        stop_server(process)


QUERIES = ["two brothers use alchemy", "an elf mage outlives her hero party", "a giant robot war",
           "a girl joins a volleyball team", "a detective shrunk into a child", "ghosts in a haunted school"]


def search_together(url: str, queries: list[str]) -> list[httpx.Response]:
    """One anime search for each query, all sent at once."""
    import asyncio

    async def together() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await asyncio.gather(*(client.post("/v1/search", json={"kind": "anime", "query": q})
                                          for q in queries))
    return asyncio.run(together())


def _encoder_calls(log_path: Path) -> dict[str, int]:
    """The Encoder's access lines so far, by route: where the API worker sent its queries."""
    text = log_path.read_text()
    return {route: text.count(f"path=/{route},") for route in ("encode", "encode_now")}


def test_concurrent_requests_are_sent_together_and_rank_as_a_lone_request_does(served):
    """Concurrent queries go to the Encoder together, in fewer calls than queries; on this CPU host
    (ONNX Runtime encodes each text alone) past its batcher, which would only hold them back. Both
    paths, and a lone query's, must give the same answer."""
    _, url, log_path = served
    alone = {q: [r["id"] for r in httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": q}, timeout=30)
                 .json()["results"]] for q in QUERIES}
    before = _encoder_calls(log_path)
    for query, response in zip(QUERIES * 4, search_together(url, QUERIES * 4)):
        assert response.status_code == 200
        assert [r["id"] for r in response.json()["results"]] == alone[query]
    after = _encoder_calls(log_path)
    assert after["encode"] == before["encode"]
    assert 0 < after["encode_now"] - before["encode_now"] < len(QUERIES) * 4


def test_a_burst_the_batcher_sheds_is_still_answered(service_env, tmp_path):
    """An Encoder whose engine encodes batches (torch, here on the CPU; a GPU's) gets the calls
    through BentoML's batcher. The batcher answers 503 ("process is overloaded") for a queued call
    it predicts will wait past its max latency; with a 1 ms one it sheds the calls of a burst (the
    API worker sends the queries that wait together as calls of at most the batch size: 2 here, so
    there are many). Each shed call is retried past the batcher, so the burst gets 200s, not 503s."""
    log_path = tmp_path / "serve.log"
    process, url = start_server("service:AniSearch", {**service_env, "ANISIM_ENGINE": "torch",
                                                      "ANISIM_BATCH_LATENCY_MS": "1", "ANISIM_BATCH_SIZE": "2"},
                                log_path)
    try:
        wait_ready(url, process)
        statuses = [response.status_code for response in search_together(url, QUERIES[:4] * 8)]
    finally:
        stop_server(process)
    assert _encoder_calls(log_path)["encode"] > 0
    assert "encoder call failed (ServiceUnavailable)" in log_path.read_text()  # the batcher did shed
    assert statuses == [200] * len(statuses)


def test_a_missing_index_is_served_by_bm25_until_a_build_writes_it(small_home, tmp_path):
    """A first run's server answers before its vectors exist: hybrid searches of the kind without
    an index are ranked by BM25 and say so, dense search and more-like-this answer 503, health says
    `building`; once a build writes the index (arrays, then the manifest, as `build_index` does)
    the server loads it by itself and answers hybrid."""
    import shutil
    with serving_without_manga_index(small_home, tmp_path) as (url, home):
        health = httpx.get(f"{url}/v1/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "building"
        assert list(health.json()["problems"]) == [f"manga index of {MINILM}"]
        legacy = httpx.post(f"{url}/anisearchmodel/manga", json={"model": LEGACY_MODEL, "description": "a hunter"},
                            timeout=30)
        assert legacy.status_code == 200 and legacy.json() and legacy.headers["x-anisim-mode"] == "lexical"
        hybrid = httpx.post(f"{url}/v1/search", json={"kind": "manga", "query": "a hunter"}, timeout=30)
        assert hybrid.status_code == 200 and hybrid.json()["mode"] == "lexical" and hybrid.json()["results"]
        some_id = hybrid.json()["results"][0]["id"]
        for path, body in (("/v1/search", {"kind": "manga", "query": "a hunter", "mode": "dense"}),
                           ("/v1/similar", {"kind": "manga", "id": some_id})):
            response = httpx.post(f"{url}{path}", json=body, timeout=30)
            assert response.status_code == 503 and "anisim prepare" in response.json()["error"]
            assert response.headers["retry-after"]
        anime = httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": "alchemy"}, timeout=30)
        assert anime.status_code == 200 and anime.json()["mode"] == "hybrid"

        built, written = small_home / "manga" / MINILM, home / "manga" / MINILM
        written.mkdir(parents=True)
        generation = f"g-{json.loads((built / 'manifest.json').read_text())['generation']}"
        shutil.copytree(built / generation, written / generation)  # the arrays, then the switch
        shutil.copy(built / "manifest.json", written / "manifest.json")
        wait_ready(url, timeout=60)  # the watcher looks every 5 s
        hybrid = httpx.post(f"{url}/v1/search", json={"kind": "manga", "query": "a hunter"}, timeout=30)
        assert hybrid.status_code == 200 and hybrid.json()["mode"] == "hybrid"
        assert httpx.post(f"{url}/v1/similar", json={"kind": "manga", "id": some_id}, timeout=30).status_code == 200


FUZZ_EXAMPLES = 1_500  # generated requests over every documented search and info route


def test_generated_requests_never_get_a_5xx_and_errors_are_json(server):
    """Schemathesis: valid and invalid requests generated from the service's own OpenAPI document
    (seeded: `derandomize`), on every documented search and info route. A client mistake is a 4xx
    `{"error": ...}`, short. (Schemathesis' strategies with plain hypothesis: its pytest plugin
    does not run under pytest 9.)"""
    from hypothesis import strategies
    from schemathesis import GenerationMode
    schema = schemathesis.openapi.from_url(f"{server}/docs.json").include(path_regex=r"^/(v1|anisearchmodel)/")
    cases = strategies.one_of(schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE))
    seen = []

    @hypothesis.given(case=cases)
    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def never_a_5xx(case):
        response = case.call(timeout=60)
        seen.append(case.path)
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/json")  # headers hold lists
            assert set(response.json()) == {"error"} and len(response.text) < 400

    never_a_5xx()
    assert len(seen) >= 1_000 and len(set(seen)) >= 6  # every route was exercised


def _api_worker(process: subprocess.Popen):
    import psutil
    for child in psutil.Process(process.pid).children(recursive=True):
        if "anisim_encoder" not in " ".join(child.cmdline()) and child.memory_info().rss > 100 * 2**20:
            return child
    raise AssertionError("no API worker found")


def test_a_50_mb_body_is_a_quick_413_and_costs_the_api_worker_no_memory(served):
    process, url, _ = served
    worker = _api_worker(process)
    before = worker.memory_info().rss
    huge = b'{"kind": "anime", "query": "slime", "filters": {"genres": [' + b'"Action", ' * 5_000_000 + b'"Drama"]}}'
    started = time.monotonic()
    response = httpx.post(f"{url}/v1/search", content=huge, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413 and "error" in response.json()
    assert time.monotonic() - started < 5

    def chunks():
        yield huge[:1_000_000]
        yield huge[1_000_000:]
    streamed = httpx.post(f"{url}/anisearchmodel/anime", content=chunks(), headers={"Content-Type": "application/json"},
                          timeout=30)  # no Content-Length: refused once the stream passes the limit
    assert streamed.status_code == 413
    assert worker.memory_info().rss - before < 30 * 2**20


SECRET = "zanzibar quokka halberd"  # a query no log line may contain


def test_the_log_never_holds_query_text(served):
    _, url, log_path = served
    bodies = [{"kind": "anime", "query": SECRET}, {"kind": "anime", "query": SECRET, "page": "2"},
              {"kind": "anime", "query": SECRET, "page_size": 0}, {"kind": "novel", "query": SECRET}]
    for body in bodies:
        assert httpx.post(f"{url}/v1/search", json=body, timeout=30).status_code in (200, 400)
    for body in ({"model": LEGACY_MODEL, "description": SECRET}, {"model": 7, "description": SECRET}):
        assert legacy(url, "manga", body).status_code in (200, 400)
    httpx.get(f"{url}/no%00such%1bpath", timeout=10)
    time.sleep(1)
    text = log_path.read_text()
    assert "query_chars=" in text  # the search log line is there, with the length only
    assert "zanzibar" not in text and "quokka" not in text
    assert "\x00" not in text and "\x1b" not in text


def _encoder_process(process: subprocess.Popen):
    """The live encoder worker under a `bentoml serve`, or None (a killed one may linger as a zombie)."""
    import psutil
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and (
                    "anisim_encoder" in " ".join(child.cmdline()) or "Encoder" in " ".join(child.cmdline())):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_health_tells_the_truth_when_the_encoder_dies_and_comes_back(served):
    """Last in this module: kill -9 the encoder; health answers 503 within 5 s, searches answer 503
    with Retry-After (not a 500, not a 30 s stall), and both recover once BentoML restarts it."""
    process, url, _ = served
    dead = _encoder_process(process)
    assert dead is not None, "no encoder process found"
    dead.kill()
    started = time.monotonic()
    while httpx.get(f"{url}/v1/health", timeout=10).status_code != 503:
        if (live := _encoder_process(process)) is not None and live.pid != dead.pid:
            break  # BentoML already restarted it and the new one answers pings: 200 is the truth
        assert time.monotonic() - started < 5, "health still 200 five seconds after the encoder died"
        time.sleep(0.2)
    search = httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": "alchemy"}, timeout=30)
    assert search.status_code in (200, 503)  # 200 if BentoML restarted the encoder in time
    if search.status_code == 503:
        assert "retry-after" in search.headers and "error" in search.json()
    wait_ready(url, process, timeout=120)
    assert httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": "alchemy"}, timeout=30).status_code == 200
