"""Keyless dynamic provisioning with the blob CSI driver's controller on its own workload identity
(keyless_blob_csi_controller_identity) instead of the kubelet identity, through the real site.yml. A file of its own
so that pytest-xdist runs it beside test_dynamic_provisioning.py (two full site.yml runs)."""

import json

from . import doctor_chain
from .doctor_chain import STORAGE_RG
from .test_dynamic_provisioning import CLAIM, NAMESPACE, provisioner_assignments, provisioner_role, recreate_claim


def test_the_controller_can_provision_as_its_own_federated_identity_instead_of_the_kubelet_identity(chain):
    """keyless_blob_csi_controller_identity: site.yml creates the identity, federates it for the controller's
    service account, installs the driver with workloadIdentity.clientID and assigns it the provisioner role; the
    claim then binds even with the kubelet identity's assignment gone."""
    own = json.dumps({"keyless_blob_csi_controller_identity": {"name": "id-blob-csi"}})
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", "-e", own)
    assert run.returncode == 0, run.stdout[-3000:]
    identity = chain.identity("id-blob-csi")
    [credential] = chain.msi.federated_identity_credentials.list(STORAGE_RG, "id-blob-csi")
    assert credential.subject == "system:serviceaccount:kube-system:csi-blob-controller-sa"
    assert credential.issuer == chain.issuer()
    sa = chain.core.read_namespaced_service_account("csi-blob-controller-sa", "kube-system")
    assert sa.metadata.annotations["azure.workload.identity/client-id"] == identity.client_id
    found = chain.auth.role_assignments.list_for_scope(chain.account_id(),
                                                       filter="principalId eq '%s'" % identity.principal_id)
    assert [a.role_definition_id.rsplit("/", 1)[1] for a in found] == [provisioner_role(chain).name]

    for assignment in provisioner_assignments(chain):   # the kubelet identity's
        chain.auth.role_assignments.delete_by_id(assignment.id)
    recreate_claim(chain)
    rerun = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", "--tags", "workloads", "-e", own)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE).status.phase == "Bound"
