"""anisim's BentoML services: `Encoder` (the models, adaptive batching, a GPU when there is one) and
`AniSearch` (catalogs and indexes in memory; the legacy and v1 HTTP APIs).

This file is wiring only. Heavy work happens once, in `__init__`; each API method hands its
validated parameters to `anisim.api.backend.Backend` and raises `anisim.errors` on failure, which
`answers_errors` turns into `{"error": ...}` with the error's own status. Settings:
`anisim.settings` (one table, read once).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import _bentoml_impl.server
import bentoml
import numpy as np
from bentoml._internal.server.http.instruments import RunnerTrafficMetricsMiddleware

from anisim.api.coalescer import Coalescer, merges_calls
from anisim.api.guard import RequestGuard
from anisim.api.logs import quiet_logs
from anisim.api.metrics import bound_endpoint_labels
from anisim.api.ratelimit import RateLimitMiddleware
from anisim.api.responses import answers_errors
from anisim.api.routes import build_routes
from anisim.api.schemas import V1_BODIES, SearchFilters, SearchRequest, SearchResponse, SimilarRequest
from anisim.encoder import Embedder, encode_pairs  # light: an engine's library loads when one is made
from anisim.errors import NotReady
from anisim.heap import settle
from anisim.models import resolve
from anisim.settings import Settings

SETTINGS = Settings.from_env()
# uvicorn, as BentoML starts it, takes X-Forwarded-For from 127.0.0.1 (its FORWARDED_ALLOW_IPS):
# any local process could then name any client. It trusts no one here; the rate limiter decides,
# from ANISIM_TRUSTED_PROXIES (anisim.api.ratelimit). Read by uvicorn after this module loads.
os.environ["FORWARDED_ALLOW_IPS"] = ""
bound_endpoint_labels(RunnerTrafficMetricsMiddleware)  # /metrics: a finite label set (anisim.api.metrics)
HEALTH_PROBE_TIMEOUT_S = 2.0
# BentoML recycles its client session to a dependency after 100 requests / 300 s, and calls can
# fail under load when it does (measured on 1.4.40): keep one session for the process's life.
LONG_LIVED_CONNECTION = {"max_requests": 2**31 - 1, "max_age": 10.0**9}
# BentoML's Swagger UI page: the search page takes `/`, so this one is served at `/docs`.
OPENAPI_PAGE = Path(_bentoml_impl.server.__file__).with_name("main-openapi.html")
log = logging.getLogger("anisim.service")
quiet_logs()


@bentoml.service(name="anisim_encoder", resources={"gpu": 1}, workers=1, traffic={"timeout": 30},
                 runner_connection=LONG_LIVED_CONNECTION)
class Encoder:
    """Loads every served model once (on the GPU when there is one); encodes batches of queries."""

    def __init__(self) -> None:
        self.embedders = {name: Embedder.for_settings(resolve(name), SETTINGS) for name in SETTINGS.models}
        for name, embedder in self.embedders.items():
            embedder.encode(["warm-up"])
            log.info("encoder ready: %s, %s engine on %s", name, embedder.engine, embedder.device)
        settle()  # the models and libraries, loaded once, leave the collector's full passes

    @bentoml.api(batchable=True, max_batch_size=SETTINGS.batch_size, max_latency_ms=SETTINGS.batch_latency_ms)
    def encode(self, pairs: list[list[str]]) -> np.ndarray:
        """[model, text] pairs; adaptive batching encodes concurrent calls together."""
        return encode_pairs(self.embedders, pairs)

    @bentoml.api
    def encode_now(self, pairs: list[list[str]]) -> np.ndarray:
        """No batching, no waiting: for a request that is alone, and for every call where the
        engines encode each text alone (see AniSearch.send_pairs)."""
        return encode_pairs(self.embedders, pairs)

    @bentoml.api
    def ping(self) -> dict[str, list[str] | bool]:
        """A cheap liveness probe that says how to call this Encoder: its models, and `batches`,
        whether an engine encodes a batch at once (torch; a GPU) or each text alone (ONNX Runtime
        on a CPU, where the batcher could only hold calls back)."""
        return {"models": list(self.embedders), "batches": any(e.batch_size > 1 for e in self.embedders.values())}


@bentoml.service(name="anisim", workers=1, traffic={"timeout": 30},
                 http={"cors": {"enabled": True, "access_control_allow_origins": list(SETTINGS.cors_origins),
                                "access_control_allow_methods": ["GET", "POST", "OPTIONS"],
                                "access_control_allow_headers": ["Content-Type"],
                                "access_control_expose_headers": ["X-Anisim-Model", "X-Anisim-Mode",
                                                                  "Retry-After"]}})
@bentoml.asgi_app(build_routes(bentoml.get_current_service, OPENAPI_PAGE), path="/")
class AniSearch:
    """Holds every catalog and index in memory; answers searches."""

    # the Encoder in this server, or (ANISIM_ENCODER_URL) a remote one that `bentoml serve` then does not start
    encoder = bentoml.depends(Encoder, url=SETTINGS.encoder_url or None)

    def __init__(self) -> None:
        from anisim.api.backend import Backend  # catalogs and indexes: in the API worker only
        from anisim.encoder import lone_query_encoders
        self.backend = Backend(SETTINGS)
        self.backend.watch()  # a missing index (still being built) is loaded once it is written
        self.local = lone_query_encoders(SETTINGS)  # ONNX Runtime here on a CPU host; {} on a GPU host
        self.waiting = 0  # queries of this worker now waiting for their vector
        self.coalescer = Coalescer(self.send_pairs, SETTINGS.encoder_wait_s, max_batch=SETTINGS.batch_size)
        self.encoder_batches: bool | None = None  # whether to call its batcher: its ping says, on the first call
        settle()  # the catalogs and indexes, loaded once, leave the collector's full passes

    async def encode_query(self, model: str, text: str) -> np.ndarray:
        """The query's unit vector: encoded here when it is alone and `ANISIM_LONE_ENCODER=1` on a
        CPU host (`lone_query_encoders`); otherwise from the Encoder service, sent together with the
        queries waiting at the same moment (`anisim.api.coalescer`), or NotReady after a bounded wait."""
        alone = self.waiting == 0
        self.waiting += 1
        try:
            if alone and model in self.local:
                return (await asyncio.to_thread(self.local[model].encode, [text]))[0]
            async with asyncio.timeout(SETTINGS.encoder_wait_s):
                return await self.coalescer.vector(model, text)
        except Exception as problem:  # noqa: BLE001 (timeout, or the call and its retry failed)
            log.error("encoder unavailable (%s)", type(problem).__name__)
            raise NotReady("the encoder is not answering; retry shortly", retry_after=5) from None
        finally:
            self.waiting -= 1

    async def send_pairs(self, pairs: list[list[str]], alone: bool) -> np.ndarray:
        """One call to the Encoder, through its batcher only where that merges calls into batches
        (`Encoder.ping`'s `batches`). A lone query is sent past it, whose learned wait (inflated
        after a burst of load) would delay it for nothing; so is every call where the engines
        encode each text alone: the batcher runs one call at a time, polling every 1 ms, so the
        cores idled between calls (docs/performance.md). Encoding is idempotent, so a failed call
        is retried once, past the batcher: it answers 503 for a call it predicts would wait past
        its max latency, from a cost estimate that a burst on a busy CPU inflates (measured: 11 of
        a 64-client burst shed while answers took ~1 s)."""
        if self.encoder_batches is None and not alone:
            await self.encoder_problems()  # its ping says; unanswered, calls go through the batcher
        merge = not alone and self.encoder_batches is not False
        first_call = self.encoder.to_async.encode if merge else self.encoder.to_async.encode_now
        try:
            return await first_call(pairs)
        except Exception as first:  # noqa: BLE001 (any transport error: retry once)
            log.warning("encoder call failed (%s); retrying once", type(first).__name__)
            return await self.encoder.to_async.encode_now(pairs)

    async def encoder_problems(self) -> dict[str, str]:
        """{} when the Encoder answers a ping now, noting how to call it (`encoder_batches`); else
        why not (probed with a short timeout)."""
        try:
            answer = await asyncio.wait_for(self.encoder.to_async.ping(), HEALTH_PROBE_TIMEOUT_S)
        except Exception as problem:  # noqa: BLE001 (not reachable, dead, hung or still loading)
            return {"encoder": f"the encoder is not answering ({type(problem).__name__})"}
        self.encoder_batches = merges_calls(answer)
        return {}

    async def __is_ready__(self) -> bool:
        """BentoML's /readyz: ready only when every index is loaded and the encoder answers."""
        return not self.backend.problems and not await self.encoder_problems()

    @bentoml.api(route="/v1/search", input_spec=SearchRequest)
    @answers_errors
    async def search(self, kind: str, query: str, page: int, page_size: int, model: str | None, mode: str,
                     filters: SearchFilters, understand: bool, ignore_cues: list[str]) -> SearchResponse:
        """Search titles of one kind by description. Filters apply before ranking, so pages stay full;
        what the description says about the title (type, era, maker) only raises scores."""
        request = SearchRequest.model_construct(kind=kind, query=query, page=page, page_size=page_size, model=model,
                                                mode=mode, filters=filters, understand=understand,
                                                ignore_cues=ignore_cues)  # validated by BentoML already
        answer = await self.backend.search(request, self.encode_query)
        return self.backend.v1_response(kind, page, page_size, answer)

    @bentoml.api(route="/v1/similar", input_spec=SimilarRequest)
    @answers_errors
    async def similar(self, kind: str, id: int, page: int, page_size: int, model: str | None,
                      filters: SearchFilters) -> SearchResponse:
        """More like this: titles nearest in meaning to the title with this MAL id (never itself)."""
        answer = self.backend.similar(kind, id, model, page, page_size, filters.to_filters())
        return self.backend.v1_response(kind, page, page_size, answer)


AniSearch.add_asgi_middleware(RateLimitMiddleware, settings=SETTINGS)
AniSearch.add_asgi_middleware(RequestGuard, settings=SETTINGS, json_bodies=V1_BODIES)
