"""Trial: does an int8 ONNX graph of the served model encode faster without losing recall
(docs/performance.md)? Not adopted: dense mode loses more than the 0.5-point rule allows.

    python scripts/trial_int8_onnx.py [--max-minutes 10]

Quantizes the home's ONNX export (ONNX Runtime's dynamic quantization: int8 weights, per output
channel) into a temporary folder, never into the home. Prints the CPU per query of each graph on
the bench's query mix, the cosine between their vectors, and R@1 / R@10 with queries encoded by
each graph against the same float32 index, hybrid and dense: the anime and manga validation
splits and the real posts. Needs a built home (`anisim prepare`) and the `onnx` package
(requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench import SETTINGS, query_mix
from onnx import TensorProto
from onnxruntime.quantization import QuantType, quantize_dynamic

from anisim.atomic import file_hash
from anisim.encoder import Embedder
from anisim.engines import GRAPH, MANIFEST, TOKENIZER, onnx_dir
from anisim.evaluation import evaluate, load_queries
from anisim.models import resolve
from anisim.pairs import in_split
from anisim.search import Searcher

QUERY_SETS = (("anime", "anime_dev.jsonl", "validation"), ("manga", "manga_dev.jsonl", "validation"),
              ("anime", "anime_tomt_dev.jsonl", "all"))


def quantized_home(model: str, folder: Path) -> Path:
    """A home holding only an int8 copy of the model's export, with its manifest's checksum."""
    source, target = onnx_dir(SETTINGS.home, model), onnx_dir(folder, model)
    target.mkdir(parents=True)
    shutil.copy(source / TOKENIZER, target / TOKENIZER)
    quantize_dynamic(source / GRAPH, target / GRAPH, weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})  # the export's shapes are not all inferred
    manifest = json.loads((source / MANIFEST).read_text())
    manifest["files"][GRAPH] = file_hash(target / GRAPH)
    (target / MANIFEST).write_text(json.dumps(manifest))
    return folder


def cpu_ms_per_query(embedder: Embedder, texts: list[str]) -> float:
    embedder.encode(texts[:8])  # warm-up
    started = time.process_time()
    embedder.encode(texts)
    return (time.process_time() - started) * 1000 / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-minutes", type=float, default=10.0, help="stop after this long")
    args = parser.parse_args()
    deadline = time.monotonic() + 60 * args.max_minutes
    spec = resolve(SETTINGS.default_model)
    with tempfile.TemporaryDirectory(prefix="anisim-int8-") as folder:
        graphs = {"float32": Embedder(spec, "onnx", SETTINGS.home),
                  "int8": Embedder(spec, "onnx", quantized_home(spec.name, Path(folder)))}
        texts = query_mix(256)
        cpu = {name: cpu_ms_per_query(embedder, texts) for name, embedder in graphs.items()}
        cosine = (graphs["float32"].encode(texts) * graphs["int8"].encode(texts)).sum(axis=1)
        print(f"CPU ms a query: float32 {cpu['float32']:.2f}, int8 {cpu['int8']:.2f} "
              f"({cpu['float32'] / cpu['int8']:.2f}x); cosine mean {cosine.mean():.4f}, least {cosine.min():.4f}")
        print("| queries | n | mode | form | R@1 float32 / int8 | R@10 float32 / int8 | R@10 change, points |")
        print("|---|---|---|---|---|---|---|")
        for kind, name, split in QUERY_SETS:
            queries = in_split(load_queries(SETTINGS.eval_dir / name), kind, split)
            searcher = Searcher.open(kind, spec, SETTINGS.home)
            for mode in ("hybrid", "dense"):
                if time.monotonic() > deadline:
                    print("(--max-minutes reached)")
                    return
                a, b = (evaluate(searcher, embedder.encode, queries, mode) for embedder in graphs.values())
                for form in (f for f in a if isinstance(a[f], dict)):
                    print(f"| {kind} {name} {split} | {a['n']} | {mode} | {form} | {a[form]['recall@1']:.3f} / "
                          f"{b[form]['recall@1']:.3f} | {a[form]['recall@10']:.3f} / {b[form]['recall@10']:.3f} | "
                          f"{100 * (b[form]['recall@10'] - a[form]['recall@10']):+.2f} |")


if __name__ == "__main__":
    main()
