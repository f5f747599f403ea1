"""Bring a home folder up to date for the served models: catalogs (seconds), then each index only
if it is missing, stale or built with other settings (minutes). This is what `make serve` runs;
the server itself only loads (`Searcher.open`), so it never starts a long build by surprise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from anisim.catalog import build_catalog, save_catalog
from anisim.errors import IndexProblem
from anisim.index import build_index, load_index
from anisim.models import ModelSpec
from anisim.settings import KINDS

log = logging.getLogger(__name__)
DEFAULT_PASSAGE_WORDS = 70


def prepare(specs: list[ModelSpec], sources: Path, home: Path, kinds: tuple[str, ...] = KINDS,
            passage_words: int = DEFAULT_PASSAGE_WORDS, device: str | None = None) -> list[str]:
    """Build catalogs and bring each model's index up to date; returns report lines for a person."""
    from anisim.encoder import Embedder  # torch import is slow: only when encoding is needed
    lines = []
    catalogs = []
    for kind in kinds:
        catalog, report = build_catalog(sources, kind)
        save_catalog(catalog, home / "catalog")
        catalogs.append(catalog)
        lines += report.lines()
    for spec in specs:
        embedder = None
        for catalog in catalogs:
            try:
                index = load_index(catalog, spec, home)
                if index.manifest.get("passage_words") == passage_words:
                    lines.append(f"  {catalog.kind} index for {spec.name} is up to date "
                                 f"({index.manifest['rows']:,} rows)")
                    continue
            except IndexProblem as problem:
                log.info("building the %s index: %s", catalog.kind, problem)
            embedder = embedder or Embedder(spec, device=device)
            _, stats = build_index(catalog, embedder, home, passage_words)
            lines.append(f"  {catalog.kind} index for {spec.name}: encoded {stats['encoded']:,} texts in "
                         f"{stats['seconds']} s, reused {stats['reused']:,}")
    return lines
