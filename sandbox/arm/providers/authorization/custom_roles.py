"""Custom role definitions: what a PUT must hold, where it may be assigned, and when it may be deleted.

Azure's rules and, where known, its codes and wording (sources in sandbox/README.md, "Authorization"). A message
that starts with "sandbox:" was not found in a public source: the refusal is Azure's documented rule, the words are
the sandbox's.
- the name is a GUID; a built-in role's GUID cannot be written (409 RoleDefinitionExists) nor deleted;
- properties.type, when sent, is CustomRole: 400 InvalidRoleDefinitionType;
- roleName is required (400 RoleDefinitionNameNullOrEmpty), at most 512 characters, unique in the tenant among
  built-in and custom roles, case-insensitively (409 RoleDefinitionWithSameNameExists); description at most 2048;
- permissions: at least one block; action strings non-empty with at most one wildcard each;
- assignableScopes: required (400 MissingAssignableScopes), at most 2000; each a subscription, resource group,
  resource or management group id (400 LinkedInvalidPropertyId), not the root "/" and without wildcards, at most
  one management group, none with dataActions; each must exist in this tenant (403 LinkedAuthorizationFailed, as
  for a subscription or group that does not exist or is not this subscription); management groups are not
  checked (Azure Resource Manager does not validate them either);
- at most `custom_role_limit` custom roles (5000 in Azure): 400 RoleDefinitionLimitExceeded;
- DELETE while role assignments use the role: 409 RoleDefinitionHasAssignments.
"""

import re
import time

from ...errors import ArmError, invalid_request_content
from .builtin_roles import BY_ID, BY_NAME

TYPE = "Microsoft.Authorization/roleDefinitions"
ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
TENANT_LIMIT = 5000
MAX_ROLE_NAME, MAX_DESCRIPTION, MAX_ASSIGNABLE_SCOPES = 512, 2048, 2000
PERMISSION_KEYS = ("actions", "notActions", "dataActions", "notDataActions")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MANAGEMENT_GROUP = re.compile(r"/providers/Microsoft\.Management/managementGroups/[^/*]+", re.IGNORECASE)
SCOPE = re.compile(r"/subscriptions/(?P<sub>[^/]+)(/resourceGroups/(?P<rg>[^/]+)(?P<resource>/providers/.+)?)?",
                   re.IGNORECASE)


def custom_id(subscription, guid) -> str:
    return f"/subscriptions/{subscription}/providers/{TYPE}/{guid}"


def _key(scope) -> str:
    return (scope or "").rstrip("/").lower()


def stored(store, guid):
    """The stored custom role with this GUID (ARM body), or None."""
    wanted = (guid or "").lower()
    return next((b for b in store.of_type(TYPE) if b["name"].lower() == wanted), None)


def covers(assignable, scope) -> bool:
    """A role assignable at ``assignable`` can be assigned at ``scope`` (the same scope or one below it). A
    management group is taken to hold the sandbox's one subscription (the sandbox has no management groups)."""
    if MANAGEMENT_GROUP.fullmatch(assignable or ""):
        return True
    a, s = _key(assignable), _key(scope)
    return bool(a) and (s == a or s.startswith(a + "/"))


def assignable_at(definition, scope) -> bool:
    return any(covers(a, scope) for a in definition["properties"]["assignableScopes"])


def applicable(store, scope):
    """The custom roles a listing at ``scope`` returns: those assignable at it (the spec: "applicable at scope and
    above")."""
    return [b for b in store.of_type(TYPE) if assignable_at(b, scope)]


def _iso(ts) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e7):07d}Z"


def _guid(call) -> str:
    if not GUID.fullmatch(call.name or ""):
        raise ArmError(400, "InvalidRoleDefinitionId",
                       f"sandbox: The role definition ID '{call.name}' is not valid. It must be a GUID.")
    if call.name.lower() in BY_ID:
        raise ArmError(409, "RoleDefinitionExists",
                       f"sandbox: The role definition '{call.name}' is a built-in role; built-in roles cannot be "
                       f"created, updated or deleted.")
    return call.name


# ---------------------------------------------------------------------- PUT
def _check_names(props):
    if props.get("type") is not None and str(props["type"]).lower() != "customrole":
        raise ArmError(400, "InvalidRoleDefinitionType",
                       f"sandbox: The role definition type '{props['type']}' is not valid; only 'CustomRole' can be "
                       f"created.")
    name = props.get("roleName")
    if not isinstance(name, str) or not name.strip():
        raise ArmError(400, "RoleDefinitionNameNullOrEmpty", "sandbox: The role definition name cannot be null or "
                                                             "empty.")
    if len(name) > MAX_ROLE_NAME:
        raise ArmError(400, "InvalidRoleDefinitionName", f"sandbox: The role name is {len(name)} characters long; "
                                                         f"the maximum is {MAX_ROLE_NAME}.")
    description = props.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise ArmError(400, "InvalidRoleDefinitionDescription",
                       f"sandbox: The description must be a string of at most {MAX_DESCRIPTION} characters.")


def _permission_problem(permissions):
    if not isinstance(permissions, list) or not permissions:
        return "The role definition must have at least one permission block."
    for block in permissions:
        if not isinstance(block, dict):
            return "Each permission must be an object with actions, notActions, dataActions and notDataActions."
        for key in PERMISSION_KEYS:
            values = block.get(key) or []
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                return f"'{key}' must be a list of non-empty action strings."
            many = next((v for v in values if v.count("*") > 1), None)
            if many:
                return f"The action '{many}' has more than one wildcard; an action string can have only one."
    if not any(block.get("actions") or block.get("dataActions") for block in permissions):
        return "The role definition grants nothing: give actions or dataActions."
    return None


