"""The two ways anisim runs a model, behind `anisim.encoder.Embedder`:

- `pytorch`: the model's own sentence-transformers pipeline on torch (CPU or CUDA), with a LoRA
  adapter merged in; it also exports that pipeline to ONNX (`export_onnx`).
- `onnxrt`: the exported graph run by ONNX Runtime with the model's own tokenizer; no torch is
  imported, so a CPU server loads faster, answers single queries about twice as fast and holds
  far less memory.

Each module imports its heavy library at the top: import one only when it is the engine in use.
"""

from __future__ import annotations

import json
from pathlib import Path

from anisim.atomic import file_hash
from anisim.errors import ExportProblem
from anisim.models import ModelSpec

ENGINES = ("auto", "onnx", "torch")
GRAPH, TOKENIZER, MANIFEST = "model.onnx", "tokenizer.json", "manifest.json"


def onnx_dir(home: Path, model: str) -> Path:
    """Where a model's ONNX export lives: `<home>/onnx/<model>/` (graph, tokenizer, and a manifest
    with the fingerprint of the weights and the SHA-256 of both files)."""
    return home / "onnx" / model.replace("/", "__")


def export_manifest(spec: ModelSpec, home: Path) -> dict:
    """The manifest of an export made from exactly this model's weights, or ExportProblem."""
    folder = onnx_dir(home, spec.name)
    fix = f"run `anisim prepare --models {spec.name}` (it exports the model once, in seconds)"
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ExportProblem(f"no ONNX export of {spec.name} in {folder}: {fix}") from None
    if not isinstance(manifest, dict) or manifest.get("fingerprint") != spec.fingerprint():
        raise ExportProblem(f"the ONNX export in {folder} was made from other weights: {fix}")
    checksums = manifest.get("files") or {}
    for name in (GRAPH, TOKENIZER):
        path = folder / name
        if not path.is_file() or file_hash(path) != checksums.get(name):
            raise ExportProblem(f"{path} is missing, truncated or altered (checksum mismatch): {fix}")
    return manifest


def export_is_current(spec: ModelSpec, home: Path) -> bool:
    try:
        export_manifest(spec, home)
    except ExportProblem:
        return False
    return True
