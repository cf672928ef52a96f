"""The blob CSI external-provisioner emulation: a claim of a blob.csi.azure.com StorageClass is provisioned by the
driver's controller through ARM as the controller identity (kubelet identity, or the driver's own workload identity),
authorised by the emulated role assignments; failures leave the claim Pending with the driver's error; Delete
reclaim deletes the container. Retries count requests, never seconds."""

import uuid

import pytest
from kubernetes.client.exceptions import ApiException
from keyless_chain_helpers import ACCOUNT, CLUSTER, DRIVER, LOCATION, NAMESPACE, RG, ROLES, TOKEN_AUDIENCE, \
    KeylessChain

CONTROLLER_SA = "csi-blob-controller-sa"
WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
DELETE = "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
EXTERNAL = ("Waiting for a volume to be created either by the external provisioner 'blob.csi.azure.com' or manually by "
            "the system administrator. If volume creation is delayed, please verify that the provisioner is running "
            "and correctly registered.")


@pytest.fixture
def chain(sandbox, tmp_path):
    return KeylessChain(sandbox, tmp_path, containers=("reports",)).install_driver()


def kubelet_object_id(chain):
    return chain.aks.managed_clusters.get(RG, CLUSTER).identity_profile["kubeletidentity"].object_id


def assign(chain, principal_id, role="Storage Blob Data Contributor", scope=None):
    name = str(uuid.uuid4())
    chain.auth.role_assignments.create(scope or chain.account.id, name, {"properties": {
        "roleDefinitionId": f"/subscriptions/{chain.conn['subscription_id']}/providers/Microsoft.Authorization/"
                            f"roleDefinitions/{ROLES[role]}",
        "principalId": principal_id, "principalType": "ServicePrincipal"}})
    return f"{scope or chain.account.id}/providers/Microsoft.Authorization/roleAssignments/{name}"


def controller(chain, client_id=None, replicas=1):
    """What the chart stand-in installs for the controller: its ServiceAccount and Deployment."""
    sa = {"metadata": {"name": CONTROLLER_SA}}
    labels = {"app": "csi-blob-controller"}
    template_labels = dict(labels)
    if client_id:
        sa["metadata"]["annotations"] = {"azure.workload.identity/client-id": client_id}
        template_labels["azure.workload.identity/use"] = "true"
    chain.core.create_namespaced_service_account("kube-system", sa)
    chain.apps.create_namespaced_deployment("kube-system", {
        "metadata": {"name": "csi-blob-controller", "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": template_labels}, "spec": {"serviceAccountName": CONTROLLER_SA, "containers": [
                {"name": "csi-provisioner", "image": "mcr.microsoft.com/oss/v2/kubernetes-csi/csi-provisioner:v6.3.0"},
                {"name": "blob", "image": "mcr.microsoft.com/oss/v2/kubernetes-csi/blob-csi:v1.27.9"}]}}}})
    return chain


def storage_class(chain, name="blob-keyless", reclaim="Delete", **extra):
    params = {"storageAccount": ACCOUNT, "resourceGroup": RG, "clientID": chain.identity.client_id,
              "mountWithWorkloadIdentityToken": "true", "protocol": "fuse", **extra}
    chain.storage_k8s.create_storage_class({"metadata": {"name": name}, "provisioner": DRIVER, "parameters": params,
                                            "reclaimPolicy": reclaim, "volumeBindingMode": "Immediate"})
    return name


def claim(chain, name="data", sc="blob-keyless", namespace=NAMESPACE):
    if not chain.core.list_namespace(field_selector=f"metadata.name={namespace}").items:
        chain.core.create_namespace({"metadata": {"name": namespace}})
    chain.core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": sc}})
    return read(chain, name, namespace)


def read(chain, name="data", namespace=NAMESPACE):
    return chain.core.read_namespaced_persistent_volume_claim(name, namespace)


def events(chain, name="data", namespace=NAMESPACE):
    return [(e.reason, e.message) for e in chain.core.list_namespaced_event(namespace).items
            if e.involved_object.name == name]


def failures(chain, name="data"):
    return [m for r, m in events(chain, name) if r == "ProvisioningFailed"]


def counters(sandbox):
    return sandbox.counters()["provisioner"]


def container(chain, name):
    return chain.storage.blob_containers.get(RG, ACCOUNT, name)


