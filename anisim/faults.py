"""Named points where the fault tests kill a build (`ANISIM_KILL_AT=<point>`): a test hook, inert otherwise.

`tests/test_faults.py` sets the variable for one `anisim prepare` process, which then dies by
SIGKILL (as `kill -9` would kill it) the moment it reaches that point, so each test can check
what a crash exactly there leaves behind, and that the next run repairs it.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "ANISIM_KILL_AT"


def checkpoint(name: str) -> None:
    """Die here, by SIGKILL, when the environment names this point."""
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
