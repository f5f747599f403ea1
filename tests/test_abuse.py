"""The hostile client (issue "Reliability III"): bounded work per request, a rate limiter that a
header cannot fool, bounded metrics. Timed checks are ratios with generous bounds; the figures
themselves come from `scripts/abuse.py` (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import SERVED
from test_server_e2e import _api_worker

from anisim.api.backend import Backend
from anisim.api.metrics import KNOWN_PATHS, OTHER, endpoint_label
from anisim.api.schemas import SearchRequest
from anisim.columns import Columns
from anisim.errors import NotReady
from anisim.evaluation import load_queries
from anisim.query import Query
from anisim.search import catalog_names
from anisim.settings import Settings

LIMIT = 5000
FAMILIES = {
    "apostrophes": "'" * LIMIT, "&# repeated": "&#" * (LIMIT // 2), "brackets": "[]" * (LIMIT // 2),
    "combining marks": ("a\u0301\u0302" * LIMIT)[:LIMIT], "emoji": "\U0001F600" * LIMIT,
    "digits with apostrophes": ("1990's 80's " * LIMIT)[:LIMIT], "studio repeated": ("studio " * LIMIT)[:LIMIT],
    "one letter": "a" * LIMIT,
}


def _request(text: str) -> SearchRequest:
    return SearchRequest(kind="anime", query=text, mode="lexical")


def _median_ms(names, text: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        Query.parse(text, "hybrid", names)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["anime", "manga"])
def test_no_5000_character_description_costs_more_than_3x_a_real_long_post(catalogs, kind):
    """Maker names are found in one pass (a trie-shaped pattern), eras in one sweep: before, 5,000
    apostrophes cost a manga search 460 ms against 95 ms for a real post."""
    names = catalog_names(catalogs[kind], Columns(catalogs[kind]))
    posts = load_queries(Settings.from_env().eval_dir / "anime_tomt_dev.jsonl")
    real = _median_ms(names, " ".join(p["query"] for p in posts)[:LIMIT])
    worst = {family: _median_ms(names, text) for family, text in FAMILIES.items()}
    assert max(worst.values()) <= 3 * real + 2, worst  # 2 ms: timer noise on a quick machine


def test_understanding_and_scoring_run_off_the_event_loop(service_env, monkeypatch):
    """A description's understanding and scoring run in the search threads, never on the thread of
    the event loop (before, one 460 ms description stalled every other client): a spy records the
    thread each runs on."""
    from anisim.api import backend as backend_module
    threads: dict[str, set[str]] = {"parse": set(), "search": set()}
    parse, search = Query.parse.__func__, backend_module.Searcher.search

    def spied_parse(cls, *args, **kwargs):
        threads["parse"].add(threading.current_thread().name)
        return parse(cls, *args, **kwargs)

    def spied_search(self, *args, **kwargs):
        threads["search"].add(threading.current_thread().name)
        return search(self, *args, **kwargs)

    monkeypatch.setattr(backend_module.Query, "parse", classmethod(spied_parse))
    monkeypatch.setattr(backend_module.Searcher, "search", spied_search)
    backend = Backend(Settings.from_env())

    async def twice() -> str:
        for _ in range(2):
            await backend.search(_request("a boy reborn as a slime"), encode=None)
        return threading.current_thread().name

    loop_thread = asyncio.run(twice())
    assert threads["parse"] and threads["search"]
    assert loop_thread not in threads["parse"] | threads["search"]
    assert all(name.startswith("anisim-search") for name in threads["parse"] | threads["search"])


def test_searches_are_understood_side_by_side_and_scored_one_at_a_time(service_env, monkeypatch):
    """Scoring holds the worker's scoring lock (side by side, numpy's array operations hand CPython's
    lock back and forth: docs/performance.md), understanding does not (a hostile description must
    not hold up the rest): spies that sleep, letting go of CPython's lock, count who overlaps."""
    from anisim.api import backend as backend_module
    overlap = {"parse": 0, "search": 0}
    peak = dict(overlap)
    guard = threading.Lock()
    parse, search = Query.parse.__func__, backend_module.Searcher.search

    def counted(stage: str, call, *args, **kwargs):
        with guard:
            overlap[stage] += 1
            peak[stage] = max(peak[stage], overlap[stage])
        time.sleep(0.05)
        try:
            return call(*args, **kwargs)
        finally:
            with guard:
                overlap[stage] -= 1

    monkeypatch.setattr(backend_module.Query, "parse", classmethod(lambda cls, *a, **k: counted("parse", parse, cls, *a, **k)))
    monkeypatch.setattr(backend_module.Searcher, "search", lambda self, *a, **k: counted("search", search, self, *a, **k))
    backend = Backend(Settings.from_env({**service_env, "ANISIM_SEARCH_THREADS": "4"}))

    async def at_once() -> None:
        await asyncio.gather(*(backend.search(_request(f"a slime reborn {i}"), encode=None) for i in range(8)))

    asyncio.run(at_once())
    assert peak == {"parse": 4, "search": 1}


