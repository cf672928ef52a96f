"""The five ARM lists the keyless audit reads, through the real SDKs, with config `page_size` set: every item
once, one request per page, the pages the size ARM's nextLink gives. (ARM documents no default page size for
these lists, so the sandbox pages only when `page_size` is configured; see sandbox/README.md.)"""

import math
import uuid

import pytest

from sandbox.arm.providers.authorization import BUILTIN_ROLES_BY_NAME

PAGE = 7
LOCATION = "westeurope"
RESOURCE_GROUPS = "Microsoft.Resources/resourceGroups"
ROLES = ("Owner", "Contributor", "Reader", "Storage Account Contributor", "Storage Blob Data Reader")


def reads(sandbox, type_name):
    return sandbox.counters()["by_type"].get(type_name, {}).get("reads", 0)


def paged(sandbox, type_name, listing):
    """-> (items in order, page sizes, list requests made) of one SDK listing."""
    before = reads(sandbox, type_name)
    sizes, items = [], []
    for page in listing.by_page():
        batch = list(page)
        sizes.append(len(batch))
        items.extend(batch)
    return items, sizes, reads(sandbox, type_name) - before


def expected_sizes(total):
    return [PAGE] * (total // PAGE) + ([total % PAGE] if total % PAGE else [])


@pytest.fixture
def paged_sandbox(sandbox):
    sandbox.configure(page_size=PAGE)
    return sandbox


def test_storage_accounts_and_resource_groups_page(paged_sandbox, rm_client, storage_client):
    for index in range(4):
        rm_client.resource_groups.create_or_update(f"rg-page-{index}", {"location": LOCATION})
    names = [f"stpage{index:02d}" for index in range(20)]
    pollers = [storage_client.storage_accounts.begin_create(
        f"rg-page-{index % 4}", name, {"location": LOCATION, "kind": "StorageV2", "sku": {"name": "Standard_LRS"}})
        for index, name in enumerate(names)]
    for poller in pollers:
        poller.result()
    items, sizes, requests = paged(paged_sandbox, "Microsoft.Storage/storageAccounts",
                                   storage_client.storage_accounts.list())
    assert sorted(a.name for a in items) == names and len({a.id for a in items}) == 20
    assert sizes == expected_sizes(20) and requests == math.ceil(20 / PAGE)
    groups, sizes, requests = paged(paged_sandbox, RESOURCE_GROUPS, rm_client.resource_groups.list())
    assert sorted(g.name for g in groups) == [f"rg-page-{index}" for index in range(4)]
    assert sizes == [4] and requests == 1
    for index in range(4, 12):
        rm_client.resource_groups.create_or_update(f"rg-page-{index:02d}", {"location": LOCATION})
    groups, sizes, requests = paged(paged_sandbox, RESOURCE_GROUPS, rm_client.resource_groups.list())
    assert len({g.name for g in groups}) == 12 and sizes == expected_sizes(12) and requests == 2


def test_managed_clusters_page(paged_sandbox, rm_client, aks_client):
    rm_client.resource_groups.create_or_update("rg-aks-page", {"location": LOCATION})
    body = {"location": LOCATION, "identity": {"type": "SystemAssigned"},
            "properties": {"dnsPrefix": "page", "agentPoolProfiles": [
                {"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System", "osType": "Linux"}]}}
    pollers = [aks_client.managed_clusters.begin_create_or_update("rg-aks-page", f"aks-{index}", body)
               for index in range(9)]
    for poller in pollers:
        poller.result()
    items, sizes, requests = paged(paged_sandbox, "Microsoft.ContainerService/managedClusters",
                                   aks_client.managed_clusters.list())
    assert sorted(c.name for c in items) == [f"aks-{index}" for index in range(9)]
    assert sizes == [7, 2] and requests == 2
    groups = [g for g in rm_client.resource_groups.list() if g.managed_by]  # the clusters' node resource groups
    assert len(groups) == 9 and all("/managedClusters/aks-" in g.managed_by for g in groups)


def test_role_assignments_and_role_definitions_page(paged_sandbox, conn, rm_client, msi_client, storage_client,
                                                    auth_client):
    sub = f"/subscriptions/{conn['subscription_id']}"
    rm_client.resource_groups.create_or_update("rg-ra-page", {"location": LOCATION})
    storage_client.storage_accounts.begin_create("rg-ra-page", "stpagera", {
        "location": LOCATION, "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}).result()
    principals = [msi_client.user_assigned_identities.create_or_update(
        "rg-ra-page", f"id-{index}", {"location": LOCATION}).principal_id for index in range(3)]
    scopes = (sub, f"{sub}/resourceGroups/rg-ra-page",
              f"{sub}/resourceGroups/rg-ra-page/providers/Microsoft.Storage/storageAccounts/stpagera")
    created = set()
    for index in range(15):   # 3 principals x 5 roles, spread over the subscription, a group and an account
        role = BUILTIN_ROLES_BY_NAME[ROLES[index % 5].lower()]["id"]
        scope = scopes[index % 3]
        assignment = auth_client.role_assignments.create(scope, str(uuid.uuid4()), {
            "role_definition_id": f"{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principal_id": principals[index // 5], "principal_type": "ServicePrincipal"})
        created.add(assignment.id)
    items, sizes, requests = paged(paged_sandbox, "Microsoft.Authorization/roleAssignments",
                                   auth_client.role_assignments.list_for_subscription())
    assert {a.id for a in items} == created and len(items) == 15   # at, above and below the subscription
    assert sizes == [7, 7, 1] and requests == 3
    custom = auth_client.role_definitions.create_or_update(sub, str(uuid.uuid4()), {"properties": {
        "roleName": "Keyless Paging Key Reader", "description": "lists keys", "assignableScopes": [sub],
        "permissions": [{"actions": ["Microsoft.Storage/storageAccounts/listKeys/action"], "notActions": [],
                         "dataActions": [], "notDataActions": []}]}})
    definitions, sizes, requests = paged(paged_sandbox, "Microsoft.Authorization/roleDefinitions",
                                         auth_client.role_definitions.list(scope=sub))
    total = len(BUILTIN_ROLES_BY_NAME) + 1
    assert len({d.id for d in definitions}) == total and custom.id in {d.id for d in definitions}
    assert [d.role_type for d in definitions].count("CustomRole") == 1
    assert sizes == expected_sizes(total) and requests == math.ceil(total / PAGE)
