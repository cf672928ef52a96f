"""Microsoft.Authorization (built-in role definitions, role assignments, principal propagation) with
the real azure-mgmt-authorization 4.0 client, and unit tests of the pure permits() check."""

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from sandbox.arm.providers.authorization import BUILTIN_ROLES_BY_NAME, permits

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
BLOB_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
LIST_KEYS = "Microsoft.Storage/storageAccounts/listKeys/action"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"


def role(name):
    return BUILTIN_ROLES_BY_NAME[name.lower()]


# ---------------------------------------------------------------- permits() (no sandbox)
@pytest.mark.parametrize("name, action, data_action, expected", [
    ("Owner", LIST_KEYS, None, True),
    ("Owner", None, BLOB_READ, False),                       # control-plane "*" grants no data action
    ("Contributor", LIST_KEYS, None, True),
    ("Contributor", "Microsoft.Authorization/roleAssignments/write", None, False),  # notActions
    ("Storage Account Contributor", LIST_KEYS, None, True),  # Microsoft.Storage/storageAccounts/*
    ("Storage Account Key Operator Service Role", LIST_KEYS, None, True),  # "listkeys": case-insensitive
    ("Storage Blob Data Contributor", None, BLOB_WRITE, True),
    ("Storage Blob Data Contributor", None, BLOB_READ, True),
    ("Storage Blob Data Contributor", LIST_KEYS, None, False),
    ("Storage Blob Data Reader", None, BLOB_READ, True),
    ("Storage Blob Data Reader", None, BLOB_WRITE, False),
    ("Storage Blob Data Owner", None, BLOB_WRITE, True),     # blobs/*
    ("Storage Blob Delegator", None, BLOB_READ, False),
    ("Reader", LIST_KEYS, None, False),
    ("Reader", "Microsoft.Storage/storageAccounts/read", None, True),  # */read
    ("Reader", None, BLOB_READ, False),
    ("Managed Identity Operator", "Microsoft.ManagedIdentity/userAssignedIdentities/read", None, True),  # /*/ = /
    ("Managed Identity Operator", "Microsoft.ManagedIdentity/userAssignedIdentities/write", None, False),
])
def test_permits_builtin_roles(name, action, data_action, expected):
    assert permits(role(name), action=action, data_action=data_action) is expected


def test_permits_wildcards_and_not_actions():
    custom = {"properties": {"permissions": [{
        "actions": ["Microsoft.Storage/*"], "notActions": ["microsoft.storage/storageaccounts/LISTKEYS/action"],
        "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
        "notDataActions": ["*/write"]}]}}
    assert permits(custom, action="Microsoft.Storage/storageAccounts/write")
    assert not permits(custom, action=LIST_KEYS)
    assert permits(custom, data_action=BLOB_READ) and not permits(custom, data_action=BLOB_WRITE)
    assert not permits(custom, action="Microsoft.Compute/virtualMachines/read")
    with pytest.raises(ValueError):
        permits(custom)
    with pytest.raises(ValueError):
        permits(custom, action=LIST_KEYS, data_action=BLOB_READ)


# ---------------------------------------------------------------- role definitions
def test_role_definitions_by_id_and_name(conn, auth_client):
    sub_scope = f"/subscriptions/{conn['subscription_id']}"
    got = auth_client.role_definitions.get(sub_scope, BLOB_CONTRIBUTOR)
    expected = ("Storage Blob Data Contributor", "BuiltInRole", BLOB_CONTRIBUTOR)
    assert (got.role_name, got.role_type, got.name) == expected
    assert got.id == f"{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR}"
    assert got.assignable_scopes == ["/"] and BLOB_WRITE in got.permissions[0].data_actions
    tenant_level = auth_client.role_definitions.get("/", OWNER)
    assert tenant_level.id == f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
    assert tenant_level.permissions[0].actions == ["*"]
    found = list(auth_client.role_definitions.list(sub_scope, filter="roleName eq 'Storage Blob Data Reader'"))
    assert [d.name for d in found] == [BLOB_READER]
    assert len(list(auth_client.role_definitions.list(sub_scope, filter="type eq 'BuiltInRole'"))) >= 12
    assert list(auth_client.role_definitions.list(sub_scope, filter="roleName eq 'No Such Role'")) == []
    with pytest.raises(ResourceNotFoundError) as info:
        auth_client.role_definitions.get(sub_scope, str(uuid.uuid4()))
    assert info.value.error.code == "RoleDefinitionDoesNotExist"