def test_a_full_queue_is_a_503_with_retry_after_not_a_wait(service_env):
    backend = Backend(Settings.from_env({**service_env, "ANISIM_SEARCH_QUEUE": "0"}))
    with pytest.raises(NotReady) as refused:
        asyncio.run(backend.search(_request("a slime"), encode=None))
    assert refused.value.status == 503 and refused.value.retry_after >= 1


# ---- served -------------------------------------------------------------------------------------

def _metrics_bytes(url: str) -> int:
    return len(httpx.get(f"{url}/metrics", timeout=30).content)


def _hammer(url: str, paths: list[str]) -> set[int]:
    """GET every path, 8 clients at once; the statuses seen."""
    def one_client(chunk: list[str]) -> set[int]:
        with httpx.Client(base_url=url, timeout=30) as http:
            return {http.get(path).status_code for path in chunk}

    with ThreadPoolExecutor(8) as pool:
        return set().union(*pool.map(one_client, [paths[i::8] for i in range(8)]))


def test_random_paths_leave_metrics_and_memory_bounded(served):
    """Every unknown path is counted as "other": 20,000 of them, before, grew /metrics from 1.2 to
    77 MB and the API process by 490 MB. Now they cost the API worker no more memory than as many
    requests to one known route, taken turn about (a fresh worker grows by ~100 MB over its first
    tens of thousands of requests of any kind, then stays flat: measured, docs/reliability.md)."""
    process, url, _ = served
    worker = _api_worker(process)
    rng = random.Random(47)
    paths = ["/" + "".join(rng.choices(string.ascii_lowercase + string.digits, k=12)) for _ in range(20_000)]
    _hammer(url, paths[:10])  # the "other" series exists before the baseline
    before_metrics = _metrics_bytes(url)
    growth = {"known": 0, "random": 0}
    for turn in range(2):
        for name, batch in (("known", ["/v1/models"] * 10_000), ("random", paths[turn::2])):
            start = worker.memory_info().rss
            assert _hammer(url, batch) == ({200} if name == "known" else {404})
            growth[name] += worker.memory_info().rss - start
    text = httpx.get(f"{url}/metrics", timeout=30).text
    assert not any(path in text for path in paths[:200])
    assert _metrics_bytes(url) - before_metrics < 1_000_000
    assert growth["random"] < growth["known"] + 30 * 2**20, {k: v >> 20 for k, v in growth.items()}


def test_every_served_path_has_its_own_metrics_label(served):
    _, url, _ = served
    documented = httpx.get(f"{url}/docs.json", timeout=10).json()["paths"]
    paths = {p.replace("{kind}", kind) for p in documented for kind in ("anime", "manga")}
    assert paths <= KNOWN_PATHS, paths - KNOWN_PATHS
    assert endpoint_label("/page/page.js") == "/page/*" and endpoint_label("/x" * 50) == OTHER


@pytest.fixture(scope="module")
def limited(service_env, tmp_path_factory):
    """A server that limits loopback clients to 2 requests (burst 2, then 2 a second) and trusts
    X-Forwarded-For from 127.0.0.2 only."""
    from anisim.api.server import start_server, stop_server, wait_ready
    env = {**service_env, "ANISIM_RATE_LIMIT": "2", "ANISIM_RATE_BURST": "2", "ANISIM_RATE_LIMIT_LOCAL": "1",
           "ANISIM_TRUSTED_PROXIES": "127.0.0.2", "ANISIM_MODELS": SERVED[1]}
    process, url = start_server("service:AniSearch", env, tmp_path_factory.mktemp("limited") / "serve.log")
    try:
        wait_ready(url, process)
        yield url
    finally:
        stop_server(process)


def _statuses(url: str, source: str, headers: list[dict]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=source)) as http:
        return [http.get("/v1/facets", params={"kind": "anime"}, headers=h).status_code for h in headers]


