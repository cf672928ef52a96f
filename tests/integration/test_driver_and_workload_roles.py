"""Roles blob_csi_driver and workload against the sandbox: the validation Job is judged like Azure would."""

import base64
import tarfile

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac

from .playbook import run_playbook
from . import sdk

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

RG = "rg-chain"
ACCOUNT = "stkeylesschain"
CLUSTER = "aks-chain"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


class Chain:
    """The Azure side of the keyless chain, built straight through the SDKs, with knobs to break each link."""

    def __init__(self, sandbox, tmp_path, blob_driver=False):
        self.sandbox, self.conn = sandbox, sandbox.conn
        sdk.create_resource_group(self.conn, RG)
        sdk.create_keyless_account(self.conn, RG, ACCOUNT, containers=["reports", "archive"])
        self.cluster = sdk.create_cluster(self.conn, RG, CLUSTER, oidc=True, workload_identity=True,
                                          blob_driver=blob_driver)
        self.issuer = self.cluster.as_dict()["properties"]["oidcIssuerProfile"]["issuerURL"]
        self.identities = {name: sdk.create_identity(self.conn, RG, name) for name in ("id-reports", "id-archive")}
        credentials = sdk.containerservice_client(self.conn).managed_clusters.list_cluster_user_credentials(
            RG, CLUSTER)
        self.kubeconfig = tmp_path / "kubeconfig.yaml"
        value = credentials.kubeconfigs[0].value
        self.kubeconfig.write_bytes(value if isinstance(value, bytes) else base64.b64decode(value))
        self.kubeconfig.chmod(0o600)

    def trust(self, identity, namespace, service_account, issuer=None, name=None):
        sdk.msi_client(self.conn).federated_identity_credentials.create_or_update(
            RG, identity, name or "fic-%s-%s" % (namespace, service_account),
            {"properties": {"issuer": issuer or self.issuer,
                            "subject": "system:serviceaccount:%s:%s" % (namespace, service_account),
                            "audiences": ["api://AzureADTokenExchange"]}})

    def grant(self, identity, container, role_guid):
        scope = rbac.storage_scope(self.conn["subscription_id"], RG, ACCOUNT, container)
        role_id = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (
            self.conn["subscription_id"], role_guid)
        principal = self.identities[identity].principal_id
        sdk.authorization_client(self.conn).role_assignments.create(
            scope, rbac.assignment_name(scope, role_guid, principal),
            {"properties": {"roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal"}})

    def healthy(self):
        self.trust("id-reports", "reports", "reports-writer")
        self.trust("id-archive", "archive", "archive-reader")
        self.grant("id-reports", "reports", BLOB_CONTRIBUTOR)
        self.grant("id-archive", "archive", BLOB_READER)
        return self

    def workloads(self):
        return [
            {"name": "reports", "namespace": "reports", "service_account": "reports-writer", "storage_account": ACCOUNT,
             "resource_group": RG, "container": "reports", "access": "readwrite",
             "identity": {"name": "id-reports", "client_id": self.identities["id-reports"].client_id}},
            {"name": "archive", "namespace": "archive", "service_account": "archive-reader", "storage_account": ACCOUNT,
             "resource_group": RG, "container": "archive", "access": "read",
             "identity": {"name": "id-archive", "client_id": self.identities["id-archive"].client_id}},
        ]

    def driver_tasks(self, **overrides):
        variables = {"blob_csi_driver_kubeconfig": str(self.kubeconfig),
                     "blob_csi_driver_helm_binary": self.conn["helm_binary"], "blob_csi_driver_ready_timeout": 30}
        variables.update(overrides)
        return [{"name": "driver", "ansible.builtin.include_role": {"name": "keyless.aks_storage.blob_csi_driver"},
                 "vars": variables}]

    def workload_tasks(self, workloads=None, **overrides):
        variables = {"keyless_workloads": workloads or self.workloads(), "workload_kubeconfig": str(self.kubeconfig),
                     "workload_validation_timeout": 30, "workload_validation_poll_seconds": 1}
        variables.update(overrides)
        return [{"name": "workload", "ansible.builtin.include_role": {"name": "keyless.aks_storage.workload"},
                 "vars": variables}]


