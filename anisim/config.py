"""Where things live. Every path can be moved with an environment variable (see README)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

PROJECT_ROOT = Path(__file__).resolve().parents[1]
Kind = Literal["anime", "manga"]
KINDS: tuple[str, ...] = get_args(Kind)


def data_dir() -> Path:
    """Raw sources: `ANISIM_DATA_DIR`, default `../shared/data` beside the project."""
    return Path(os.environ.get("ANISIM_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))


def home_dir() -> Path:
    """Built catalogs and vectors: `ANISIM_HOME`, default `embeddings/` in the project (ignored by git)."""
    return Path(os.environ.get("ANISIM_HOME", PROJECT_ROOT / "embeddings"))


def catalog_dir() -> Path:
    return home_dir() / "catalog"


def eval_dir() -> Path:
    """Known-item query sets: `ANISIM_EVAL_DIR`, default `../shared/eval` beside the project."""
    return Path(os.environ.get("ANISIM_EVAL_DIR", PROJECT_ROOT.parent / "shared" / "eval"))
