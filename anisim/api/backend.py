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

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from anisim.api.records import RecordMaker
from anisim.api.schemas import SearchRequest, SearchResponse
from anisim.catalog import catalog_generation, facet_counts, load_catalog
from anisim.errors import AnisimError, IndexProblem, ModelUnavailable, NotReady, RequestError
from anisim.filters import Filters
from anisim.heap import settle
from anisim.index import load_index, manifest_stamp
from anisim.lexical import LexicalScorer
from anisim.limits import KINDS
from anisim.models import LEGACY_ALLOWED, ModelSpec, available_names, lookup, resolve
from anisim.query import Query
from anisim.ranking import Page
from anisim.search import Searcher
from anisim.settings import Settings

log = logging.getLogger("anisim.api")
AsyncEncode = Callable[[str, str], Awaitable[np.ndarray]]  # (model, text) -> unit vector


@dataclass(frozen=True)
class Answer:
    """A page of results, what produced it, and the records of the catalog it indexes into."""

    page: Page
    model: str
    mode: str
    records: RecordMaker
    substituted: bool = False
    query: Query | None = None  # what was searched (None for more-like-this)


@dataclass(frozen=True)
class Loaded:
    """One kind as served: its catalog's generation, a searcher per model, records and facets. It is
    replaced whole when a new catalog lands, so a request that took it sees one catalog throughout."""

    generation: str
    catalog: dict[str, object]  # titles, synopses and the catalog's dates, for health and models
    searchers: dict[str, Searcher]
    records: RecordMaker
    facets: dict


INDEX_POLL_S = 5.0  # how often the watcher looks for a new catalog or a missing index


def _parsed(searcher: Searcher, text: str, mode: str, understand: bool, ignore_cues: tuple[str, ...]) -> Query:
    """The query as searched: understood (cues less the ignored ones), and lexical while the
    searcher has no vectors yet (hybrid while the index builds)."""
    query = Query.parse(text, mode, searcher.names, understand)
    query = query.with_cues(query.cues.without(ignore_cues))
    if query.needs_vector and not searcher.has_vectors:
        query = dataclasses.replace(query, mode="lexical")
    return query