@pytest.fixture(scope="session")
def driver_installed(sandbox_session, tmp_path_factory):
    """The Azure side built and the driver installed once per worker, as a sandbox snapshot."""
    sandbox_session.reset()
    workdir = tmp_path_factory.mktemp("driver-installed")
    chain = Chain(sandbox_session, workdir)
    run = run_playbook(workdir, chain.driver_tasks(), env_for(sandbox_session, workdir))
    assert run.rc == 0, run
    return {"snapshot": sandbox_session.state(), "chain": chain}


@pytest.fixture
def installed(sandbox, driver_installed):
    """That chain with the driver installed, restored for this test (which may break it): the tests that start
    from an installed driver skip an install of their own."""
    sandbox.restore(driver_installed["snapshot"])
    return driver_installed["chain"]


def env_for(sandbox, tmp_path):
    # kubernetes.core caches discovery per host in the temp dir; keep it per test
    return dict(sandbox.env(), TMPDIR=str(tmp_path))


def test_driver_then_workloads_converge_validate_and_rerun_without_change(sandbox, tmp_path):
    chain = Chain(sandbox, tmp_path).healthy()
    env = env_for(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.driver_tasks(), env)
    assert run.rc == 0, run
    assert run.stats["changed"] >= 1
    run = run_playbook(tmp_path, chain.driver_tasks(), env)
    assert run.rc == 0 and run.stats["changed"] == 0, run

    run = run_playbook(tmp_path, chain.workload_tasks() + [
        {"name": "results", "ansible.builtin.debug": {"var": "workload_validation_results"}}], env)
    assert run.rc == 0, run
    results = run.result("results")["workload_validation_results"]
    assert sorted(results.values()) == ["complete", "complete"]
    blobs = sandbox.call("GET", "/kubelet/blobs")  # the probe blob was written through the token-only mount
    assert "keyless-probe" in str(blobs)
    assert sandbox.counters()["list_keys"] == 0

    run = run_playbook(tmp_path, chain.workload_tasks(), env)
    assert run.rc == 0 and run.stats["changed"] == 0, run


def test_chart_older_than_1_27_is_refused(sandbox, tmp_path):
    chain = Chain(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_chart_version="1.26.4"), env_for(sandbox, tmp_path))
    assert run.rc != 0
    assert "older than 1.27.1" in run.failure_messages


def local_chart(tmp_path, version, packaged):
    chart = tmp_path / "chart" / "blob-csi-driver"
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: blob-csi-driver\nversion: %s\n" % version)
    if not packaged:
        return str(chart)
    archive = tmp_path / ("blob-csi-driver-%s.tgz" % version)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(chart, arcname="blob-csi-driver")
    return str(archive)


@pytest.mark.parametrize("options,message", [
    ({"blob_csi_driver_chart_version": "latest"}, "blob_csi_driver_chart_version 'latest' is not a semantic version"),
    ({"local": ("1.26.0", False)}, "(its Chart.yaml version) 1.26.0 is older than 1.27.1"),
    ({"local": ("v1.25.3", True)}, "(its Chart.yaml version) v1.25.3 is older than 1.27.1"),
    ({"local": ("main", True)}, "(its Chart.yaml version) 'main' is not a semantic version"),
    # 1.27.0's driver silently ignores mountWithWorkloadIdentityToken without a clientID (pkg/blob/blob.go)
    ({"blob_csi_driver_chart_version": "1.27.0"},
     "1.27.0 is older than 1.27.1: before 1.27.0 the chart's CSIDriver never refreshes the workload identity token"),
    ({"blob_csi_driver_values": {"feature": {"requiresRepublish": False}}},
     "blob_csi_driver_values: feature.requiresRepublish is false: the kubelet would not republish the volumes"),
    ({"blob_csi_driver_values": {"node": {"enableBlobfuseProxy": False}},
      "keyless_workloads": [{"name": "reports", "namespace": "reports"}]},
     "keyless_workloads[0] (reports/reports): protocol fuse with the blob CSI driver's node.enableBlobfuseProxy "
     "false mounts with blobfuse v1 inside the driver container"),
], ids=["garbage version", "local chart directory", "local packaged chart", "local chart, garbage version",
        "1.27.0 floor", "republish off", "blobfuse v1"])
def test_chart_versions_are_checked_before_anything_is_installed(sandbox, tmp_path, options, message):
    """A garbage version gets its own message; a local chart is judged by its own Chart.yaml, whatever
    blob_csi_driver_chart_version says (it is the pinned, valid default here)."""
    if "local" in options:
        options = {"blob_csi_driver_chart_ref": local_chart(tmp_path, *options["local"])}
    chain = Chain(sandbox, tmp_path)
    before = sandbox.counters()
    run = run_playbook(tmp_path, chain.driver_tasks(**options), env_for(sandbox, tmp_path))
    assert run.rc != 0 and message in run.failure_messages, run
    assert sandbox.counters_delta(before)["kubernetes"]["writes"] == 0


