"""Bring a home folder up to date for the served models: catalogs and their BM25 indexes
(seconds), each model's ONNX export when the CPU engine needs it (seconds, once per weights), then
each index only if it is missing, stale or built with other settings (minutes). This is what
`make serve` runs; the server itself only loads (`Searcher.open`), so it never starts a long build
by surprise.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from anisim import generations
from anisim.buildlock import build_lock
from anisim.catalog import Catalog, build_catalog, load_catalog, stage_catalog
from anisim.encoder import Embedder, on_gpu
from anisim.engines import export_is_current, onnx_dir
from anisim.errors import IndexProblem
from anisim.index import DEFAULT_PASSAGE_WORDS, PASSAGES_PER_SYNOPSIS, load_index, stage_index
from anisim.lexical import LexicalScorer
from anisim.limits import KINDS
from anisim.models import ModelSpec
from anisim.settings import Settings

log = logging.getLogger(__name__)


def needs_export(settings: Settings, device: str | None) -> bool:
    """Whether the engine these settings pick on this machine is ONNX Runtime."""
    return settings.engine == "onnx" or (settings.engine == "auto" and not on_gpu(device))


def ensure_export(spec: ModelSpec, settings: Settings) -> str | None:
    """Export `spec` to ONNX unless a current export exists; a report line, or None if nothing was done."""
    if export_is_current(spec, settings.home):
        return None
    from anisim.engines.pytorch import export_onnx  # torch, only to export
    started = time.perf_counter()
    export_onnx(spec, onnx_dir(settings.home, spec.name))
    return f"  exported {spec.name} to ONNX in {time.perf_counter() - started:.1f} s"


def prepare(specs: list[ModelSpec], settings: Settings, kinds: tuple[str, ...] = KINDS,
            passage_words: int = DEFAULT_PASSAGE_WORDS, device: str | None = None,
            say: Callable[[str], None] = print, step: str = "all") -> None:
    """Build catalogs, exports and each model's indexes as needed, telling a person (`say`) what
    each step did as soon as it is done. `step="serving"` stops before the indexes: what a server
    needs to start (it answers with BM25 until an index is written); `step="indexes"` builds only
    the indexes, from the saved catalogs (`make serve` runs it in the background). One run at a
    time holds the home (`anisim.buildlock`); it first removes what interrupted runs left."""
    with build_lock(settings.home, say):
        _prepare(specs, settings, kinds, passage_words, device, say, step)


def _prepare(specs: list[ModelSpec], settings: Settings, kinds: tuple[str, ...], passage_words: int,
             device: str | None, say: Callable[[str], None], step: str) -> None:
    """Write every new catalog and index as a staged generation, then switch them in last, the
    indexes before their catalogs: a run that fails (a full disk) changes nothing served; a running
    server, which watches the catalogs, finds each new catalog's indexes already in place when it
    takes the catalog live; and a run killed between two switches leaves an old catalog beside a
    new, stale index (refused; BM25 answers meanwhile, and the next run mends it)."""
    staged: list[generations.Staged] = []
    if step == "indexes":
        catalogs = [load_catalog(settings.catalog_dir, kind) for kind in kinds]
    else:
        catalogs = []
        for kind in kinds:
            catalog, report = build_catalog(settings.data_dir, kind)
            staged.append(stage_catalog(catalog, settings.catalog_dir))
            catalogs.append(catalog)
            say("\n".join(report.lines()))
    for spec in specs:
        exported = ensure_export(spec, settings) if needs_export(settings, device) else None
        if exported:
            say(exported)
        if step != "serving":
            staged += _indexes(spec, catalogs, settings, passage_words, device, say)
    for generation in sorted(staged, key=lambda g: g.point == "catalog"):
        generation.switch()
    if step != "indexes":
        for catalog in catalogs:  # kept under the home, so a server starts without building them
            LexicalScorer.for_catalog(catalog, settings.home)
            LexicalScorer.for_synopses(catalog, settings.home)


def _indexes(spec: ModelSpec, catalogs: list[Catalog], settings: Settings, passage_words: int,
             device: str | None, say: Callable[[str], None]) -> list[generations.Staged]:
    """Stage each catalog's index for `spec` unless it is current (the model loads only if one is not)."""
    embedder = None
    staged = []
    for catalog in catalogs:
        try:
            index = load_index(catalog, spec, settings.home)
            layout = (index.manifest.get("passage_words"), index.manifest.get("passages_per_synopsis"))
            if layout == (passage_words, PASSAGES_PER_SYNOPSIS):
                say(f"  {catalog.kind} index for {spec.name} is up to date ({index.manifest['rows']:,} rows)")
                continue
        except IndexProblem as problem:
            log.info("building the %s index: %s", catalog.kind, problem)
        embedder = embedder or Embedder.for_settings(spec, settings, device)
        _, stats, generation = stage_index(catalog, embedder, settings.home, passage_words)
        staged.append(generation)
        say(f"  {catalog.kind} index for {spec.name}: encoded {stats['encoded']:,} texts in "
            f"{stats['seconds']} s ({stats['rate']} texts/s) with {embedder.engine}, reused {stats['reused']:,}")
    return staged
