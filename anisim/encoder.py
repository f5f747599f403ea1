"""Text -> unit vectors with a sentence-transformers model, the same way for corpus and queries.

The old system embedded its corpus with mean pooling only and its queries with the full published
pipeline, so the two lived in different spaces. Here both go through `Encoder.encode`: the model's
own modules (Transformer, Pooling, Normalize) and L2-normalised float32 output.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub is reachable: never try
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

from anisim.models import ModelSpec  # noqa: E402

# Texts are sorted by length and padded per mini-batch. On a 2-core CPU, mini-batches of 8 encode a
# mixed batch of short and long queries 1.6x faster than 32 (less padding; scripts/bench_encode.py).
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 256


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class Encoder:
    """A loaded model. Load once (seconds), encode many times."""

    def __init__(self, spec: ModelSpec, device: str | None = None) -> None:
        if spec.weights_path is None:
            raise ValueError(f"model {spec.name} is not installed")
        self.spec = spec
        self.device = device or default_device()
        self.model = SentenceTransformer(str(spec.weights_path), device=self.device, local_files_only=True)
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
