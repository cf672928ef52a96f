"""aks_oidc_cluster's file_driver: the plan, and which Azure Files volumes the guard lists (no requests)."""

from ansible_collections.keyless.aks_storage.plugins.module_utils import file_driver_guard as guard
from ansible_collections.keyless.aks_storage.plugins.modules import aks_oidc_cluster as aks

OURS = {"app.kubernetes.io/managed-by": "keyless.aks_storage"}


def params(**extra):
    base = dict(resource_group="rg", name="aks", oidc_issuer=True, workload_identity=True, blob_driver="oss",
                file_driver="unmanaged", create=False, location="westeurope", dns_prefix=None,
                kubernetes_version=None, node_count=1, vm_size="Standard_D2s_v5", user_assigned_identity=None,
                reconcile_failed=False, force=False, wait_timeout=1800, state="present")
    base.update(extra)
    return base


def cluster(file_driver=None):
    storage = {"blobCSIDriver": {"enabled": False}}
    if file_driver is not None:
        storage["fileCSIDriver"] = {"enabled": file_driver}
    return {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
            "name": "aks", "location": "westeurope",
            "properties": {"provisioningState": "Succeeded", "currentKubernetesVersion": "1.33.2",
                           "oidcIssuerProfile": {"enabled": True, "issuerURL": "https://issuer/"},
                           "securityProfile": {"workloadIdentity": {"enabled": True}}, "storageProfile": storage}}


def test_absent_file_driver_setting_means_on():
    assert aks.file_driver_enabled(cluster()) is True and aks.file_driver_enabled(cluster(False)) is False


def test_oss_turns_the_managed_driver_off_and_unmanaged_leaves_it():
    planned = aks.plan(params(file_driver="oss"), cluster())
    assert planned["changes"] == ["managed_file_driver"] and aks.turns_file_driver_off(planned)
    assert planned["body"]["properties"]["storageProfile"]["fileCSIDriver"] == {"enabled": False}
    assert planned["before"]["managed_file_driver"] is True and planned["after"]["managed_file_driver"] is False
    assert aks.plan(params(file_driver="oss"), cluster(False))["action"] is None
    unmanaged = aks.plan(params(), cluster())
    assert unmanaged["action"] is None and "managed_file_driver" not in unmanaged["before"]
    managed = aks.plan(params(file_driver="managed"), cluster(False))
    assert managed["changes"] == ["managed_file_driver"] and not aks.turns_file_driver_off(managed)


def test_create_with_oss_has_the_driver_off_and_unmanaged_takes_the_aks_default():
    body = aks.plan(params(file_driver="oss", create=True), None)["body"]
    assert body["properties"]["storageProfile"]["fileCSIDriver"] == {"enabled": False}
    body = aks.plan(params(create=True), None)["body"]
    assert "fileCSIDriver" not in body["properties"]["storageProfile"]


def pv(name, attributes, labels=None, claim=("apps", "data"), handle="rg#stacc#share1#"):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"claimRef": {"namespace": claim[0], "name": claim[1]} if claim else None,
                     "csi": {"driver": "file.csi.azure.com", "volumeHandle": handle, "volumeAttributes": attributes}}}


def test_affected_volumes_skip_our_token_only_ones():
    volumes = [pv("pv-key", {"shareName": "reports"}),
               pv("pv-ours", {"shareName": "x", "mountWithWorkloadIdentityToken": "true"}, OURS),
               pv("pv-ours-legacy", {"sharename": "y", "clientID": "c"}, OURS, claim=None),
               pv("pv-theirs-token", {"MountWithWorkloadIdentityToken": "true"}),
               {"metadata": {"name": "pv-blob"}, "spec": {"csi": {"driver": "blob.csi.azure.com"}}},
               {"metadata": {"name": "pv-host"}, "spec": {"hostPath": {"path": "/x"}}}]
    assert guard.affected_volumes(volumes) == [
        "PersistentVolume pv-key (claim apps/data, share reports)",
        "PersistentVolume pv-ours-legacy (claim none, share y)",
        "PersistentVolume pv-theirs-token (claim apps/data, share share1)"]


def test_affected_classes_apart_from_aks_ones():
    classes = [{"metadata": {"name": "azurefile-csi", "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
                "provisioner": "file.csi.azure.com"},
               {"metadata": {"name": "team-files"}, "provisioner": "file.csi.azure.com"},
               {"metadata": {"name": "ours", "labels": OURS}, "provisioner": "file.csi.azure.com",
                "parameters": {"mountWithWorkloadIdentityToken": "true"}},
               {"metadata": {"name": "blob"}, "provisioner": "blob.csi.azure.com"}]
    assert guard.affected_classes(classes) == (["team-files"], ["azurefile-csi"])


def test_refusal_lists_and_says_how_to_proceed():
    message = guard.refusal("aks", ["PersistentVolume pv-key (claim apps/data, share reports)"], ["team-files"]).msg
    assert message.startswith("file_driver=oss turns off the AKS-managed Azure Files CSI driver of cluster aks, which "
                              "these use: PersistentVolume pv-key (claim apps/data, share reports); StorageClass "
                              "team-files. Existing mounts stay")
    assert "file_driver_disruption_ok: true" in message and "inferred" in message
