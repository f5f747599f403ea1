"""The old AniSearch front end, unmodified (`../shared/reference/anisearch-frontend`), against a real
anisim of the small catalogs: `scripts/frontend_check.py` builds it (`npm ci`, `next build`) and
drives it in Debian's Chromium. About 1.5 minutes with a warm npm cache. A missing npm or Chromium
is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[1]


def test_the_old_front_end_searches_pages_and_filters_against_anisim(service_env, tmp_path):
    assert shutil.which("npm"), "npm is missing: the old front end cannot be built"
    result = subprocess.run([sys.executable, "scripts/frontend_check.py", "--out", str(tmp_path)], cwd=ROOT,
                            env={**os.environ, **service_env}, capture_output=True, text=True, timeout=900)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    assert "all checks passed" in report and report.count("[frontend-check] ok:") == 5
    assert {"frontend_anime_default.png", "frontend_manga.png"} <= {p.name for p in tmp_path.iterdir()}
