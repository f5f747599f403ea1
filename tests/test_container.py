"""The GPU and CPU images, built with `bentoml containerize` and served as their own non-root
user from a read-only home (scripts/container_check.py, started by conftest.py in the background)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.container
REFUSED = 3  # the check's exit status when no Docker engine can start here


def test_both_images_build_serve_and_leave_the_host_as_found(container_check):
    status, folder = container_check
    log = (folder / "check.log").read_text()
    if status == REFUSED:
        pytest.skip(log.strip().splitlines()[-1])
    assert status == 0, log[-4000:]
    report = json.loads((folder / "report.json").read_text())
    images = {image["bentofile"]: image for image in report["images"]}
    assert set(images) == {"bentofile.yaml", "bentofile.cpu.yaml"}
    for image in images.values():
        assert image["passed"] and image["user"] != "root", image
        assert set(image["checks"]) == {"health", "legacy search", "v1 search", "page"}, image
    assert images["bentofile.cpu.yaml"]["size_mb"] < images["bentofile.yaml"]["size_mb"] / 2
    assert all(report["host_left_as_found"].values()), report["host_left_as_found"]
