"""Per-client rate limiting as a plain ASGI middleware (a token bucket per client address).

Off unless `ANISIM_RATE_LIMIT` (requests per second per client) is set; loopback clients are
exempt unless `ANISIM_RATE_LIMIT_LOCAL=1`, so local development and benchmarks are never limited.
An over-limit request gets 429 with a JSON error and `Retry-After`, before any work is done.
The client is the connection's address: behind a proxy, configure the proxy to limit instead.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

LOOPBACK = ("127.", "::1", "localhost")
MAX_TRACKED_CLIENTS = 10_000  # past this, buckets start afresh: memory stays bounded
EXEMPT_PATHS = ("/readyz", "/livez", "/healthz", "/metrics", "/v1/health")

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved; one token per request."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = burst, time.monotonic()

    def take(self) -> float:
        """0 if a token was taken, else the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimitMiddleware:
    """Limits HTTP requests per client address; configured from the environment by default."""

    def __init__(self, app: ASGIApp, rate: float | None = None, burst: float | None = None,
                 limit_loopback: bool | None = None) -> None:
        self.app = app
        self.rate = float(os.environ.get("ANISIM_RATE_LIMIT", "0")) if rate is None else rate
        self.burst = float(os.environ.get("ANISIM_RATE_BURST", max(self.rate, 1))) if burst is None else burst
        self.limit_loopback = (os.environ.get("ANISIM_RATE_LIMIT_LOCAL") == "1"
                               if limit_loopback is None else limit_loopback)
        self.buckets: dict[str, TokenBucket] = {}

    def _wait(self, scope: Scope) -> float:
        if self.rate <= 0 or scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            return 0.0
        client = (scope.get("client") or ("unknown", 0))[0]
        if not self.limit_loopback and client.startswith(LOOPBACK):
            return 0.0
        if len(self.buckets) >= MAX_TRACKED_CLIENTS:
            self.buckets.clear()
        bucket = self.buckets.setdefault(client, TokenBucket(self.rate, self.burst))
        return bucket.take()

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        wait = self._wait(scope)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": f"rate limit exceeded: at most {self.rate:g} requests per second"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, math.ceil(wait))).encode())]})
        await send({"type": "http.response.body", "body": body})
