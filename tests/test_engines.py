"""The two engines behind `Embedder.encode`: ONNX Runtime (the CPU default) gives the torch
pipeline's vectors, for the stock and the fine-tuned model, so one index serves both."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SERVED

from anisim.encoder import Embedder, choose_engine
from anisim.engines import MANIFEST, export_is_current, export_manifest, onnx_dir
from anisim.engines.onnxrt import OnnxEngine
from anisim.errors import ExportProblem
from anisim.models import MINILM, resolve
from anisim.text import clean_query


def _texts(small_catalogs, dev_queries) -> list[str]:
    """Real synopses (the longest pass the 256-token cut) and real queries of both kinds."""
    synopses = small_catalogs["manga"].synopses["text"]
    longest = synopses.loc[synopses.str.len().sort_values().index[-5:]].tolist()
    queries = [clean_query(q[form]) for q in dev_queries["anime"][:20] for form in ("short", "noname")]
    return longest + synopses.iloc[:40].tolist() + queries + ["x", "  a slime  "]


@pytest.mark.parametrize("name", SERVED)
def test_onnx_runtime_gives_the_torch_vectors(name, small_home, embedders, small_catalogs, dev_queries):
    texts = _texts(small_catalogs, dev_queries)
    onnx = Embedder(resolve(name), "onnx", small_home)
    assert onnx.engine == "onnx" and onnx.max_seq_length == embedders[name].max_seq_length == 256
    ours, reference = onnx.encode(texts), embedders[name].encode(texts)
    assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(ours * reference, axis=1)
    assert cosines.min() >= 0.9999, (cosines.min(), texts[int(cosines.argmin())][:80])


def test_texts_run_side_by_side_on_one_session_give_the_lone_texts_vectors(small_home, small_catalogs, dev_queries):
    texts = _texts(small_catalogs, dev_queries)
    throughput = OnnxEngine(resolve(MINILM), small_home, threads=3)  # three threads, one session
    latency = Embedder(resolve(MINILM), "onnx", small_home, latency=True)
    assert throughput.runners == 3 and latency.runner.runners == 1
    together = throughput.encode(texts)
    alone = np.concatenate([latency.encode([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_calls_at_once_share_the_engines_threads_and_each_gets_its_own_vectors(small_home, small_catalogs,
                                                                               dev_queries):
    """The Encoder serves calls side by side (two API workers, or a batch and a lone query): they
    queue on one pool of a thread per core, never a pool each."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    texts = _texts(small_catalogs, dev_queries)
    engine = OnnxEngine(resolve(MINILM), small_home, threads=2)
    halves = [texts[0::2], texts[1::2]]
    with ThreadPoolExecutor(2) as callers:
        together = list(callers.map(engine.encode, halves))
    assert sum(t.name.startswith("anisim-onnx") for t in threading.enumerate()) == 2
    for half, vectors in zip(halves, together):
        assert np.allclose(vectors, engine.encode(half), atol=1e-5)


def test_auto_picks_onnx_on_a_cpu_once_exported_and_torch_otherwise(small_home, tmp_path):
    spec = resolve(MINILM)
    assert choose_engine("auto", spec, small_home, "cpu") == "onnx"
    assert choose_engine("auto", spec, tmp_path, "cpu") == "torch"  # no export there
    assert choose_engine("auto", spec, small_home, "cuda") == "torch"
    assert choose_engine("torch", spec, small_home, "cpu") == "torch"
    with pytest.raises(ValueError, match="unknown engine"):
        choose_engine("tensorrt", spec, small_home)


def test_an_export_made_from_other_weights_is_refused(small_home, tmp_path):
    import shutil
    spec = resolve(MINILM)
    manifest = export_manifest(spec, small_home)
    assert manifest["model"] == MINILM and manifest["fingerprint"] == spec.fingerprint()
    copy = onnx_dir(tmp_path, MINILM)
    shutil.copytree(onnx_dir(small_home, MINILM), copy)
    (copy / MANIFEST).write_text(json.dumps({**manifest, "fingerprint": "0" * 16}))
    assert not export_is_current(spec, tmp_path)
    with pytest.raises(ExportProblem, match="other weights.*anisim prepare"):
        Embedder(spec, "onnx", tmp_path)


def test_the_onnx_engine_never_imports_torch(small_home):
    code = ("import sys; from pathlib import Path; from anisim.encoder import Embedder; from anisim.models import resolve\n"
            f"e = Embedder(resolve({MINILM!r}), 'onnx', Path({str(small_home)!r}))\n"
            "assert e.encode(['a slime in another world']).shape == (1, 384)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_api_workers_lone_query_encoder_is_off_unless_asked_for(small_home):
    from anisim.encoder import lone_query_encoders
    from anisim.settings import Settings
    env = {"ANISIM_HOME": str(small_home), "ANISIM_MODELS": SERVED[0], "ANISIM_ENGINE": "onnx"}
    assert lone_query_encoders(Settings.from_env(env)) == {}  # off by default
    assert list(lone_query_encoders(Settings.from_env({**env, "ANISIM_LONE_ENCODER": "1"}))) == [SERVED[0]]
