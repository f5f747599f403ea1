"""The embedding index of one (kind, model): every synopsis unit of the catalog as a unit vector.

Layout under `<home>/<kind>/<model>/`, one generation at a time (`anisim.generations`):
- `g-<id>/vectors.npy`  float32 (rows, dim), L2-normalised, rows grouped by item in catalog order
- `g-<id>/rows.npy`     int64 (rows,), the catalog position of each row's item
- `manifest.json` the generation, model, the fingerprint of its weights, dim, max_seq_length,
  catalog hash, one hash per row text, counts, the engine that encoded (`onnx` or `torch`),
  library versions and the SHA-256 of both arrays (a truncated or altered file is refused).

The two engines agree to a cosine of 0.9999 (tests/test_engines.py), so an index built by one
serves queries encoded by the other, and a rebuild by the other engine reuses the vectors of
unchanged texts: the manifest records the engine of the last build.

A rebuild re-encodes only texts whose hash is not in the previous index. Nothing is written until
encoding is done (nearly all of a build), and the new arrays switch in with one rename of the
manifest: an interrupted or failed build (a kill, a full disk) leaves the previous index whole.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from anisim import __version__, generations
from anisim.catalog import Catalog
from anisim.errors import IndexProblem
from anisim.models import ModelSpec
from anisim.text import sentences

FORMAT_VERSION = 2  # 2: one generation folder per build
VECTORS, ROWS = "vectors.npy", "rows.npy"
DEFAULT_PASSAGE_WORDS = 70  # a synopsis's opening passage is about this many words
# Each synopsis is embedded whole and, when it is longer than one passage, its first passage too:
# people describe a story by its premise, which is how synopses open. Measured on the dev sets
# (README, "Performance"): against every passage, the first alone gives the same or better R@1 on
# every form of both kinds, with 40% fewer rows and 26% fewer tokens to encode.
PASSAGES_PER_SYNOPSIS = 1
ENCODE_CHUNK = 256  # texts per progress step; large enough to batch well, small enough to show progress


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rebuild_command(kind: str, model: str) -> str:
    return f"anisim build-index --kind {kind} --model {model}"


def passages(text: str, max_words: int) -> list[str]:
    """Split a synopsis into runs of whole sentences of at most ~max_words words each."""
    out: list[str] = []
    current: list[str] = []
    for sentence in sentences(text):
        if current and len(" ".join([*current, sentence]).split()) > max_words:
            out.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        out.append(" ".join(current))
    return out


@dataclass(frozen=True)
class Units:
    """What each index row embeds, grouped by item in catalog order: the item's catalog position,
    the synopsis it comes from (a row number of `catalog.synopses`) and the text itself. Rebuilt
    from the catalog when an index is loaded (the texts are not stored twice), so a search can say
    which passage of which synopsis matched."""

    items: np.ndarray     # int64 (rows,)
    synopses: np.ndarray  # int64 (rows,)
    texts: list[str]


def embedding_units(catalog: Catalog, passage_words: int | None, passages_kept: int | None = PASSAGES_PER_SYNOPSIS) -> Units:
    """Each synopsis whole, plus its first `passages_kept` passages (None: all) when it has more than one."""
    positions = catalog.position.loc[catalog.synopses["item_id"].to_numpy()].to_numpy()
    items: list[int] = []
    synopses: list[int] = []
    texts: list[str] = []
    for number, (pos, text) in enumerate(zip(positions, catalog.synopses["text"])):
        units = [text]
        if passage_words:
            parts = passages(text, passage_words)
            units += parts[:passages_kept] if len(parts) > 1 else []
        items += [int(pos)] * len(units)
        synopses += [number] * len(units)
        texts += units
    order = np.argsort(np.asarray(items), kind="stable")
    return Units(np.asarray(items, dtype=np.int64)[order], np.asarray(synopses, dtype=np.int64)[order],
                 [texts[i] for i in order])


@dataclass
class Index:
    """Loaded vectors, the row -> item map and what each row embeds, ready for `anisim.similarity`."""

    vectors: np.ndarray
    rows: np.ndarray
    manifest: dict
    units: Units

    @property
    def model(self) -> str:
        return self.manifest["model"]


class EmbeddingModel(Protocol):
    """What building an index needs of `anisim.encoder.Embedder` (kept abstract: no engine import here)."""

    spec: ModelSpec

    @property
    def max_seq_length(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...

    def versions(self) -> dict[str, str]: ...


def index_dir(home: Path, kind: str, model: str) -> Path:
    return home / kind / model.replace("/", "__")


def manifest_stamp(home: Path, kind: str, model: str) -> float | None:
    """When the index's manifest was last written (a build writes it last), or None if there is none:
    what a server waiting for an index watches."""
    return generations.written_at(index_dir(home, kind, model))


def _reusable_vectors(folder: Path, spec: ModelSpec) -> dict[str, np.ndarray]:
    """hash -> vector from the previous index of this model, if it is intact; else nothing."""
    try:
        vectors, _, manifest = _read(folder, spec)
    except IndexProblem:
        return {}
    return dict(zip(manifest["text_hashes"], vectors))


def _encode_with_progress(encode: Callable[[list[str]], np.ndarray], texts: list[str], label: str) -> np.ndarray:
    """Encode texts longest-first (less padding per batch) with a progress bar; keep input order."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: list[np.ndarray] = []
    with tqdm(total=len(texts), desc=label, unit="text", smoothing=0.1) as bar:
        for start in range(0, len(order), ENCODE_CHUNK):
            batch = [texts[i] for i in order[start:start + ENCODE_CHUNK]]
            out.append(encode(batch))
            bar.update(len(batch))
    vectors = np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
    result = np.empty_like(vectors)
    result[np.asarray(order, dtype=np.int64)] = vectors
    return result


