"""Role azurefile_csi_driver against the sandbox (ARM, the AKS API server and the helm stand-in's azurefile chart).

The role shares its implementation with blob_csi_driver (internal role csi_driver); these tests check what differs
for Azure Files: the 1.35.3 floor (token-only SMB mounts from driver 1.35.0, requiresRepublish in the chart's
CSIDriver from 1.35.3, docs/research/azure-files.md), a CSIDriver without expirationSeconds accepted, the Files
values rules, and the AKS-managed Files driver refused.
"""

import base64

import kubernetes
import pytest

from . import sdk
from .playbook import run_playbook

RG = "rg-files"
CLUSTER = "aks-files"
DRIVER = "file.csi.azure.com"
TOO_OLD = ("azurefile_csi_driver_chart_version 1.34.8 cannot mount Azure Files with a workload identity token alone: "
           "token-only SMB mounts (mountWithWorkloadIdentityToken) need driver 1.35.0, and the chart's CSIDriver "
           "refreshes the token (requiresRepublish) from 1.35.3. Use 1.35.3 or newer.")
NO_REPUBLISH_CHART = ("azurefile_csi_driver_chart_version 1.35.2 is older than 1.35.3: the chart's CSIDriver has no "
                      "requiresRepublish before 1.35.3")
MANAGED = "The AKS-managed Azure Files CSI driver is enabled on this cluster"
FIX = "keyless.aks_storage.aks_oidc_cluster with file_driver: oss, or az aks update --disable-file-driver"


class FilesCluster:
    """An OIDC cluster with a kubeconfig, its AKS-managed Files driver on or off (storageProfile.fileCSIDriver)."""

    def __init__(self, sandbox, tmp_path, managed_file_driver=False):
        self.sandbox, self.conn = sandbox, sandbox.conn
        sdk.create_resource_group(self.conn, RG)
        client = sdk.containerservice_client(self.conn)
        client.managed_clusters.begin_create_or_update(RG, CLUSTER, {
            "location": "westeurope", "identity": {"type": "SystemAssigned"}, "properties": {
                "dnsPrefix": CLUSTER, "kubernetesVersion": "1.33.2",
                "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System",
                                       "osType": "Linux", "type": "VirtualMachineScaleSets"}],
                "oidcIssuerProfile": {"enabled": True}, "securityProfile": {"workloadIdentity": {"enabled": True}},
                "storageProfile": {"blobCSIDriver": {"enabled": False},
                                   "fileCSIDriver": {"enabled": managed_file_driver}}}}).result()
        value = client.managed_clusters.list_cluster_user_credentials(RG, CLUSTER).kubeconfigs[0].value
        self.kubeconfig = tmp_path / "kubeconfig.yaml"
        self.kubeconfig.write_bytes(value if isinstance(value, bytes) else base64.b64decode(value))
        self.kubeconfig.chmod(0o600)
        self.env = dict(sandbox.env(), TMPDIR=str(tmp_path))  # kubernetes.core's discovery cache, per test
        self.tmp_path = tmp_path

    def api(self, cls):
        return cls(kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig)))

    def run(self, **overrides):
        variables = {"azurefile_csi_driver_kubeconfig": str(self.kubeconfig),
                     "azurefile_csi_driver_helm_binary": self.conn["helm_binary"],
                     "azurefile_csi_driver_ready_timeout": 30, "azurefile_csi_driver_ready_delay": 1}
        variables.update(overrides)
        return run_playbook(self.tmp_path, [
            {"name": "driver", "ansible.builtin.include_role": {"name": "keyless.aks_storage.azurefile_csi_driver"},
             "vars": variables},
            {"name": "release", "ansible.builtin.debug": {"var": "azurefile_csi_driver_release"}}], self.env)

    def release_revisions(self):
        secrets = self.api(kubernetes.client.CoreV1Api).list_namespaced_secret(
            "kube-system", label_selector="owner=helm,name=azurefile-csi-driver").items
        return sorted(int(s.metadata.labels["version"]) for s in secrets)

    def kubernetes_writes_during(self, run, **overrides):
        before = self.sandbox.counters()
        result = run(**overrides)
        return result, self.sandbox.counters_delta(before)["kubernetes"]["writes"]


def test_1_35_7_installs_checks_the_csidriver_and_waits_then_reruns_without_change(sandbox, tmp_path):
    cluster = FilesCluster(sandbox, tmp_path)
    run = cluster.run()
    assert run.rc == 0, run
    assert run.stats["changed"] >= 1
    release = run.result("release")["azurefile_csi_driver_release"]
    assert release["status"]["status"] == "deployed" and release["status"]["chart"] == "azurefile-csi-driver-1.35.7"
    spec = cluster.api(kubernetes.client.StorageV1Api).read_csi_driver(DRIVER).spec
    # the chart's CSIDriver: the audience without expirationSeconds (the TokenRequest default), republish on
    assert [(t.audience, t.expiration_seconds) for t in spec.token_requests] == [("api://AzureADTokenExchange", None)]
    assert spec.requires_republish is True
    apps = cluster.api(kubernetes.client.AppsV1Api)
    node = apps.read_namespaced_daemon_set("csi-azurefile-node", "kube-system").status
    assert (node.desired_number_scheduled, node.number_ready) == (1, 1)
    controller = apps.read_namespaced_deployment("csi-azurefile-controller", "kube-system")
    assert (controller.spec.replicas, controller.status.ready_replicas) == (2, 2)
    assert cluster.release_revisions() == [1]

    again, writes = cluster.kubernetes_writes_during(cluster.run)
    assert again.rc == 0 and again.stats["changed"] == 0, again
    assert writes == 0 and cluster.release_revisions() == [1]  # no helm upgrade


