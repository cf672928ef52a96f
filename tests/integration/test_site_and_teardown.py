"""playbooks/site.yml then playbooks/teardown.yml with the sandbox inventory, as `make demo` and users run them."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .playbook import ansible_env
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def playbook(sandbox, tmp_path, name, *extra, env=None):
    env = dict(sandbox.env(), KEYLESS_HELM_BINARY=sandbox.conn["helm_binary"], TMPDIR=str(tmp_path),
               ANSIBLE_STDOUT_CALLBACK="default", **(env or {}))
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "sandbox"),
                           str(REPO / "playbooks" / name), "-e", "keyless_kubeconfig_path=%s/kubeconfig" % tmp_path]
                          + list(extra), env=ansible_env(env), capture_output=True, text=True, timeout=900,
                          check=False)


def test_site_then_guarded_teardown(sandbox, tmp_path):
    site = playbook(sandbox, tmp_path, "site.yml")
    assert site.returncode == 0, site.stdout[-4000:]
    decisions = sandbox.call("GET", "/kubelet/decisions")["decisions"]
    assert sorted(d["outcome"] for d in decisions) == ["succeeded"] * 4  # 2 static blob, 1 Files, 1 dynamic blob

    refused = playbook(sandbox, tmp_path, "teardown.yml")
    assert refused.returncode != 0 and "keyless_teardown_confirm=sandbox-aks-1" in refused.stdout
    assert len(list(sdk.msi_client(sandbox.conn).user_assigned_identities.list_by_resource_group(
        "rg-keyless-sandbox"))) == 4

    # A finished pod of someone else still mounts a claim: Kubernetes would keep the claim Terminating, so the
    # teardown stops before its first write and names the pod.
    import kubernetes
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(
        config_file=str(tmp_path / "kubeconfig")))
    core.create_namespaced_pod("reports", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nightly-export"},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "reports-blob"}}]}})
    core.patch_namespaced_pod_status("nightly-export", "reports", {"status": {"phase": "Succeeded"}})
    before = sandbox.counters()
    held = playbook(sandbox, tmp_path, "teardown.yml", "-e", "keyless_teardown_confirm=sandbox-aks-1")
    assert held.returncode != 0
    assert ("Teardown deletes PersistentVolumeClaim reports/reports-blob, but pods mount it: nightly-export"
            in " ".join(held.stdout.split())), held.stdout[-4000:]
    delta = sandbox.counters_delta(before)
    assert (delta["writes"], delta["kubernetes"]["writes"]) == (0, 0), delta
    core.delete_namespaced_pod("nightly-export", "reports")

    before = sandbox.counters()
    down = playbook(sandbox, tmp_path, "teardown.yml", "-e", "keyless_teardown_confirm=sandbox-aks-1")
    assert down.returncode == 0, down.stdout[-4000:]
    assert list(sdk.msi_client(sandbox.conn).user_assigned_identities.list_by_resource_group(
        "rg-keyless-sandbox")) == []
    # Really gone, not left Terminating behind a protection finalizer: the validation Jobs' pods went first.
    assert core.list_persistent_volume().items == []
    assert [c.metadata.name for c in core.list_persistent_volume_claim_for_all_namespaces().items] == []
    assert [p.metadata.name for p in core.list_pod_for_all_namespaces().items] == []
    auth = sdk.authorization_client(sandbox.conn)
    scope = "/subscriptions/%s/resourceGroups/rg-keyless-sandbox" % sandbox.conn["subscription_id"]
    assert list(auth.role_assignments.list_for_scope(scope)) == []
    # data is kept unless asked for
    assert sdk.storage_client(sandbox.conn).storage_accounts.get_properties("rg-keyless-sandbox",
                                                                            "stkeylesssandbox01").name
    assert sandbox.counters_delta(before)["list_keys"] == 0

    again = playbook(sandbox, tmp_path, "teardown.yml", "-e", "keyless_teardown_confirm=sandbox-aks-1")
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in again.stdout


def recap_changed(stdout):
    line = next(line for line in stdout.splitlines() if line.startswith("sandbox-aks-1 ") and "changed=" in line)
    return int(line.split("changed=")[1].split()[0])


def test_site_check_diff_writes_nothing_and_reports_what_would_change(sandbox, tmp_path):
    # Empty subscription: check mode reports the whole chain as to be created, and writes nothing.
    before = sandbox.counters()
    dry = playbook(sandbox, tmp_path, "site.yml", "--check", "--diff")
    assert dry.returncode == 0, dry.stdout[-6000:]
    assert recap_changed(dry.stdout) > 0
    assert "stkeylesssandbox01" in dry.stdout and "+" in dry.stdout  # a diff of the account to create
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["list_keys"] == 0
    assert [r for r in sandbox.state()["resources"] if r["type"] != "Microsoft.Resources/resourceGroups"] == []

    assert playbook(sandbox, tmp_path, "site.yml").returncode == 0

    # Converged: check mode finds nothing to do.
    before = sandbox.counters()
    dry = playbook(sandbox, tmp_path, "site.yml", "--check", "--diff")
    assert dry.returncode == 0, dry.stdout[-6000:]
    assert recap_changed(dry.stdout) == 0, dry.stdout[-6000:]
    assert sandbox.counters_delta(before)["writes"] == 0

    # Drift (shared key access back on): check mode shows it as a diff, and still writes nothing.
    account = next(r for r in sandbox.state()["resources"] if r["type"] == "Microsoft.Storage/storageAccounts")
    sandbox.merge_resource(account["id"], {"properties": {"allowSharedKeyAccess": True}})
    before = sandbox.counters()
    dry = playbook(sandbox, tmp_path, "site.yml", "--check", "--diff", "--tags", "storage")
    assert dry.returncode == 0, dry.stdout[-6000:]
    assert recap_changed(dry.stdout) == 1
    assert re.search(r'^-\s+"allowSharedKeyAccess": true,$', dry.stdout, re.M), dry.stdout[-4000:]
    assert re.search(r'^\+\s+"allowSharedKeyAccess": false,$', dry.stdout, re.M)
    assert sandbox.counters_delta(before)["writes"] == 0
    still = next(r for r in sandbox.state()["resources"] if r["id"] == account["id"])
    assert still["properties"]["allowSharedKeyAccess"] is True  # check mode left the drift for the real run


def test_existing_cluster_in_another_region_than_the_storage(sandbox, tmp_path):
    """An existing cluster (keyless_cluster_create=false) keeps its region and group; only new things get
    keyless_location."""
    sdk.create_resource_group(sandbox.conn, "rg-aks-sandbox", location="northeurope")
    sdk.create_cluster(sandbox.conn, "rg-aks-sandbox", "sandbox-aks-1", location="northeurope")
    run = playbook(sandbox, tmp_path, "site.yml", "-e", "keyless_cluster_create=false", "--tags",
                   "storage,identities,cluster")
    assert run.returncode == 0, run.stdout[-4000:]
    cluster = sdk.containerservice_client(sandbox.conn).managed_clusters.get("rg-aks-sandbox", "sandbox-aks-1")
    assert cluster.location == "northeurope"
    assert cluster.oidc_issuer_profile.enabled and cluster.security_profile.workload_identity.enabled
    accounts = sdk.storage_client(sandbox.conn).storage_accounts.list_by_resource_group("rg-keyless-sandbox")
    assert [a.location for a in accounts] == ["westeurope"]


BYPASS_ATTEMPTS = [
    ("--start-at-task", "Identities (those no other cluster uses)"),
    ("--start-at-task", "Storage accounts and their data (only with keyless_teardown_delete_data=true)",
     "-e", "keyless_teardown_delete_data=true"),
    ("--start-at-task", "Workload objects, newest first (namespaces are kept)"),
    ("--skip-tags", "always", "-e", "keyless_teardown_delete_data=true"),
    ("-e", "keyless_teardown_confirm=another-cluster", "-e", "keyless_teardown_delete_data=true"),
    # (key=value extra vars are stripped by Ansible; JSON keeps the trailing space)
    ("--limit", "sandbox-aks-1", "-e", '{"keyless_teardown_confirm": "sandbox-aks-1 "}', "-e",
     "keyless_teardown_delete_data=true"),
]


def test_no_task_selection_deletes_anything_unconfirmed(sandbox, converged_tmp):
    """Every destructive task checks the confirmation itself: skipping the assert skips no guard."""
    tmp_path = converged_tmp
    msi = sdk.msi_client(sandbox.conn).user_assigned_identities
    for attempt in BYPASS_ATTEMPTS:
        before = sandbox.counters()
        playbook(sandbox, tmp_path, "teardown.yml", *attempt)
        delta = sandbox.counters_delta(before)
        assert (delta["writes"], delta["kubernetes"]["writes"]) == (0, 0), (attempt, delta)
        assert len(list(msi.list_by_resource_group("rg-keyless-sandbox"))) == 4, attempt
    assert sdk.storage_client(sandbox.conn).storage_accounts.get_properties("rg-keyless-sandbox",
                                                                            "stkeylesssandbox01").name


def test_an_identity_recreated_behind_our_back_is_converged(sandbox, converged_tmp):
    """A new client ID cannot be patched into the immutable PersistentVolume: the volume and its claim are replaced
    (no pod is running on them), the chain is rebuilt for the new identity and its validation Job runs green."""
    tmp_path = converged_tmp
    msi = sdk.msi_client(sandbox.conn).user_assigned_identities
    old = msi.get("rg-keyless-sandbox", "id-reports").client_id
    msi.delete("rg-keyless-sandbox", "id-reports")
    new = msi.create_or_update("rg-keyless-sandbox", "id-reports", {"location": "westeurope"}).client_id
    assert new != old
    decided = len(sandbox.call("GET", "/kubelet/decisions")["decisions"])
    again = playbook(sandbox, tmp_path, "site.yml")
    assert again.returncode == 0, again.stdout[-5000:]
    kubeconfig = str(tmp_path / "kubeconfig")
    import kubernetes
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=kubeconfig))
    pv = core.read_persistent_volume("pv-reports-reports")
    assert pv.spec.csi.volume_attributes["clientID"] == new
    assert core.read_namespaced_persistent_volume_claim("reports-blob", "reports").status.phase == "Bound"
    outcomes = [d["outcome"] for d in sandbox.call("GET", "/kubelet/decisions")["decisions"][decided:]]
    assert outcomes == ["succeeded"]  # the recreated identity's validation Job, the only one run again
    assert recap_changed(playbook(sandbox, tmp_path, "site.yml").stdout) == 0


def test_a_volume_in_use_is_not_replaced(sandbox, converged_tmp):
    tmp_path = converged_tmp
    import kubernetes
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(
        config_file=str(tmp_path / "kubeconfig")))
    core.create_namespaced_pod("reports", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reports-app"},
        "spec": {"serviceAccountName": "reports-writer", "containers": [{"name": "app", "image": "busybox"}],
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "reports-blob"}}]}})
    # A finished pod holds the claim as well: Kubernetes keeps a deleted claim until such pods are deleted too.
    core.create_namespaced_pod("reports", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reports-batch"},
        "spec": {"serviceAccountName": "reports-writer", "containers": [{"name": "app", "image": "busybox"}],
                 "restartPolicy": "Never",
                 "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "reports-blob"}}]}})
    core.patch_namespaced_pod_status("reports-batch", "reports", {"status": {"phase": "Succeeded"}})
    msi = sdk.msi_client(sandbox.conn).user_assigned_identities
    msi.delete("rg-keyless-sandbox", "id-reports")
    msi.create_or_update("rg-keyless-sandbox", "id-reports", {"location": "westeurope"})
    before = sandbox.counters()
    again = playbook(sandbox, tmp_path, "site.yml", "--tags", "workloads")
    assert again.returncode != 0
    assert ("A volume's clientID changed and a PersistentVolume's source cannot be updated, so this run deletes "
            "PersistentVolumeClaim reports/reports-blob, but pods mount it: reports-app, reports-batch"
            in " ".join(again.stdout.split())), again.stdout[-5000:]
    assert core.read_persistent_volume("pv-reports-reports") is not None
    assert sandbox.counters_delta(before)["kubernetes"]["writes"] == 0
