"""Generations: the files of a catalog or an index, switched in one atomic step and verified on read.

A folder such as `<home>/catalog/anime/` holds `manifest.json` and one `g-<id>/` folder of data
files per generation. A writer puts the new files in a new `g-<id>/` (itself written atomically),
then renames a new manifest over the old one (the switch: it names the generation and the SHA-256
of each file), then removes the older generations. Whatever fails or is killed in between, a
reader sees the old generation or the new one, never a mix; and a reader checks every file against
its checksum, so a flipped byte is refused rather than served.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from anisim.atomic import atomic_folder, file_hash, write_text_atomic
from anisim.faults import checkpoint

MANIFEST = "manifest.json"


class Unreadable(Exception):
    """A generation cannot be used: the message says what is wrong (the caller says how to fix it)."""


@dataclass(frozen=True)
class Staged:
    """A generation written in full but not switched in yet: `switch()` makes it the current one."""

    folder: Path
    manifest: dict
    point: str

    def switch(self) -> dict:
        """Rename the manifest into place (the switch), then remove older generations."""
        checkpoint(f"{self.point}-generation-moved")
        write_text_atomic(self.folder / MANIFEST, json.dumps(self.manifest, indent=1))
        checkpoint(f"{self.point}-manifest-written")
        current = f"g-{self.manifest['generation']}"
        for old in self.folder.iterdir():
            if old.is_dir() and old.name.startswith("g-") and old.name != current:
                shutil.rmtree(old, ignore_errors=True)
        return self.manifest


def stage(folder: Path, write: Callable[[Path], None], manifest: dict, point: str) -> Staged:
    """Write a new generation into `folder` without switching to it: `write(tmp)` puts the data
    files in `tmp`; the manifest gets "generation" and "files" (name -> SHA-256). `point` names
    the fault-test checkpoints (`anisim.faults`). Staging several things and switching them last
    keeps a failed run (a full disk) from changing any of them."""
    generation = uuid.uuid4().hex[:16]
    with atomic_folder(folder / f"g-{generation}") as tmp:
        write(tmp)
        files = {path.name: file_hash(path) for path in sorted(tmp.iterdir())}
        checkpoint(f"{point}-files-written")
    return Staged(folder, {**manifest, "generation": generation, "files": files}, point)


def read_manifest(folder: Path) -> dict:
    """The manifest of `folder`'s current generation; FileNotFoundError when there is none,
    Unreadable when it is damaged (not UTF-8, not JSON, not a manifest)."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError):
        raise Unreadable(f"{path} is unreadable") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) \
            or not isinstance(manifest.get("generation"), str):
        raise Unreadable(f"{path} is not a manifest of this version")
    return manifest


def verified_files(folder: Path, manifest: dict) -> Path:
    """The current generation's folder, once every file it lists matches its checksum."""
    generation = folder / f"g-{manifest['generation']}"
    for name, sha in manifest["files"].items():
        path = generation / name
        if not path.is_file() or file_hash(path) != sha:
            raise Unreadable(f"{path} is missing, truncated or altered (checksum mismatch)")
    return generation


def written_at(folder: Path) -> float | None:
    """When the manifest was last written (the switch), or None if there is none."""
    try:
        return (folder / MANIFEST).stat().st_mtime
    except OSError:
        return None
