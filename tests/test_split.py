"""The split a Kubernetes deployment runs, on loopback: the Encoder served alone (`bentoml serve
service:Encoder`) and the API pointed at it by URL (`ANISIM_ENCODER_URL`). The API starts no
Encoder of its own, says which one it uses, answers 503 (never another 5xx) while it is gone, and
recovers when it is back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from anisim.api.server import free_port, start_server, stop_server, wait_ready

pytestmark = pytest.mark.server
QUERIES = ["an elf mage outlives her hero party", "a boy reborn as a slime in another world",
           "a girl at a high school falls in love", "a boy who becomes a ninja"]


def _burst(url: str, n: int = 24) -> list[int]:
    """Concurrent searches (8 at once): these go to the Encoder's batching, not the lone-query path."""
    def one(i: int) -> int:
        body = {"kind": "anime", "query": f"{QUERIES[i % len(QUERIES)]} {i}", "mode": "dense"}
        return httpx.post(f"{url}/v1/search", json=body, timeout=30).status_code
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _health(url: str) -> tuple[int, dict]:
    response = httpx.get(f"{url}/v1/health", timeout=10)
    return response.status_code, response.json()


def _until(check, seconds: float) -> float:
    """Seconds until check() holds, polled every 0.25 s; AssertionError after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds} s")


def test_the_api_uses_a_remote_encoder_and_survives_its_restart(service_env, tmp_path):
    encoder_port = free_port()
    encoder, encoder_url = start_server("service:Encoder", service_env, tmp_path / "encoder.log", port=encoder_port)
    api = None
    try:
        wait_ready(encoder_url, encoder, path="/readyz")
        # as an API pod beside a remote Encoder may run: no ONNX session of its own
        api, url = start_server("service:AniSearch", {**service_env, "ANISIM_ENCODER_URL": encoder_url,
                                                      "ANISIM_LONE_ENCODER": "0"}, tmp_path / "api.log")
        wait_ready(url, api)
        children = " ".join(" ".join(c.cmdline()) for c in psutil.Process(api.pid).children(recursive=True))
        assert "anisim_encoder" not in children  # the URL's Encoder only
        status, body = _health(url)
        assert status == 200 and body["encoder"] == {"url": encoder_url, "answers": True}
        assert _burst(url) == [200] * 24

        stop_server(encoder)
        went = _until(lambda: _health(url)[0] == 503, 5)
        status, body = _health(url)
        assert status == 503 and body["encoder"] == {"url": encoder_url, "answers": False} and "encoder" in body["problems"]
        assert _burst(url, 8) == [503] * 8  # nothing is encoded in the API worker itself

        encoder, _ = start_server("service:Encoder", service_env, tmp_path / "encoder2.log", port=encoder_port)
        wait_ready(encoder_url, encoder, path="/readyz")
        _until(lambda: _health(url)[0] == 200, 10)
        assert _burst(url) == [200] * 24
        print(f"health 503 {went:.1f} s after the Encoder stopped")
    finally:
        stop_server(encoder)
        if api is not None:
            stop_server(api)
