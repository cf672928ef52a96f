"""The per-environment inventories parse, and their workloads render into schema-valid, token-only manifests."""

import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest

from .playbook import ansible_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("environment,clusters", [("dev", 1), ("prod", 2), ("sandbox", 1)])
def test_inventory_renders_valid_workloads(tmp_path, environment, clusters):
    inventory = str(REPO / "inventories" / environment)
    syntax = subprocess.run([str(BIN / "ansible-playbook"), "-i", inventory, str(REPO / "playbooks" / "site.yml"),
                             "--syntax-check"], env=ansible_env(), capture_output=True, text=True, timeout=300,
                            check=False)
    assert syntax.returncode == 0, syntax.stderr
    run = subprocess.run([str(BIN / "ansible-playbook"), "-i", inventory,
                          str(REPO / "tests" / "integration" / "files" / "render_inventory.yml"),
                          "-e", json.dumps({"render_dir": str(tmp_path)})],
                         env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "default"}), capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    rendered = sorted(tmp_path.glob("*.json"))
    assert len(rendered) == clusters
    for path in rendered:
        manifests = json.loads(path.read_text())
        kinds = [m["kind"] for m in manifests]
        # two static blob workloads and one Azure Files workload in every inventory, and a dynamically provisioned
        # one (a StorageClass, no PersistentVolume) in dev and sandbox
        dynamic = kinds.count("StorageClass")
        assert kinds.count("Job") == 3 + dynamic and kinds.count("PersistentVolume") == 3 and dynamic <= 1
        drivers = sorted(m["spec"]["csi"]["driver"] for m in manifests if m["kind"] == "PersistentVolume")
        assert drivers == ["blob.csi.azure.com", "blob.csi.azure.com", "file.csi.azure.com"]
        for manifest in manifests:
            kubernetes_validate.validate(manifest, "1.33", strict=True)
            if manifest["kind"] == "PersistentVolume":
                assert manifest["spec"]["csi"]["volumeAttributes"]["mountWithWorkloadIdentityToken"] == "true"
