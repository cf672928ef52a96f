"""role_assignment: normalize, the keyless guard, matching and the plan, without requests."""

from collections import namedtuple

import pytest

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac
from ansible_collections.keyless.aks_storage.plugins.modules import role_assignment as ra

SUB = "00000000-0000-0000-0000-000000000001"
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
CONTRIBUTOR_GUID = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
Assignment = namedtuple("Assignment", "id name scope role_definition_id principal_id principal_type")
Definition = namedtuple("Definition", "id role_name permissions")
Permissions = namedtuple("Permissions", "actions not_actions data_actions not_data_actions")


def options(**extra):
    base = dict(scope=None, storage_account="stkeyless", resource_group="rg", container="reports",
                role="Storage Blob Data Contributor", principal_id=PRINCIPAL.upper(), principal_type="ServicePrincipal",
                name=None, state="present")
    base.update(extra)
    return base


def normalized(**extra):
    item = ra.normalize(options(**extra), lambda: SUB)
    definition = ra.known_role(item["role"], SUB)
    return dict(item, role_guid=rbac.role_guid(definition.id), role_definition_id=definition.id)


def test_normalize_builds_the_container_scope_and_lowers_the_principal():
    item = ra.normalize(options(), lambda: SUB)
    assert item["scope"] == rbac.storage_scope(SUB, "rg", "stkeyless", "reports")
    assert item["principal_id"] == PRINCIPAL
    assert ra.normalize(options(storage_account=None, container=None, resource_group=None,
                                scope="/subscriptions/%s" % SUB), lambda: SUB)["scope"] == "/subscriptions/" + SUB


@pytest.mark.parametrize("extra,message", [
    ({"scope": "/subscriptions/%s" % SUB}, "give either scope or storage_account"),
    ({"resource_group": None}, "storage_account needs resource_group"),
    ({"storage_account": None, "scope": "/subscriptions/%s" % SUB}, "container needs storage_account"),
    ({"storage_account": None, "container": None, "scope": "bad"}, "scope 'bad' is not a valid ARM scope"),
    ({"principal_id": "me"}, "principal_id 'me' must be the principal's object ID"),
    ({"name": "not-a-guid"}, "name 'not-a-guid' must be a GUID"),
])
def test_normalize_refuses_bad_input(extra, message):
    with pytest.raises(ra.InvalidAssignment, match=message):
        ra.normalize(options(**extra), lambda: SUB)


def test_keyless_guard_refuses_key_listing_roles_on_storage_scopes_only():
    owner = Definition("/x/Owner", "Owner", [Permissions(["*"], [], [], [])])
    reader = ra.known_role("Storage Blob Data Reader", SUB)
    on_account, on_vault = normalized(container=None), normalized(
        storage_account=None, container=None,
        scope="/subscriptions/%s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv" % SUB)
    refused = ra.key_access_refusals([on_account, on_vault, on_account], [owner, owner, reader], allowed=False)
    assert refused == ["'Owner' at %s" % on_account["scope"]]
    assert ra.key_access_refusals([on_account], [owner], allowed=True) == []
    assert ra.key_access_refusals([dict(on_account, state="absent")], [owner], allowed=False) == []
    with pytest.raises(ra.ModuleError, match="refusing roles that can list storage account keys: 'Owner' at"):
        ra.guard([on_account], [owner], allowed=False)


def existing(item, name="a1", scope=None):
    return Assignment("/id/" + name, name, (scope or item["scope"]).upper(), item["role_definition_id"],
                      item["principal_id"].upper(), "ServicePrincipal")


def test_matching_compares_scope_case_insensitively_role_by_guid_and_principal():
    item = normalized()
    other_role = existing(item)._replace(role_definition_id="/r/" + "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    listed = [existing(item), other_role, existing(item, "a3", scope=item["scope"].rsplit("/", 4)[0])]
    listings = {(item["scope"].lower(), item["principal_id"]): listed}
    assert [a.name for a in ra.matching(item, listings)] == ["a1"]


def test_plan_create_noop_and_delete():
    item, names = normalized(), {CONTRIBUTOR_GUID: "Storage Blob Data Contributor"}
    planned = ra.plan(item, [], names)
    assert planned["action"] == "create" and planned["before"] == []
    assert planned["name"] == rbac.assignment_name(item["scope"], CONTRIBUTOR_GUID, PRINCIPAL)
    assert planned["body"]["properties"] == {"roleDefinitionId": item["role_definition_id"], "principalId": PRINCIPAL,
                                             "principalType": "ServicePrincipal"}
    assert planned["after"][0]["role_name"] == "Storage Blob Data Contributor" and planned["after"][0]["id"] is None
    assert ra.plan(dict(item, name="6f1c1d6e-0000-4000-8000-000000000000"), [], names)["name"] == (
        "6f1c1d6e-0000-4000-8000-000000000000")

    found = existing(item)
    noop = ra.plan(item, [found], names)
    assert noop["action"] is None and noop["before"] == noop["after"] and noop["after"][0]["name"] == "a1"
    gone = ra.plan(dict(item, state="absent"), [found], names)
    assert (gone["action"], gone["remove"], gone["after"]) == ("delete", [found], [])
    assert ra.plan(dict(item, state="absent"), [], names)["action"] is None


def test_assignment_keys_name_the_storage_path_or_the_scope():
    assert ra.assignment_key(options()) == "rg/stkeyless/reports"
    assert ra.assignment_key(options(storage_account=None, scope="/subscriptions/x")) == "/subscriptions/x"