def build_index(catalog: Catalog, encoder: EmbeddingModel, home: Path, passage_words: int | None) -> tuple[Index, dict]:
    """Build (or update) the index of `catalog` for `encoder`'s model and switch to it. Returns it
    and build stats."""
    index, stats, staged = stage_index(catalog, encoder, home, passage_words)
    staged.switch()
    return index, stats


def stage_index(catalog: Catalog, encoder: EmbeddingModel, home: Path,
                passage_words: int | None) -> tuple[Index, dict, generations.Staged]:
    """Build the index of `catalog` as a new generation, not yet switched in (see `anisim.prepare`)."""
    spec: ModelSpec = encoder.spec
    folder = index_dir(home, catalog.kind, spec.name)
    units = embedding_units(catalog, passage_words)
    rows, texts = units.items, units.texts
    hashes = [text_hash(t) for t in texts]
    reuse = _reusable_vectors(folder, spec)
    missing = sorted({h: t for h, t in zip(hashes, texts) if h not in reuse}.items())
    started = time.perf_counter()
    fresh = _encode_with_progress(encoder.encode, [t for _, t in missing], f"{catalog.kind} {spec.name}")
    seconds = time.perf_counter() - started
    reuse.update(zip((h for h, _ in missing), fresh))
    vectors = np.stack([reuse[h] for h in hashes]).astype(np.float32) if hashes else \
        np.zeros((0, spec.dim), dtype=np.float32)

    def write(tmp: Path) -> None:
        np.save(tmp / VECTORS, vectors)
        np.save(tmp / ROWS, rows)

    staged = generations.stage(folder, write, {
        "format": FORMAT_VERSION, "kind": catalog.kind, "model": spec.name, "fingerprint": spec.fingerprint(),
        "dim": int(vectors.shape[1]),
        "max_seq_length": encoder.max_seq_length, "dtype": "float32", "passage_words": passage_words,
        "passages_per_synopsis": PASSAGES_PER_SYNOPSIS,
        "catalog_hash": catalog.content_hash(), "items": len(catalog.items),
        "synopses": len(catalog.synopses), "rows": len(texts),
        "engine": encoder.versions()["engine"],
        "versions": {"anisim": __version__, "numpy": np.__version__, **encoder.versions()}, "text_hashes": hashes,
    }, "index")
    manifest = staged.manifest
    stats = {"rows": len(texts), "encoded": len(missing), "reused": len(texts) - len(missing),
             "seconds": round(seconds, 1), "rate": round(len(missing) / seconds, 1) if missing else None}
    return Index(vectors, rows, manifest, units), stats, staged


def _read(folder: Path, spec: ModelSpec) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read and verify an index's files (vectors, rows, manifest; not yet checked against a catalog)."""
    kind = folder.parent.name
    fix = f"run `{rebuild_command(kind, spec.name)}`"
    try:
        manifest = generations.read_manifest(folder)
    except FileNotFoundError:
        raise IndexProblem(f"no {kind} index for model {spec.name} in {folder}: {fix}") from None
    except generations.Unreadable as problem:
        raise IndexProblem(f"{problem}: {fix}") from None
    if manifest.get("model") != spec.name or manifest.get("dim") != spec.dim:
        raise IndexProblem(
            f"{folder} was built for model {manifest.get('model')} (dim {manifest.get('dim')}), "
            f"not {spec.name} (dim {spec.dim}): {fix}")
    if manifest.get("fingerprint") != spec.fingerprint():
        raise IndexProblem(f"{folder} was built from other weights of {spec.name} (a retrained adapter?): {fix}")
    if manifest.get("format") != FORMAT_VERSION or set(manifest["files"]) != {VECTORS, ROWS}:
        raise IndexProblem(f"{folder} has index format {manifest.get('format')}, expected {FORMAT_VERSION}: {fix}")
    try:
        generation = generations.verified_files(folder, manifest)
    except generations.Unreadable as problem:
        raise IndexProblem(f"{problem}: {fix}") from None
    # vectors memory-mapped: search reads all of them only through their int8 codes
    # (`anisim.quantized`), then the few rows it rescores; the file's pages are the OS's to keep
    vectors, rows = np.load(generation / VECTORS, mmap_mode="r"), np.load(generation / ROWS)
    if vectors.shape != (manifest.get("rows"), spec.dim) or rows.shape != (manifest.get("rows"),):
        raise IndexProblem(f"{folder} arrays do not match its manifest: {fix}")
    return vectors, rows, manifest


def load_index(catalog: Catalog, spec: ModelSpec, home: Path) -> Index:
    """Load the index of `catalog` for `spec`, refusing one that is stale, mismatched or corrupt."""
    folder = index_dir(home, catalog.kind, spec.name)
    vectors, rows, manifest = _read(folder, spec)
    fix = f"run `{rebuild_command(catalog.kind, spec.name)}`"
    if manifest["catalog_hash"] != catalog.content_hash():
        raise IndexProblem(f"{folder} is stale: the {catalog.kind} catalog changed since it was built: {fix}")
    units = embedding_units(catalog, manifest.get("passage_words"), manifest.get("passages_per_synopsis"))
    if not np.array_equal(units.items, rows) or [text_hash(t) for t in units.texts] != manifest["text_hashes"]:
        raise IndexProblem(f"{folder} rows do not match what this version embeds for its catalog: {fix}")
    return Index(vectors, rows, manifest, units)
