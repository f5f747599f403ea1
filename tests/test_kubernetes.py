"""deploy/kubernetes: every overlay renders with kubectl's kustomize and validates strictly, offline,
against two Kubernetes versions' schemas; each serving pod has probes, limits, non-root, a
read-only root filesystem and the home read-only; the images are the Bentos bentofile*.yaml build."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = ROOT / "deploy" / "kubernetes" / "overlays"
VERSIONS = ("1.30.0", "1.37.0")  # the oldest and the newest schemas the validator ships that we hold to
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def _bento_names() -> dict[str, str]:
    """{bentofile: the Bento's name}: its `name:`, else the name of the service it serves."""
    service_name = re.search(r'@bentoml\.service\(name="([^"]+)"[^@]*@bentoml\.asgi_app',
                             (ROOT / "service.py").read_text(), re.S).group(1)
    return {path.name: yaml.safe_load(path.read_text()).get("name") or service_name
            for path in sorted(ROOT.glob("bentofile*.yaml"))}


@pytest.fixture(scope="module", params=sorted(p.name for p in OVERLAYS.iterdir()))
def rendered(request) -> tuple[str, list[dict]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl renders the overlays (Debian: kubernetes-client)"
    out = subprocess.run([kubectl, "kustomize", str(OVERLAYS / request.param)], capture_output=True, text=True,
                         check=True).stdout
    return request.param, [doc for doc in yaml.safe_load_all(out) if doc]


def _pods(objects: list[dict]) -> dict[str, dict]:
    """{kind/name: pod spec} of every workload."""
    pods = {}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "Deployment":
            pods[f"Deployment/{obj['metadata']['name']}"] = spec["template"]["spec"]
        elif obj["kind"] == "CronJob":
            pods[f"CronJob/{obj['metadata']['name']}"] = spec["jobTemplate"]["spec"]["template"]["spec"]
    return pods


def test_every_object_validates_strictly_against_two_versions(rendered):
    overlay, objects = rendered
    kinds = {obj["kind"] for obj in objects}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "CronJob",
            "PersistentVolumeClaim"} <= kinds, overlay
    for obj in objects:
        for version in VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)  # raises on any misspelt or unknown field


def test_a_misspelt_field_is_refused():
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                                      "spec": {"containers": [{"name": "a", "image": "b", "imagePullPolice": "x"}]}},
                                     VERSIONS[-1], strict=True)


def test_every_pod_is_non_root_read_only_and_limited_and_every_server_is_probed(rendered):
    overlay, objects = rendered
    pods = _pods(objects)
    assert {"Deployment/anisim-api", "Deployment/anisim-encoder", "CronJob/anisim-sync"} <= pods.keys()
    for name, pod in pods.items():
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0, name
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"], name
            if name.startswith("Deployment/"):
                assert all(probe in container for probe in PROBES), (overlay, name)
                home = next(m for m in container["volumeMounts"] if m["mountPath"] == "/data/anisim")
                assert home["readOnly"] is True, name
        if name.startswith("Deployment/"):
            claims = [v["persistentVolumeClaim"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
            assert claims and all(c["readOnly"] for c in claims), name


def test_the_images_are_the_bentos_and_the_api_finds_the_encoder_by_url(rendered):
    overlay, objects = rendered
    names = _bento_names()
    pods = _pods(objects)
    images = {name: {c["image"].rsplit(":", 1)[0] for c in pod["containers"]} for name, pod in pods.items()}
    assert set().union(*images.values()) <= set(names.values()), images
    cpu_image = names["bentofile.cpu.yaml"]
    encoder_image = names["bentofile.yaml"] if overlay == "gpu" else cpu_image
    assert images["Deployment/anisim-encoder"] == {encoder_image}
    assert images["Deployment/anisim-api"] == images["CronJob/anisim-sync"] == {cpu_image}
    api = pods["Deployment/anisim-api"]["containers"][0]
    env = {e["name"]: e.get("value") for e in api["env"]}
    service = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "anisim-encoder")
    assert env["ANISIM_ENCODER_URL"] == f"http://anisim-encoder:{service['spec']['ports'][0]['port']}"
    encoder = pods["Deployment/anisim-encoder"]["containers"][0]
    if overlay == "gpu":
        assert encoder["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert pods["Deployment/anisim-encoder"]["tolerations"]
    else:
        assert "nvidia.com/gpu" not in encoder["resources"]["limits"]


def test_the_bentocloud_config_names_both_services_and_reads_as_bentomls_schema():
    from bentoml._internal.cloud.schemas.schemasv2 import DeploymentConfigSchema
    from bentoml._internal.utils.cattr import bentoml_cattr
    config = yaml.safe_load((ROOT / "deploy" / "bentocloud" / "deployment.yaml").read_text())
    names = set(re.findall(r'@bentoml\.service\(name="([^"]+)"', (ROOT / "service.py").read_text()))
    assert set(config["services"]) == names == {"anisim", "anisim_encoder"}
    schema = bentoml_cattr.structure({k: v for k, v in config.items() if k != "name"}, DeploymentConfigSchema)
    assert schema.services["anisim_encoder"].scaling.max_replicas >= 1
    assert schema.services["anisim_encoder"].instance_type.startswith("gpu.")
