"""Bounded `/metrics`: every HTTP series is labelled with a route anisim serves, or with "other".

BentoML 1.4's traffic middleware labels its request counters and histograms with the raw request
path, and it runs outside every middleware a service adds: 20,000 requests to random paths made
20,000 series (the API grew by 490 MB and `/metrics` to 77 MB). `bound_endpoint_labels` has that
middleware see a known route, a static-file folder, or "other" instead, and hands the request on
with its real path, so routing, the access log's status line and every response are unchanged.
"""

from __future__ import annotations

import copy
from typing import Any

OTHER = "other"
# Every route the service answers (BentoML's probes and docs, the v1 API, the legacy routes, MCP,
# the page); tests/test_abuse.py checks that the OpenAPI document has no path missing here.
KNOWN_PATHS = frozenset({
    "/", "/docs", "/docs.json", "/schema.json", "/livez", "/readyz", "/healthz", "/metrics",
    "/v1/search", "/v1/similar", "/v1/title", "/v1/facets", "/v1/models", "/v1/health",
    "/anisearchmodel/anime", "/anisearchmodel/manga", "/mcp",
})
# Folders of static files: one label each, whatever file is asked for.
STATIC_FOLDERS = ("/page/", "/static_content/")


def endpoint_label(path: str) -> str:
    """The label a request's path is counted under: finite whatever clients send."""
    if path in KNOWN_PATHS:
        return path
    return next((f"{folder}*" for folder in STATIC_FOLDERS if path.startswith(folder)), OTHER)


def bound_endpoint_labels(middleware: type) -> None:
    """Wrap a BentoML traffic-metrics middleware class (`RunnerTrafficMetricsMiddleware`) so that
    it labels by `endpoint_label`: it is called with the label as the path, and a per-request
    shallow copy of it hands the application the real scope."""
    original = middleware.__call__
    if getattr(original, "anisim_bounded", False):
        return

    async def call(self: Any, scope: dict, receive: Any, send: Any) -> None:
        label = endpoint_label(scope["path"]) if scope.get("type") == "http" else None
        if label is None or label == scope["path"]:
            await original(self, scope, receive, send)
            return
        if not self._is_setup:
            self._setup()  # on the shared instance, so the copy reuses its metrics
        inner = self.app

        async def real_scope(_labelled: dict, wrapped_receive: Any, wrapped_send: Any) -> None:
            await inner(scope, wrapped_receive, wrapped_send)

        labelled = copy.copy(self)
        labelled.app = real_scope
        await original(labelled, {**scope, "path": label}, receive, send)

    call.anisim_bounded = True  # type: ignore[attr-defined]
    middleware.__call__ = call
