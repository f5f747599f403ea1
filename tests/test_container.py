"""The GPU and CPU images, built with `bentoml containerize` and served as their own non-root
user from a read-only home (scripts/container_check.py, started by conftest.py in the background)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "container_check.py"
REFUSED = 3  # the check's exit status when no Docker engine can start here


def _check_module():
    spec = importlib.util.spec_from_file_location("container_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_base_image_trusts_the_bundle_pip_is_told_to_trust(tmp_path, monkeypatch):
    check = _check_module()
    bundle = tmp_path / "machine-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_CERT", str(bundle))  # pip's own setting wins over its config and the system's
    assert check.pip_ca_bundle() == bundle
    monkeypatch.delenv("PIP_CERT")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    assert check.pip_ca_bundle().is_file()  # pip's config file, when it names one, comes first


@pytest.mark.container
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
        assert {"health", "legacy search", "v1 search", "page"} <= set(image["checks"]), image
    split = images["bentofile.cpu.yaml"]["split"]  # one Encoder, two APIs by URL: passed means 0 errors, 503/200
    assert images["bentofile.cpu.yaml"]["checks"]["split topology"] == "ok", split
    assert split["two_apis"]["requests"] and split["down_503_s"] <= 5 and split["back_200_s"] is not None
    assert images["bentofile.cpu.yaml"]["size_mb"] < images["bentofile.yaml"]["size_mb"] / 2
    assert all(report["host_left_as_found"].values()), report["host_left_as_found"]
