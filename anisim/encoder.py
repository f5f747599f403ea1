"""Text -> unit vectors with a sentence-transformers model, the same way for corpus and queries.

The old system embedded its corpus with mean pooling only and its queries with the full published
pipeline, so the two lived in different spaces. Here both go through `Embedder.encode`, the one
door: the model's own modules (Transformer, Pooling, Normalize) and L2-normalised float32 output.
A fine-tuned registry entry is its base model with a LoRA adapter merged in at load time, so it
encodes exactly as fast as the base.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub is reachable: never try
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

from anisim.models import ModelSpec

# Texts are sorted by length and padded per mini-batch. On a 2-core CPU, mini-batches of 8 encode a
# mixed batch of short and long queries 1.6x faster than 32 (less padding; scripts/bench_encode.py).
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 256


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(spec: ModelSpec, device: str) -> SentenceTransformer:
    """The model's sentence-transformers pipeline, with its adapter (if any) merged into the weights."""
    if not spec.available:
        raise ValueError(f"model {spec.name} is not available: {spec.why_unavailable()}")
    model = SentenceTransformer(str(spec.weights_path), device=device, local_files_only=True)
    if spec.adapter_path is not None:
        from peft import PeftModel
        tuned = PeftModel.from_pretrained(model[0].model, str(spec.adapter_path))
        model[0].model = tuned.merge_and_unload()
    model.eval()
    return model


class Embedder:
    """A loaded model. Load once (seconds), encode many times."""

    def __init__(self, spec: ModelSpec, device: str | None = None) -> None:
        self.spec = spec
        self.device = device or default_device()
        self.model = load_model(spec, self.device)
        self.batch_size = GPU_BATCH_SIZE if self.device.startswith("cuda") else CPU_BATCH_SIZE

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        with torch.inference_mode():
            vectors = self.model.encode(
                texts, batch_size=batch_size or self.batch_size, convert_to_numpy=True,
                normalize_embeddings=True, show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
