"""What the HTTP layer serves, without BentoML: every served model's searchers, the choice of a
model for a request, and the search itself given an async function that encodes.

Catalogs are loaded once per kind and shared by the models' searchers. A kind whose catalog cannot
be loaded is remembered as a problem: the rest is served, and its requests get a 503 naming the
command that builds it. A model whose index is missing or stale (on a first run `make serve` builds
it in the background) is served by BM25 meanwhile: hybrid searches answer in lexical mode and say
so, dense searches and more-like-this get a 503, and a watcher thread loads the index as soon as a
build writes it (`Backend.watch`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from anisim.api.records import RecordMaker
from anisim.api.schemas import SearchResponse
from anisim.catalog import facet_counts, load_catalog
from anisim.errors import AnisimError, IndexProblem, ModelUnavailable, NotReady, RequestError
from anisim.filters import Filters
from anisim.index import load_index, manifest_stamp
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
    query: Query | None = None  # what was searched (None for more-like-this)


INDEX_POLL_S = 5.0  # how often the watcher looks for a missing index's manifest


class Backend:
    """Loaded once per API worker; answers searches for every served model and kind."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.specs: list[ModelSpec] = [resolve(name) for name in settings.models]
        self.default_model = self.specs[0].name
        self.searchers: dict[tuple[str, str], Searcher] = {}
        self.records: dict[str, RecordMaker] = {}
        self.facets: dict[str, dict] = {}
        self.catalog_problems: dict[str, str] = {}
        # (model, kind) -> why its index is not loaded, and the manifest's mtime when last tried.
        # Replaced whole, never mutated, so a request thread always reads a consistent dict.
        self.missing: dict[tuple[str, str], tuple[str, float | None]] = {}
        for kind in KINDS:
            self._load(kind)

    def _load(self, kind: str) -> None:
        started = time.perf_counter()
        try:
            catalog = load_catalog(self.settings.catalog_dir, kind)
            # BM25, priors and names are the catalog's: one searcher's worth, shared by the models
            lexical_only = Searcher(catalog, None, lexical=LexicalScorer.for_catalog(catalog, self.settings.home))
        except AnisimError as problem:  # serve what we can; the rest answers 503
            self._refuse(kind, str(problem))
            return
        except Exception as problem:  # noqa: BLE001 (a damaged home must never stop the worker)
            self._refuse(kind, f"the {kind} catalog cannot be loaded ({type(problem).__name__}): run `anisim prepare`")
            return
        for spec in self.specs:
            stamp = manifest_stamp(self.settings.home, kind, spec.name)
            try:
                index = load_index(catalog, spec, self.settings.home)
            except IndexProblem as problem:
                index = None
                self.missing = {**self.missing, (spec.name, kind): (str(problem), stamp)}
                log.warning("%s index of %s not loaded, BM25 answers until it is: %s", kind, spec.name, problem)
            self.searchers[spec.name, kind] = lexical_only.with_index(index, spec.lexical_weight)
        self.records[kind] = RecordMaker(catalog)
        self.facets[kind] = facet_counts(catalog)
        log.info("%s loaded: %d titles, %d model(s) in %.1f s", kind, len(catalog.items), len(self.specs),
                 time.perf_counter() - started)

    def _refuse(self, kind: str, why: str) -> None:
        self.catalog_problems[kind] = why
        log.error("%s search unavailable: %s", kind, why)

    @property
    def problems(self) -> dict[str, str]:
        """What keeps this worker from serving everything fully: {} when all is loaded."""
        return {**self.catalog_problems,
                **{f"{kind} index of {model}": why for (model, kind), (why, _) in self.missing.items()}}

    def load_new_indexes(self) -> None:
        """Load each missing index whose manifest was written since it was last tried (a build
        writes the manifest last)."""
        for (model, kind), (_, stamp) in self.missing.items():
            now = manifest_stamp(self.settings.home, kind, model)
            if now is None or now == stamp:
                continue
            lexical_only = self.searchers[model, kind]
            try:
                index = load_index(lexical_only.catalog, resolve(model), self.settings.home)
            except IndexProblem as problem:
                self.missing = {**self.missing, (model, kind): (str(problem), now)}
                continue
            self.searchers[model, kind] = lexical_only.with_index(index, lexical_only.lexical_weight)
            self.missing = {key: value for key, value in self.missing.items() if key != (model, kind)}
            log.info("%s index of %s loaded (%d rows): hybrid and dense search on", kind, model,
                     index.manifest["rows"])

    def watch(self, every_s: float = INDEX_POLL_S) -> threading.Thread | None:
        """While an index is missing, look for it every `every_s` seconds in a daemon thread."""
        if not self.missing:
            return None

        def poll() -> None:
            while self.missing:
                time.sleep(every_s)
                self.load_new_indexes()

        thread = threading.Thread(target=poll, name="anisim-index-watch", daemon=True)
        thread.start()
        return thread

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

    def searcher(self, model: str, kind: str, needs_vectors: bool = False) -> Searcher:
        """The searcher of (model, kind); NotReady if its catalog is not loaded, or if the request
        needs vectors and its index is not loaded yet."""
        if (model, kind) not in self.searchers:
            raise NotReady(f"{kind} search is not available yet: {self.catalog_problems.get(kind, 'loading')}", 30)
        searcher = self.searchers[model, kind]
        if needs_vectors and not searcher.has_vectors:
            raise NotReady(f"the {kind} index of {model} is not loaded yet (built by `anisim prepare`); "
                           "hybrid and lexical searches answer with BM25 meanwhile", 30)
        return searcher

    async def search(self, kind: str, text: str, model: str | None, mode: str, page: int, page_size: int,
                     filters: Filters, encode: AsyncEncode, legacy: bool = False, understand: bool = True,
                     ignore_cues: tuple[str, ...] = ()) -> Answer:
        """Search one kind; `encode` is awaited only when the mode needs a vector. `understand`
        False searches the text as typed, with no cues; `ignore_cues` drops some of them."""
        started = time.perf_counter()
        name, substituted = self.model_for(model, legacy)
        searcher = self.searcher(name, kind, needs_vectors=mode == "dense")
        query = Query.parse(text, mode, searcher.names, understand)
        query = query.with_cues(query.cues.without(ignore_cues))
        if query.needs_vector and not searcher.has_vectors:  # hybrid while the index builds
            query = dataclasses.replace(query, mode="lexical")
        vector = await encode(name, query.text) if query.needs_vector else None
        result = searcher.search(query, vector, page, page_size, filters)
        log.info("search kind=%s model=%s%s mode=%s page=%d size=%d query_chars=%d results=%d total=%d in %.1f ms",
                 kind, name, " (substituted)" if substituted else "", query.mode, page, page_size, len(query.text),
                 result.positions.size, result.total, (time.perf_counter() - started) * 1000)
        return Answer(result, name, query.mode, substituted, query)

    def v1_response(self, kind: str, page: int, page_size: int, answer: Answer) -> SearchResponse:
        """An answer as the v1 body: its records and the paging fields."""
        understood = None if answer.query is None else {"text": answer.query.text, **answer.query.cues.as_dict()}
        return SearchResponse(kind=kind, model=answer.model, mode=answer.mode, page=page, page_size=page_size,
                              total=answer.page.total, has_more=answer.page.has_more,
                              results=self.records[kind].v1(answer.page), understood=understood)

    def facets_of(self, kind: str) -> dict:
        """GET /v1/facets's answer for a kind (400 for an unknown kind, 503 while it is not loaded)."""
        if kind not in KINDS:
            raise RequestError("'kind' must be anime or manga, e.g. ?kind=anime")
        if kind not in self.facets:
            raise NotReady(f"{kind} search is not available yet: {self.catalog_problems.get(kind, 'loading')}", 30)
        return self.facets[kind]

    def title(self, kind: str, item_id: int) -> dict:
        """One title's v1 record, with its first synopsis and its related titles (404 if unknown)."""
        self.facets_of(kind)  # the kind is known and loaded, or the same 400 / 503
        return self.records[kind].one(item_id)

    def similar(self, kind: str, item_id: int, model: str | None, page: int, page_size: int,
                filters: Filters) -> Answer:
        name, _ = self.model_for(model)
        searcher = self.searcher(name, kind, needs_vectors=True)
        return Answer(searcher.similar(item_id, page, page_size, filters), name, "dense")
