"""playbooks/doctor.yml on the sandbox inventory's dynamically provisioned workload (`scratch`: a token-only
StorageClass on the keyless account, its claim provisioned by the sandbox's blob CSI controller as the kubelet
identity, with the custom provisioner role site.yml assigns at the account), then broken behind the collection's
back with the Kubernetes client and the Azure SDKs: each breakage is exactly one failing link, and its fix, applied,
makes the doctor green. No doctor run writes or lists a key."""

import uuid

import kubernetes

from ansible_collections.keyless.aks_storage.plugins.module_utils import provisioner

from . import sdk
from .doctor_chain import CLUSTER_RG, HOST, STORAGE_RG
from .test_doctor_azure_links import assert_exactly, assert_green, assert_read_only

WORKLOAD, NAMESPACE, CLAIM, CLASS = "scratch", "scratch", "scratch-blob", "blob-keyless-scratch"
CONTROLLER_SA, DRIVER_NAMESPACE = provisioner.CONTROLLER_SERVICE_ACCOUNT, provisioner.DRIVER_NAMESPACE
CLAIM_READS = 40  # each read is a request to the cluster: the sandbox's provisioner retries on a request count


class Dynamic:
    """What the tests change around the converged `scratch` workload."""

    def __init__(self, chain):
        self.chain = chain
        self.account_id = chain.account_id()

    # ---- Azure
    def role_id(self):
        """The collection's custom role, as site.yml created it."""
        found = list(self.chain.auth.role_definitions.list(
            "/subscriptions/" + self.chain.sub, filter="roleName eq '%s'" % provisioner.ROLE_NAME))
        assert len(found) == 1, found
        return found[0].id

    def kubelet(self):
        cluster = sdk.containerservice_client(self.chain.sandbox.conn).managed_clusters.get(CLUSTER_RG, HOST)
        return cluster.identity_profile["kubeletidentity"].object_id

    def assignments(self, principal):
        return list(self.chain.auth.role_assignments.list_for_scope(
            self.account_id, filter="principalId eq '%s'" % principal))

    def unassign(self, principal):
        for item in self.assignments(principal):
            self.chain.auth.role_assignments.delete_by_id(item.id)

    def assign(self, principal):
        self.chain.auth.role_assignments.create(self.account_id, str(uuid.uuid4()), {
            "role_definition_id": self.role_id(), "principal_id": principal, "principal_type": "ServicePrincipal"})

    # ---- Kubernetes
    def replace_class(self, **changes):
        """The StorageClass again with other parameters (its fields are immutable: delete, then create)."""
        storage = self.chain.storage_k8s
        current = storage.read_storage_class(CLASS)
        storage.delete_storage_class(CLASS, _preload_content=False)  # the answer is a Status, not the class
        params = dict(current.parameters, **changes)
        storage.create_storage_class({
            "metadata": {"name": CLASS, "labels": current.metadata.labels}, "provisioner": current.provisioner,
            "parameters": {k: v for k, v in params.items() if v is not None}, "reclaimPolicy": current.reclaim_policy,
            "volumeBindingMode": current.volume_binding_mode, "mountOptions": current.mount_options})

    def new_claim(self):
        """The claim deleted (its Retain volume stays Released) and made again: the controller provisions anew."""
        core = self.chain.core
        current = core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
        self.chain.free_claim(NAMESPACE, CLAIM)
        core.delete_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
        core.create_namespaced_persistent_volume_claim(NAMESPACE, {
            "metadata": {"name": CLAIM, "labels": current.metadata.labels},
            "spec": {"accessModes": current.spec.access_modes, "storageClassName": CLASS,
                     "resources": {"requests": current.spec.resources.requests}}})

    def wait(self, done):
        """Read the claim and its events until ``done(claim, reasons)``, at most CLAIM_READS times."""
        reasons = []
        for _read in range(CLAIM_READS):
            claim = self.chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
            events = self.chain.core.list_namespaced_event(NAMESPACE).items
            mine = [e for e in events if e.involved_object.kind == "PersistentVolumeClaim"
                    and e.involved_object.uid == claim.metadata.uid]
            reasons = [e.reason for e in mine]
            if done(claim, reasons):
                return claim, mine
        raise AssertionError("claim %s/%s: events %s after %d reads" % (NAMESPACE, CLAIM, reasons, CLAIM_READS))

    def bound(self):
        return self.wait(lambda claim, _reasons: claim.status.phase == "Bound")[0]

    def failed(self):
        """The events of the claim once provisioning failed (it stays Pending)."""
        claim, events = self.wait(lambda _claim, reasons: "ProvisioningFailed" in reasons)
        assert claim.status.phase == "Pending", claim.status
        return [e.message for e in events if e.reason == "ProvisioningFailed"]

    def doctor(self, *extra):
        return self.chain.doctor("-e", "doctor_workload=" + WORKLOAD, *extra)