def test_a_csidriver_that_stopped_refreshing_tokens_fails_the_role(sandbox, tmp_path, installed):
    """Someone patched the installed CSIDriver (requiresRepublish false): the release is unchanged, so Helm puts
    nothing back, and the role's check of the live CSIDriver says what the token would do."""
    import kubernetes
    chain = installed
    env = env_for(sandbox, tmp_path)
    storage = kubernetes.client.StorageV1Api(kubernetes.config.new_client_from_config(config_file=str(chain.kubeconfig)))
    storage.patch_csi_driver("blob.csi.azure.com", {"spec": {"requiresRepublish": False}})
    run = run_playbook(tmp_path, chain.driver_tasks(), env)
    assert run.rc != 0
    assert ("CSIDriver blob.csi.azure.com has requiresRepublish False: the token of 3600 s is never refreshed, so "
            "mounts lose blob access when it expires") in run.failure_messages, run


def set_release_status(kubeconfig, status):
    """Rewrite the newest revision of the blob-csi-driver release the way an interrupted helm run leaves it."""
    import json
    import kubernetes
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(kubeconfig)))
    secrets = core.list_namespaced_secret("kube-system", label_selector="owner=helm,name=blob-csi-driver").items
    newest = max(secrets, key=lambda s: int(s.metadata.labels["version"]))
    record = json.loads(base64.b64decode(newest.data["release"]))
    record["status"] = status
    newest.data["release"] = base64.b64encode(json.dumps(record).encode()).decode()
    newest.metadata.labels["status"] = status
    core.replace_namespaced_secret(newest.metadata.name, "kube-system", newest)


def test_a_release_lock_is_waited_for_bounded_then_explained(sandbox, tmp_path, installed):
    chain = installed
    env = env_for(sandbox, tmp_path)
    set_release_status(chain.kubeconfig, "pending-upgrade")
    run = run_playbook(tmp_path, chain.driver_tasks(blob_csi_driver_lock_retries=2, blob_csi_driver_lock_delay=0),
                       env)
    assert run.rc != 0
    assert ("Helm release blob-csi-driver in kube-system is still locked by another operation after 2 retries 0s apart"
            in run.failure_messages), run
    assert "helm rollback" in run.failure_messages
    helm = next(r for name, r in run.results.items() if "Install or upgrade the release" in name)
    assert helm.get("attempts", 0) >= 2, helm  # the lock was retried, not given up on at once
    set_release_status(chain.kubeconfig, "deployed")  # the other operation finished
    run = run_playbook(tmp_path, chain.driver_tasks(), env)
    assert run.rc == 0 and run.stats["changed"] == 0, run


def test_managed_driver_on_is_refused(sandbox, tmp_path):
    chain = Chain(sandbox, tmp_path, blob_driver=True)
    run = run_playbook(tmp_path, chain.driver_tasks(), env_for(sandbox, tmp_path))
    assert run.rc != 0
    assert "AKS add-on labels" in run.failure_messages


