"""The ONNX Runtime engine: the exported pipeline (`anisim.engines.pytorch.export_onnx`) run on the
CPU with the model's own tokenizer (the `tokenizers` library), without torch.

It tokenizes as the sentence-transformers pipeline does (surrounding whitespace stripped, the
tokenizer's own normaliser, truncation at the model's `max_seq_length`) and gets back unit
vectors from the graph itself: vectors
agree with the torch engine's to a cosine of 0.9999 or better (tests/test_engines.py), so an index
built by one engine serves queries encoded by the other.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from anisim.engines import GRAPH, TOKENIZER, export_manifest, onnx_dir
from anisim.models import ModelSpec

# Each text runs alone, unpadded: on this CPU a mini-batch buys nothing for corpus texts (56-61
# texts/s for batches of 1 to 16) and costs queries dearly, since padding a 20-token query to a
# 200-token one in the same batch wastes more than batching saves (queries in groups of 32: 44-50
# q/s in length-sorted batches of 8, 81-86 q/s one at a time; scripts/bench_encode.py).
# Two ways to use the cores, chosen when the engine is made; either way one session, since each
# holds its own copy of the weights (~110 MB resident):
# - for throughput (a corpus, the Encoder service's batches): a single-threaded session, run from
#   one thread per core side by side (a single-threaded session runs on its caller's thread, and
#   concurrent runs of one session are safe: as fast as a session per core, 90 MB less per core),
#   the threads one pool that every call shares (`OnnxEngine.pool`);
# - for latency (the API worker's lone queries): a session using every core (a lone query: ~10
#   ms against ~16 ms on one core).
CPU_BATCH_SIZE = 1


def _tokenizer(path: str, max_tokens: int) -> Tokenizer:
    tokenizer = Tokenizer.from_file(path)
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
    pad = tokenizer.token_to_id("[PAD]") or 0
    tokenizer.enable_padding(pad_id=pad, pad_token=tokenizer.id_to_token(pad))  # to each batch's longest
    return tokenizer


CHARS_PER_TOKEN = 4  # about, for English prose and MiniLM's word pieces


def _runs(order: list[int], lengths: list[int], size: int) -> list[list[int]]:
    """The texts, longest first, in runs of at most `size` whose longest is at most twice its
    shortest: a batch is padded to its longest text, so a 5,000-character post in a batch of
    short queries made each of them cost a whole window (the service's batches mix both)."""
    runs: list[list[int]] = []
    for i in order:
        if not runs or len(runs[-1]) == size or 2 * max(lengths[i], 1) < lengths[runs[-1][0]]:
            runs.append([])
        runs[-1].append(i)
    return runs


class OnnxEngine:
    """A model's ONNX export, loaded once into an ONNX Runtime session on the CPU."""

    name = "onnx"
    device = "cpu"

    def __init__(self, spec: ModelSpec, home: os.PathLike, threads: int | None = None, latency: bool = False) -> None:
        manifest = export_manifest(spec, home)  # ExportProblem says how to make it
        self.graph = str(onnx_dir(home, spec.name) / GRAPH)
        self.dim = spec.dim
        self.max_seq_length = int(manifest["max_seq_length"])
        self.batch_size = CPU_BATCH_SIZE
        self.threads = threads or os.cpu_count() or 1
        self.latency = latency
        self.tokenizer = _tokenizer(str(onnx_dir(home, spec.name) / TOKENIZER), self.max_seq_length)

    def _session(self, threads: int) -> onnxruntime.InferenceSession:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(self.graph, options, providers=["CPUExecutionProvider"])

    @cached_property
    def session(self) -> onnxruntime.InferenceSession:
        """For latency, a session using every core; for throughput, a single-threaded one."""
        return self._session(self.threads if self.latency else 1)

    @property
    def runners(self) -> int:
        """How many texts run side by side: one per core for throughput, one for latency."""
        return 1 if self.latency else self.threads

    @cached_property
    def pool(self) -> ThreadPoolExecutor:
        """The threads that run texts side by side for throughput, one per core, shared by every
        call: calls at once (the Encoder's batch and a lone query, or two API workers') queue on
        the same cores rather than each starting threads of its own, and a thread that is done takes
        the next text waiting, where texts dealt in turn left one core idle at a batch's end
        (batches of 8 queries: 7.1 -> 6.4 ms a query, 2 cores)."""
        return ThreadPoolExecutor(self.threads, thread_name_prefix="anisim-onnx")

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                 "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                 "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        return self.session.run(None, {name: feeds[name] for name in self.inputs})[0]

    @cached_property
    def inputs(self) -> set[str]:
        return {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        size = batch_size or self.batch_size
        stripped = [text.strip() for text in texts]
        # characters as a proxy for tokens, up to where the model's window cuts every text alike
        lengths = [min(len(text), CHARS_PER_TOKEN * self.max_seq_length) for text in stripped]
        order = [int(i) for i in np.argsort([-n for n in lengths], kind="stable")]
        rows = _runs(order, lengths, size)
        batches = [[stripped[i] for i in batch] for batch in rows]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # ONNX Runtime releases the GIL, so the pool's runs go side by side, longest first
        vectors = map(self._run, batches) if self.runners == 1 or len(rows) == 1 else self.pool.map(self._run, batches)
        for where, block in zip(rows, vectors):
            out[where] = block
        return out

    def versions(self) -> dict[str, str]:
        return {"onnxruntime": onnxruntime.__version__}