def test_binds_with_a_role_for_the_kubelet_identity_and_a_job_mounts_it(sandbox, chain):
    controller(chain)
    assign(chain, kubelet_object_id(chain))           # containers/write (and delete) at the account
    chain.trust().grant(scope=chain.account.id)       # the workload's data role covers the new container
    storage_class(chain)
    pvc = claim(chain)
    uid = pvc.metadata.uid
    pvc = read(chain)
    assert pvc.status.phase == "Bound" and pvc.spec.volume_name == f"pvc-{uid}"
    assert pvc.metadata.annotations["volume.kubernetes.io/storage-provisioner"] == DRIVER
    assert pvc.metadata.annotations["volume.beta.kubernetes.io/storage-provisioner"] == DRIVER
    pv = chain.core.read_persistent_volume(f"pvc-{uid}")
    assert pv.metadata.annotations["pv.kubernetes.io/provisioned-by"] == DRIVER
    assert pv.spec.persistent_volume_reclaim_policy == "Delete" and pv.spec.storage_class_name == "blob-keyless"
    assert pv.spec.capacity == {"storage": "10Gi"} and pv.spec.access_modes == ["ReadWriteMany"]
    assert pv.spec.claim_ref.uid == uid and pv.status.phase == "Bound"
    assert "kubernetes.io/pv-protection" in pv.metadata.finalizers
    attrs = pv.spec.csi.volume_attributes
    assert pv.spec.csi.volume_handle == f"{RG}#{ACCOUNT}#pvc-{uid}##{NAMESPACE}#"
    assert attrs["containername"] == f"pvc-{uid}" and attrs["secretnamespace"] == NAMESPACE
    assert attrs["csi.storage.k8s.io/pvc/name"] == "data" and attrs["csi.storage.k8s.io/pv/name"] == f"pvc-{uid}"
    assert attrs["storage.kubernetes.io/csiProvisionerIdentity"].endswith("-blob.csi.azure.com")
    created = container(chain, f"pvc-{uid}")
    assert created.metadata == {"createdBy": DRIVER} and created.public_access == "None"
    reasons = sorted(r for r, _m in events(chain))   # events list by name, not in time order
    assert reasons == ["ExternalProvisioning", "Provisioning", "ProvisioningSucceeded"], events(chain)
    assert ("Provisioning", f'External provisioner is provisioning volume for claim "{NAMESPACE}/data"') \
        in events(chain)
    assert ("ProvisioningSucceeded", f"Successfully provisioned volume pvc-{uid}") in events(chain)
    assert ("ExternalProvisioning", EXTERNAL) in events(chain)
    event = [e for e in chain.core.list_namespaced_event(NAMESPACE).items if e.reason == "Provisioning"][0]
    assert event.source.component.startswith("blob.csi.azure.com_csi-blob-controller-")

    # The kubelet mounts the dynamic volume like a static one (volumeHandle and lowercase attributes).
    chain.workload("dyn", claim="data")
    assert chain.job("dyn").status.succeeded == 1, chain.events("dyn")
    assert counters(sandbox) == {"volumes_provisioned": 1, "provisioning_failed": 0, "volumes_deleted": 0,
                                 "deletion_failed": 0, "arm_writes": 1, "key_fetches": 0}
    assert sandbox.counters()["list_keys"] == 0

    # A given containerName (an existing container): ARM updates it; the volume id names the volume.
    storage_class(chain, "blob-reports", containerName="reports")
    uid2 = claim(chain, "reports", "blob-reports").metadata.uid
    pv = chain.core.read_persistent_volume(f"pvc-{uid2}")
    assert pv.spec.csi.volume_handle == f"{RG}#{ACCOUNT}#reports#pvc-{uid2}#{NAMESPACE}#"
    assert "containername" not in pv.spec.csi.volume_attributes
    assert pv.spec.csi.volume_attributes["containerName"] == "reports"
    assert container(chain, "reports").metadata == {"createdBy": DRIVER}
    chain.workload("dyn-reports", claim="reports")
    assert chain.job("dyn-reports").status.succeeded == 1, chain.events("dyn-reports")