# ---------------------------------------------------------------- role assignments
@pytest.fixture
def scopes(conn, rm_client, storage_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-ra", {"location": "eastus"})
    account = storage_client.storage_accounts.begin_create(
        "rg-ra", "straccount1", {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus"}).result()
    container = storage_client.blob_containers.create("rg-ra", "straccount1", "data", {})
    identity = msi_client.user_assigned_identities.create_or_update("rg-ra", "id-ra", {"location": "eastus"})
    sub = f"/subscriptions/{conn['subscription_id']}"
    return {"sub": sub, "rg": f"{sub}/resourceGroups/rg-ra", "account": account.id, "container": container.id,
            "principal": identity.principal_id}


def role_id(conn, guid):
    return f"/subscriptions/{conn['subscription_id']}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def assign(auth_client, conn, scope, guid, principal, name=None, principal_type="ServicePrincipal"):
    props = {"roleDefinitionId": role_id(conn, guid), "principalId": principal}
    if principal_type:
        props["principalType"] = principal_type
    return auth_client.role_assignments.create(scope, name or str(uuid.uuid4()), {"properties": props})


def test_assignment_create_get_delete(sandbox, conn, scopes, auth_client):
    name = str(uuid.uuid4())
    created = assign(auth_client, conn, scopes["container"], BLOB_CONTRIBUTOR, scopes["principal"], name)
    assert created.name == name and created.type == "Microsoft.Authorization/roleAssignments"
    assert created.id == f"{scopes['container']}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert (created.scope, created.principal_id, created.principal_type) == (
        scopes["container"], scopes["principal"], "ServicePrincipal")
    assert created.role_definition_id == role_id(conn, BLOB_CONTRIBUTOR)
    assert created.created_by == conn["app_object_id"] and created.created_on is not None
    again = assign(auth_client, conn, scopes["container"], BLOB_CONTRIBUTOR, scopes["principal"], name)
    assert again.id == created.id  # same name, same content: idempotent
    assert auth_client.role_assignments.get_by_id(created.id).name == name
    assert auth_client.role_assignments.get(scopes["container"], name).principal_id == scopes["principal"]
    deleted = auth_client.role_assignments.delete_by_id(created.id)
    assert deleted.name == name
    assert auth_client.role_assignments.delete(scopes["container"], name) is None  # 204 when absent
    with pytest.raises(ResourceNotFoundError) as info:
        auth_client.role_assignments.get(scopes["container"], name)
    assert info.value.error.code == "RoleAssignmentNotFound"
    writes = sandbox.counters()["by_type"]["Microsoft.Authorization/roleAssignments"]
    assert writes == {"reads": 3, "writes": 4}


def test_assignment_errors(conn, scopes, auth_client):
    principal = scopes["principal"]
    existing = assign(auth_client, conn, scopes["account"], BLOB_READER, principal)
    with pytest.raises(ResourceExistsError) as info:
        assign(auth_client, conn, scopes["account"], BLOB_READER, principal)
    assert info.value.error.code == "RoleAssignmentExists"
    assert info.value.error.message == ("The role assignment already exists. The ID of the existing role assignment "
                                        f"is {existing.name.replace('-', '')}.")
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["account"], OWNER, principal, name=existing.name)
    assert info.value.status_code == 400 and info.value.error.code == "RoleAssignmentUpdateNotPermitted"
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["rg"], BLOB_READER, principal, name=existing.name)
    assert info.value.error.code == "RoleAssignmentUpdateNotPermitted"  # names are unique across scopes
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["account"], BLOB_READER, principal, name="not-a-guid")
    assert info.value.error.code == "InvalidRoleAssignmentId"
    assert info.value.error.message == ("The role assignment ID 'not-a-guid' is not valid. The role assignment ID "
                                        "must be a GUID.")
    missing_role = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["account"], missing_role, principal)
    assert info.value.status_code == 400 and info.value.error.code == "RoleDefinitionDoesNotExist"
    assert info.value.error.message == f"The specified role definition with ID '{missing_role}' does not exist."
    stranger = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["account"], READER, stranger)
    assert info.value.error.code == "PrincipalNotFound"
    assert info.value.error.message.startswith(f"Principal {stranger.replace('-', '')} does not exist in the directory "
                                               f"{conn['tenant_id']}.")
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scopes["account"], READER, principal, principal_type="User")
    assert info.value.error.code == "UnmatchedPrincipalType"
    with pytest.raises(ResourceNotFoundError) as info:
        assign(auth_client, conn, scopes["account"] + "x", READER, principal)
    assert info.value.error.code == "ResourceNotFound"