@pytest.mark.parametrize("overrides,message", [
    ({"azurefile_csi_driver_chart_version": "1.34.8"}, TOO_OLD),
    ({"azurefile_csi_driver_chart_version": "1.35.2"}, NO_REPUBLISH_CHART),
    ({"azurefile_csi_driver_chart_version": "v1.35"},
     "azurefile_csi_driver_chart_version 'v1.35' is not a semantic version"),
    ({"azurefile_csi_driver_values": {"feature": {"requiresRepublish": False}}},
     "azurefile_csi_driver_values: feature.requiresRepublish is false: the chart's CSIDriver would not ask the "
     "kubelet to republish the volumes"),
    ({"azurefile_csi_driver_values": {"node": {"enableManagedIdentityAuth": "false"}}},
     "azurefile_csi_driver_values: node.enableManagedIdentityAuth is false: the node DaemonSet loses the "
     "azfilesrefresh sidecar"),
    ({"azurefile_csi_driver_values": {"linux": {"enabled": False}}},
     "azurefile_csi_driver_values: linux.enabled is false: the chart renders no Linux node DaemonSet"),
    ({"azurefile_csi_driver_cluster": {"managed_file_driver_enabled": True}}, MANAGED),
], ids=["1.34.8", "1.35.2", "garbage version", "republish off", "managed identity auth off", "linux off",
        "cluster result: managed Files driver on"])
def test_refused_before_anything_is_installed(sandbox, tmp_path, overrides, message):
    cluster = FilesCluster(sandbox, tmp_path)
    run, writes = cluster.kubernetes_writes_during(cluster.run, **overrides)
    assert run.rc != 0 and message in run.failure_messages, run
    assert writes == 0 and cluster.release_revisions() == []
    if message == MANAGED:
        assert FIX in run.failure_messages


def test_the_aks_managed_files_driver_on_the_cluster_is_refused(sandbox, tmp_path):
    """No cluster result given: the live CSIDriver's AKS add-on labels say the managed driver is installed."""
    cluster = FilesCluster(sandbox, tmp_path, managed_file_driver=True)
    run, writes = cluster.kubernetes_writes_during(cluster.run)
    assert run.rc != 0
    assert ("CSIDriver file.csi.azure.com carries AKS add-on labels: the AKS-managed Azure Files driver is installed"
            in run.failure_messages), run
    assert "az aks update --disable-file-driver" in run.failure_messages
    assert writes == 0 and cluster.release_revisions() == []


def test_a_1_35_2_chart_let_through_fails_the_csidriver_check(sandbox, tmp_path):
    """With the floor lowered, chart 1.35.2 installs; its CSIDriver has no requiresRepublish, and the role says
    what that does to a token that carries no expirationSeconds (the API server stores the absent field as false)."""
    cluster = FilesCluster(sandbox, tmp_path)
    run = cluster.run(azurefile_csi_driver_chart_version="1.35.2", azurefile_csi_driver_minimum_version="1.35.0")
    assert run.rc != 0
    assert ("CSIDriver file.csi.azure.com has requiresRepublish False: the token of 3600 s (the TokenRequest default: "
            "the request sets no expirationSeconds) is never refreshed, so mounts lose access to the share when it "
            "expires") in run.failure_messages, run
    assert cluster.release_revisions() == [1]


def test_a_node_daemonset_no_node_matches_names_the_files_chart_values(sandbox, tmp_path):
    """The Files chart schedules its Linux node DaemonSet from linux.* (not node.* like the blob chart)."""
    cluster = FilesCluster(sandbox, tmp_path)
    run = cluster.run(azurefile_csi_driver_values={"linux": {"nodeSelector": {"storage.example.com/files": "yes"}}},
                      azurefile_csi_driver_ready_retries=50, azurefile_csi_driver_ready_delay=0)
    assert run.rc != 0
    assert ("DaemonSet kube-system/csi-azurefile-node has 0 desired pods: no node matches it."
            in run.failure_messages), run
    assert "so Azure Files volumes cannot mount anywhere" in run.failure_messages
    assert "linux.tolerations in azurefile_csi_driver_values" in run.failure_messages
    wait = next(r for name, r in run.results.items() if "until its pods are ready" in name)
    assert wait.get("attempts", 1) == 1, wait
