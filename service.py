"""anisim's BentoML services: an `Encoder` (the model, adaptive batching, a GPU when there is one)
and `AniSearch` (catalogs and indexes in memory; the legacy and v1 HTTP APIs).

Heavy work happens once, in `__init__`; each API method validates, asks the encoder for the query
vector (batched with other requests), and hands the rest to the `anisim` library.

Configuration (environment): ANISIM_HOME (built catalogs and indexes), ANISIM_MODEL (default
all-MiniLM-L6-v2), ANISIM_CORS_ORIGINS (comma-separated, default http://localhost:3000),
ANISIM_RATE_LIMIT / ANISIM_RATE_BURST / ANISIM_RATE_LIMIT_LOCAL (see anisim/ratelimit.py),
ANISIM_BATCH_SIZE / ANISIM_BATCH_LATENCY_MS (the encoder's adaptive batching).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import bentoml
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from anisim import config
from anisim.config import Kind
from anisim.errors import AnisimError, ModelUnavailable
from anisim.filters import Filters
from anisim.models import DEFAULT_MODEL, REGISTRY, resolve
from anisim.ranking import Page
from anisim.ratelimit import RateLimitMiddleware
from anisim.records import RecordMaker
from anisim.schemas import (
    PageNumber,
    PageSize,
    QueryText,
    RequestError,
    SearchFilters,
    SearchResponse,
    parse_legacy_request,
)
from anisim.search import DEFAULT_MODE, Mode, Searcher
from anisim.store import open_searcher
from anisim.text import clean_query

log = logging.getLogger("anisim.service")
logging.getLogger("anisim").setLevel(logging.INFO)  # BentoML leaves other loggers at WARNING

MODEL = os.environ.get("ANISIM_MODEL", DEFAULT_MODEL)
CORS_ORIGINS = [o.strip() for o in os.environ.get("ANISIM_CORS_ORIGINS", "http://localhost:3000").split(",") if o.strip()]
BATCH_SIZE = int(os.environ.get("ANISIM_BATCH_SIZE", "32"))
# BentoML's batcher cancels (fails) a request whose expected latency passes max_latency_ms, so
# this is a ceiling for overload, not a target: it does not add waiting when idle.
BATCH_LATENCY_MS = int(os.environ.get("ANISIM_BATCH_LATENCY_MS", "3000"))
HEALTH_PROBE_TIMEOUT_S = 2.0
# BentoML recycles its client session to a dependency after 100 requests / 300 s, and calls can
# fail under load when it does (measured on 1.4.40): keep one session for the process's life.
_LONG_LIVED_CONNECTION = {"max_requests": 2**31 - 1, "max_age": 10.0**9}


class NotReady(AnisimError):
    """A kind's index is not loaded: the client can only retry later (HTTP 503)."""


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@bentoml.service(
    name="anisim_encoder",
    resources={"gpu": 1},  # used when present; the model runs on the CPU otherwise
    workers=1,
    traffic={"timeout": 30},
    runner_connection=_LONG_LIVED_CONNECTION,
)
class Encoder:
    """Loads the sentence-transformers model once; encodes batches of queries."""

    def __init__(self) -> None:
        from anisim.encoder import Encoder as TextEncoder  # torch loads only in this process
        self.text_encoder = TextEncoder(resolve(MODEL))
        self.text_encoder.encode(["warm-up"])
        log.info("encoder ready: %s on %s", MODEL, self.text_encoder.device)

    @bentoml.api(batchable=True, max_batch_size=BATCH_SIZE, max_latency_ms=BATCH_LATENCY_MS)
    def encode(self, texts: list[str]) -> np.ndarray:
        """Adaptive batching: concurrent calls are encoded together."""
        return self.text_encoder.encode(texts)

    @bentoml.api
    def encode_now(self, texts: list[str]) -> np.ndarray:
        """No batching, no waiting: for a request that is alone (see AniSearch.query_vector)."""
        return self.text_encoder.encode(texts)


async def legacy_search(request: Request) -> JSONResponse:
    """POST /anisearchmodel/{anime|manga}: the old contract, with valid JSON and honest errors."""
    kind = request.path_params["kind"]
    if kind not in config.KINDS:
        return error(404, f"unknown route /anisearchmodel/{kind}; use anime or manga")
    service: AniSearch = bentoml.get_current_service()
    try:
        body = parse_legacy_request(await request.body())
        _, page = await service.run_search(kind, body.description, body.model, DEFAULT_MODE,
                                           body.page, body.resultsPerPage, Filters())
    except NotReady as problem:
        return error(503, str(problem))
    except (RequestError, ModelUnavailable) as problem:
        return error(400, str(problem))
    return JSONResponse(service.records[kind].legacy(page))


async def list_models(request: Request) -> JSONResponse:
    """GET /v1/models: every known model, whether it is installed, and whether it is served."""
    served = bentoml.get_current_service().spec.name
    return JSONResponse([
        {"name": spec.name, "aliases": list(spec.aliases), "dim": spec.dim, "available": spec.available,
         "served": spec.name == served, **({} if spec.available else {"why": spec.why_unavailable()})}
        for spec in REGISTRY
    ])


