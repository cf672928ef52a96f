"""Filters of the chain for type file (Azure Files) workloads: data roles, shares and SMB OAuth on the accounts, the
Files driver version the workload role accepts, and the preflight rules of a file workload."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.filter import chain, preflight, validation

BLOB = {"name": "reports", "namespace": "reports", "service_account": "writer", "storage_account": "st1",
        "resource_group": "rg-st", "container": "reports", "access": "readwrite", "identity": {"name": "id-a"}}
DOCS = {"name": "docs", "namespace": "docs", "service_account": "docs-writer", "type": "file", "storage_account": "st1",
        "resource_group": "rg-st", "share": "docs", "access": "readwrite", "identity": {"name": "id-d"},
        "volume": {"size": "5Gi"}}
DOCS_READER = dict(DOCS, name="docs-reader", service_account="docs-reader", access="read", volume={"size": "1500Mi"})
MANUALS = dict(DOCS, name="manuals", share="manuals", storage_account="st2", volume={})


def test_file_workloads_get_the_smb_mi_role_at_the_account_once_per_identity_and_account():
    got = chain.data_role_assignments([BLOB, DOCS, DOCS_READER, MANUALS], {"rg-id/id-a": "pa", "rg-id/id-d": "pd"},
                                      "rg-id")
    assert got == [
        {"storage_account": "st1", "resource_group": "rg-st", "container": "reports",
         "role": "Storage Blob Data Contributor", "principal_id": "pa"},
        # read and readwrite alike: no read-only MI role exists, the read-only mount keeps a reader read-only
        {"storage_account": "st1", "resource_group": "rg-st", "role": "Storage File Data SMB MI Admin",
         "principal_id": "pd"},
        {"storage_account": "st2", "resource_group": "rg-st", "role": "Storage File Data SMB MI Admin",
         "principal_id": "pd"}]


def test_accounts_get_the_shares_of_their_file_workloads_and_smb_oauth():
    accounts = [{"name": "st1", "file_shares": [{"name": "docs", "quota": 50, "access_tier": "Hot"}]},
                {"name": "st2"}, {"name": "st3", "containers": ["logs"]}]
    got = chain.storage_account_items(accounts, [BLOB, DOCS, DOCS_READER, MANUALS], "20Gi")
    assert got == [
        # the explicit share wins over the derived one; file workloads add no container
        {"name": "st1", "containers": ["reports"], "file_shares": [{"name": "docs", "quota": 50, "access_tier": "Hot"}],
         "smb_oauth": True},
        # no size: the default size, in GiB
        {"name": "st2", "containers": [], "file_shares": [{"name": "manuals", "quota": 20}], "smb_oauth": True},
        {"name": "st3", "containers": ["logs"]}]


def test_a_derived_share_quota_is_the_volume_size_in_whole_gib_rounded_up():
    assert chain.account_shares([DOCS_READER], "st1") == [{"name": "docs", "quota": 2}]
    assert [chain.share_quota(size) for size in ("5Gi", "1Ti", "10G", "1", "500Mi")] == [5, 1024, 10, 1, 1]


def test_blob_only_accounts_are_unchanged():
    assert chain.storage_account_items([{"name": "st1"}], [BLOB]) == [{"name": "st1", "containers": ["reports"]}]
    assert chain.account_containers([BLOB, DOCS], "st1") == ["reports"]


def daemonset(image, container="azurefile"):
    return [{"spec": {"template": {"spec": {"containers": [{"name": "liveness-probe", "image": "lp:v2.19.0"},
                                                           {"name": container, "image": image}]}}}}]


@pytest.mark.parametrize("image", ["mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.35.7",
                                   "registry.local:5000/azurefile-csi:v1.35.0", "azurefile-csi:1.36.0-rc.1"])
def test_file_driver_from_1_35_0_is_accepted(image):
    assert validation.file_driver_problem(daemonset(image)) is None


def test_file_driver_problems_name_the_reason():
    old = validation.file_driver_problem(daemonset("mcr.microsoft.com/oss/v2/kubernetes-csi/azurefile-csi:v1.34.8"))
    assert old.startswith("the Azure Files CSI driver 1.34.8 (DaemonSet kube-system/csi-azurefile-node, image ")
    assert "list the account keys" in old and "keyless.aks_storage.azurefile_csi_driver" in old
    missing = validation.file_driver_problem([])
    assert missing.startswith("the Azure Files CSI driver is not installed (no DaemonSet "
                              "kube-system/csi-azurefile-node)")
    assert "cannot tell" in validation.file_driver_problem(daemonset("azurefile-csi@sha256:abc"))
    assert "cannot tell" in validation.file_driver_problem(daemonset("x:v1.35.7", container="other"))
    assert validation.image_version("host:5000/a/b") is None


def test_preflight_rules_of_a_file_workload():
    def problems(**change):
        return preflight.workload_problems([dict(DOCS, **change)], accounts=["st1"])

    assert problems() == []
    assert problems(share=None) == ["keyless_workloads[0] (docs/docs): share is required for type file"]
    assert problems(protocol="smb") == []
    assert any("protocol nfs is refused" in p for p in problems(protocol="nfs"))
    assert any("storage_class with type file is refused" in p for p in problems(storage_class={"name": "sc"}))
    weak = problems(volume={"mount_options": ["vers=3.0", "vers=2.1", "nobrl,sec=ntlmv2", "cred=/x"]})
    assert [p.split(": ")[1] for p in weak] == ["volume.mount_options vers=2.1 is refused",
                                                "volume.mount_options sec=ntlmv2 is refused",
                                                "volume.mount_options cred=/x is refused"]
    # a blob workload keeps its container rule
    assert preflight.workload_problems([dict(BLOB, container=None)]) == [
        "keyless_workloads[0] (reports/reports): container is required for type blob"]


def test_data_role_keys_tell_a_share_role_from_a_container_role():
    assert chain.data_role_key(BLOB, "rg-id") == ("rg-id", "id-a", "st1", "reports", "Storage Blob Data Contributor")
    assert chain.data_role_key(DOCS, "RG-ID") == ("rg-id", "id-d", "st1", "", "Storage File Data SMB MI Admin")
    assert chain.data_role_key(DOCS_READER, "rg-id") == chain.data_role_key(DOCS, "rg-id")  # one account-scope role


def test_a_file_volume_whose_identity_changed_is_replaced_with_its_claim():
    from ansible_collections.keyless.aks_storage.plugins.filter import manifests

    def pv(client_id, share="docs"):
        return {"kind": "PersistentVolume", "metadata": {"name": "pv-docs-docs"}, "spec": {"csi": {
            "driver": "file.csi.azure.com", "volumeHandle": "rg#st1#%s#pv-docs-docs" % share, "volumeAttributes": {
                "shareName": share, "clientID": client_id, "mountWithWorkloadIdentityToken": "true"}}}}
    claim = {"kind": "PersistentVolumeClaim", "metadata": {"name": "docs-file", "namespace": "docs"},
             "spec": {"volumeName": "pv-docs-docs"}}
    assert manifests.replacements([pv("new"), claim], [pv("new")]) == []
    assert manifests.replacements([pv("new"), claim], [pv("old")]) == [
        {"pv": "pv-docs-docs", "claim": "docs/docs-file", "changed": ["clientID"]}]
    assert manifests.replacements([pv("new", "manuals"), claim], [pv("new")])[0]["changed"] == ["shareName"]