def test_list_for_scope_semantics_and_paging(sandbox, conn, scopes, auth_client):
    principal, app = scopes["principal"], conn["app_object_id"]
    at_sub = assign(auth_client, conn, scopes["sub"], READER, app)
    at_account = assign(auth_client, conn, scopes["account"], BLOB_READER, principal, principal_type=None)
    at_container = assign(auth_client, conn, scopes["container"], BLOB_CONTRIBUTOR, principal)
    ops = auth_client.role_assignments

    def names(scope, **kwargs):
        return sorted(a.name for a in ops.list_for_scope(scope, **kwargs))

    # No filter: at, above and below the scope.
    assert names(scopes["account"]) == sorted([at_sub.name, at_account.name, at_container.name])
    # atScope(): at and above only -- the account's assignment is inherited by the container.
    assert names(scopes["container"], filter="atScope()") == sorted([at_sub.name, at_account.name, at_container.name])
    assert names(scopes["account"], filter="atScope()") == sorted([at_sub.name, at_account.name])
    # principalId eq: that principal at, above and below; combined with atScope().
    assert names(scopes["rg"], filter=f"principalId eq '{principal}'") == sorted([at_account.name, at_container.name])
    assert names(scopes["container"], filter=f"atScope() and assignedTo('{principal}')") == sorted(
        [at_account.name, at_container.name])
    assert names(scopes["account"], filter=f"atScope() and principalId eq '{app}'") == [at_sub.name]
    assert [a.name for a in ops.list_for_subscription(filter=f"principalId eq '{app}'")] == [at_sub.name]
    assert at_account.principal_type == "ServicePrincipal"  # filled in from the directory when omitted

    sandbox.configure(page_size=1)
    since = sandbox.counters()["reads"]
    assert names(scopes["account"], filter=f"principalId eq '{principal}'") == sorted(
        [at_account.name, at_container.name])
    assert sandbox.counters()["reads"] - since == 2  # one page each, $filter kept in nextLink
    with pytest.raises(HttpResponseError) as info:
        list(ops.list_for_scope(scopes["account"], filter="roleName eq 'Reader'"))
    assert info.value.status_code == 400


def test_new_principal_is_not_found_during_propagation(sandbox, conn, rm_client, msi_client, auth_client):
    # a window no machine's slowness can use up; closing it (0) instead of waiting it out keeps this clock-free
    sandbox.configure(principal_propagation_seconds=3600)
    rm_client.resource_groups.create_or_update("rg-prop", {"location": "eastus"})
    identity = msi_client.user_assigned_identities.create_or_update("rg-prop", "id-new", {"location": "eastus"})
    scope = f"/subscriptions/{conn['subscription_id']}/resourceGroups/rg-prop"
    name = str(uuid.uuid4())
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scope, BLOB_READER, identity.principal_id, name)  # principalType given, too
    assert info.value.status_code == 400 and info.value.error.code == "PrincipalNotFound"
    assert "replication delay" in info.value.error.message
    sandbox.configure(principal_propagation_seconds=0)
    assert assign(auth_client, conn, scope, BLOB_READER, identity.principal_id, name).name == name

    sandbox.configure(principal_type_skips_propagation=True, principal_propagation_seconds=3600)
    other = msi_client.user_assigned_identities.create_or_update("rg-prop", "id-newer", {"location": "eastus"})
    assert assign(auth_client, conn, scope, BLOB_READER, other.principal_id).principal_type == "ServicePrincipal"
    with pytest.raises(HttpResponseError) as info:
        assign(auth_client, conn, scope, READER, other.principal_id, principal_type=None)
    assert info.value.error.code == "PrincipalNotFound"


def test_principal_propagation_by_count_of_writes(sandbox, conn, rm_client, msi_client, auth_client):
    """Count-based propagation: the first N writes naming the new principal are refused, whatever the clock says."""
    sandbox.configure(principal_propagation_writes=2)
    rm_client.resource_groups.create_or_update("rg-prop-n", {"location": "eastus"})
    identity = msi_client.user_assigned_identities.create_or_update("rg-prop-n", "id-n", {"location": "eastus"})
    scope = f"/subscriptions/{conn['subscription_id']}/resourceGroups/rg-prop-n"
    name = str(uuid.uuid4())
    for _attempt in range(2):
        with pytest.raises(HttpResponseError) as info:
            assign(auth_client, conn, scope, BLOB_READER, identity.principal_id, name)
        assert info.value.error.code == "PrincipalNotFound"
    assert assign(auth_client, conn, scope, BLOB_READER, identity.principal_id, name).name == name


def test_assigned_to_is_transitive_over_groups_and_principal_id_is_not(sandbox, conn, scopes, auth_client):
    group = sandbox.add_group_member(scopes["principal"])["group_id"]
    direct = assign(auth_client, conn, scopes["container"], BLOB_READER, scopes["principal"])
    via_group = assign(auth_client, conn, scopes["container"], BLOB_CONTRIBUTOR, group, principal_type="Group")

    def listed(filter_text):
        return sorted(a.id for a in auth_client.role_assignments.list_for_scope(scopes["container"],
                                                                                filter=filter_text))
    assert listed("assignedTo('%s')" % scopes["principal"]) == sorted([direct.id, via_group.id])
    assert listed("principalId eq '%s'" % scopes["principal"]) == [direct.id]
    assert listed("principalId eq '%s'" % group) == [via_group.id]
