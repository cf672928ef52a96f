"""Real `ansible-playbook` runs with kubernetes.core.k8s / k8s_info against the emulated API server."""

import json
import os
import subprocess
import sys

from k8s_test_helpers import ansible_env

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "files")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def _play(kube, tmp_path, name, *args, check=True):
    result = subprocess.run([PLAYBOOK, os.path.join(FILES, name), *args], check=False, env=ansible_env(kube, tmp_path),
                            capture_output=True, text=True, timeout=180, cwd=str(tmp_path))
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def _versions(kube):
    core = kube.core
    return {"cm": core.read_namespaced_config_map("settings", "keyless-demo").metadata.resource_version,
            "sa": core.read_namespaced_service_account("blob-reader", "keyless-demo").metadata.resource_version,
            "pv": core.read_persistent_volume("pv-keyless-demo").metadata.resource_version,
            "pvc": core.read_namespaced_persistent_volume_claim("data", "keyless-demo").metadata.resource_version}


def test_k8s_objects_converge(kube, tmp_path, sandbox):
    report = tmp_path / "report.json"
    _play(kube, tmp_path, "k8s_objects.yml", "-e", f"report={report}")
    assert json.loads(report.read_text()) == {"changed": True, "each": [True] * 5}
    pvc = kube.core.read_namespaced_persistent_volume_claim("data", "keyless-demo")
    assert pvc.status.phase == "Bound" and kube.core.read_persistent_volume("pv-keyless-demo").status.phase == "Bound"
    versions = _versions(kube)
    mark = sandbox.requests()[-1]["index"] + 1

    _play(kube, tmp_path, "k8s_objects.yml", "-e", f"report={report}")
    assert json.loads(report.read_text()) == {"changed": False, "each": [False] * 5}
    assert _versions(kube) == versions  # no-op patches keep resourceVersion
    patches = [r for r in sandbox.requests(since=mark) if r["kind"] == "kubernetes" and r["method"] == "PATCH"]
    assert len(patches) == 5 and all(r["status"] == 200 for r in patches)  # strategic merge accepted first time


def test_k8s_module_lifecycle(kube, tmp_path):
    # What k8s_objects.yml creates, made directly so this test can run in parallel with the one above.
    core = kube.core
    core.create_namespace({"metadata": {"name": "keyless-demo"}})
    core.create_namespaced_config_map("keyless-demo", {"metadata": {
        "name": "settings", "labels": {"app": "demo", "tier": "config"}, "annotations": {"note": "one"}}})
    kube.resource("v1", "PersistentVolume").create(body={"metadata": {"name": "pv-keyless-demo"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
        "csi": {"driver": "blob.csi.azure.com", "volumeHandle": "rg#acct#data"}}})
    core.create_namespaced_persistent_volume_claim("keyless-demo", {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}},
        "volumeName": "pv-keyless-demo", "storageClassName": ""}})

    _play(kube, tmp_path, "k8s_lifecycle.yml")  # asserts inside (update, check mode, apply, SSA, absent, info)

    # The playbook ends by deleting the namespace: everything in it is gone, the PV is Released.
    assert [n.metadata.name for n in core.list_namespace().items if n.metadata.name == "keyless-demo"] == []
    assert [c for c in core.list_config_map_for_all_namespaces().items if c.metadata.namespace == "keyless-demo"] == []
    assert core.read_persistent_volume("pv-keyless-demo").status.phase == "Released"
