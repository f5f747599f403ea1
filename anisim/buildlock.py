"""One build of a home at a time: the build lock (whether a build is running, for health) and the
removal of what killed builds left behind.

`anisim prepare` and `anisim build-index` hold `<home>/.build.lock` (an `flock`, released by the
kernel when the process ends, even by `kill -9`): a second run waits for the first, and the server
says "building" only while some process holds it. Holding it, a run first removes the temporary
files and folders (anisim's own `.<name>.<random>.tmp` names) that earlier runs left under the
home: nothing else writes those but the server's BM25 cache, whose temporaries are newer.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from anisim.atomic import TEMP_SUFFIX

LOCK_NAME = ".build.lock"
log = logging.getLogger(__name__)


@contextlib.contextmanager
def build_lock(home: Path, say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold the home's build lock for the block, waiting (and saying so) while another run holds it."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / LOCK_NAME).open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another anisim build is running on {home}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        started = time.time()
        removed = remove_leftovers(home, started)
        if removed:
            say(f"  removed {removed} leftover temporary file(s) or folder(s) of interrupted runs")
        yield


def build_running(home: Path) -> bool:
    """Whether a process holds the home's build lock now."""
    try:
        with (home / LOCK_NAME).open("r") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:  # held by a build
        return True
    except OSError:  # no lock file (never built here) or not readable: no build can be seen
        return False
    return False


def remove_leftovers(home: Path, before: float) -> int:
    """Remove anisim's temporary files and folders under `home` last changed before `before`."""
    removed = 0
    for path in sorted(home.rglob(f".*{TEMP_SUFFIX}"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.lstat().st_mtime >= before:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as problem:
            log.warning("could not remove %s (%s)", path, type(problem).__name__)
    return removed

