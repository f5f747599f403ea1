"""Start and stop a real `bentoml serve` of this project as a child process: the one harness the
end-to-end tests and the benchmark share. No BentoML import: it runs the CLI beside this Python."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from anisim.settings import PROJECT_ROOT

START_TIMEOUT_S = 180
_TEMPORARY: dict[int, str] = {}  # a started server's pid -> its temporary folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(target: str, env: dict[str, str], log_path: Path | None = None,
                 port: int | None = None) -> tuple[subprocess.Popen, str]:
    """`bentoml serve target` on loopback, in its own process group; returns (process, base URL).
    Its temporary files go in a folder of its own that `stop_server` removes: BentoML's client
    makes one that a stopped server leaves behind. (A short path: BentoML puts unix sockets there.)
    Its log goes to `log_path`, or (None) into that folder, removed with it."""
    port = port or free_port()
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    temporary = tempfile.mkdtemp(prefix="anisim-serve-")
    log_path = log_path or Path(temporary) / "serve.log"
    process = subprocess.Popen(
        [bentoml, "serve", target, "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env={**os.environ, "TMPDIR": temporary, **env}, stdout=log_path.open("w"),
        stderr=subprocess.STDOUT, start_new_session=True)
    _TEMPORARY[process.pid] = temporary
    return process, f"http://127.0.0.1:{port}"


def wait_ready(url: str, process: subprocess.Popen | None = None, timeout: float = START_TIMEOUT_S,
               path: str = "/v1/health") -> float:
    """Poll `path` until 200 (each probe with its own short timeout: readiness can hang while
    loading), failing early if `process` exits; returns the seconds it took. An Encoder served
    alone has no /v1/health: wait for its `/readyz`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"bentoml serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=3).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM the whole process group; SIGKILL what is left after 20 s; then remove the
    temporary folder `start_server` gave it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    if folder := _TEMPORARY.pop(process.pid, None):
        shutil.rmtree(folder, ignore_errors=True)
