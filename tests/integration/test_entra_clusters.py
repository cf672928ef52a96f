"""site.yml, its no-op re-run and teardown.yml on AKS clusters with Microsoft Entra ID integration and local accounts
disabled, with no kubelogin anywhere: the kubeconfig's user is an Entra token for the AKS server application,
requested with the play's own Azure credential. Azure RBAC for Kubernetes is preflighted before the first Kubernetes
write; Kubernetes RBAC clusters admit the automation through an admin group."""

import json
import os
import re
import shutil
import stat
import uuid

import pytest
import yaml

from . import sdk
from .doctor_chain import CLUSTER_RG, HOST, playbook

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"  # Azure Kubernetes Service RBAC Cluster Admin
RECAP = re.compile(r"sandbox-aks-1\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)")


def entra_cluster(sandbox, azure_rbac, admin_groups=()):
    sdk.create_resource_group(sandbox.conn, CLUSTER_RG)
    return sdk.create_cluster(sandbox.conn, CLUSTER_RG, HOST, aad_profile={
        "managed": True, "enableAzureRBAC": azure_rbac, "adminGroupObjectIDs": list(admin_groups)},
        disable_local_accounts=True)


def recap(run):
    found = RECAP.findall(run.stdout)
    assert found, run.stdout[-3000:]
    return tuple(int(x) for x in found[-1])


def assert_token_kubeconfig(path):
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = yaml.safe_load(path.read_text())
    user = document["users"][0]["user"]
    assert set(user) == {"token"} and "exec" not in path.read_text() and "kubelogin" not in path.read_text()
    return user["token"]


def files_holding(root, secret, but):
    return [str(p) for p in root.rglob("*") if p.is_file() and p != but and secret.encode() in p.read_bytes()]


def test_an_entra_only_cluster_with_azure_rbac_converges_without_kubelogin(sandbox, tmp_path):
    assert shutil.which("kubelogin") is None  # nothing could log in interactively even if it wanted to
    cluster = entra_cluster(sandbox, azure_rbac=True)
    before = sandbox.counters()
    refused = playbook(sandbox, tmp_path, "site.yml")
    assert refused.returncode != 0
    text = " ".join(refused.stdout.split())
    assert ('Grant it "Azure Kubernetes Service RBAC Cluster Admin" on the cluster' in text
            and "--scope %s" % cluster.id in text), refused.stdout[-4000:]
    assert sandbox.counters_delta(before)["kubernetes"]["writes"] == 0  # refused before any Kubernetes write

    # granted as teams do, to an Entra group the automation is a member of (assignedTo() and Guard see through it)
    group = sandbox.add_group_member(sandbox.conn["app_object_id"])["group_id"]
    sdk.authorization_client(sandbox.conn).role_assignments.create(cluster.id, str(uuid.uuid4()), {
        "role_definition_id": "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
            sandbox.conn["subscription_id"], CLUSTER_ADMIN),
        "principal_id": group, "principal_type": "Group"})
    site = playbook(sandbox, tmp_path, "site.yml")
    assert site.returncode == 0, site.stdout[-4000:]
    decisions = sandbox.call("GET", "/kubelet/decisions")["decisions"]
    # reports, archive, shared-docs, scratch (dynamically provisioned)
    assert sorted(d["outcome"] for d in decisions) == ["succeeded"] * 4, decisions
    token = assert_token_kubeconfig(tmp_path / "kubeconfig")

    again = playbook(sandbox, tmp_path, "site.yml", "-vvv")
    assert again.returncode == 0 and recap(again) == (0, 0), again.stdout[-4000:]
    assert token not in again.stdout and token not in again.stderr
    assert files_holding(tmp_path, token, but=tmp_path / "kubeconfig") == []

    # the doctor reads the same cluster with the same token kubeconfig, and judges the Azure RBAC grant
    doctor = playbook(sandbox, tmp_path, "doctor.yml", "-e", "doctor_report_dir=%s/reports" % tmp_path)
    assert doctor.returncode == 0, doctor.stdout[-4000:]
    assert "'fail': 0, 'unknown': 0" in doctor.stdout and "cluster_azure_rbac         OK" in doctor.stdout

    down = playbook(sandbox, tmp_path, "teardown.yml", "-e", "keyless_teardown_confirm=sandbox-aks-1")
    assert down.returncode == 0, down.stdout[-4000:]


def renewals(run):
    """The results of the roles' token renewal tasks in a JSON-callback run."""
    data = json.loads(run.stdout)
    return [t["hosts"][HOST] for play in data["plays"] for t in play["tasks"]
            if t["task"]["name"].endswith(" : The kubeconfig's Entra token outlives this stage")]


def test_an_entra_only_cluster_with_kubernetes_rbac_admits_the_automation_through_an_admin_group(sandbox, tmp_path):
    group = sandbox.add_group_member(sandbox.conn["app_object_id"])["group_id"]
    entra_cluster(sandbox, azure_rbac=False, admin_groups=[group])
    # Tokens that live less than the renewal margin: the two driver stages (blob, Files) and the workload stage each
    # renew the kubeconfig's token before their Kubernetes tasks, and a renewal is not a change.
    sandbox.configure(token_lifetime=900)
    site = playbook(sandbox, tmp_path, "site.yml", json_output=True)
    assert site.returncode == 0, site.stdout[-4000:]
    renewed = renewals(site)
    assert [(r["renewed"], r["changed"]) for r in renewed] == [(True, False)] * 3, renewed
    assert_token_kubeconfig(tmp_path / "kubeconfig")
    before = sandbox.counters()
    again = playbook(sandbox, tmp_path, "site.yml", json_output=True)
    assert again.returncode == 0 and json.loads(again.stdout)["stats"][HOST]["changed"] == 0, again.stdout[-4000:]
    assert sandbox.counters_delta(before)["writes"] == 0

    down = playbook(sandbox, tmp_path, "teardown.yml", "-e", "keyless_teardown_confirm=sandbox-aks-1")
    assert down.returncode == 0, down.stdout[-4000:]
