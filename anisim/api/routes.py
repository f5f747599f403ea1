"""The routes BentoML does not declare: the legacy search contract, the model list, health, the
facets, and the search page (`/`, with BentoML's OpenAPI page moved to `/docs`).

They are a plain Starlette app that the service mounts, so the legacy body stays flat and its
errors are exactly `{"error": ...}`. Each handler reaches the running service through a getter
(BentoML's `get_current_service` in production), which keeps this module free of BentoML.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from anisim.api.responses import error_response
from anisim.api.schemas import SearchRequest, parse_legacy_request
from anisim.buildlock import build_running
from anisim.errors import AnisimError, NotFound, RequestError
from anisim.limits import KINDS, MAX_ID, MIN_ID
from anisim.models import REGISTRY

if TYPE_CHECKING:  # the backend (catalogs, indexes, pandas) loads in the API worker only
    from anisim.api.backend import AsyncEncode, Backend

PAGE = Path(__file__).resolve().parent / "page"  # the search page: plain HTML, CSS and JavaScript
# The page's own files only (no inline script or style), covers from MyAnimeList's image host,
# never inside another site's frame, no guessing of content types, no full URL sent on.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
                               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def with_headers(app: Callable, headers: dict[str, str]) -> Callable:
    """An ASGI app that answers as `app` does, with `headers` added to each response."""
    extra = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def call(scope: dict, receive: Callable, send: Callable) -> None:
        async def send_with(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)
        await app(scope, receive, send_with)
    return call


class Served(Protocol):
    """What the routes need of the running service."""

    backend: Backend
    encode_query: AsyncEncode

    async def encoder_problems(self) -> dict[str, str]: ...


def build_routes(current: Callable[[], Served], openapi_page: Path | None = None) -> Starlette:
    """The Starlette app of the legacy, model-list, health, facet and title routes, the MCP door
    (`/mcp`) and the search page. `openapi_page` is BentoML's Swagger UI page, served at `/docs`
    since the search page takes `/`."""
    mcp_door = McpDoor(current)

    async def legacy_search(request: Request) -> JSONResponse:
        """POST /anisearchmodel/{anime|manga}: the old contract, with valid JSON and honest errors."""
        service = current()
        kind = request.path_params["kind"]
        try:
            if kind not in KINDS:
                raise NotFound("unknown route; use /anisearchmodel/anime or /anisearchmodel/manga")
            body = parse_legacy_request(await request.body())
            request = SearchRequest.model_construct(kind=kind, query=body.description, model=body.model,
                                                    page=body.page, page_size=body.resultsPerPage)
            answer = await service.backend.search(request, service.encode_query, legacy=True)
        except AnisimError as problem:
            return error_response(problem)
        return JSONResponse(answer.records.legacy(answer.page),
                            headers={"X-Anisim-Model": answer.model, "X-Anisim-Mode": answer.mode})

    async def list_models(request: Request) -> JSONResponse:
        """GET /v1/models: every known model, whether it is installed, and whether it is served."""
        backend = current().backend
        served = backend.served
        return JSONResponse([
            {"name": spec.name, "aliases": list(spec.aliases), "dim": spec.dim, "available": spec.available,
             "served": spec.name in served, "default": spec.name == served[0],
             **({"catalogs": backend.catalogs} if spec.name in served else {}),
             **({} if spec.available else {"why": spec.why_unavailable()})}
            for spec in REGISTRY
        ])

    async def health(request: Request) -> JSONResponse:
        """GET /v1/health: 200 only when every index is loaded and the encoder answers now; else
        503 with status `building` (only indexes are missing and a build is running: searches
        answer with BM25 meanwhile) or `unavailable` (each problem says how to mend it)."""
        service = current()
        backend = service.backend
        encoder = await service.encoder_problems()
        problems = {**backend.problems, **encoder}
        only_indexes = not backend.catalog_problems and not encoder
        building = only_indexes and build_running(backend.settings.home)
        status = "ok" if not problems else "building" if building else "unavailable"
        body = {"status": status, "model": backend.default_model,
                "encoder": {"url": backend.settings.encoder_url or "in this server", "answers": not encoder},
                "models": backend.served,
                "indexes": {kind: len(r.items) for kind, r in backend.records.items()},
                "catalogs": backend.catalogs, "problems": problems}
        if problems:  # an error answer keeps the `{"error": ...}` shape every error has
            body = {"error": f"not ready: {', '.join(problems)}", **body}
        headers = {"Retry-After": "5"} if problems else {}
        return JSONResponse(body, status_code=200 if not problems else 503, headers=headers)

    async def facets(request: Request) -> JSONResponse:
        """GET /v1/facets?kind=anime: every tag and type with its count, and the year and score ranges."""
        try:
            return JSONResponse(current().backend.facets_of(request.query_params.get("kind", "")))
        except AnisimError as problem:
            return error_response(problem)

    async def title(request: Request) -> JSONResponse:
        """GET /v1/title?kind=anime&id=52991: one title's whole v1 record (synopsis, related titles)."""
        try:
            item_id = request.query_params.get("id", "")
            if not item_id.isdigit() or not MIN_ID <= int(item_id) <= MAX_ID:
                raise RequestError("'id' must be a MAL id (a positive integer), e.g. /v1/title?kind=anime&id=52991")
            return JSONResponse(current().backend.title(request.query_params.get("kind", ""), int(item_id)))
        except AnisimError as problem:
            return error_response(problem)

    async def search_page(request: Request) -> Response:
        return FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache", **PAGE_HEADERS})

    async def docs_page(request: Request) -> Response:
        if openapi_page is None or not openapi_page.exists():
            return error_response(NotFound("no OpenAPI page here; the spec is at /docs.json"))
        return FileResponse(openapi_page)

    return Starlette(lifespan=mcp_door.lifespan, routes=[
        Route("/", search_page, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        Mount("/page", with_headers(StaticFiles(directory=PAGE), PAGE_HEADERS), name="page"),
        Route("/anisearchmodel/{kind}", legacy_search, methods=["POST"]),
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/facets", facets, methods=["GET"]),
        Route("/v1/title", title, methods=["GET"]),
        # an ASGI app as the endpoint (no redirect from /mcp to /mcp/); POST only: stateless, so no
        # event stream to GET (it would stay open for ever)
        Route("/mcp", mcp_door, methods=["POST"]),
    ])


class McpDoor:
    """The MCP door (`anisim.api.mcp`), made when the app starts serving. The MCP SDK costs ~35 MB
    in each process that imports it, and every process of `bentoml serve` imports `service.py`:
    the supervisor and the Encoder, which never serve MCP, then do not load it."""

    def __init__(self, current: Callable[[], Served]) -> None:
        self.current = current
        self.app: Callable | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Make the MCP app and run its session manager for as long as the app serves."""
        from anisim.api import mcp
        self.app = mcp.mount_app(mcp.LocalDoor(lambda: self.current().backend, lambda: self.current().encode_query))
        async with mcp.lifespan(self.app):
            yield

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        await self.app(scope, receive, send)
