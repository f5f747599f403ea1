"""Atomic writes leave ordinary files: the umask's mode, not tempfile's private 0600 / 0700, so a
home built by root can be served by a container's non-root user."""

import os
import stat
from pathlib import Path

import pytest

from anisim.atomic import atomic_folder, atomic_path, write_text_atomic


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_atomic_file_gets_the_umasks_mode(tmp_path, umask_022):
    write_text_atomic(tmp_path / "a.json", "{}")
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "a.json") == _mode(tmp_path / "b.bin") == 0o644


def test_an_atomic_folder_gets_the_umasks_mode(tmp_path, umask_022):
    with atomic_folder(tmp_path / "lexical") as tmp:
        (tmp / "f").write_text("x")
    assert _mode(tmp_path / "lexical") == 0o755


def test_a_stricter_umask_is_respected(tmp_path):
    old = os.umask(0o077)
    try:
        write_text_atomic(tmp_path / "private", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "private") == 0o600
