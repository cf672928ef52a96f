"""Keyless dynamic provisioning through the real site.yml (inventories/sandbox, workload "scratch" with a
StorageClass): the emulated blob CSI controller provisions the claim as the kubelet identity with the collection's
custom role, the validation Job mounts it token-only, a re-run writes nothing, and without the role the claim stays
Pending and the workload role fails with the driver's event text.

One chain per worker, converged once (conftest `doctor_converged`) and restored before each test (`chain`).
"""

import json

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import provisioner, rbac

from . import doctor_chain, sdk
from .doctor_chain import ACCOUNT, CLUSTER_RG, HOST, STORAGE_RG

pytestmark = pytest.mark.long_running  # minutes of playbooks: scheduled first

NAMESPACE, CLAIM, CLASS, CONTAINER = "scratch", "scratch-blob", "blob-keyless-scratch", "scratch"
FAST_WAIT = ("-e", "workload_provisioning_timeout=3", "-e", "workload_validation_poll_seconds=1")


def said(run):
    return " ".join(run.stdout.split())


def kubelet_principal(chain):
    cluster = sdk.containerservice_client(chain.sandbox.conn).managed_clusters.get(CLUSTER_RG, HOST)
    return cluster.identity_profile["kubeletidentity"].object_id


def provisioner_role(chain):
    scope = "/subscriptions/%s" % chain.sub
    found = list(chain.auth.role_definitions.list(scope, filter="roleName eq '%s'" % provisioner.ROLE_NAME))
    assert len(found) == 1, found
    return found[0]


def provisioner_assignments(chain):
    principal = kubelet_principal(chain)
    found = chain.auth.role_assignments.list_for_scope("/subscriptions/%s" % chain.sub,
                                                       filter="principalId eq '%s'" % principal)
    return [a for a in found if a.role_definition_id.rsplit("/", 1)[1] == provisioner_role(chain).name]


def recreate_claim(chain):
    """Delete the claim, its Job and its volume behind the collection's back (the class keeps Retain: the data
    stays), so the next run provisions it again."""
    pv = chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE).spec.volume_name
    chain.free_claim(NAMESPACE, CLAIM)
    chain.core.delete_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
    chain.core.delete_persistent_volume(pv)
    return pv


def test_the_claim_is_provisioned_token_only_by_the_kubelet_identity_with_the_least_privilege_role(chain):
    claim = chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE)
    assert claim.status.phase == "Bound" and claim.spec.storage_class_name == CLASS
    pv = chain.core.read_persistent_volume(claim.spec.volume_name)
    assert pv.metadata.name == "pvc-%s" % claim.metadata.uid
    assert pv.metadata.annotations["pv.kubernetes.io/provisioned-by"] == "blob.csi.azure.com"
    assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    attributes = pv.spec.csi.volume_attributes
    assert attributes["mountWithWorkloadIdentityToken"] == "true"
    assert attributes["clientID"] == chain.identity("id-scratch").client_id
    assert (attributes["storageAccount"], attributes["containerName"]) == (ACCOUNT, CONTAINER)
    assert pv.spec.csi.node_stage_secret_ref is None and pv.spec.csi.node_publish_secret_ref is None
    sc = chain.storage_k8s.read_storage_class(CLASS)
    assert sc.reclaim_policy == "Retain" and "storeAccountKey" not in sc.parameters

    jobs = chain.batch.list_namespaced_job(NAMESPACE).items
    assert [c.type for j in jobs for c in j.status.conditions or [] if c.status == "True"].count("Complete") == 1

    # the role, asserted from its definition as Azure holds it: container writes, never listKeys, never data
    role = provisioner_role(chain)
    permissions = [{"actions": p.actions, "notActions": p.not_actions, "dataActions": p.data_actions,
                    "notDataActions": p.not_data_actions} for p in role.permissions]
    assert role.role_type == "CustomRole"
    assert rbac.permits(permissions, action=provisioner.CREATE_ACTION)
    assert not rbac.permits(permissions, action=rbac.LIST_KEYS_ACTION)
    assert not any(p.data_actions for p in role.permissions)
    [assignment] = provisioner_assignments(chain)
    assert assignment.scope.lower() == chain.account_id().lower()