def test_a_rotating_forwarded_header_does_not_escape_the_rate_limit(limited):
    rotating = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(20)]
    untrusted = _statuses(limited, "127.0.0.1", rotating)
    assert untrusted.count(200) <= 3 and untrusted.count(429) >= 17
    time.sleep(1.5)
    trusted = _statuses(limited, "127.0.0.2", [{"X-Forwarded-For": f"198.51.100.{n + 100}"} for n in range(20)])
    assert trusted == [200] * 20  # a trusted proxy's clients each have their own bucket
    same = _statuses(limited, "127.0.0.2", [{"X-Forwarded-For": "198.51.100.250"}] * 6)
    assert same.count(429) >= 3


def test_mcp_writes_no_client_text_to_the_log_and_echoes_no_name(served):
    """The SDK logged an unknown prompt's name twice, in a message and a traceback: a newline in it
    forged a log line, and a 60 KB name added 122 KB to the log."""
    _, url, log_path = served
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    name = "x\n2026-12-07 00:00:00 INFO anisim.api: FORGED line " + "q" * 40_000
    calls = [("prompts/get", {"name": name}), ("resources/read", {"uri": f"anisim://{name}"}),
             ("tools/call", {"name": name, "arguments": {}}), (name, {})]
    before = log_path.stat().st_size
    with httpx.Client(timeout=30) as client:
        for number, (method, params) in enumerate(calls, 1):
            response = client.post(f"{url}/mcp", headers=headers,
                                   json={"jsonrpc": "2.0", "id": number, "method": method, "params": params})
            assert response.status_code < 500 and len(response.text) < 2_000  # the name is not echoed
            answer = response.json()
            if method == "tools/call":  # a tool error, quoting at most an escaped prefix of the name
                assert answer["result"]["isError"] and "\\n" in answer["result"]["content"][0]["text"]
            else:  # an unknown method is "method not found"; an unknown prompt or resource, "invalid params"
                assert answer["error"]["code"] == (-32602 if method in ("prompts/get", "resources/read") else -32601)
    time.sleep(0.5)
    written = log_path.read_text()[before:]
    assert "FORGED" not in written and "qqqq" not in written
    assert len(written) < 5_000


# ---- the smaller findings (in process) ----------------------------------------------------------

def test_the_legacy_routes_take_only_json_bodies(asgi_client):
    """A web page can make any visitor's browser POST text/plain without a CORS preflight."""
    body = b'{"model": "sentence-transformers/all-MiniLM-L6-v2", "description": "a slime"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        response = asgi_client.post("/anisearchmodel/anime", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 415 and set(response.json()) == {"error"}


@pytest.mark.parametrize("encode", [lambda t: t.encode("utf-16"), lambda t: t.encode("utf-16-le"),
                                    lambda t: b"\xef\xbb\xbf" + t.encode()])
def test_a_utf16_or_bom_body_gets_the_projects_own_400(asgi_client, encode):
    for path, text in (("/v1/search", '{"kind": "anime", "query": "a slime"}'),
                       ("/anisearchmodel/anime", '{"model": "sentence-transformers/all-MiniLM-L6-v2", '
                                                 '"description": "a slime"}')):
        response = asgi_client.post(path, content=encode(text), headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.text)
        assert set(response.json()) == {"error"} and "IODescriptor" not in response.text


def test_the_page_sends_security_headers(asgi_client):
    for path in ("/", "/page/page.js", "/page/page.css"):
        headers = asgi_client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]


def test_mcp_over_stdio_answers_every_line_it_cannot_read(served):
    """The SDK's stdio transport dropped garbage, a half-sent line, a batch and a request with an
    object for id without a word, so a client waiting for an answer waited for ever."""
    import subprocess
    import sys
    _, url, _ = served
    process = subprocess.Popen([sys.executable, "-m", "anisim.cli", "mcp", "--url", url], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = {"garbage\n": -32700, '{"jsonrpc": "2.0", "id": 1, "method": "tools/li\n': -32700,
             '[{"jsonrpc": "2.0", "id": 2, "method": "ping"}]\n': -32600,
             '{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}\n': -32600}
    try:
        for line, code in lines.items():
            process.stdin.write(line)
            process.stdin.flush()
            answer = json.loads(process.stdout.readline())
            assert answer["id"] is None and answer["error"]["code"] == code, (line, answer)
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}) + "\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 3  # and it still serves
    finally:
        process.stdin.close()
        process.wait(timeout=20)


def test_an_mcp_request_with_an_object_for_id_is_an_error_not_a_silent_202(served):
    _, url, _ = served
    response = httpx.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"},
                          headers={"Accept": "application/json, text/event-stream"}, timeout=10)
    assert response.status_code == 400 and response.json()["error"]["code"] == -32600
    assert response.json()["id"] is None
