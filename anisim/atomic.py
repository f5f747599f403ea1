"""Atomic file writes (a reader sees the old file or the new one, never half of one) and the
checksums that let a reader verify what it reads."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from anisim.errors import WriteFailed


def _umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


TEMP_SUFFIX = ".tmp"  # every temporary name here is `.<target name>.<random>.tmp`, beside its target


@contextlib.contextmanager
def _explained(target: Path) -> Iterator[None]:
    """Turn an OS error while writing `target` into WriteFailed, saying when the disk is full
    (a short write can fail without errno; the free space then tells)."""
    try:
        yield
    except OSError as exc:
        full = exc.errno == errno.ENOSPC or _free_bytes(target.parent) == 0
        why = "no space left on device" if full else (exc.strerror or str(exc))
        raise WriteFailed(f"cannot write {target}: {why}; the previous version is kept") from None


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it over `target`.

    On any exception the temporary file is removed and `target` is left as it was; an OS error
    (a full disk) becomes a one-line WriteFailed.
    """
    with _explained(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    # mkstemp makes the file private (0600); what we build is an ordinary file, readable by the
    # umask's rules, e.g. by a container's non-root user serving a home that root built.
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        with _explained(target):
            yield tmp_path
            os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_text_atomic(target: Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` whole (an OS
    error becomes WriteFailed, and `target` is left as it was)."""
    with _explained(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent))
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700); the result is an ordinary folder
    old = target.with_name(f".{target.name}.old{TEMP_SUFFIX}")
    try:
        with _explained(target):
            yield tmp
            shutil.rmtree(old, ignore_errors=True)
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def file_hash(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