def _normalized_permissions(permissions):
    return [{key: list(block.get(key) or []) for key in PERMISSION_KEYS} for block in permissions]


def _check_scopes(call, scopes, permissions):
    if not isinstance(scopes, list) or not scopes:
        raise ArmError(400, "MissingAssignableScopes", "sandbox: The role definition must have at least one "
                                                       "assignable scope.")
    if len(scopes) > MAX_ASSIGNABLE_SCOPES:
        raise ArmError(400, "InvalidAssignableScopes", f"sandbox: A role definition can have at most "
                                                       f"{MAX_ASSIGNABLE_SCOPES} assignable scopes.")
    groups = [s for s in scopes if isinstance(s, str) and MANAGEMENT_GROUP.fullmatch(s)]
    for index, scope in enumerate(scopes):
        _check_scope_form(scope, index)
    if len(groups) > 1:
        raise ArmError(400, "InvalidAssignableScopes", "sandbox: Only one management group can be an assignable "
                                                       "scope of a custom role.")
    if groups and any(block.get("dataActions") for block in permissions):
        raise ArmError(400, "InvalidAssignableScopes", "You cannot add data action permissions when you have a "
                                                       "management group as an assignable scope")
    missing = [s for s in scopes if s not in groups and not _exists(call, s)]
    if missing:
        caller = call.token.get("object_id")
        raise ArmError(403, "LinkedAuthorizationFailed",
                       f"The client '{caller}' with object id '{caller}' has permission to perform action "
                       f"'{TYPE}/write' on scope '{call.path.scope or '/'}'; however, it does not have permission to "
                       f"perform action '{TYPE}/write' on the linked scope(s)'{','.join(missing)}' or the linked "
                       f"scope(s)are invalid")


def _check_scope_form(scope, index):
    if scope == "/" or (isinstance(scope, str) and "*" in scope):
        raise ArmError(400, "InvalidAssignableScopes", f"sandbox: The assignable scope '{scope}' is not allowed: a "
                                                       f"custom role cannot be assignable at the root scope or "
                                                       f"through a wildcard.")
    if not isinstance(scope, str) or not (SCOPE.fullmatch(scope) or MANAGEMENT_GROUP.fullmatch(scope)):
        raise ArmError(400, "LinkedInvalidPropertyId",
                       f"sandbox: Property id '{scope}' at path 'properties.assignableScopes[{index}]' is invalid. "
                       f"Expect a fully qualified resource id that starts with '/subscriptions/{{subscriptionId}}' "
                       f"or '/providers/Microsoft.Management/managementGroups/{{groupId}}'.")


def _exists(call, scope) -> bool:
    """A subscription, resource group or resource scope that exists in this tenant's one subscription."""
    match = SCOPE.fullmatch(scope)
    if match.group("sub").lower() != call.app.subscription_id.lower():
        return False
    if not match.group("rg"):
        return True
    group = f"/subscriptions/{match.group('sub')}/resourceGroups/{match.group('rg')}"
    if call.store.get(group) is None:
        return False
    return not match.group("resource") or call.store.get(scope.rstrip("/")) is not None


def _check_unique(call, guid, name, existing):
    taken = BY_NAME.get(name.lower()) is not None or any(
        b["properties"]["roleName"].lower() == name.lower() and b["name"].lower() != guid.lower()
        for b in call.store.of_type(TYPE))
    if taken:
        raise ArmError(409, "RoleDefinitionWithSameNameExists",
                       "A custom role with the same name already exists in this directory. Use a different name.")
    limit = int(call.store.config.get("custom_role_limit") or TENANT_LIMIT)
    if existing is None and len(call.store.of_type(TYPE)) >= limit:
        raise ArmError(400, "RoleDefinitionLimitExceeded",
                       "Role definition limit exceeded. No more role definitions can be created.")


def write(call, request) -> dict:
    """Create or update the custom role the PUT names; returns its stored body."""
    guid = _guid(call)
    props = request.get("properties")
    if not isinstance(props, dict):
        raise invalid_request_content("The 'properties' member is required.")
    _check_names(props)
    problem = _permission_problem(props.get("permissions"))
    if problem:
        raise ArmError(400, "InvalidRoleDefinitionPermissions", f"sandbox: {problem}")
    permissions = _normalized_permissions(props["permissions"])
    _check_scopes(call, props.get("assignableScopes"), permissions)
    existing = stored(call.store, guid)
    _check_unique(call, guid, props["roleName"], existing)
    now, caller = _iso(time.time()), call.token.get("object_id")
    created = existing["properties"] if existing else {"createdOn": now, "createdBy": caller}
    record = {"id": existing["id"] if existing else custom_id(call.app.subscription_id, guid),
              "name": existing["name"] if existing else guid, "type": TYPE,
              "properties": {"roleName": props["roleName"], "type": "CustomRole",
                             "description": props.get("description"),
                             "assignableScopes": list(props["assignableScopes"]), "permissions": permissions,
                             "createdOn": created["createdOn"], "updatedOn": now, "createdBy": created["createdBy"],
                             "updatedBy": caller}}
    call.store.put(record)
    return record


# ---------------------------------------------------------------------- DELETE
def users(store, guid):
    """The role assignments that use the role with this GUID."""
    wanted = guid.lower()
    return [a for a in store.of_type(ASSIGNMENTS)
            if a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower() == wanted]


def delete(call):
    """Delete the custom role the DELETE names; its body, or None when it does not exist."""
    existing = stored(call.store, _guid(call))
    if existing is None:
        return None
    if users(call.store, existing["name"]):
        raise ArmError(409, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role")
    call.store.delete_tree(existing["id"])
    return existing
