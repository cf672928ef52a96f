"""Two clusters sharing workload identities and storage through group_vars: tearing one down removes only what is
its own, and the other cluster's chain keeps working."""

import subprocess

import pytest

from ansible_collections.keyless.aks_storage.plugins.filter.fleet import STILL_USED

from .test_preflight import BIN, REPO, inventory
from .playbook import ansible_env
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

RG = "rg-keyless-sandbox"


def run(sandbox, tmp_path, playbook, *extra):
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"], ANSIBLE_STDOUT_CALLBACK="default",
               TMPDIR=str(tmp_path))
    root = tmp_path / "inventory"
    if not root.exists():
        inventory(tmp_path, {name: {"keyless_kubeconfig_path": "%s/kubeconfig-%s" % (tmp_path, name)}
                             for name in ("aks-a", "aks-b")})
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(root),
                           str(REPO / "playbooks" / playbook)] + list(extra), env=ansible_env(env),
                          capture_output=True, text=True, timeout=900, check=False)


def credentials(sandbox):
    fics = sdk.msi_client(sandbox.conn).federated_identity_credentials
    return sorted(c.name for identity in ("id-reports", "id-archive", "id-docs") for c in fics.list(RG, identity))


def assignments(sandbox):
    scope = "/subscriptions/%s/resourceGroups/%s" % (sandbox.conn["subscription_id"], RG)
    return list(sdk.authorization_client(sandbox.conn).role_assignments.list_for_scope(scope))


def test_tearing_one_cluster_down_keeps_what_the_other_uses(sandbox, tmp_path):
    site = run(sandbox, tmp_path, "site.yml")
    assert site.returncode == 0, site.stdout[-4000:]
    assert credentials(sandbox) == ["aks-a-archive-archive-reader", "aks-a-docs-docs-writer",
                                    "aks-a-reports-reports-writer", "aks-b-archive-archive-reader",
                                    "aks-b-docs-docs-writer", "aks-b-reports-reports-writer"]
    shared_assignments = len(assignments(sandbox))
    # one data role per workload (the Files one at the account): both clusters' workloads need the same four; and
    # each cluster's kubelet identity has the provisioner role at the account (the dynamically provisioned workload)
    assert shared_assignments == 4 + 2

    down = run(sandbox, tmp_path, "teardown.yml", "--limit", "aks-a", "-e", "keyless_teardown_confirm=aks-a",
               "-e", "keyless_teardown_delete_data=true")
    assert down.returncode == 0, down.stdout[-4000:]
    # only aks-a's own credentials went; identities, data roles and the account are still aks-b's
    assert credentials(sandbox) == ["aks-b-archive-archive-reader", "aks-b-docs-docs-writer",
                                    "aks-b-reports-reports-writer"]
    assert len(assignments(sandbox)) == shared_assignments - 1   # aks-a's provisioner role went with it
    assert len(list(sdk.msi_client(sandbox.conn).user_assigned_identities.list_by_resource_group(RG))) == 4
    assert sdk.storage_client(sandbox.conn).storage_accounts.get_properties(RG, "stkeylesssandbox01").name
    assert "identity %s/id-reports: %s" % (RG, STILL_USED) in down.stdout
    assert "storage account stkeylesssandbox01: " + STILL_USED in down.stdout

    # aks-b's chain needs nothing repaired...
    again = run(sandbox, tmp_path, "site.yml", "--limit", "aks-b")
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in [line for line in again.stdout.splitlines() if line.startswith("aks-b ")][0]
    # ...and its validation Jobs, run again now, still mount by token (judged against the state after the teardown)
    import kubernetes
    batch = kubernetes.client.BatchV1Api(kubernetes.config.new_client_from_config(
        config_file=str(tmp_path / "kubeconfig-aks-b")))
    for namespace in ("reports", "archive", "docs"):
        for job in batch.list_namespaced_job(namespace).items:
            batch.delete_namespaced_job(job.metadata.name, namespace, propagation_policy="Background")
    decided = len(sandbox.call("GET", "/kubelet/decisions")["decisions"])
    rerun = run(sandbox, tmp_path, "site.yml", "--limit", "aks-b", "--tags", "workloads")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    fresh = sandbox.call("GET", "/kubelet/decisions")["decisions"][decided:]
    assert [d["outcome"] for d in fresh] == ["succeeded"] * 3, fresh

    # the last cluster's teardown removes the shared resources too
    last = run(sandbox, tmp_path, "teardown.yml", "--limit", "aks-b", "-e", "keyless_teardown_confirm=aks-b")
    assert last.returncode == 0, last.stdout[-4000:]
    assert list(sdk.msi_client(sandbox.conn).user_assigned_identities.list_by_resource_group(RG)) == []
    assert assignments(sandbox) == []
