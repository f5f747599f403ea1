"""What the HTTP layer serves, without BentoML: every served model's searchers, the choice of a
model for a request, and the search itself given an async function that encodes.

Catalogs are loaded once per kind and shared by the models' searchers. A kind or model whose
index cannot be loaded is remembered as a problem: the rest is served, and requests that need it
get a 503 naming the command that builds it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from anisim.api.records import RecordMaker
from anisim.api.schemas import SearchResponse
from anisim.catalog import facet_counts, load_catalog
from anisim.errors import AnisimError, ModelUnavailable, NotReady
from anisim.filters import Filters
from anisim.index import load_index
from anisim.lexical import LexicalScorer
from anisim.models import LEGACY_ALLOWED, ModelSpec, available_names, lookup, resolve
from anisim.ranking import Page
from anisim.search import Query, Searcher
from anisim.settings import KINDS, Settings

log = logging.getLogger("anisim.api")
AsyncEncode = Callable[[str, str], Awaitable[np.ndarray]]  # (model, text) -> unit vector


@dataclass(frozen=True)
class Answer:
    """A page of results and what produced it."""

    page: Page
    model: str
    mode: str
    substituted: bool = False


class Backend:
    """Loaded once per API worker; answers searches for every served model and kind."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.specs: list[ModelSpec] = [resolve(name) for name in settings.models]
        self.default_model = self.specs[0].name
        self.searchers: dict[tuple[str, str], Searcher] = {}
        self.records: dict[str, RecordMaker] = {}
        self.facets: dict[str, dict] = {}
        self.problems: dict[str, str] = {}
        for kind in KINDS:
            self._load(kind)

    def _load(self, kind: str) -> None:
        started = time.perf_counter()
        try:
            catalog = load_catalog(self.settings.catalog_dir, kind)
            lexical = LexicalScorer.for_catalog(catalog, self.settings.home)  # shared by the models
            for spec in self.specs:
                index = load_index(catalog, spec, self.settings.home)
                self.searchers[spec.name, kind] = Searcher(catalog, index, spec.lexical_weight, lexical)
        except AnisimError as problem:  # serve what we can; the rest answers 503
            self.problems[kind] = str(problem)
            log.error("%s search unavailable: %s", kind, problem)
            return
        self.records[kind] = RecordMaker(catalog)
        self.facets[kind] = facet_counts(catalog)
        log.info("%s loaded: %d titles, %d model(s) in %.1f s", kind, len(catalog.items), len(self.specs),
                 time.perf_counter() - started)

    @property
    def served(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def model_for(self, name: str | None, legacy: bool = False) -> tuple[str, bool]:
        """(the served model a client's name means, whether it stands in for an old name).

        On the legacy routes, a name from the old API's allow-list that is not served is answered
        by the default model (unless `ANISIM_LEGACY_SUBSTITUTE=0`); anything else unknown is a 400
        whose message lists what is served and never repeats the name sent."""
        if name is None:
            return self.default_model, False
        spec = lookup(name)
        if spec is not None and spec.name in self.served:
            return spec.name, False
        if legacy and self.settings.legacy_substitute and name in LEGACY_ALLOWED:
            return self.default_model, True
        served = ", ".join(self.served)
        if spec is None:
            raise ModelUnavailable(f"unknown model; served models: {served}")
        if spec.name in available_names():
            raise ModelUnavailable(f"model {spec.name} is installed but not served here; served models: {served}")
        raise ModelUnavailable(f"model {spec.name} is not available: {spec.why_unavailable()}; "
                               f"served models: {served}")

    def searcher(self, model: str, kind: str) -> Searcher:
        if (model, kind) not in self.searchers:
            raise NotReady(f"{kind} search is not available yet: {self.problems.get(kind, 'loading')}", 30)
        return self.searchers[model, kind]

    async def search(self, kind: str, text: str, model: str | None, mode: str, page: int, page_size: int,
                     filters: Filters, encode: AsyncEncode, legacy: bool = False) -> Answer:
        """Search one kind; `encode` is awaited only when the mode needs a vector."""
        started = time.perf_counter()
        name, substituted = self.model_for(model, legacy)
        searcher = self.searcher(name, kind)
        query = Query.parse(text, mode)
        vector = await encode(name, query.text) if query.needs_vector else None
        result = searcher.search(query, vector, page, page_size, filters)
        log.info("search kind=%s model=%s%s mode=%s page=%d size=%d query_chars=%d results=%d total=%d in %.1f ms",
                 kind, name, " (substituted)" if substituted else "", mode, page, page_size, len(query.text),
                 result.positions.size, result.total, (time.perf_counter() - started) * 1000)
        return Answer(result, name, mode, substituted)

    def v1_response(self, kind: str, page: int, page_size: int, answer: Answer) -> SearchResponse:
        """An answer as the v1 body: its records and the paging fields."""
        return SearchResponse(kind=kind, model=answer.model, mode=answer.mode, page=page, page_size=page_size,
                              total=answer.page.total, has_more=answer.page.has_more,
                              results=self.records[kind].v1(answer.page))

    def similar(self, kind: str, item_id: int, model: str | None, page: int, page_size: int,
                filters: Filters) -> Answer:
        name, _ = self.model_for(model)
        return Answer(self.searcher(name, kind).similar(item_id, page, page_size, filters), name, "dense")
