"""Text -> unit vectors, the same way for corpus and queries: `Embedder.encode` is the one door.

The old system embedded its corpus with mean pooling only and its queries with the full published
pipeline, so the two lived in different spaces. Here both go through the model's own pipeline
(Transformer, mean Pooling, Normalize) and come out L2-normalised float32, run by one of two
engines (`anisim.engines`):
- `torch`: sentence-transformers on torch, on CUDA when there is a GPU;
- `onnx`: the same pipeline exported once to ONNX (`anisim prepare`) and run by ONNX Runtime on
  the CPU, about twice as fast for a single query here and without importing torch.
`auto` (the default, `ANISIM_ENGINE`) takes torch on a GPU, ONNX Runtime on a CPU when the model's
export is there, and torch otherwise. The engines agree to a cosine of 0.9999, so either serves an
index built by the other.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from anisim.engines import ENGINES, export_is_current
from anisim.models import ModelSpec, resolve
from anisim.settings import Settings

log = logging.getLogger(__name__)
_NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")


def gpu_present() -> bool:
    """True when torch sees a CUDA device; torch is imported only where an NVIDIA driver is."""
    if not _NVIDIA_DRIVER.exists():
        return False
    from anisim.engines.pytorch import cuda_available
    return cuda_available()


def on_gpu(device: str | None) -> bool:
    """Whether a run on `device` (None: wherever torch would pick) encodes on a GPU."""
    return device.startswith("cuda") if device else gpu_present()


def choose_engine(engine: str, spec: ModelSpec, home: Path | None, device: str | None = None) -> str:
    """The engine `auto` means for this model on this machine (an explicit choice is kept)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; use one of: {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if on_gpu(device):
        return "torch"
    if home is not None and export_is_current(spec, home):
        return "onnx"
    log.warning("no current ONNX export of %s: encoding with torch (`anisim prepare` makes the export)", spec.name)
    return "torch"


class Embedder:
    """A loaded model on one engine. Load once (seconds), encode many times."""

    def __init__(self, spec: ModelSpec, engine: str = "auto", home: Path | None = None,
                 device: str | None = None, latency: bool = False) -> None:
        """`latency`: on the CPU, spend every core on each text, one text at a time (a lone query's
        answer time) rather than spreading texts over the cores (throughput: a corpus, a batch)."""
        self.spec = spec
        self.engine = choose_engine(engine, spec, home, device)
        if self.engine == "onnx":
            from anisim.engines.onnxrt import OnnxEngine
            self.runner = OnnxEngine(spec, home, latency=latency)
        else:
            from anisim.engines.pytorch import TorchEngine
            self.runner = TorchEngine(spec, device)
        self.device = self.runner.device

    @classmethod
    def for_settings(cls, spec: ModelSpec, settings: Settings, device: str | None = None,
                     latency: bool = False) -> Embedder:
        """The engine and export folder the settings name (`ANISIM_ENGINE`, `ANISIM_HOME`)."""
        return cls(spec, settings.engine, settings.home, device, latency)

    @property
    def max_seq_length(self) -> int:
        return self.runner.max_seq_length

    @property
    def batch_size(self) -> int:
        return self.runner.batch_size

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        return self.runner.encode(texts, batch_size)

    def versions(self) -> dict[str, str]:
        """The engine and the library versions that made the vectors (for index manifests)."""
        return {"engine": self.engine, **self.runner.versions()}


def encode_pairs(embedders: dict[str, Embedder], pairs: list[list[str]]) -> np.ndarray:
    """Vectors for [model name, text] pairs, in order: each model encodes its own texts at once.
    (One batch of the service's encoder can mix requests for different models.)"""
    unknown = {model for model, _ in pairs} - embedders.keys()
    if unknown:
        raise ValueError(f"not loaded here: {', '.join(sorted(unknown))}")
    dims = {embedder.spec.dim for embedder in embedders.values()}
    out = np.zeros((len(pairs), max(dims, default=0)), dtype=np.float32)
    for name, embedder in embedders.items():
        rows = [i for i, (model, _) in enumerate(pairs) if model == name]
        if rows:
            out[rows] = embedder.encode([pairs[i][1] for i in rows])
    return out


def lone_query_encoders(settings: Settings) -> dict[str, Embedder]:
    """ONNX Runtime embedders of the served models, warmed up, where the settings pick that engine
    on this machine (a CPU host) and `lone_encoder` is on; {} otherwise (the default, and a GPU
    host). The API worker then encodes a lone query itself: alone, the hop to the Encoder and its
    one-core sessions cost ~4 ms of ~17 (p50 at 1 client). Off by default: each costs ~150 MB of
    the worker, and under load the service answered more, not fewer (scripts/bench.py, 2026-12-07:
    87.8 against 83.2 q/s at 32 clients; summed RSS 960 against 1,079 MB)."""
    encoders = {}
    for name in settings.models if settings.lone_encoder else ():
        spec = resolve(name)
        if choose_engine(settings.engine, spec, settings.home) == "onnx":
            encoders[name] = Embedder(spec, "onnx", settings.home, latency=True)
            encoders[name].encode(["warm-up"])
    return encoders