def test_a_rerun_writes_nothing_for_the_dynamic_workload(chain):
    before = chain.sandbox.counters()
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml")
    delta = chain.sandbox.counters_delta(before)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (delta["writes"], delta["kubernetes"]["writes"], delta["list_keys"]) == (0, 0, 0), json.dumps(delta)[:2000]
    assert delta["provisioner"]["volumes_provisioned"] == 0


def test_without_the_provisioner_role_the_claim_stays_pending_and_the_role_says_why(chain):
    for assignment in provisioner_assignments(chain):
        chain.auth.role_assignments.delete_by_id(assignment.id)
    recreate_claim(chain)
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", "--tags", "workloads", *FAST_WAIT)
    text = said(run)
    assert run.returncode != 0, run.stdout[-3000:]
    assert "Keyless dynamic provisioning did not bind 1 claim(s)" in text
    assert "claim scratch/scratch-blob is not bound: ProvisioningFailed" in text
    assert "AuthorizationFailed" in text and provisioner.CREATE_ACTION in text
    assert "Keyless Blob CSI Provisioner" in text  # the hint
    assert chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE).status.phase == "Pending"

    # the whole chain grants the role again; the driver's retry then binds the claim and the Job validates it
    fixed = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE).status.phase == "Bound"
    assert len(provisioner_assignments(chain)) == 1


def test_a_class_with_a_key_parameter_is_refused_before_anything_is_written(chain):
    inventory = doctor_chain.inventory_workloads()
    for workload in inventory:
        if workload.get("storage_class"):
            workload["storage_class"] = dict(workload["storage_class"], parameters={"storeAccountKey": "true"})
    before = chain.sandbox.counters()
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", "-e",
                                json.dumps({"keyless_workloads": inventory}))
    delta = chain.sandbox.counters_delta(before)
    assert run.returncode != 0
    assert "storage_class.parameters.storeAccountKey is refused" in said(run)
    assert delta["writes"] == 0 and delta["kubernetes"]["writes"] == 0


def test_a_changed_reclaim_policy_stops_the_run_instead_of_updating_an_immutable_class(chain):
    inventory = doctor_chain.inventory_workloads()
    for workload in inventory:
        if workload.get("storage_class"):
            workload["storage_class"] = dict(workload["storage_class"], reclaim_policy="Delete")
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "site.yml", "--tags", "workloads", "-e",
                                json.dumps({"keyless_workloads": inventory}))
    assert run.returncode != 0
    assert "StorageClass blob-keyless-scratch: reclaimPolicy changed" in said(run)
    assert chain.storage_k8s.read_storage_class(CLASS).reclaim_policy == "Retain"


def test_teardown_keeps_the_data_of_a_delete_class_unless_asked(chain):
    """A Delete class would take the container with the claim; teardown switches the volume to Retain first."""
    pv = chain.core.read_namespaced_persistent_volume_claim(CLAIM, NAMESPACE).spec.volume_name
    chain.core.patch_persistent_volume(pv, {"spec": {"persistentVolumeReclaimPolicy": "Delete"}})
    run = doctor_chain.playbook(chain.sandbox, chain.workdir, "teardown.yml", "-e",
                                "keyless_teardown_confirm=%s" % HOST)
    assert run.returncode == 0, run.stdout[-3000:]
    assert chain.storage.blob_containers.get(STORAGE_RG, ACCOUNT, CONTAINER).name == CONTAINER
    assert [v.metadata.name for v in chain.core.list_persistent_volume().items if v.metadata.name == pv] == []
    assert provisioner_assignments(chain) == []
