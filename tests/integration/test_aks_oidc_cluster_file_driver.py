"""keyless.aks_storage.aks_oidc_cluster's file_driver against the sandbox: the AKS-managed Azure Files CSI driver
turned off (its CSIDriver leaves the cluster), the guard listing the file.csi.azure.com volumes that would be
affected (read-only, with the cluster's credentials), file_driver_disruption_ok, and the default leaving it alone."""

import kubernetes
import pytest

from .playbook import run_playbook
from . import sdk

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
RG = "rg-aks-files"
FILE_DRIVER = "file.csi.azure.com"
OURS = {"app.kubernetes.io/managed-by": "keyless.aks_storage"}


def aks_task(register="out", **options):
    args = {"resource_group": RG, "name": "aks-files"}
    args.update(options)
    return {"name": register, "keyless.aks_storage.aks_oidc_cluster": args, "register": register}


def live(sandbox, name="aks-files"):
    return sdk.containerservice_client(sandbox.conn).managed_clusters.get(RG, name).as_dict()["properties"]


@pytest.fixture
def cluster(sandbox, tmp_path):
    """A converged keyless cluster with the managed Files driver on (the AKS default), and Kubernetes clients."""
    sdk.create_resource_group(sandbox.conn, RG)
    sdk.create_cluster(sandbox.conn, RG, "aks-files", oidc=True, workload_identity=True)
    kubeconfig = tmp_path / "kube.yaml"
    run = run_playbook(tmp_path, [aks_task(kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.rc == 0, run
    # the default (unmanaged) leaves the managed Files driver on
    assert run.result("out")["managed_file_driver_enabled"] is True
    assert "managed_file_driver" not in run.result("out")["changes"]
    assert live(sandbox)["storageProfile"]["fileCSIDriver"]["enabled"] is True
    api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    return kubernetes.client.CoreV1Api(api), kubernetes.client.StorageV1Api(api)


def csidriver_names(cluster):
    return {d.metadata.name for d in cluster[1].list_csi_driver().items}


def add_pv(cluster, name, attributes, labels=None, claim=("apps", "legacy")):
    cluster[0].create_persistent_volume({"metadata": {"name": name, "labels": labels or {}}, "spec": {
        "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"], "persistentVolumeReclaimPolicy": "Retain",
        "claimRef": {"namespace": claim[0], "name": claim[1]},
        "csi": {"driver": FILE_DRIVER, "volumeHandle": "rg#stacc#%s#" % name, "volumeAttributes": attributes}}})


def test_oss_turns_the_managed_driver_off_then_no_op(sandbox, cluster, tmp_path):
    assert FILE_DRIVER in csidriver_names(cluster)
    add_pv(cluster, "pv-ours", {"shareName": "reports", "mountWithWorkloadIdentityToken": "true"}, OURS)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(file_driver="oss")], sandbox.env(), diff=True)
    assert run.rc == 0, run
    out = run.result("out")
    assert out["changes"] == ["managed_file_driver"] and out["managed_file_driver_enabled"] is False
    assert out["diff"]["before"]["managed_file_driver"] is True and out["diff"]["after"]["managed_file_driver"] is False
    delta = sandbox.counters_delta(before)
    assert delta["by_type"][CLUSTER_TYPE]["writes"] == 1
    assert delta["kubernetes"]["reads"] >= 2  # the guard listed volumes and classes
    assert live(sandbox)["storageProfile"]["fileCSIDriver"]["enabled"] is False
    assert FILE_DRIVER not in csidriver_names(cluster)

    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(file_driver="oss")], sandbox.env())
    assert run.rc == 0 and run.result("out")["changed"] is False, run
    delta = sandbox.counters_delta(before)
    assert delta["writes"] == 0 and delta["kubernetes"]["reads"] == 0  # no guard without a change

    # managed turns it back on and AKS writes its CSIDriver again
    run = run_playbook(tmp_path, [aks_task(file_driver="managed")], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["managed_file_driver"], run
    assert FILE_DRIVER in csidriver_names(cluster)


def test_guard_lists_affected_volumes_and_writes_nothing(sandbox, cluster, tmp_path):
    add_pv(cluster, "pv-legacy", {"shareName": "legacy-share", "storageAccount": "stlegacy"})
    add_pv(cluster, "pv-ours", {"shareName": "reports", "mountWithWorkloadIdentityToken": "true"}, OURS,
           claim=("reports", "reports"))
    cluster[1].create_storage_class({"metadata": {"name": "team-files"}, "provisioner": FILE_DRIVER,
                                     "parameters": {"skuName": "Standard_LRS"}})
    for check in (False, True):
        before = sandbox.counters()
        run = run_playbook(tmp_path, [aks_task(file_driver="oss")], sandbox.env(), check=check)
        assert run.rc != 0, run
        message = run.result("out")["msg"]
        assert ("turns off the AKS-managed Azure Files CSI driver of cluster aks-files, which these use: "
                "PersistentVolume pv-legacy (claim apps/legacy, share legacy-share); StorageClass team-files. "
                "Existing mounts stay, but new mounts and unmounts") in message, run
        assert "pv-ours" not in message and "file_driver_disruption_ok: true" in message
        assert sandbox.counters_delta(before)["writes"] == 0
    assert live(sandbox)["storageProfile"]["fileCSIDriver"]["enabled"] is True
    assert FILE_DRIVER in csidriver_names(cluster)

    run = run_playbook(tmp_path, [aks_task(file_driver="oss", file_driver_disruption_ok=True)], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["managed_file_driver"], run
    assert FILE_DRIVER not in csidriver_names(cluster)
    assert {pv.metadata.name for pv in cluster[0].list_persistent_volume().items} == {"pv-legacy", "pv-ours"}


def test_guard_fails_closed_when_the_cluster_cannot_be_read(sandbox, cluster, tmp_path):
    sandbox.add_fault(method="POST", path="listclusterusercredential", status=403, code="AuthorizationFailed",
                      message="The client does not have authorization to perform action "
                              "'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action'.",
                      count=1)
    before = sandbox.counters()
    run = run_playbook(tmp_path, [aks_task(file_driver="oss")], sandbox.env())
    assert run.rc != 0
    message = run.result("out")["msg"]
    assert "which volumes use it could not be read" in message and "AuthorizationFailed" in message, run
    assert "nothing was changed" in message
    assert sandbox.counters_delta(before)["writes"] == 0 and live(sandbox)["storageProfile"]["fileCSIDriver"]["enabled"]
    sandbox.add_fault(method="POST", path="listclusterusercredential", status=403, code="AuthorizationFailed",
                      message="denied", count=1)
    run = run_playbook(tmp_path, [aks_task(file_driver="oss", file_driver_disruption_ok=True)], sandbox.env())
    assert run.rc == 0 and run.result("out")["changes"] == ["managed_file_driver"], run


def test_create_with_oss_has_no_managed_files_driver(sandbox, tmp_path):
    sdk.create_resource_group(sandbox.conn, RG)
    kubeconfig = tmp_path / "new.yaml"
    run = run_playbook(tmp_path, [aks_task(name="aks-new", create=True, location="westeurope", file_driver="oss",
                                           kubeconfig_path=str(kubeconfig))], sandbox.env())
    assert run.rc == 0, run
    assert run.result("out")["managed_file_driver_enabled"] is False
    assert live(sandbox, "aks-new")["storageProfile"]["fileCSIDriver"]["enabled"] is False
    api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    assert FILE_DRIVER not in {d.metadata.name for d in kubernetes.client.StorageV1Api(api).list_csi_driver().items}
    # a default create keeps the AKS default (on)
    run = run_playbook(tmp_path, [aks_task(name="aks-default", create=True, location="westeurope")], sandbox.env())
    assert run.rc == 0 and run.result("out")["managed_file_driver_enabled"] is True, run