def test_the_provisioned_claim_is_all_ok_and_the_provisioner_links_cost_a_fixed_number_of_reads(chain):
    dyn = Dynamic(chain)
    found = dyn.doctor()
    assert found.rc == 0 and [i["status"] for i in found.links] == ["ok"] * len(found.links), found
    assert_read_only(found)
    identity = found.find(None, "provisioner_identity")
    assert identity["evidence"]["identity"] == "kubelet_identity"
    assert identity["evidence"]["principal_id"] == dyn.kubelet()
    assert found.find(None, "provisioner_federation")["summary"].startswith("the kubelet identity")
    assert found.find(WORKLOAD, "storage_class")["evidence"]["reclaimPolicy"] == "Retain"
    assert found.find(WORKLOAD, "provisioner_role")["summary"].startswith("%s at %s allow containers/write" % (
        provisioner.ROLE_NAME, dyn.account_id))
    claim = chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
    assert claim.spec.volume_name == "pvc-" + claim.metadata.uid
    assert found.find(WORKLOAD, "persistent_volume_claim")["summary"] == (
        "claim %s/%s is Bound to %s, provisioned from StorageClass %s" % (NAMESPACE, CLAIM, claim.spec.volume_name,
                                                                          CLASS))
    # against a workload with a static volume: the controller's ServiceAccount and Deployment and the StorageClass
    # (Kubernetes), the controller's role assignments at the account and the custom role (ARM)
    static = chain.doctor("-e", "doctor_workload=reports")
    assert static.rc == 0, static
    extra = {k: found.result["reads"][k] - static.result["reads"][k] for k in ("azure", "kubernetes")}
    assert extra == {"azure": 2, "kubernetes": 3}, (found.result["reads"], static.result["reads"])
    assert len(found.links) - len(static.links) == 4  # storage_class, provisioner_role; the two cluster links

    # the claim alone, named on the command line: account, container and client ID from its volume and class
    named = chain.doctor("-e", "doctor_namespace=" + NAMESPACE, "-e", "doctor_pvc=" + CLAIM,
                         "-e", "doctor_service_account=scratch-writer")
    assert named.rc == 0, named
    assert named.find(CLAIM, "storage_class")["evidence"]["expected_reclaim_policy"] is None
    assert named.find(CLAIM, "provisioner_role")["status"] == "ok"
    assert_read_only(named)


def test_without_the_provisioner_role_the_claim_stays_pending_and_only_that_link_fails(chain):
    dyn = Dynamic(chain)
    dyn.unassign(dyn.kubelet())
    dyn.new_claim()
    messages = dyn.failed()
    assert "AuthorizationFailed" in messages[-1] and provisioner.CREATE_ACTION in messages[-1], messages
    diagnosis = dyn.doctor()
    role = assert_exactly(diagnosis, WORKLOAD, "provisioner_role", "no role assignment at the account or above",
                          "assign '%s' at %s to %s" % (provisioner.ROLE_NAME, dyn.account_id, dyn.kubelet()))
    assert role["evidence"]["needed"] == [provisioner.CREATE_ACTION]
    claim = diagnosis.find(WORKLOAD, "persistent_volume_claim")
    assert claim["status"] == "unknown" and claim["evidence"]["blocked_by"] == ["provisioner_role"], claim
    assert diagnosis.find(WORKLOAD, "persistent_volume")["status"] == "unknown"
    chain.apply_site_fix(role["fix"])  # site.yml --tags rbac assigns the role again
    dyn.bound()
    assert_green(dyn.doctor())


