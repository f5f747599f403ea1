"""The ONNX Runtime engine: the exported pipeline (`anisim.engines.pytorch.export_onnx`) run on the
CPU with the model's own tokenizer (the `tokenizers` library), without torch.

It tokenizes as the sentence-transformers pipeline does (surrounding whitespace stripped, the
tokenizer's own normaliser, truncation at the model's `max_seq_length`), pads each mini-batch of
length-sorted texts to its longest text, and gets back unit vectors from the graph itself: vectors
agree with the torch engine's to a cosine of 0.9999 or better (tests/test_engines.py), so an index
built by one engine serves queries encoded by the other.
"""

from __future__ import annotations

import os

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from anisim.engines import GRAPH, TOKENIZER, export_manifest, onnx_dir
from anisim.models import ModelSpec

# Same reasoning as the torch engine: length-sorted mini-batches of 8 pad the least on a CPU.
CPU_BATCH_SIZE = 8


def _tokenizer(path: str, max_tokens: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
    pad = tokenizer.token_to_id("[PAD]") or 0
    tokenizer.enable_padding(pad_id=pad, pad_token=tokenizer.id_to_token(pad))  # to each batch's longest
    return tokenizer


class OnnxEngine:
    """A model's ONNX export, loaded once into an ONNX Runtime session on the CPU."""

    name = "onnx"
    device = "cpu"

    def __init__(self, spec: ModelSpec, home: os.PathLike, threads: int | None = None) -> None:
        manifest = export_manifest(spec, home)  # ExportProblem says how to make it
        folder = onnx_dir(home, spec.name)
        self.dim = spec.dim
        self.max_seq_length = int(manifest["max_seq_length"])
        self.batch_size = CPU_BATCH_SIZE
        self.tokenizer = _tokenizer(str(folder / TOKENIZER), self.max_seq_length)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        return self.session.run(None, {name: feeds[name] for name in self.inputs})[0]

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        size = batch_size or self.batch_size
        stripped = [text.strip() for text in texts]
        order = np.argsort([-len(text) for text in stripped], kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), size):
            chunk = order[start:start + size]
            out[chunk] = self._encode_batch([stripped[i] for i in chunk])
        return out

    def versions(self) -> dict[str, str]:
        return {"onnxruntime": onnxruntime.__version__}
