"""Per-client rate limiting (ASGI middleware) in-process."""

import asyncio

from anisim.api.ratelimit import RateLimitMiddleware
from anisim.settings import Settings


async def _ok(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _call(app, client, path="/v1/search"):
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "client": (client, 5000)}
    asyncio.run(app(scope, None, send))
    return sent[0]["status"], dict(sent[0]["headers"])


def test_limits_each_client_separately_with_429_and_retry_after():
    app = RateLimitMiddleware(_ok, Settings(rate_limit=0.5, rate_burst=2, rate_limit_local=False))
    assert [_call(app, "10.1.1.1")[0] for _ in range(3)] == [200, 200, 429]
    status, headers = _call(app, "10.1.1.1")
    assert status == 429 and int(headers[b"retry-after"]) >= 1 and headers[b"content-type"] == b"application/json"
    assert _call(app, "10.1.1.2")[0] == 200


def test_loopback_and_health_are_exempt_by_default():
    app = RateLimitMiddleware(_ok, Settings(rate_limit=0.5, rate_burst=1, rate_limit_local=False))
    assert [_call(app, "127.0.0.1")[0] for _ in range(5)] == [200] * 5
    app = RateLimitMiddleware(_ok, Settings(rate_limit=0.5, rate_burst=1, rate_limit_local=True))
    assert [_call(app, "10.0.0.9", "/v1/health")[0] for _ in range(3)] == [200] * 3
    for path in ("/", "/page/page.js", "/page/page.css"):  # loading the search page is never limited
        assert _call(app, "10.0.0.9", path)[0] == 200
    assert [_call(app, "10.0.0.9", "/v1/facets")[0] for _ in range(2)] == [200, 429]


def test_off_when_rate_is_zero():
    app = RateLimitMiddleware(_ok, Settings(rate_limit=0, rate_burst=1, rate_limit_local=True))
    assert [_call(app, "10.0.0.9")[0] for _ in range(5)] == [200] * 5


def _forwarded(app, peer, chain):
    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/v1/search", "client": (peer, 5000),
             "headers": [(b"x-forwarded-for", chain.encode())]}
    asyncio.run(app(scope, None, send))
    return sent[0]["status"]


def test_a_forwarded_address_counts_only_from_a_trusted_proxy_and_never_claims_loopback():
    limited = Settings(rate_limit=0.5, rate_burst=1, rate_limit_local=False)
    untrusted = RateLimitMiddleware(_ok, limited)  # no trusted proxy: the header is ignored
    assert [_forwarded(untrusted, "10.0.0.7", f"203.0.113.{n}") for n in range(3)] == [200, 429, 429]
    proxied = RateLimitMiddleware(_ok, Settings(**{**limited.__dict__, "trusted_proxies": ("10.0.0.0/24",)}))
    assert [_forwarded(proxied, "10.0.0.7", f"203.0.113.{n}") for n in range(3)] == [200, 200, 200]
    assert [_forwarded(proxied, "10.0.0.7", "203.0.113.9, 10.0.0.8") for _ in range(2)] == [200, 429]
    # a client that writes "127.0.0.1" gets no loopback exemption, through a proxy or not
    assert [_forwarded(proxied, "10.0.0.7", "127.0.0.1") for _ in range(2)] == [200, 429]
    assert [_forwarded(untrusted, "10.0.0.9", "127.0.0.1") for _ in range(2)] == [200, 429]
