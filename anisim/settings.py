"""One typed settings object, read from the environment once and passed to what needs it.

| variable | default | what |
|---|---|---|
| `ANISIM_DATA_DIR` | `../shared/data` | raw sources |
| `ANISIM_HOME` | `./home` | built catalogs, vectors, BM25 indexes and ONNX exports |
| `ANISIM_EVAL_DIR` | `../shared/eval` | dev query sets |
| `ANISIM_MODELS` | `anisim-minilm-l6-v2` | models served, comma-separated, each with its own index; the first is the default |
| `ANISIM_ENGINE` | `auto` | `onnx`, `torch`, or `auto`: torch on a GPU, else ONNX Runtime (once `anisim prepare` exported) |
| `ANISIM_LEGACY_SUBSTITUTE` | `1` | legacy routes answer an old allow-listed name that is not served with the default model |
| `ANISIM_CORS_ORIGINS` | `http://localhost:3000` | comma-separated allowed origins |
| `ANISIM_RATE_LIMIT`, `ANISIM_RATE_BURST` | `0` (off), `max(rate, 1)` | requests per second per client address, and burst |
| `ANISIM_RATE_LIMIT_LOCAL` | `0` | `1` also limits loopback clients (exempt by default) |
| `ANISIM_TRUSTED_PROXIES` | (none) | comma-separated proxy addresses or networks whose `X-Forwarded-For` names the client |
| `ANISIM_BATCH_SIZE`, `ANISIM_BATCH_LATENCY_MS` | `32`, `3000` | the Encoder's adaptive batching; the size also caps a call |
| `ANISIM_MAX_BODY_BYTES` | `65536` | larger request bodies get 413 before they are read |
| `ANISIM_ENCODER_URL`, `ANISIM_ENCODER_WAIT_S` | (none), `5` | a remote Encoder (none: in this server); a request's wait for it |
| `ANISIM_LONE_ENCODER` | `0` | `1`: the API worker encodes a lone query itself (~4 ms faster, ~150 MB more) |
| `ANISIM_SEARCH_THREADS`, `ANISIM_SEARCH_QUEUE` | `4`, `64` | search threads (scoring one at a time); searches in before a 503 |
| `ANISIM_JIKAN_URL` | `https://api.jikan.moe/v4` | the Jikan v4 API `anisim sync` reads (or a mirror, a self-hosted Jikan) |
| `ANISIM_JIKAN_PER_SECOND`, `ANISIM_JIKAN_PER_MINUTE` | `3`, `60` | `anisim sync`'s request limits: Jikan's documented ones |
| `ANISIM_JIKAN_TIMEOUT_S` | `30` | how long `anisim sync` waits for one answer before it retries |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The vocabularies a request may use (here, light to import, for the wire layer and the core alike).
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[str, ...] = get_args(Mode)
# What `anisim prepare --step` builds: everything; what a server needs to start; only the indexes.
PREPARE_STEPS = ("all", "serving", "indexes")
DEFAULT_MODE: Mode = "hybrid"
DEFAULT_MODELS = ("anisim-minilm-l6-v2",)


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """What an operator can change; `from_env` documents each variable (see the table above)."""

    data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    home: Path = PROJECT_ROOT / "home"
    eval_dir: Path = PROJECT_ROOT.parent / "shared" / "eval"
    models: tuple[str, ...] = DEFAULT_MODELS
    engine: str = "auto"
    legacy_substitute: bool = True
    cors_origins: tuple[str, ...] = ("http://localhost:3000",)
    rate_limit: float = 0.0
    rate_burst: float | None = None
    rate_limit_local: bool = False
    trusted_proxies: tuple[str, ...] = ()
    batch_size: int = 32
    # BentoML's batcher cancels a request whose expected latency passes this ceiling: a bound for
    # overload, not a wait added when idle.
    batch_latency_ms: int = 3000
    max_body_bytes: int = 65536
    encoder_url: str = ""  # empty: the Encoder runs in the same `bentoml serve`
    encoder_wait_s: float = 5.0
    lone_encoder: bool = False  # the API worker's own ONNX session for a query that is alone
    search_threads: int = 4
    search_queue: int = 64
    jikan_url: str = "https://api.jikan.moe/v4"
    jikan_per_second: int = 3
    jikan_per_minute: int = 60
    jikan_timeout_s: float = 30.0

    @property
    def catalog_dir(self) -> Path:
        return self.home / "catalog"

    @property
    def default_model(self) -> str:
        return self.models[0]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        rate = float(env.get("ANISIM_RATE_LIMIT", "0") or 0)
        defaults = cls()
        return cls(
            data_dir=Path(env.get("ANISIM_DATA_DIR", defaults.data_dir)),
            home=Path(env.get("ANISIM_HOME", defaults.home)),
            eval_dir=Path(env.get("ANISIM_EVAL_DIR", defaults.eval_dir)),
            models=_names(env.get("ANISIM_MODELS", "")) or defaults.models,
            engine=env.get("ANISIM_ENGINE", defaults.engine),
            legacy_substitute=env.get("ANISIM_LEGACY_SUBSTITUTE", "1") != "0",
            cors_origins=_names(env.get("ANISIM_CORS_ORIGINS", ",".join(defaults.cors_origins))),
            rate_limit=rate,
            rate_burst=float(env["ANISIM_RATE_BURST"]) if env.get("ANISIM_RATE_BURST") else None,
            rate_limit_local=env.get("ANISIM_RATE_LIMIT_LOCAL", "0") == "1",
            trusted_proxies=_names(env.get("ANISIM_TRUSTED_PROXIES", "")),
            batch_size=int(env.get("ANISIM_BATCH_SIZE", defaults.batch_size)),
            batch_latency_ms=int(env.get("ANISIM_BATCH_LATENCY_MS", defaults.batch_latency_ms)),
            max_body_bytes=int(env.get("ANISIM_MAX_BODY_BYTES", defaults.max_body_bytes)),
            encoder_url=env.get("ANISIM_ENCODER_URL", "").strip().rstrip("/"),
            encoder_wait_s=float(env.get("ANISIM_ENCODER_WAIT_S", defaults.encoder_wait_s)),
            lone_encoder=env.get("ANISIM_LONE_ENCODER", "0") == "1",
            search_threads=int(env.get("ANISIM_SEARCH_THREADS", defaults.search_threads)),
            search_queue=int(env.get("ANISIM_SEARCH_QUEUE", defaults.search_queue)),
            jikan_url=env.get("ANISIM_JIKAN_URL", defaults.jikan_url),
            jikan_per_second=int(env.get("ANISIM_JIKAN_PER_SECOND", defaults.jikan_per_second)),
            jikan_per_minute=int(env.get("ANISIM_JIKAN_PER_MINUTE", defaults.jikan_per_minute)),
            jikan_timeout_s=float(env.get("ANISIM_JIKAN_TIMEOUT_S", defaults.jikan_timeout_s)),
        )