def test_a_class_that_would_list_keys_fails_only_its_storage_class_link(chain):
    dyn = Dynamic(chain)
    dyn.replace_class(useDataPlaneAPI="true")
    dyn.new_claim()
    dyn.failed()
    found = assert_exactly(dyn.doctor(), WORKLOAD, "storage_class", "useDataPlaneAPI is \"true\"", "immutable")
    assert found["evidence"]["parameters"]["useDataPlaneAPI"] == "true"
    chain.storage_k8s.delete_storage_class(CLASS, _preload_content=False)  # as the fix says, then site.yml
    chain.apply_site_fix(found["fix"])
    dyn.bound()
    assert_green(dyn.doctor())


def test_a_class_for_another_identity_fails_its_storage_class_link(chain):
    dyn = Dynamic(chain)
    dyn.replace_class(clientID=chain.identity("id-reports").client_id)
    found = assert_exactly(dyn.doctor(), WORKLOAD, "storage_class", "clientID is '%s', not '%s'" % (
        chain.identity("id-reports").client_id, chain.identity("id-scratch").client_id))
    assert found["evidence"]["name"] == CLASS


def controller_workload_identity(chain):
    """The driver's own identity, as the chart's workloadIdentity.clientID sets it up: the ServiceAccount's
    annotation and the controller pods' label."""
    identity = sdk.create_identity(chain.sandbox.conn, STORAGE_RG, "id-blob-controller")
    chain.core.patch_namespaced_service_account(CONTROLLER_SA, DRIVER_NAMESPACE, {"metadata": {"annotations": {
        provisioner.CLIENT_ID_ANNOTATION: identity.client_id}}})
    apps = kubernetes.client.AppsV1Api(chain.core.api_client)
    apps.patch_namespaced_deployment(provisioner.CONTROLLER_DEPLOYMENT, DRIVER_NAMESPACE, {"spec": {"template": {
        "metadata": {"labels": {provisioner.USE_LABEL: "true"}}}}})
    return identity


def test_a_controller_with_its_own_identity_needs_its_federated_credential(chain):
    dyn = Dynamic(chain)
    identity = controller_workload_identity(chain)
    dyn.assign(identity.principal_id)
    subject = "system:serviceaccount:%s:%s" % (DRIVER_NAMESPACE, CONTROLLER_SA)
    diagnosis = dyn.doctor()
    assert_exactly(diagnosis, None, "provisioner_federation",
                   "no federated credential on identity id-blob-controller trusts " + subject)
    found = diagnosis.find(None, "provisioner_identity")
    assert found["evidence"]["principal_id"] == identity.principal_id, found
    assert diagnosis.find(WORKLOAD, "persistent_volume_claim")["status"] == "unknown"
    chain.msi.federated_identity_credentials.create_or_update(STORAGE_RG, "id-blob-controller", "csi-blob-controller",
                                                              {"issuer": chain.issuer(), "subject": subject,
                                                               "audiences": ["api://AzureADTokenExchange"]})
    healed = dyn.doctor()
    assert_green(healed)
    assert healed.find(None, "provisioner_identity")["summary"].startswith(
        "the controller calls ARM as workload identity id-blob-controller")


def test_the_controllers_identity_without_the_role_fails_provisioner_role_not_the_kubelets(chain):
    dyn = Dynamic(chain)
    identity = controller_workload_identity(chain)
    chain.msi.federated_identity_credentials.create_or_update(
        STORAGE_RG, "id-blob-controller", "csi-blob-controller", {
            "issuer": chain.issuer(), "subject": "system:serviceaccount:%s:%s" % (DRIVER_NAMESPACE, CONTROLLER_SA),
            "audiences": ["api://AzureADTokenExchange"]})
    found = assert_exactly(dyn.doctor(), WORKLOAD, "provisioner_role", "to %s" % identity.principal_id)
    assert found["evidence"]["principal_id"] == identity.principal_id