class Backend:
    """Loaded once per API worker; answers searches for every served model and kind, and takes a
    new catalog generation (`anisim sync --prepare`) live."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.specs: list[ModelSpec] = [resolve(name) for name in settings.models]
        self.default_model = self.specs[0].name
        # Each dict below is replaced whole, never mutated, so a request thread always reads a consistent one.
        self.kinds: dict[str, Loaded] = {}
        self.catalog_problems: dict[str, str] = {}
        # (model, kind) -> why its index is not loaded, and the manifest's mtime when last tried.
        self.missing: dict[tuple[str, str], tuple[str, float | None]] = {}
        self.tried: dict[str, str] = {}  # kind -> the catalog generation last loaded or refused
        self.pool = ThreadPoolExecutor(settings.search_threads, thread_name_prefix="anisim-search")
        self.scoring = threading.Lock()  # one search scored at a time (`_scored`)
        self.in_flight = 0  # searches admitted and not yet answered (`_admitted`)
        for kind in KINDS:
            self._load(kind)

    def _load(self, kind: str) -> None:
        """Load a kind's catalog, BM25 and indexes, then swap them in at once."""
        started = time.perf_counter()
        try:
            generation = catalog_generation(self.settings.catalog_dir, kind)
            self.tried = {**self.tried, kind: generation}
            catalog = load_catalog(self.settings.catalog_dir, kind)
            # BM25, priors and names are the catalog's: one searcher's worth, shared by the models
            lexical_only = Searcher(catalog, None, lexical=LexicalScorer.for_catalog(catalog, self.settings.home))
            # per-synopsis BM25 (which synopsis matched, in lexical mode): built at load, never on a request
            lexical_only.synopsis_lexical = LexicalScorer.for_synopses(catalog, self.settings.home)
        except AnisimError as problem:  # serve what we can; the rest answers 503
            self._refuse(kind, str(problem))
            return
        except Exception as problem:  # noqa: BLE001 (a damaged home must never stop the worker)
            self._refuse(kind, f"the {kind} catalog cannot be loaded ({type(problem).__name__}): run `anisim prepare`")
            return
        searchers, missing = {}, {key: value for key, value in self.missing.items() if key[1] != kind}
        for spec in self.specs:
            stamp = manifest_stamp(self.settings.home, kind, spec.name)
            try:
                index = load_index(catalog, spec, self.settings.home)
            except IndexProblem as problem:
                index = None
                missing[spec.name, kind] = (self._public(str(problem)), stamp)
                log.warning("%s index of %s not loaded, BM25 answers until it is: %s", kind, spec.name, problem)
            searchers[spec.name] = lexical_only.with_index(index)
        about = {"titles": len(catalog.items), "synopses": len(catalog.synopses), **catalog.dates}
        self.kinds = {**self.kinds, kind: Loaded(generation, about, searchers, RecordMaker(catalog, lexical_only.columns),
                                                 facet_counts(catalog))}
        self.missing = missing
        self.catalog_problems = {k: v for k, v in self.catalog_problems.items() if k != kind}
        log.info("%s loaded: %d titles (catalog %s), %d model(s) in %.1f s", kind, len(catalog.items), generation,
                 len(self.specs), time.perf_counter() - started)

    def _refuse(self, kind: str, why: str) -> None:
        """A kind that cannot load: keep serving what it served (a live swap that failed), or 503."""
        if kind in self.kinds:
            log.error("new %s catalog not taken, the loaded one keeps serving: %s", kind, why)
            return
        self.catalog_problems = {**self.catalog_problems, kind: self._public(why)}
        log.error("%s search unavailable: %s", kind, why)

    def _public(self, why: str) -> str:
        """A problem as a client may read it: the home's path on this server becomes `$ANISIM_HOME`
        (the log keeps the whole message)."""
        homes = {str(self.settings.home.resolve())} | ({str(self.settings.home)} if self.settings.home.is_absolute() else set())
        for home in sorted(homes, key=len, reverse=True):
            why = why.replace(home, "$ANISIM_HOME")
        return why

    @property
    def records(self) -> dict[str, RecordMaker]:
        return {kind: loaded.records for kind, loaded in self.kinds.items()}

    @property
    def catalogs(self) -> dict[str, dict[str, object]]:
        """Per loaded kind: its titles, synopses and dates (built, and synced when it was)."""
        return {kind: loaded.catalog for kind, loaded in self.kinds.items()}

    @property
    def problems(self) -> dict[str, str]:
        """What keeps this worker from serving everything fully: {} when all is loaded."""
        return {**self.catalog_problems,
                **{f"{kind} index of {model}": why for (model, kind), (why, _) in self.missing.items()}}

    def load_new_catalogs(self) -> None:
        """Swap in each kind whose catalog generation changed since it was last tried: a generation
        that failed to load is not read again every poll, only the next one."""
        changed = False
        for kind in KINDS:
            try:
                generation = catalog_generation(self.settings.catalog_dir, kind)
            except (OSError, ValueError):
                continue
            if generation != self.tried.get(kind):
                self._load(kind)
                changed = True
        if changed:
            settle()  # the new catalog leaves the collector's full passes; the old one's cycles go

    def load_new_indexes(self) -> None:
        """Load each missing index whose manifest was written since it was last tried (a build
        writes the manifest last)."""
        for (model, kind), (_, stamp) in self.missing.items():
            now = manifest_stamp(self.settings.home, kind, model)
            loaded = self.kinds.get(kind)
            if now is None or now == stamp or loaded is None:
                continue
            lexical_only = loaded.searchers[model]
            try:
                index = load_index(lexical_only.catalog, resolve(model), self.settings.home)
            except IndexProblem as problem:
                self.missing = {**self.missing, (model, kind): (self._public(str(problem)), now)}
                continue
            searchers = {**loaded.searchers, model: lexical_only.with_index(index)}
            self.kinds = {**self.kinds, kind: dataclasses.replace(loaded, searchers=searchers)}
            self.missing = {key: value for key, value in self.missing.items() if key != (model, kind)}
            log.info("%s index of %s loaded (%d rows): hybrid and dense search on", kind, model,
                     index.manifest["rows"])

    def watch(self, every_s: float = INDEX_POLL_S) -> threading.Thread:
        """Every `every_s` seconds, in a daemon thread: take a new catalog generation live, and load
        an index that was missing once it is written."""
        def poll() -> None:
            while True:
                time.sleep(every_s)
                try:
                    self.load_new_catalogs()
                    self.load_new_indexes()
                except Exception:
                    log.exception("looking for a new catalog or index failed; trying again")

        thread = threading.Thread(target=poll, name="anisim-catalog-watch", daemon=True)
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

    def loaded(self, kind: str) -> Loaded:
        """The kind as served now; NotReady if its catalog is not loaded."""
        loaded = self.kinds.get(kind)
        if loaded is None:
            raise NotReady(f"{kind} search is not available yet: {self.catalog_problems.get(kind, 'loading')}", 30)
        return loaded

    @staticmethod
    def searcher(loaded: Loaded, model: str, kind: str, needs_vectors: bool = False) -> Searcher:
        """The searcher of a model in a loaded kind; NotReady if the request needs vectors and its
        index is not loaded yet."""
        searcher = loaded.searchers[model]
        if needs_vectors and not searcher.has_vectors:
            raise NotReady(f"the {kind} index of {model} is not loaded yet (built by `anisim prepare`); "
                           "hybrid and lexical searches answer with BM25 meanwhile", 30)
        return searcher

    @contextlib.contextmanager
    def _admitted(self) -> Iterator[None]:
        """Count a search in, or refuse it with a 503 and `Retry-After` when `search_queue` are
        already in (queued or running): a burst is shed at once, not left to time out. Used on the
        event loop only, so the count needs no lock."""
        if self.in_flight >= self.settings.search_queue:
            raise NotReady("the server is busy; retry shortly", retry_after=1)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def search(self, request: SearchRequest, encode: AsyncEncode, legacy: bool = False) -> Answer:
        """Search one kind, as a v1 request asks (the legacy routes' too); `encode` is awaited only
        when the mode needs a vector. `understand` False searches the text as typed, with no cues;
        `ignore_cues` drops some of them.

        Understanding and scoring run in the search threads, never on the event loop: a long or
        hostile description costs its own request time, not every other client's."""
        started = time.perf_counter()
        kind, page, page_size = request.kind, request.page, request.page_size
        name, substituted = self.model_for(request.model, legacy)
        loaded = self.loaded(kind)
        searcher = self.searcher(loaded, name, kind, needs_vectors=request.mode == "dense")
        loop = asyncio.get_running_loop()
        with self._admitted():
            query = await loop.run_in_executor(self.pool, _parsed, searcher, request.query, request.mode,
                                               request.understand, tuple(request.ignore_cues))
            vector = await encode(name, query.text) if query.needs_vector else None
            result = await loop.run_in_executor(self.pool, self._scored, searcher, query, vector, page, page_size,
                                                request.filters.to_filters())
        log.info("search kind=%s model=%s%s mode=%s page=%d size=%d query_chars=%d results=%d total=%d in %.1f ms",
                 kind, name, " (substituted)" if substituted else "", query.mode, page, page_size, len(query.text),
                 result.positions.size, result.total, (time.perf_counter() - started) * 1000)
        return Answer(result, name, query.mode, loaded.records, substituted, query)

    def _scored(self, searcher: Searcher, query: Query, vector: np.ndarray | None, page: int, page_size: int,
                filters: Filters) -> Page:
        """A page of results, scored while no other search of this worker is being scored.

        numpy lets go of CPython's lock around each array operation, so searches scored side by side
        hand it back and forth: with 4 search threads on 2 cores, 80-90 thread switches and 0.7 ms
        of kernel time a search, 2.5-2.8 ms of CPU against 1.8-2.0 one at a time, and no sooner
        done (`scripts/bench_scoring.py`). Understanding, the part a hostile description makes slow,
        still runs side by side; scoring is bounded (a 5,000-character post: about 6 ms)."""
        with self.scoring:
            return searcher.search(query, vector, page, page_size, filters)

    def v1_response(self, kind: str, page: int, page_size: int, answer: Answer) -> SearchResponse:
        """An answer as the v1 body: its records and the paging fields."""
        understood = None if answer.query is None else {"text": answer.query.text, **answer.query.cues.as_dict()}
        return SearchResponse(kind=kind, model=answer.model, mode=answer.mode, page=page, page_size=page_size,
                              total=answer.page.total, has_more=answer.page.has_more,
                              results=answer.records.v1(answer.page), understood=understood)

    def facets_of(self, kind: str) -> dict:
        """GET /v1/facets's answer for a kind (400 for an unknown kind, 503 while it is not loaded)."""
        if kind not in KINDS:
            raise RequestError("'kind' must be anime or manga, e.g. ?kind=anime")
        return self.loaded(kind).facets

    def title(self, kind: str, item_id: int) -> dict:
        """One title's v1 record, with its first synopsis and its related titles (404 if unknown)."""
        self.facets_of(kind)  # the kind is known and loaded, or the same 400 / 503
        return self.loaded(kind).records.one(item_id)

    def similar(self, kind: str, item_id: int, model: str | None, page: int, page_size: int,
                filters: Filters) -> Answer:
        name, _ = self.model_for(model)
        loaded = self.loaded(kind)
        searcher = self.searcher(loaded, name, kind, needs_vectors=True)
        return Answer(searcher.similar(item_id, page, page_size, filters), name, "dense", loaded.records)
