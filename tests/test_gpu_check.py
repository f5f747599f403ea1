"""scripts/gpu_check.py at its smoke sizes, on this CPU: every part runs and reports (the full
check is for a lent GPU; its figures go in docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server  # its bench part starts a real `bentoml serve`
ROOT = Path(__file__).resolve().parents[1]


def test_the_smoke_check_reports_every_part(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, "scripts/gpu_check.py", "--smoke", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] and report["device"]["device"] in ("cpu", "cuda")
    for rates in report["encode_texts_per_s"].values():
        assert rates and all(rate > 0 for rate in rates.values())
    assert set(report["index_build_s"]) == {"anime", "manga"} and all(s > 0 for s in report["index_build_s"].values())
    bench = report["bench"][0]
    assert set(bench["served"]) == {"1", "8", "32", "64"} and bench["qps32_over_ceiling"] > 0
    assert all(level["errors"] == 0 for level in bench["served"].values()), bench["served"]
    assert report["train"]["steps"] == 2 and report["train"]["seconds_per_step"] > 0
    assert "req/s 32 / ceiling" in done.stdout  # the table