def test_authorization_failed_until_the_role_is_granted_then_binds_by_request_count(sandbox, chain):
    sandbox.configure(provisioner_retry_requests=5)
    controller(chain)
    storage_class(chain)
    uid = claim(chain).metadata.uid
    oid = kubelet_object_id(chain)
    assert read(chain).status.phase == "Pending"
    [message] = failures(chain)
    scope = f"{chain.account.id}/blobServices/default/containers/pvc-{uid}"
    assert message.startswith(f"rpc error: code = Internal desc = failed to create container(pvc-{uid}) on "
                              f"account({ACCOUNT}) type() rg({RG}) location() size(10), error: PUT https://"), message
    assert "RESPONSE 403: 403 Forbidden\nERROR CODE: AuthorizationFailed\n" in message
    assert (f"The client '{oid}' with object id '{oid}' does not have authorization to perform action '{WRITE}' over "
            f"scope '{scope}' or the scope is invalid.") in message
    assert counters(sandbox)["provisioning_failed"] == 1 and counters(sandbox)["arm_writes"] == 0
    assert sandbox.call("GET", "/provisioner/decisions")["decisions"][-1]["outcome"] == "failed"

    assign(chain, oid, scope=chain.account.id)
    phases = [read(chain).status.phase for _attempt in range(6)]   # the retry is due 5 requests after the failure
    assert phases[0] == "Pending" and phases[-1] == "Bound", phases
    assert counters(sandbox)["provisioning_failed"] == 1 and counters(sandbox)["volumes_provisioned"] == 1


def test_the_driver_workload_identity_and_its_aadsts_failure(sandbox, chain):
    identity = chain.msi.user_assigned_identities.create_or_update(RG, "id-csi", {"location": LOCATION})
    controller(chain, client_id=identity.client_id)
    assign(chain, kubelet_object_id(chain))    # not used: the controller has its own identity
    storage_class(chain)
    claim(chain)
    assert read(chain).status.phase == "Pending"
    [message] = failures(chain)
    assert "AADSTS700213: No matching federated identity record found for presented assertion subject " \
           "'system:serviceaccount:kube-system:csi-blob-controller-sa'" in message, message

    chain.msi.federated_identity_credentials.create_or_update(RG, "id-csi", "fic-csi", {
        "issuer": chain.issuer, "subject": f"system:serviceaccount:kube-system:{CONTROLLER_SA}",
        "audiences": [TOKEN_AUDIENCE]})
    for _attempt in range(3):
        read(chain)
    denied = [m for m in failures(chain) if f"The client '{identity.principal_id}'" in m]
    assert len(failures(chain)) == 2 and len(denied) == 1 and WRITE in denied[0], failures(chain)
    assign(chain, identity.principal_id)
    for _attempt in range(3):
        read(chain)
    assert read(chain).status.phase == "Bound"


@pytest.mark.parametrize("extra, expected", [
    ({"cachingMode": "None"}, 'desc = invalid parameter "cachingMode" in storage class'),
    ({"mountWithWorkloadIdentityToken": "false", "allowSharedKeyAccess": "false"},
     "desc = storeAccountKey is not supported for account with shared access key disabled"),
])
def test_infeasible_parameters_fail_the_claim(sandbox, chain, extra, expected):
    controller(chain)
    assign(chain, kubelet_object_id(chain))
    storage_class(chain, **extra)
    claim(chain)
    [message] = failures(chain)
    assert message.startswith("Volume provisioning failed with infeasible error. Retries will be delayed. "
                              "rpc error: code = InvalidArgument ") and message.endswith(expected), message
    for _attempt in range(4):   # slow retry: fewer requests than provisioner_slow_retry_requests change nothing
        read(chain)
    assert len(failures(chain)) == 1 and read(chain).status.phase == "Pending"
    assert counters(sandbox)["arm_writes"] == 0


def test_store_account_key_by_default_fetches_the_key(sandbox, chain):
    controller(chain)
    assign(chain, kubelet_object_id(chain))
    storage_class(chain, mountWithWorkloadIdentityToken="false")
    uid = claim(chain).metadata.uid
    [message] = failures(chain)
    assert f"failed to GetStorageAccesskey on account({ACCOUNT}) rg({RG})" in message, message
    assert "listKeys/action" in message and "AuthorizationFailed" in message
    counts = counters(sandbox)   # every attempt (the first, then count-based retries) lists the keys once
    assert counts["key_fetches"] >= 1 and counts["key_fetches"] == counts["provisioning_failed"], counts
    assert container(chain, f"pvc-{uid}").metadata == {"createdBy": DRIVER}   # created before the key fetch


