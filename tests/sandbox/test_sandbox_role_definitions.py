"""Custom role definitions in the sandbox's Microsoft.Authorization, with the real azure-mgmt-authorization 4.0
client: create/update/get/list/delete, Azure's refusals, assignments of custom roles, and the one RBAC check
(sandbox.blob.access) honouring them."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError

from sandbox.arm.providers.authorization import permits
from sandbox.blob import access
from sandbox.state import Store

TYPE = "Microsoft.Authorization/roleDefinitions"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
BLOB_WRITE = CONTAINERS + "/blobs/write"


@pytest.fixture
def scopes(conn, rm_client, storage_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-rd", {"location": "eastus"})
    account = storage_client.storage_accounts.begin_create(
        "rg-rd", "strdaccount", {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus"}).result()
    container = storage_client.blob_containers.create("rg-rd", "strdaccount", "data", {})
    identity = msi_client.user_assigned_identities.create_or_update("rg-rd", "id-rd", {"location": "eastus"})
    sub = f"/subscriptions/{conn['subscription_id']}"
    return {"sub": sub, "rg": f"{sub}/resourceGroups/rg-rd", "account": account.id, "container": container.id,
            "principal": identity.principal_id}


def definition(name="Keyless Test Role", scopes=None, actions=(CONTAINERS + "/read",), data_actions=(), **extra):
    props = {"roleName": name, "description": "test role", "assignableScopes": scopes,
             "permissions": [{"actions": list(actions), "notActions": [], "dataActions": list(data_actions),
                              "notDataActions": []}]}
    props.update(extra)
    return {"properties": props}


def refused(call, *args):
    with pytest.raises(HttpResponseError) as info:
        call(*args)
    return info.value.status_code, info.value.error.code, info.value.error.message


def test_create_get_list_update_delete(sandbox, conn, scopes, auth_client):
    defs, guid = auth_client.role_definitions, str(uuid.uuid4())
    made = defs.create_or_update(scopes["sub"], guid, definition(scopes=[scopes["sub"]]))
    assert made.id == f"{scopes['sub']}/providers/{TYPE}/{guid}" and made.name == guid and made.type == TYPE
    expected = ("Keyless Test Role", "CustomRole", [scopes["sub"]])
    assert (made.role_name, made.role_type, made.assignable_scopes) == expected
    assert made.created_by == conn["app_object_id"] and made.created_on is not None
    assert made.permissions[0].actions == [CONTAINERS + "/read"] and made.permissions[0].not_data_actions == []
    # readable at the subscription and at a scope below it; the id stays subscription-level
    assert defs.get(scopes["rg"], guid).id == made.id
    assert defs.get_by_id(made.id).role_name == "Keyless Test Role"
    found = list(defs.list(scopes["account"], filter="roleName eq 'Keyless Test Role'"))
    assert [d.name for d in found] == [guid]
    assert [d.name for d in defs.list(scopes["sub"], filter="type eq 'CustomRole'")] == [guid]
    assert guid not in [d.name for d in defs.list(scopes["sub"], filter="type eq 'BuiltInRole'")]
    # an update keeps the creation stamp and answers 201, as the spec says
    wider = definition(scopes=[scopes["sub"]], actions=[CONTAINERS + "/*"])
    updated = defs.create_or_update(scopes["sub"], guid, wider)
    assert updated.permissions[0].actions == [CONTAINERS + "/*"] and updated.created_on == made.created_on
    before = sandbox.counters()
    deleted = defs.delete(scopes["sub"], guid)
    assert deleted.name == guid
    assert defs.delete(scopes["sub"], guid) is None  # 204 when absent
    assert sandbox.counters_delta(before)["by_type"][TYPE]["writes"] == 2
    assert list(defs.list(scopes["sub"], filter="type eq 'CustomRole'")) == []


def test_listing_returns_roles_assignable_at_the_scope(scopes, auth_client):
    defs = auth_client.role_definitions
    at_rg = str(uuid.uuid4())
    defs.create_or_update(scopes["sub"], at_rg, definition(name="Group Role", scopes=[scopes["rg"]]))
    assert [d.name for d in defs.list(scopes["account"], filter="roleName eq 'Group Role'")] == [at_rg]
    # "applicable at scope and above": the subscription is above the role's only assignable scope
    assert list(defs.list(scopes["sub"], filter="roleName eq 'Group Role'")) == []


@pytest.mark.parametrize("change, status, code", [
    ({"roleName": ""}, 400, "RoleDefinitionNameNullOrEmpty"),
    ({"roleName": None}, 400, "RoleDefinitionNameNullOrEmpty"),
    ({"roleName": "x" * 513}, 400, "InvalidRoleDefinitionName"),
    ({"type": "BuiltInRole"}, 400, "InvalidRoleDefinitionType"),
    ({"assignableScopes": []}, 400, "MissingAssignableScopes"),
    ({"assignableScopes": None}, 400, "MissingAssignableScopes"),
    ({"assignableScopes": ["/"]}, 400, "InvalidAssignableScopes"),
    ({"assignableScopes": ["/subscriptions/*"]}, 400, "InvalidAssignableScopes"),
    ({"assignableScopes": ["Invalid_Scope"]}, 400, "LinkedInvalidPropertyId"),
    ({"permissions": []}, 400, "InvalidRoleDefinitionPermissions"),
    ({"permissions": None}, 400, "InvalidRoleDefinitionPermissions"),
    ({"permissions": [{"actions": ["Microsoft.Storage/*/containers/*"]}]}, 400, "InvalidRoleDefinitionPermissions"),
    ({"permissions": [{"actions": [""]}]}, 400, "InvalidRoleDefinitionPermissions"),
])
def test_put_refusals(scopes, auth_client, change, status, code):
    body = definition(scopes=[scopes["sub"]])
    body["properties"].update(change)
    got = refused(auth_client.role_definitions.create_or_update, scopes["sub"], str(uuid.uuid4()), body)
    assert got[:2] == (status, code), got


def test_assignable_scopes_must_exist_in_this_subscription(conn, scopes, auth_client):
    defs = auth_client.role_definitions
    elsewhere = f"/subscriptions/{uuid.uuid4()}"
    for scope in (elsewhere, scopes["sub"] + "/resourceGroups/rg-missing", scopes["account"] + "x"):
        status, code, message = refused(defs.create_or_update, scopes["sub"], str(uuid.uuid4()),
                                        definition(scopes=[scopes["sub"], scope]))
        assert (status, code) == (403, "LinkedAuthorizationFailed")
        assert message.endswith(f"on the linked scope(s)'{scope}' or the linked scope(s)are invalid")
        assert f"The client '{conn['app_object_id']}' with object id" in message
    group = "/providers/Microsoft.Management/managementGroups/mg-keyless"
    # a management group is not checked (ARM does not), but two are refused, and data actions with one
    defs.create_or_update(scopes["sub"], str(uuid.uuid4()), definition(name="MG Role", scopes=[group]))
    assert refused(defs.create_or_update, scopes["sub"], str(uuid.uuid4()),
                   definition(name="MG2", scopes=[group, group + "2"]))[1] == "InvalidAssignableScopes"
    assert refused(defs.create_or_update, scopes["sub"], str(uuid.uuid4()),
                   definition(name="MG3", scopes=[group], data_actions=[BLOB_WRITE]))[2] == (
        "You cannot add data action permissions when you have a management group as an assignable scope")


def test_names_guids_and_builtins(sandbox, scopes, auth_client):
    defs = auth_client.role_definitions
    first = str(uuid.uuid4())
    defs.create_or_update(scopes["sub"], first, definition(scopes=[scopes["sub"]]))
    with pytest.raises(ResourceExistsError) as info:
        defs.create_or_update(scopes["sub"], str(uuid.uuid4()), definition(name="KEYLESS test role",
                                                                           scopes=[scopes["rg"]]))
    assert info.value.error.code == "RoleDefinitionWithSameNameExists"
    assert info.value.error.message == ("A custom role with the same name already exists in this directory. Use a "
                                        "different name.")
    assert refused(defs.create_or_update, scopes["sub"], str(uuid.uuid4()),
                   definition(name="Storage Blob Data Reader", scopes=[scopes["sub"]]))[:2] == (
        409, "RoleDefinitionWithSameNameExists")
    assert refused(defs.create_or_update, scopes["sub"], OWNER,
                   definition(name="My Owner", scopes=[scopes["sub"]]))[:2] == (409, "RoleDefinitionExists")
    assert refused(defs.delete, scopes["sub"], OWNER)[:2] == (409, "RoleDefinitionExists")
    assert refused(defs.create_or_update, scopes["sub"], "not-a-guid",
                   definition(name="Other", scopes=[scopes["sub"]]))[:2] == (400, "InvalidRoleDefinitionId")
    sandbox.configure(custom_role_limit=1)
    assert refused(defs.create_or_update, scopes["sub"], str(uuid.uuid4()),
                   definition(name="One Too Many", scopes=[scopes["sub"]]))[1:] == (
        "RoleDefinitionLimitExceeded", "Role definition limit exceeded. No more role definitions can be created.")
    defs.create_or_update(scopes["sub"], first, definition(scopes=[scopes["sub"]]))  # an update is not a new role


def assign(auth_client, scope, role_id, principal):
    return auth_client.role_assignments.create(scope, str(uuid.uuid4()), {"properties": {
        "roleDefinitionId": role_id, "principalId": principal, "principalType": "ServicePrincipal"}})


def test_custom_role_assignments_and_delete_refused_while_used(scopes, auth_client):
    defs, guid = auth_client.role_definitions, str(uuid.uuid4())
    role = defs.create_or_update(scopes["sub"], guid, definition(scopes=[scopes["account"]]))
    made = assign(auth_client, scopes["container"], role.id, scopes["principal"])
    assert made.role_definition_id == role.id
    status, code, message = refused(assign, auth_client, scopes["rg"], role.id, scopes["principal"])
    assert (status, code) == (400, "RoleAssignmentScopeNotAssignableToRoleDefinition")
    assert message == "The role Keyless Test Role is not available for assignment at the requested scope."
    assert refused(defs.delete, scopes["sub"], guid) == (
        409, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role")
    auth_client.role_assignments.delete_by_id(made.id)
    assert defs.delete(scopes["sub"], guid).name == guid
    assert refused(assign, auth_client, scopes["container"], role.id, scopes["principal"])[1] == (
        "RoleDefinitionDoesNotExist")


def test_access_honours_custom_roles(sandbox, scopes, auth_client):
    """The data plane's one RBAC check (Blob service, kubelet, provisioner) sees a custom role's permissions."""
    writer = auth_client.role_definitions.create_or_update(scopes["sub"], str(uuid.uuid4()), definition(
        name="Container Writer", scopes=[scopes["rg"]], actions=[CONTAINERS + "/write"], data_actions=[BLOB_WRITE]))
    assign(auth_client, scopes["account"], writer.id, scopes["principal"])
    store = Store()
    store.restore_snapshot(sandbox.state())
    roles = access.roles_at(store, scopes["principal"], scopes["container"])
    assert [r["properties"]["roleName"] for r in roles] == ["Container Writer"]
    assert permits(roles[0], action=CONTAINERS + "/write")
    assert not permits(roles[0], action=CONTAINERS + "/delete")
    assert access.allows_data(store, scopes["principal"], scopes["container"], BLOB_WRITE)
    assert not access.allows_data(store, scopes["principal"], scopes["container"], CONTAINERS + "/blobs/read")
    assert access.roles_at(store, scopes["principal"], scopes["rg"]) == []  # assigned below the group
