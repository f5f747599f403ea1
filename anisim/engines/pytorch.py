"""The torch engine: a model's own sentence-transformers pipeline (Transformer, mean Pooling,
Normalize), with its LoRA adapter (if any) merged into the weights at load time, so a fine-tune
encodes exactly as fast as its base. Also exports that pipeline as one ONNX graph for `onnxrt`.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no hub is reachable: never try
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import contextlib
import json
import logging
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import sentence_transformers
import torch
from onnxruntime.transformers.optimizer import optimize_model
from sentence_transformers import SentenceTransformer

from anisim.atomic import atomic_folder, file_hash
from anisim.engines import GRAPH, MANIFEST, TOKENIZER
from anisim.faults import checkpoint
from anisim.models import ModelSpec

# Texts are sorted by length and padded per mini-batch. On a 2-core CPU, mini-batches of 8 encode a
# mixed batch of short and long queries 1.6x faster than 32 (less padding; scripts/bench_encode.py).
CPU_BATCH_SIZE = 8
GPU_BATCH_SIZE = 256
ONNX_OPSET = 17


def cuda_available() -> bool:
    return torch.cuda.is_available()


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


class TorchEngine:
    """A loaded model on torch. Load once (seconds), encode many times."""

    name = "torch"

    def __init__(self, spec: ModelSpec, device: str | None = None) -> None:
        self.device = device or ("cuda" if cuda_available() else "cpu")
        self.model = load_model(spec, self.device)
        self.batch_size = GPU_BATCH_SIZE if self.device.startswith("cuda") else CPU_BATCH_SIZE
        self.max_seq_length = int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        with torch.inference_mode():
            vectors = self.model.encode(texts, batch_size=batch_size or self.batch_size, convert_to_numpy=True,
                                        normalize_embeddings=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def versions(self) -> dict[str, str]:
        return {"sentence_transformers": sentence_transformers.__version__, "torch": torch.__version__}


class _MeanPooledUnitVectors(torch.nn.Module):
    """The transformer, then the pipeline's mean pooling over real tokens and L2 normalisation, as
    one module: the exported graph returns the finished vector."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, p=2, dim=1)


def _check_pipeline(model: SentenceTransformer) -> None:
    """The export reproduces Transformer -> mean Pooling -> Normalize; refuse any other pipeline."""
    names = [type(module).__name__ for module in model]
    pooling = model[1].get_config_dict() if len(model) > 1 else {}
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens") is True
    if names != ["Transformer", "Pooling", "Normalize"] or not mean:
        raise ValueError(f"cannot export a {' -> '.join(names)} pipeline with pooling {pooling}: "
                         "only Transformer -> mean Pooling -> Normalize is supported")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter's tracer warnings and the optimizer's INFO lines say nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.INFO)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def export_onnx(spec: ModelSpec, folder: Path) -> dict:
    """Write `folder` (atomically): the pipeline as one ONNX graph (token ids, attention mask and
    token types in; unit vectors out), the tokenizer beside it, and a manifest with the weights'
    fingerprint. Returns the manifest.

    The graph is traced with the classic ("eager") attention, whose pattern ONNX Runtime's
    transformer optimizer fuses into one Attention op per layer (with the embeddings' and the
    skip connections' LayerNorms): the fused graph is what is saved."""
    model = load_model(spec, "cpu")
    _check_pipeline(model)
    transformer = model[0].model
    transformer.set_attn_implementation("eager")
    graph = _MeanPooledUnitVectors(transformer).eval()
    example = model.preprocess(["a padded example", "a longer example text to trace the graph with"])
    inputs = tuple(example[name] for name in ("input_ids", "attention_mask", "token_type_ids"))
    axes = {0: "batch", 1: "tokens"}
    manifest = {"model": spec.name, "fingerprint": spec.fingerprint(), "dim": spec.dim,
                "max_seq_length": int(model.max_seq_length), "opset": ONNX_OPSET,
                "exported_with": {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__}}
    with atomic_folder(folder) as tmp, _quiet():
        traced = tmp / "traced.onnx"
        torch.onnx.export(graph, inputs, str(traced), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["sentence_embedding"], opset_version=ONNX_OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "sentence_embedding": {0: "batch"}})
        config = transformer.config
        fused = optimize_model(str(traced), model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size)
        fused.save_model_to_file(str(tmp / GRAPH))
        traced.unlink()
        shutil.copy(spec.weights_path / TOKENIZER, tmp / TOKENIZER)
        manifest["files"] = {name: file_hash(tmp / name) for name in (GRAPH, TOKENIZER)}
        checkpoint("export-files-written")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
