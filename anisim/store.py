"""Open what a search needs for one kind and model: catalog, index, searcher.

`prepare` is what the serve command runs: rebuild the catalogs (seconds), then each index only if
it is missing, stale or built with other settings. `open_searcher` only loads, so a server never
starts a long build by surprise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from anisim import config
from anisim.catalog import build_catalog, load_catalog, save_catalog
from anisim.errors import IndexProblem
from anisim.index import build_index, load_index
from anisim.models import ModelSpec
from anisim.search import Searcher

log = logging.getLogger(__name__)
DEFAULT_PASSAGE_WORDS = 70


def prepare(spec: ModelSpec, kinds: tuple[str, ...] = config.KINDS, sources: Path | None = None,
            home: Path | None = None, passage_words: int = DEFAULT_PASSAGE_WORDS,
            device: str | None = None) -> list[str]:
    """Build catalogs and bring each index up to date; returns one line per kind for the log."""
    from anisim.encoder import Encoder  # torch import is slow: only when encoding is needed
    home = home or config.home_dir()
    encoder = None
    lines = []
    for kind in kinds:
        catalog, report = build_catalog(sources or config.data_dir(), kind)
        save_catalog(catalog, home / "catalog")
        lines += report.lines()
        try:
            index = load_index(catalog, spec, home)
            if index.manifest.get("passage_words") == passage_words:
                lines.append(f"  {kind} index for {spec.name} is up to date ({index.manifest['rows']:,} rows)")
                continue
        except IndexProblem as problem:
            log.info("building the %s index: %s", kind, problem)
        encoder = encoder or Encoder(spec, device=device)
        _, stats = build_index(catalog, encoder, home, passage_words)
        lines.append(f"  {kind} index for {spec.name}: encoded {stats['encoded']:,} texts in "
                     f"{stats['seconds']} s, reused {stats['reused']:,}")
    return lines


def open_searcher(kind: str, spec: ModelSpec, home: Path | None = None) -> Searcher:
    """Load the catalog and index of `kind` (IndexProblem / SourceError say how to build them)."""
    home = home or config.home_dir()
    catalog = load_catalog(home / "catalog", kind)
    return Searcher(catalog, load_index(catalog, spec, home))
