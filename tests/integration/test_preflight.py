"""The preflight of site.yml and teardown.yml: a broken inventory fails before any Azure or Kubernetes request,
listing every problem of every cluster with its host, item and field."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .playbook import ansible_env

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GOOD = yaml.safe_load((REPO / "inventories" / "sandbox" / "group_vars" / "aks_clusters.yml").read_text())


def inventory(tmp_path, hosts, group_vars=None):
    """An inventory of clusters (host name -> host variables over the sandbox inventory's group variables, or
    ``group_vars``)."""
    root = tmp_path / "inventory"
    (root / "group_vars").mkdir(parents=True)
    (root / "group_vars" / "aks_clusters.yml").write_text(yaml.safe_dump(group_vars or GOOD))
    (root / "hosts.yml").write_text(yaml.safe_dump({"aks_clusters": {"hosts": {
        name: dict(variables, ansible_connection="local", ansible_python_interpreter=sys.executable)
        for name, variables in hosts.items()}}}))
    return root


def run(sandbox, tmp_path, playbook, hosts, *extra):
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"], ANSIBLE_STDOUT_CALLBACK="default")
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory(tmp_path, hosts)),
                           str(REPO / "playbooks" / playbook), "-e", "keyless_kubeconfig_path=%s/kc" % tmp_path]
                          + list(extra), env=ansible_env(env), capture_output=True, text=True, timeout=600,
                          check=False)


def workload(**change):
    return dict(GOOD["keyless_workloads"][0], **change)


BAD_A = {  # every class of problem on one cluster
    "keyless_workloads": [
        workload(access="everything"),
        workload(name="Upper", namespace="Reports", service_account="SA!", type="file"),
        workload(name="docs-nfs", type="file", container=None, share="docs", protocol="nfs",
                 storage_class={"name": "files"}, volume={"mount_options": ["vers=2.1"]}),
        workload(name="nfs", protocol="nfs", storage_account="stnotlisted"),
        workload(name="coerced", namespace=True, volume={"size": "1024Mi"},
                 identity={"name": "id-reports", "client_id": "not-a-guid"}),
        workload(name="badcontainer", container="Bad_Container"),
    ],
    "keyless_blob_csi_driver_chart_version": "latest",
    "keyless_tags": {"cost": 5},
}
BAD_B = {"keyless_storage_accounts": [{"name": "St-Bad", "containers": ["x"]}],
         "keyless_blob_csi_driver_chart_version": "1.26.9", "keyless_azurefile_csi_driver_chart_version": "1.34.8",
         "azurefile_csi_driver_values": {"feature": {"requiresRepublish": False}}}
EXPECTED = [
    "aks-a: workload: value of access must be one of: read, readwrite, got: everything",
    "aks-a: keyless_workloads[1] (Reports/Upper): share is required for type file",
    "aks-a: keyless_workloads[1] (Reports/Upper): container is for type blob; a type file workload mounts its share",
    "aks-a: keyless_workloads[1] (Reports/Upper): name 'Upper' is not a valid DNS-1123 label name",
    "aks-a: keyless_workloads[1] (Reports/Upper): namespace 'Reports' is not a valid DNS-1123 label name",
    "aks-a: keyless_workloads[1] (Reports/Upper): service_account 'SA!' is not a valid DNS-1123 subdomain name",
    "aks-a: keyless_workloads[2] (reports/docs-nfs): protocol nfs is refused - NFS mounts carry no credentials",
    "aks-a: keyless_workloads[2] (reports/docs-nfs): storage_class with type file is refused",
    "aks-a: keyless_workloads[2] (reports/docs-nfs): volume.mount_options vers=2.1 is refused",
    "aks-a: keyless_workloads[3] (reports/nfs): protocol nfs is refused",
    "aks-a: keyless_workloads[3] (reports/nfs): storage_account stnotlisted is not in keyless_storage_accounts",
    "aks-a: keyless_workloads[4] (True/coerced): namespace True is not a valid DNS-1123 label name",
    "aks-a: keyless_workloads[4] (True/coerced): volume.size '1024Mi' is written by Kubernetes as '1Gi'",
    "aks-a: keyless_workloads[4] (True/coerced): identity.client_id 'not-a-guid' must be a GUID",
    "aks-a: keyless_workloads[5] (reports/badcontainer): container 'Bad_Container' is not a valid container name",
    "aks-a: keyless_blob_csi_driver_chart_version 'latest' is not a semantic version like 1.27.9",
    "aks-a: keyless_tags.cost must be a string, not int 5",
    "aks-b: keyless_storage_accounts[0].name 'St-Bad' is not a valid storage account name",
    "aks-b: keyless_storage_accounts[0].containers[0] 'x' is not a valid container name",
    "aks-b: keyless_blob_csi_driver_chart_version 1.26.9 is older than 1.27.1",
    "aks-b: keyless_azurefile_csi_driver_chart_version 1.34.8 cannot mount Azure Files with a workload identity token "
    "alone",
    "aks-b: azurefile_csi_driver_values: feature.requiresRepublish is false",
]


@pytest.mark.parametrize("playbook,extra", [("site.yml", ()), ("teardown.yml", ("-e", "keyless_teardown_confirm=aks-a"))])
def test_a_broken_inventory_lists_every_problem_before_any_request(sandbox, tmp_path, playbook, extra):
    before = sandbox.counters()
    result = run(sandbox, tmp_path, playbook, {"aks-a": BAD_A, "aks-b": BAD_B, "aks-ok": {}}, *extra)
    assert result.returncode != 0
    missing = [problem for problem in EXPECTED if problem not in result.stdout]
    assert missing == [], result.stdout[-6000:]
    # the valid cluster was stopped too: nothing ran past the preflight
    assert "Resource groups" not in result.stdout and "Identities as they are now" not in result.stdout
    delta = sandbox.counters_delta(before)
    assert (delta["reads"], delta["writes"], delta.get("token_requests", 0)) == (0, 0, 0), delta
    assert (delta["kubernetes"]["reads"], delta["kubernetes"]["writes"]) == (0, 0), delta["kubernetes"]


def test_a_valid_inventory_passes_the_preflight(sandbox, tmp_path):
    result = run(sandbox, tmp_path, "site.yml", {"aks-ok": {}}, "--tags", "storage", "--check")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Every cluster's inventory is valid" in result.stdout
