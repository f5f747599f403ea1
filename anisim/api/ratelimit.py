"""Per-client rate limiting as a plain ASGI middleware (a token bucket per client address).

Off unless `Settings.rate_limit` (`ANISIM_RATE_LIMIT`, requests per second per client) is set;
loopback clients are exempt unless `ANISIM_RATE_LIMIT_LOCAL=1`, so local development and
benchmarks are never limited.
An over-limit request gets 429 with a JSON error and `Retry-After`, before any work is done.

The client is the connection's address. Only a connection from a proxy listed in
`ANISIM_TRUSTED_PROXIES` (addresses or networks; none by default) may name another client, in
`X-Forwarded-For`: the client is then the last address in it that is not a trusted proxy. A
forwarded request is never exempt as loopback, so no header can claim the exemption. (uvicorn,
as BentoML starts it, would take the header from 127.0.0.1 itself; `service.py` turns that off, so
this is the one place that decides.)
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from anisim.api.responses import send_error
from anisim.errors import RateLimited
from anisim.settings import Settings

LOOPBACK = ("127.", "::1", "localhost")
MAX_TRACKED_CLIENTS = 10_000  # past this, buckets start afresh: memory stays bounded
# Probes and the search page's static files (a page load is several requests) are never limited.
EXEMPT_PATHS = ("/readyz", "/livez", "/healthz", "/metrics", "/v1/health", "/", "/docs", "/docs.json")
EXEMPT_PREFIXES = ("/page/", "/static_content/")

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(addresses: tuple[str, ...]) -> tuple[Network, ...]:
    """`ANISIM_TRUSTED_PROXIES`' entries as networks ("10.0.0.5" is 10.0.0.5/32); a malformed one is an error."""
    return tuple(ipaddress.ip_network(a, strict=False) for a in addresses)


def _within(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_of(scope: Scope, trusted: tuple[Network, ...]) -> tuple[str, bool]:
    """(the client's address, whether a trusted proxy's `X-Forwarded-For` named it)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    if not trusted or not _within(peer, trusted):
        return peer, False
    chain = [a.strip() for name, value in scope.get("headers") or [] if name == b"x-forwarded-for"
             for a in value.decode("latin-1").split(",") if a.strip()]
    if not chain:
        return peer, False
    return next((a for a in reversed(chain) if not _within(a, trusted)), chain[0]), True


class RateLimitMiddleware:
    """Limits HTTP requests per client address, as the settings say (read once, at start)."""

    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        settings = settings or Settings.from_env()
        self.app = app
        self.rate = settings.rate_limit
        self.burst = settings.rate_burst or max(self.rate, 1.0)
        self.limit_loopback = settings.rate_limit_local
        self.trusted = networks(settings.trusted_proxies)
        self.buckets: dict[str, TokenBucket] = {}

    def _wait(self, scope: Scope) -> float:
        path = scope.get("path", "")
        if self.rate <= 0 or scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES):
            return 0.0
        client, forwarded = client_of(scope, self.trusted)
        if not self.limit_loopback and not forwarded and client.startswith(LOOPBACK):
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
        problem = RateLimited(f"rate limit exceeded: at most {self.rate:g} requests per second",
                              retry_after=max(1, math.ceil(wait)))
        await send_error(send, problem)
