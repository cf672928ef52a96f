"""Filters of keyless dynamic provisioning: the provisioner role and its assignments, the controller's own identity,
the StorageClass rules of the preflight, and the claim waits and conflicts of the workload role."""

from ansible_collections.keyless.aks_storage.plugins.filter import chain, manifests, preflight, validation
from ansible_collections.keyless.aks_storage.plugins.module_utils import provisioner, rbac

STATIC = {"name": "reports", "namespace": "reports", "service_account": "writer", "storage_account": "st1",
          "resource_group": "rg-st", "container": "reports", "identity": {"name": "id-a"}}
DYNAMIC = dict(STATIC, name="scratch", container="scratch", storage_class={"name": "blob-keyless"})
OTHER_ACCOUNT = dict(DYNAMIC, name="logs", storage_account="st2", storage_class={"name": "blob-logs"})


def test_the_provisioner_role_can_create_and_delete_containers_but_never_list_keys_or_touch_data():
    role = chain.provisioner_role_definition("00000000-0000-0000-0000-000000000001")
    assert role["name"] == "Keyless Blob CSI Provisioner"
    assert role["assignable_scopes"] == ["/subscriptions/00000000-0000-0000-0000-000000000001"]
    permissions = [{"actions": role["actions"], "notActions": role["not_actions"],
                    "dataActions": role["data_actions"], "notDataActions": role["not_data_actions"]}]
    assert rbac.permits(permissions, action=provisioner.CREATE_ACTION)
    assert rbac.permits(permissions, action=provisioner.DELETE_ACTION)
    assert not rbac.permits(permissions, action=rbac.LIST_KEYS_ACTION)
    assert not rbac.permits(permissions, action="Microsoft.Storage/storageAccounts/write")
    assert not any(rbac.permits(permissions, data_action=a) for a in (
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"))
    assert "assignable_scopes" not in chain.provisioner_role_definition(None)


def test_the_provisioner_role_is_assigned_once_per_account_a_storage_class_points_at():
    got = chain.provisioner_assignments([STATIC, DYNAMIC, dict(DYNAMIC, name="again"), OTHER_ACCOUNT], "p-kubelet")
    assert got == [{"storage_account": "st1", "resource_group": "rg-st", "role": provisioner.ROLE_NAME,
                    "principal_id": "p-kubelet"},
                   {"storage_account": "st2", "resource_group": "rg-st", "role": provisioner.ROLE_NAME,
                    "principal_id": "p-kubelet"}]
    assert chain.provisioner_assignments([STATIC], "p") == []


def test_the_controllers_own_identity_is_federated_for_its_service_account():
    assert chain.controller_workloads(None) == []
    [item] = chain.controller_workloads({"name": "id-csi"})
    assert (item["namespace"], item["service_account"]) == ("kube-system", "csi-blob-controller-sa")
    creds = chain.federated_credentials([item], {"resource_group": "rg-id", "name": "id-csi"}, "rg-id",
                                        "https://issuer/", "aks-a")
    assert [(c["namespace"], c["service_account"]) for c in creds] == [("kube-system", "csi-blob-controller-sa")]


def problems(**storage_class):
    return preflight.workload_problems([dict(DYNAMIC, storage_class=dict({"name": "blob-keyless"}, **storage_class))],
                                       {"id-a": "11111111-1111-1111-1111-111111111111"})


def test_storage_class_parameters_that_store_or_use_a_key_or_create_an_account_are_refused_by_name():
    assert problems() == [] and problems(reclaim_policy="Delete") == []
    assert problems(parameters={"mountPermissions": "0750", "fsGroupChangePolicy": "None"}) == []
    refused = problems(parameters={"storeAccountKey": "true", "useDataPlaneAPI": "true", "skuName": "Standard_LRS",
                                   "allowSharedKeyAccess": "true", "clientID": "x"})
    text = " | ".join(refused)
    for key in ("storeAccountKey", "useDataPlaneAPI", "skuName", "allowSharedKeyAccess", "clientID"):
        assert "storage_class.parameters.%s" % key in text
    assert "store, list or use an account key" in text and "set by the role" in text
    assert any("reclaim_policy must be Retain or Delete" in p for p in problems(reclaim_policy="Recycle"))


def test_the_controller_identity_setting_is_checked_before_anything_runs():
    assert preflight.controller_identity_problems(None) == []
    assert preflight.controller_identity_problems({"name": "id-csi"}) == []
    assert "keyless_blob_csi_controller_identity must be a dict" in preflight.controller_identity_problems("id")[0]
    assert any("keyless_blob_csi_controller_identity.client_id is not an option" in p
               for p in preflight.controller_identity_problems({"name": "id-csi", "client_id": "x"}))


def claim(name, namespace="scratch", phase="Pending"):
    return {"metadata": {"name": name, "namespace": namespace}, "status": {"phase": phase}}


def event(name, reason, message, stamp, namespace="scratch"):
    return {"metadata": {"namespace": namespace}, "involvedObject": {"kind": "PersistentVolumeClaim", "name": name},
            "reason": reason, "message": message, "lastTimestamp": stamp}


def test_unbound_claims_are_reported_with_the_drivers_latest_error():
    rendered = [{"kind": "PersistentVolumeClaim", "metadata": {"name": "scratch-blob", "namespace": "scratch"},
                 "spec": {"storageClassName": "blob-keyless"}},
                {"kind": "PersistentVolumeClaim", "metadata": {"name": "reports-blob", "namespace": "reports"},
                 "spec": {"storageClassName": "", "volumeName": "pv-reports"}}]
    expected = validation.dynamic_claims(rendered)
    assert expected == ["scratch/scratch-blob"]
    assert validation.unbound_claims([claim("scratch-blob", phase="Bound")], expected) == []
    unbound = validation.unbound_claims([claim("scratch-blob")], expected)
    events = [event("scratch-blob", "ExternalProvisioning", "Waiting for a volume", "2026-01-01T00:00:03Z"),
              event("scratch-blob", "ProvisioningFailed", "old AuthorizationFailed", "2026-01-01T00:00:01Z"),
              event("scratch-blob", "ProvisioningFailed", "new AuthorizationFailed", "2026-01-01T00:00:02Z"),
              event("scratch-blob", "ProvisioningFailed", "elsewhere", "2026-01-01T00:00:09Z", namespace="other")]
    assert validation.claim_problems(unbound, events) == [
        "claim scratch/scratch-blob is not bound: ProvisioningFailed new AuthorizationFailed"]
    assert validation.claim_problems(unbound, events[:1]) == [
        "claim scratch/scratch-blob is not bound: ExternalProvisioning Waiting for a volume"]
    assert validation.claim_problems(unbound, []) == ["claim scratch/scratch-blob is not bound (no event)"]


def test_a_changed_storage_class_is_a_conflict_and_its_volumes_are_found_by_claim():
    rendered = [{"kind": "StorageClass", "metadata": {"name": "blob-keyless"}, "provisioner": "blob.csi.azure.com",
                 "parameters": {"clientID": "new"}, "reclaimPolicy": "Retain"}]
    live = [dict(rendered[0], parameters={"clientID": "old"}, reclaimPolicy="Delete")]
    assert manifests.class_conflicts(rendered, live) == ["blob-keyless: parameters, reclaimPolicy"]
    assert manifests.class_conflicts(rendered, rendered) == [] and manifests.class_conflicts(rendered, []) == []
    pvs = [{"metadata": {"name": "pvc-1"}, "spec": {"claimRef": {"namespace": "scratch", "name": "scratch-blob"}}},
           {"metadata": {"name": "pv-static"}, "spec": {"claimRef": {"namespace": "reports", "name": "reports-blob"}}},
           {"metadata": {"name": "pv-free"}, "spec": {}}]
    assert [pv["metadata"]["name"] for pv in manifests.claim_volumes(pvs, ["scratch/scratch-blob"])] == ["pvc-1"]


def test_an_existing_dynamic_claim_keeps_its_size_too():
    rendered = [{"kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"},
                 "spec": {"storageClassName": "blob-keyless", "resources": {"requests": {"storage": "20Gi"}}}}]
    live = [{"kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"},
             "spec": {"storageClassName": "blob-keyless", "resources": {"requests": {"storage": "10Gi"}}}}]
    kept = manifests.keep_claim_sizes(rendered, live)
    assert kept[0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