def test_without_a_controller_only_external_provisioning(sandbox, chain):
    storage_class(chain)
    claim(chain)
    for _attempt in range(3):
        read(chain)
    assert events(chain) == [("ExternalProvisioning", EXTERNAL)]   # once, however often the claim is synced
    assert read(chain).metadata.annotations["volume.kubernetes.io/storage-provisioner"] == DRIVER
    claim(chain, "nowhere", "missing-class")
    missing = 'storageclass.storage.k8s.io "missing-class" not found'
    assert events(chain, "nowhere") == [("ProvisioningFailed", missing)]
    assert counters(sandbox)["provisioning_failed"] == 0


def _delete_claim(chain, name="data"):
    chain.core.delete_namespaced_persistent_volume_claim(name, NAMESPACE)
    with pytest.raises(ApiException) as gone:
        read(chain, name)
    assert gone.value.status == 404


def test_delete_reclaim_deletes_the_container_and_fails_without_the_delete_action(sandbox, chain):
    controller(chain)
    assignment = assign(chain, kubelet_object_id(chain))
    storage_class(chain)
    uid = claim(chain).metadata.uid
    _delete_claim(chain)
    with pytest.raises(ApiException) as missing:
        chain.core.read_persistent_volume(f"pvc-{uid}")
    assert missing.value.status == 404
    assert [c.name for c in chain.storage.blob_containers.list(RG, ACCOUNT)] == ["reports"]
    assert counters(sandbox)["volumes_deleted"] == 1 and counters(sandbox)["arm_writes"] == 2

    # Without containers/delete: the volume stays Released with VolumeFailedDelete (ARM's AuthorizationFailed).
    uid = claim(chain, "second").metadata.uid
    chain.auth.role_assignments.delete_by_id(assignment)
    assign(chain, kubelet_object_id(chain), "Storage Blob Data Reader")
    _delete_claim(chain, "second")
    pv = chain.core.read_persistent_volume(f"pvc-{uid}")
    assert pv.status.phase == "Released"
    failed = [e.message for e in chain.core.list_event_for_all_namespaces().items
              if e.reason == "VolumeFailedDelete" and e.involved_object.name == f"pvc-{uid}"]
    assert len(failed) == 1 and DELETE in failed[0], failed
    assert failed[0].startswith(f"rpc error: code = Internal desc = failed to delete container(pvc-{uid}) under "
                                f"rg({RG}) account({ACCOUNT}) volumeID({RG}#{ACCOUNT}#pvc-{uid}##{NAMESPACE}#)")
    assert container(chain, f"pvc-{uid}") is not None


def test_retain_keeps_the_container_and_the_volume(sandbox, chain):
    controller(chain)
    assign(chain, kubelet_object_id(chain))
    storage_class(chain, reclaim="Retain")
    uid = claim(chain).metadata.uid
    _delete_claim(chain)
    for _attempt in range(3):
        pv = chain.core.read_persistent_volume(f"pvc-{uid}")
    assert pv.status.phase == "Released" and pv.spec.persistent_volume_reclaim_policy == "Retain"
    assert container(chain, f"pvc-{uid}") is not None
    assert counters(sandbox)["volumes_deleted"] == 0 and counters(sandbox)["deletion_failed"] == 0


def test_a_job_waiting_for_its_claim_is_scheduled_once_the_claim_is_provisioned(sandbox, chain):
    """The scheduler requeues an unschedulable pod on claim events: the Job made while its claim was Pending (no
    role yet) runs once the retry binds the claim, without being recreated."""
    sandbox.configure(provisioner_retry_requests=3)
    controller(chain)
    chain.trust().grant(scope=chain.account.id)
    storage_class(chain)
    claim(chain)
    chain.workload("early", claim="data")
    assert chain.job("early").status.active == 1 and read(chain).status.phase == "Pending"
    pods = chain.core.list_namespaced_pod(NAMESPACE, label_selector="job-name=early").items
    assert [c.reason for c in pods[0].status.conditions if c.type == "PodScheduled"] == ["Unschedulable"]

    assign(chain, kubelet_object_id(chain))
    for _attempt in range(4):   # the claim's retry is due 3 requests after its last failure
        read(chain)
    assert read(chain).status.phase == "Bound"
    assert chain.job("early").status.succeeded == 1, chain.events("early")
