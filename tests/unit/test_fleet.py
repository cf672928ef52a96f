"""The fleet filters: what other clusters of the inventory still use, and so what teardown keeps."""

from ansible_collections.keyless.aks_storage.plugins.filter import fleet

WORKLOAD = dict(name="reports", namespace="reports", service_account="writer", storage_account="stshared",
                resource_group="rg", container="reports", access="readwrite", identity={"name": "id-reports"})
HOSTVARS = {
    "aks-a": dict(keyless_resource_group="rg", keyless_workloads=[WORKLOAD],
                  keyless_storage_accounts=[{"name": "stshared"}]),
    "aks-b": dict(keyless_resource_group="rg", keyless_workloads=[WORKLOAD], keyless_cluster_name="aks-b-real"),
    "aks-c": dict(keyless_resource_group="rg", keyless_workloads=[dict(WORKLOAD, identity={"name": "id-c"},
                                                                       storage_account="stc", container="c")]),
}


def live(*names):
    return [{"resource_group": "rg", "name": "id-reports", "exists": True, "federated_credentials": list(names)}]


def test_other_clusters_in_use_keep_what_they_share():
    usage = fleet.fleet_usage(HOSTVARS, list(HOSTVARS), "aks-a")
    assert ["rg", "id-reports"] in [list(k) for k in usage["identities"]] and "stshared" in usage["accounts"]
    identities = [{"resource_group": "rg", "name": "id-reports"}, {"resource_group": "rg", "name": "id-only-a"}]
    assert fleet.not_shared_identities(identities, usage) == [identities[1]]
    assert fleet.not_shared_assignments([WORKLOAD, dict(WORKLOAD, access="read")], usage, "rg") == [
        dict(WORKLOAD, access="read")]  # aks-b needs the Contributor role, not the Reader one
    assert fleet.not_shared_accounts([{"name": "stshared"}, {"name": "stmine"}], usage) == [{"name": "stmine"}]
    assert fleet.kept_report(usage, identities, [WORKLOAD], [{"name": "stshared"}], "rg") == [
        "identity rg/id-reports: " + fleet.STILL_USED,
        "data role of id-reports on stshared/reports: another cluster's workload needs it",
        "storage account stshared: " + fleet.STILL_USED]


def test_a_cluster_counts_only_while_azure_holds_its_credentials():
    # aks-b's credential is named after its cluster name (keyless_cluster_name), not its host name
    assert fleet.still_federated(HOSTVARS["aks-b"], "aks-b", live("aks-b-real-reports-writer")) is True
    assert fleet.still_federated(HOSTVARS["aks-b"], "aks-b", live("aks-a-reports-writer")) is False
    assert fleet.still_federated(HOSTVARS["aks-b"], "aks-b", None) is True  # nothing read: assume in use
    usage = fleet.fleet_usage(HOSTVARS, list(HOSTVARS), "aks-a", live("aks-a-reports-writer"))
    assert usage["identities"] == [] and usage["accounts"] == []  # aks-b torn down; aks-c holds no credential


def test_an_identity_trusted_outside_the_inventory_is_kept_with_its_roles():
    usage = fleet.fleet_usage(HOSTVARS, ["aks-a"], "aks-a", live("aks-a-reports-writer", "github-actions-deploy"))
    assert [list(k) for k in usage["identities"]] == [["rg", "id-reports"]]
    assert fleet.not_shared_assignments([WORKLOAD], usage, "rg") == [] and usage["accounts"] == ["stshared"]
