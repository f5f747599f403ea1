"""A newcomer's first run, timed: `git clone`, then `make serve`, until the README's curl example
answers 200 (with BM25 while the indexes build beside the server), then until every index is
served (`/v1/health` 200). Prints where the time went (install, catalogs, export, server start,
first answer and its mode, each index's build from the background log).

    python scripts/first_run.py [--rev HEAD] [--cold-pip] [--first-answer-only] [--json]

The clone goes beside this checkout (so `../shared` resolves, as in CI) and is removed after.
`--cold-pip` runs pip with its cache off (every package downloaded again; the local torch file
is still used, as on this machine). Not a test: a measurement (about 5-10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from anisim.api.server import free_port, stop_server

ROOT = Path(__file__).resolve().parents[1]
LEGACY_BODY = {"model": "sentence-transformers/all-MiniLM-L6-v2",
               "description": "a boy reborn as a slime in another world", "page": 1, "resultsPerPage": 3}
# What `make serve` prints as each phase ends (scripts/setup.sh, then `anisim prepare --step
# serving`, then scripts/serve.sh): install (and the anime catalog, ~5 s), the ONNX export, the server.
PHASES = [("install + anime catalog", r"^anime catalog$"), ("manga catalog", r"^manga catalog$"),
          ("export", r"exported .* to ONNX"), ("server started", r"^anisim is starting")]
HOME = "home"  # the clone's ANISIM_HOME; the background build logs to prepare.log there


def watch(process: subprocess.Popen, started: float, marks: dict[str, float], log: list[str]) -> None:
    """Read `make serve`'s output; note when each phase's closing line appears."""
    for line in process.stdout:
        log.append(line)
        for phase, pattern in PHASES:
            if phase not in marks and re.search(pattern, line.rstrip("\n")):
                marks[phase] = time.monotonic() - started


def poll(what: Callable[[], bool], process: subprocess.Popen, log: list[str]) -> None:
    """Until `what()` is true (an HTTP error counts as not yet), once a second; fail if make exits."""
    while process.poll() is None:
        try:
            if what():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError("make serve exited:\n" + "".join(log[-30:]))


def first_run(rev: str, cold_pip: bool, first_answer_only: bool = False) -> dict:
    clone = Path(tempfile.mkdtemp(prefix="anisim-first-run-", dir=ROOT.parent))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    env.pop("ANISIM_HOME", None)
    if cold_pip:
        env["PIP_NO_CACHE_DIR"] = "1"
    marks: dict[str, float] = {}
    log: list[str] = []
    started = time.monotonic()
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
        marks["clone"] = time.monotonic() - started
        process = subprocess.Popen(["make", "serve"], cwd=clone, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=watch, args=(process, started, marks, log), daemon=True).start()
        url = f"http://127.0.0.1:{port}"
        first: dict[str, str] = {}

        def answered() -> bool:
            answer = httpx.post(f"{url}/anisearchmodel/anime", json=LEGACY_BODY, timeout=5)
            first["mode"] = answer.headers.get("x-anisim-mode", "")
            return answer.status_code == 200

        try:
            poll(answered, process, log)
            marks[f"first answer ({first['mode']})"] = time.monotonic() - started
            if not first_answer_only:
                poll(lambda: httpx.get(f"{url}/v1/health", timeout=5).status_code == 200, process, log)
                marks["every index served (health 200)"] = time.monotonic() - started
        finally:
            stop_server(process)
        built = clone / HOME / "prepare.log"
        builds = [line.strip() for line in re.split(r"[\r\n]", built.read_text()) if " index for " in line] \
            if built.exists() else []
    finally:
        shutil.rmtree(clone, ignore_errors=True)
    return {"rev": rev, "cold_pip": cold_pip, "seconds": marks, "index_builds": builds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to clone (default: %(default)s)")
    parser.add_argument("--cold-pip", action="store_true", help="pip without its cache")
    parser.add_argument("--first-answer-only", action="store_true",
                        help="stop at the first answer instead of waiting for every index")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = first_run(args.rev, args.cold_pip, args.first_answer_only)
    if args.json:
        print(json.dumps(result))
        return
    print(f"first run of {args.rev} ({'cold' if args.cold_pip else 'warm'} pip cache): seconds since `git clone`")
    print("| phase ends | s |")
    print("|---|---|")
    for phase, seconds in result["seconds"].items():
        print(f"| {phase} | {seconds:.0f} |")
    for line in result["index_builds"]:
        print(f"background build: {line}")


if __name__ == "__main__":
    main()