BROKEN = {
    "no federated credential": (lambda c: (c.grant("id-reports", "reports", BLOB_CONTRIBUTOR)), "AADSTS700213"),
    "subject in another namespace": (lambda c: (c.trust("id-reports", "other", "reports-writer"),
                                                c.grant("id-reports", "reports", BLOB_CONTRIBUTOR)), "AADSTS700213"),
    "issuer without the trailing slash": (lambda c: (c.trust("id-reports", "reports", "reports-writer",
                                                             issuer=c.issuer.rstrip("/")),
                                                     c.grant("id-reports", "reports", BLOB_CONTRIBUTOR)),
                                          "AADSTS700213"),
    "reader role on a readwrite volume": (lambda c: (c.trust("id-reports", "reports", "reports-writer"),
                                                     c.grant("id-reports", "reports", BLOB_READER)),
                                          "AuthorizationPermissionMismatch"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_each_broken_link_fails_with_the_azure_reason(sandbox, tmp_path, installed, broken):
    setup, message = BROKEN[broken]
    chain = installed
    setup(chain)
    env = env_for(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.workload_tasks(chain.workloads()[:1]), env)
    assert run.rc != 0
    assert message in run.failure_messages, run
    assert "Keyless blob access could not be proven" in run.failure_messages


def test_shared_key_turned_back_on_fails_validation(sandbox, tmp_path, installed):
    chain = installed.healthy()
    account_id = sdk.storage_client(sandbox.conn).storage_accounts.get_properties(RG, ACCOUNT).id
    sandbox.merge_resource(account_id, {"properties": {"allowSharedKeyAccess": True}})
    env = env_for(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.workload_tasks(chain.workloads()[:1]), env)
    assert run.rc != 0
    assert "shared key" in run.failure_messages.lower(), run


def test_managed_driver_switched_on_after_install_fails_validation(sandbox, tmp_path, installed):
    chain = installed.healthy()
    env = env_for(sandbox, tmp_path)
    cluster = sdk.containerservice_client(sandbox.conn).managed_clusters.get(RG, CLUSTER).as_dict()
    cluster["properties"]["storageProfile"]["blobCSIDriver"]["enabled"] = True
    sdk.containerservice_client(sandbox.conn).managed_clusters.begin_create_or_update(RG, CLUSTER, cluster).result()
    run = run_playbook(tmp_path, chain.workload_tasks(chain.workloads()[:1]), env)
    assert run.rc != 0
    assert "managed" in run.failure_messages.lower(), run


def test_failed_validation_runs_again_once_the_chain_is_fixed(sandbox, tmp_path, installed):
    """A re-run after fixing the missing role assignment must validate again, not report the old failed Job."""
    chain = installed
    chain.trust("id-reports", "reports", "reports-writer")
    env = env_for(sandbox, tmp_path)
    workloads = chain.workloads()[:1]
    run = run_playbook(tmp_path, chain.workload_tasks(workloads), env)
    assert run.rc != 0 and "AuthorizationPermissionMismatch" in run.failure_messages, run

    chain.grant("id-reports", "reports", BLOB_CONTRIBUTOR)
    run = run_playbook(tmp_path, chain.workload_tasks(workloads) + [
        {"name": "results", "ansible.builtin.debug": {"var": "workload_validation_results"}}], env)
    assert run.rc == 0, run
    assert list(run.result("results")["workload_validation_results"].values()) == ["complete"]
    outcomes = [d["outcome"] for d in sandbox.call("GET", "/kubelet/decisions")["decisions"]]
    assert outcomes == ["failed", "succeeded"]


def test_workload_check_mode_before_the_namespaces_exist(sandbox, tmp_path, installed):
    """--check on a cluster without the workloads' namespaces: reports what it would create, creates nothing."""
    chain = installed.healthy()
    env = env_for(sandbox, tmp_path)
    run = run_playbook(tmp_path, chain.workload_tasks(), env, check=True)
    assert run.rc == 0, run
    assert run.stats["changed"] >= 1
    report = next((r for name, r in run.results.items() if "Objects that would be created" in name), None)
    assert report, list(run.results)
    assert "ServiceAccount/reports/reports-writer" in report["msg"] and "Job/archive/" in report["msg"]
    run = run_playbook(tmp_path, [{"name": "ns", "kubernetes.core.k8s_info": {
        "kind": "Namespace", "name": "reports", "kubeconfig": str(chain.kubeconfig)}, "register": "ns"}], env)
    assert run.result("ns")["resources"] == []


def test_a_changed_size_resizes_the_volume_never_the_static_claim(sandbox, tmp_path, installed):
    """The API server refuses to resize a claim that was not dynamically provisioned (403), so volume.size goes to
    the PersistentVolume's capacity and the claim keeps the size it was created with."""
    chain = installed.healthy()
    env = env_for(sandbox, tmp_path)
    assert run_playbook(tmp_path, chain.workload_tasks(), env).rc == 0
    bigger = [dict(w, volume={"size": "20Gi"}) for w in chain.workloads()]
    run = run_playbook(tmp_path, chain.workload_tasks(bigger), env)
    assert run.rc == 0, run
    import kubernetes
    core = kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(chain.kubeconfig)))
    assert core.read_persistent_volume("pv-reports-reports").spec.capacity["storage"] == "20Gi"
    claim = core.read_namespaced_persistent_volume_claim("reports-blob", "reports")
    assert claim.spec.resources.requests["storage"] == "10Gi" and claim.status.phase == "Bound"
    again = run_playbook(tmp_path, chain.workload_tasks(bigger), env)
    assert again.rc == 0 and again.stats["changed"] == 0, again