async def health(request: Request) -> JSONResponse:
    """GET /v1/health: 200 only when every index and the model are loaded."""
    service: AniSearch = bentoml.get_current_service()
    problems = {**service.problems, **await service.encoder_problem()}
    body = {"status": "ok" if not problems else "unavailable", "model": MODEL,
            "indexes": {k: len(s.catalog.items) for k, s in service.searchers.items()}, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


http_app = Starlette(routes=[
    Route("/anisearchmodel/{kind}", legacy_search, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/health", health, methods=["GET"]),
])


@bentoml.service(
    name="anisim",
    workers=1,
    traffic={"timeout": 30},
    http={"cors": {"enabled": True, "access_control_allow_origins": CORS_ORIGINS,
                   "access_control_allow_methods": ["GET", "POST", "OPTIONS"],
                   "access_control_allow_headers": ["Content-Type"]}},
)
@bentoml.asgi_app(http_app, path="/")
class AniSearch:
    """Holds every catalog and index in memory; answers searches."""

    encoder = bentoml.depends(Encoder)

    def __init__(self) -> None:
        self.spec = resolve(MODEL)
        self.searchers: dict[str, Searcher] = {}
        self.records: dict[str, RecordMaker] = {}
        self.problems: dict[str, str] = {}
        self.encoder_ready = False
        self.encoding = 0  # queries of this worker now waiting for their vector
        for kind in config.KINDS:
            started = time.perf_counter()
            try:
                self.searchers[kind] = open_searcher(kind, self.spec)
                self.records[kind] = RecordMaker(self.searchers[kind].catalog)
            except AnisimError as problem:  # serve what we can; the rest answers 503
                self.problems[kind] = str(problem)
                log.error("%s search unavailable: %s", kind, problem)
                continue
            log.info("%s index loaded: %d titles in %.1f s", kind,
                     len(self.searchers[kind].catalog.items), time.perf_counter() - started)

    async def encoder_problem(self) -> dict[str, str]:
        """{} once the Encoder has answered one request; else why not (probed with a timeout)."""
        if not self.encoder_ready:
            try:
                await asyncio.wait_for(self.encoder.to_async.encode(["health check"]), HEALTH_PROBE_TIMEOUT_S)
                self.encoder_ready = True
            except Exception as problem:  # noqa: BLE001 (not reachable or still loading)
                return {"model": f"the encoder is not ready yet ({type(problem).__name__})"}
        return {}

    async def query_vector(self, text: str) -> np.ndarray:
        """The query's unit vector from the Encoder service.

        Batched with concurrent requests; a request that is alone skips the batcher, whose
        learned wait (inflated after a burst of load) would otherwise delay it for nothing.
        Encoding is idempotent, so a failed call is retried once."""
        call = self.encoder.to_async.encode_now if self.encoding == 0 else self.encoder.to_async.encode
        self.encoding += 1
        try:
            try:
                vectors = await call([text])
            except Exception as first:  # noqa: BLE001 (any transport error: retry once)
                log.warning("encoder call failed (%s); retrying once", type(first).__name__)
                vectors = await call([text])
        finally:
            self.encoding -= 1
        return np.asarray(vectors, dtype=np.float32)[0]

    def searcher(self, kind: str, model: str) -> Searcher:
        spec = resolve(model)
        if spec.name != self.spec.name:
            raise ModelUnavailable(f"model '{model}' is installed but not served here; this server serves {self.spec.name}")
        if kind not in self.searchers:
            raise NotReady(f"{kind} search is not available yet: {self.problems.get(kind, 'loading')}")
        return self.searchers[kind]

    async def run_search(self, kind: str, query: str, model: str, mode: str, page: int, page_size: int,
                         filters: Filters) -> tuple[Searcher, Page]:
        started = time.perf_counter()
        searcher = self.searcher(kind, model)
        text = clean_query(query)
        vector = await self.query_vector(text) if searcher.needs_vector(mode) else None
        result = searcher.search(text, vector, mode, page, page_size, filters)
        log.info("search kind=%s mode=%s page=%d size=%d query_chars=%d results=%d total=%d in %.1f ms",
                 kind, mode, page, page_size, len(text), result.positions.size, result.total,
                 (time.perf_counter() - started) * 1000)
        return searcher, result

    @bentoml.api(route="/v1/search")
    async def search(self, kind: Kind, query: QueryText, page: PageNumber = 1, page_size: PageSize = 10,
                     model: str = DEFAULT_MODEL, mode: Mode = DEFAULT_MODE,
                     filters: SearchFilters = SearchFilters()) -> SearchResponse:
        """Search titles of one kind by description. Filters apply before ranking, so pages stay full."""
        try:
            searcher, result = await self.run_search(kind, query, model, mode, page, page_size, filters.to_filters())
        except ModelUnavailable as problem:
            return error(400, str(problem))
        except NotReady as problem:
            return error(503, str(problem))
        return self.page_response(kind, searcher.model, mode, page, page_size, result)

    @bentoml.api(route="/v1/similar")
    def similar(self, kind: Kind, id: int, page: PageNumber = 1, page_size: PageSize = 10,
                filters: SearchFilters = SearchFilters()) -> SearchResponse:
        """More like this: titles nearest in meaning to the title with this MAL id (never itself)."""
        try:
            searcher = self.searcher(kind, self.spec.name)
        except NotReady as problem:
            return error(503, str(problem))
        if id not in searcher.catalog.position.index:
            return error(404, f"no {kind} with MAL id {id} in the catalog")
        result = searcher.similar(id, page, page_size, filters.to_filters())
        return self.page_response(kind, searcher.model, "dense", page, page_size, result)

    def page_response(self, kind: str, model: str, mode: str, page: int, page_size: int,
                      result: Page) -> SearchResponse:
        return SearchResponse(kind=kind, model=model, mode=mode, page=page, page_size=page_size, total=result.total,
                              has_more=result.has_more, results=self.records[kind].v1(result))


AniSearch.add_asgi_middleware(RateLimitMiddleware)
