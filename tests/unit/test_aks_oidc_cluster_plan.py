"""aks_oidc_cluster: validation, the wait for a busy cluster and the plan, without requests."""

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.modules import aks_oidc_cluster as aks


def params(**extra):
    base = dict(resource_group="rg", name="aks", oidc_issuer=True, workload_identity=True, blob_driver="oss",
                create=False, location=None, dns_prefix=None, kubernetes_version=None, node_count=1,
                vm_size="Standard_D2s_v5", user_assigned_identity=None, reconcile_failed=False, force=False,
                wait_timeout=1800, state="present")
    base.update(extra)
    return base


def cluster(state="Succeeded", oidc=False, wi=False, blob=True, version="1.33.2", location="westeurope"):
    return {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
            "name": "aks", "location": location, "systemData": {"x": 1},
            "properties": {"provisioningState": state, "currentKubernetesVersion": version, "fqdn": "aks.example",
                           "oidcIssuerProfile": {"enabled": oidc, "issuerURL": "https://issuer/" if oidc else None},
                           "securityProfile": {"workloadIdentity": {"enabled": wi}},
                           "storageProfile": {"blobCSIDriver": {"enabled": blob}},
                           "agentPoolProfiles": [{"name": "system", "count": 3}]}}


@pytest.mark.parametrize("extra,message", [
    ({"oidc_issuer": False}, "workload_identity needs oidc_issuer"),
    ({"kubernetes_version": "latest"}, "is not a version like 1.33"),
    ({"kubernetes_version": "1.21.9"}, "too old for workload identity"),
])
def test_validate_refuses_contradictions(extra, message):
    with pytest.raises(ModuleError, match=message):
        aks.validate(params(**extra))


def test_validate_warns_about_the_managed_driver():
    assert aks.validate(params()) == []
    assert "cannot mount blobs with a workload identity token" in aks.validate(params(blob_driver="managed"))[0]


def test_plan_update_writes_only_the_difference_and_keeps_the_rest():
    planned = aks.plan(params(), cluster())
    assert planned["action"] == "update"
    assert planned["changes"] == ["oidc_issuer", "workload_identity", "managed_blob_driver"]
    body = planned["body"]
    assert "systemData" not in body and "provisioningState" not in body["properties"]
    assert "issuerURL" not in body["properties"]["oidcIssuerProfile"]
    assert body["properties"]["agentPoolProfiles"] == [{"name": "system", "count": 3}]
    assert aks.features(body) == dict(oidc_issuer=True, workload_identity=True, managed_blob_driver=False)
    converged = aks.plan(params(), cluster(oidc=True, wi=True, blob=False))
    assert (converged["action"], converged["body"], converged["changes"]) == (None, None, [])
    # unmanaged leaves the managed driver as it is
    assert aks.plan(params(blob_driver="unmanaged"), cluster(oidc=True, wi=True))["action"] is None


def test_plan_create_and_delete():
    with pytest.raises(ModuleError, match="was not found in resource group rg; set create: true"):
        aks.plan(params(), None)
    with pytest.raises(ModuleError, match="location is required to create cluster aks"):
        aks.plan(params(create=True), None)
    created = aks.plan(params(create=True, location="West Europe"), None)
    assert created["action"] == "create" and created["body"]["location"] == "westeurope"
    assert created["after"] == dict(oidc_issuer=True, workload_identity=True, managed_blob_driver=False)
    with pytest.raises(ModuleError, match="refusing to delete cluster aks without force"):
        aks.plan(params(state="absent"), cluster())
    assert aks.plan(params(state="absent", force=True), cluster())["action"] == "delete"
    assert aks.plan(params(state="absent"), None)["action"] is None


@pytest.mark.parametrize("extra,current,message", [
    ({}, cluster(state="Failed"), "is in provisioning state Failed"),
    ({}, cluster(version="1.21.2"), "runs Kubernetes 1.21.2, too old"),
    ({"oidc_issuer": False, "workload_identity": False}, cluster(oidc=True), "Azure cannot disable it"),
    ({"location": "eastus"}, cluster(), "cluster aks is in westeurope, not eastus"),
])
def test_plan_refuses_what_azure_would_refuse(extra, current, message):
    with pytest.raises(ModuleError, match=message):
        aks.plan(params(**extra), current)


def test_a_failed_cluster_is_planned_with_reconcile_failed():
    assert aks.plan(params(reconcile_failed=True), cluster(state="Failed"))["action"] == "update"
    # features already as asked: the reconcile PUT is still sent
    converged_but_failed = aks.plan(params(reconcile_failed=True), cluster(state="Failed", oidc=True, wi=True,
                                                                           blob=False))
    assert (converged_but_failed["action"], converged_but_failed["changes"]) == ("update", ["reconcile"])
    assert aks.features(converged_but_failed["body"]) == dict(oidc_issuer=True, workload_identity=True,
                                                              managed_blob_driver=False)


def test_a_busy_cluster_is_polled_until_it_settles_bounded_by_wait_timeout():
    now, sleeps = [0.0], []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds
    states = iter(["Updating", "Succeeded"])
    got = aks.settled(lambda: cluster(state=next(states)), cluster(state="Upgrading"), params(), sleep=sleep,
                      clock=lambda: now[0])
    assert aks.provisioning_state(got) == "Succeeded" and sleeps == [aks.POLL_SECONDS] * 2
    assert aks.settled(None, cluster(), params()) == cluster()  # not busy: no read
    with pytest.raises(ModuleError, match=r"cluster aks is still Updating after 30s; re-run when"):
        aks.settled(lambda: cluster(state="Updating"), cluster(state="Updating"), params(wait_timeout=30),
                    sleep=sleep, clock=lambda: now[0])
