"""Microsoft.Authorization/roleAssignments at any scope (subscription, group, resource, child resource).

Azure's rules, with their wording (sources in sandbox/README.md):
- the name is a GUID, unique across scopes: 400 InvalidRoleAssignmentId; re-PUT of a name with another
  scope, principal or role: 400 RoleAssignmentUpdateNotPermitted; same content again: 201 (idempotent);
- the role definition must exist (built-in, or a custom role of this subscription): 400
  RoleDefinitionDoesNotExist; a custom role only at or below one of its assignableScopes: 400
  RoleAssignmentScopeNotAssignableToRoleDefinition;
- one assignment per (scope, role, principal): 409 RoleAssignmentExists naming the existing one;
- the principal must be in the directory (see directory.py): 400 PrincipalNotFound; a principalType
  that contradicts the directory: 400 UnmatchedPrincipalType. principalType does not, by default,
  bypass the replication delay (config `principal_type_skips_propagation`).
Listing ({scope}/providers/Microsoft.Authorization/roleAssignments): no filter -> at, above and below
the scope; atScope() -> at and above only; principalId eq -> that principal, assignedTo -> that principal and the
directory groups it is a member of (combined
with atScope() when given). Paged through nextLink by the framework.
"""

import re
import time
from typing import ClassVar

from ....server import Response
from ...errors import ArmError, invalid_request_content, resource_not_found
from ...paths import parse as parse_path
from ...registry import ResourceType
from . import directory, odata
from . import custom_roles
from .role_definitions import API_VERSIONS, definition_id, find as find_role, not_found as role_not_found

TYPE = "Microsoft.Authorization/roleAssignments"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ROLE_DEFINITION_ID = re.compile(r"(?:/subscriptions/(?P<sub>[^/]+))?/providers/Microsoft\.Authorization/"
                                r"roleDefinitions/(?P<guid>[^/]+)", re.IGNORECASE)
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")


def _iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e7):07d}Z"


def _hex(guid: str) -> str:
    return guid.replace("-", "").lower()  # Azure prints ids without dashes in these messages


def _scope_key(scope: str) -> str:
    return (scope or "/").rstrip("/").lower() or "/"


def is_above_or_at(assignment_scope, scope) -> bool:
    a, s = _scope_key(assignment_scope), _scope_key(scope)
    return a == "/" or s == a or s.startswith(a + "/")


def is_below(assignment_scope, scope) -> bool:
    a, s = _scope_key(assignment_scope), _scope_key(scope)
    return a != s and (s == "/" or a.startswith(s + "/"))


def assignment_properties(subscription, role_guid, principal_id, principal_type, scope, caller, requested,
                          previous=None) -> dict:
    """The properties a PUT stores (`previous`: those of the assignment it re-puts, whose creation it keeps)."""
    now = _iso(time.time())
    created = previous or {"createdOn": now, "createdBy": caller}
    condition = requested.get("condition")
    return {
        "roleDefinitionId": definition_id(subscription, role_guid),
        "principalId": principal_id, "principalType": principal_type, "scope": scope,
        "condition": condition, "conditionVersion": (requested.get("conditionVersion") or "2.0") if condition else None,
        "createdOn": created["createdOn"], "updatedOn": now, "createdBy": created["createdBy"], "updatedBy": caller,
        "delegatedManagedIdentityResourceId": requested.get("delegatedManagedIdentityResourceId"),
        "description": requested.get("description"),
    }


class RoleAssignments(ResourceType):
    type_name = TYPE
    api_versions = API_VERSIONS
    config_defaults: ClassVar[dict] = {"principal_propagation_seconds": 0, "principal_propagation_writes": 0,
                                       "principal_type_skips_propagation": False}

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _check_name(call):
        if not GUID.fullmatch(call.name or ""):
            raise ArmError(400, "InvalidRoleAssignmentId",
                           f"The role assignment ID '{call.name}' is not valid. The role assignment ID must be a GUID.")

    @staticmethod
    def _scope(call) -> str:
        return call.path.scope or "/"

    def _check_scope_exists(self, call, scope):
        """A resource scope must exist (subscription and group are checked by the framework)."""
        if "/providers/" not in scope.lower():
            return
        path = parse_path(scope)
        if not path.names or path.is_collection:
            raise ArmError(400, "InvalidScope", f"The scope '{scope}' is not valid.")
        handler = call.app.registry.lookup(path.type_key())
        if handler is not None and call.store.get(scope) is None:
            raise resource_not_found(handler.type_name, path.names[-1], path.resource_group)

    @staticmethod
    def _role(call, value) -> tuple:
        """(GUID, definition) of the roleDefinitionId a PUT names."""
        match = ROLE_DEFINITION_ID.fullmatch(value or "") if isinstance(value, str) else None
        if not match:
            raise ArmError(400, "InvalidRoleDefinitionId", f"The role definition ID '{value}' is not valid.")
        guid = match.group("guid").lower()
        sub = match.group("sub")
        definition = find_role(call.store, guid)
        if definition is None or (sub and sub.lower() != call.app.subscription_id.lower()):
            raise role_not_found(match.group("guid"), status=400)
        return guid, definition

    @staticmethod
    def _check_assignable(definition, scope):
        """A custom role is assignable only at or below one of its assignableScopes (built-ins: "/")."""
        if "properties" in definition and not custom_roles.assignable_at(definition, scope):
            raise ArmError(400, "RoleAssignmentScopeNotAssignableToRoleDefinition",
                           f"The role {definition['properties']['roleName']} is not available for assignment at the "
                           f"requested scope.")

    def _principal_type(self, call, principal_id, requested_type):
        """The principalType to store, or PrincipalNotFound / UnmatchedPrincipalType."""
        entry = directory.lookup(call, principal_id, write=True)
        config = call.store.config
        if entry is None or not entry["visible"]:
            if requested_type and config.get("principal_type_skips_propagation"):
                return requested_type  # Azure's documented mitigation: no directory lookup with a type
            raise ArmError(400, "PrincipalNotFound",
                           f"Principal {_hex(principal_id)} does not exist in the directory {call.app.tenant_id}. "
                           f"Check that you have the correct principal ID. If you are creating this principal and "
                           f"then immediately assigning a role, this error might be related to a replication delay. "
                           f"In this case, set the role assignment principalType property to a value, such as "
                           f"ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype")
        if requested_type and requested_type.lower() != entry["type"].lower():
            raise ArmError(400, "UnmatchedPrincipalType",
                           f"The PrincipalId '{_hex(principal_id)}' has type '{entry['type']}' , which is different "
                           f"from specified PrincipalType '{requested_type}'.")
        return entry["type"]

    # ------------------------------------------------------------------ verbs
    def get(self, call):
        self._check_name(call)
        if call.existing is None:
            raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{call.name}' is not found.")
        return Response.json(200, call.existing)

    def delete(self, call):
        self._check_name(call)
        if call.existing is None:
            return Response.empty(204)
        body = call.existing
        call.store.delete_tree(body["id"])
        return Response.json(200, body)

    def put(self, call):
        self._check_name(call)
        props = call.body().get("properties")
        if not isinstance(props, dict):
            raise invalid_request_content("The 'properties' member is required.")
        principal_id, requested_type = props.get("principalId"), props.get("principalType")
        if not isinstance(principal_id, str) or not GUID.fullmatch(principal_id):
            raise ArmError(400, "InvalidPrincipalId",
                           f"The Principal ID '{principal_id}' is not valid. Principal ID must be a GUID.")
        if requested_type is not None:
            known = [t.lower() for t in PRINCIPAL_TYPES]
            if not isinstance(requested_type, str) or requested_type.lower() not in known:
                raise invalid_request_content(f"The principalType '{requested_type}' is not valid. Allowed values: "
                                              f"{', '.join(PRINCIPAL_TYPES)}.")
            requested_type = next(t for t in PRINCIPAL_TYPES if t.lower() == requested_type.lower())
        role_guid, definition = self._role(call, props.get("roleDefinitionId"))
        scope = self._scope(call)
        self._check_scope_exists(call, scope)
        self._check_assignable(definition, scope)

        same_name = [b for b in call.store.of_type(TYPE) if b["name"].lower() == call.name.lower()]
        previous = same_name[0] if same_name else None
        if previous is not None:
            old = previous["properties"]
            if (_scope_key(old["scope"]) != _scope_key(scope) or old["principalId"].lower() != principal_id.lower()
                    or old["roleDefinitionId"].rsplit("/", 1)[-1].lower() != role_guid):
                raise ArmError(400, "RoleAssignmentUpdateNotPermitted",
                               "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
        principal_type = self._principal_type(call, principal_id, requested_type)
        for other in call.store.of_type(TYPE):
            o = other["properties"]
            if (other is not previous and _scope_key(o["scope"]) == _scope_key(scope)
                    and o["principalId"].lower() == principal_id.lower()
                    and o["roleDefinitionId"].rsplit("/", 1)[-1].lower() == role_guid):
                raise ArmError(409, "RoleAssignmentExists", f"The role assignment already exists. The ID of the "
                                                            f"existing role assignment is {_hex(other['name'])}.")
        caller = call.token.get("object_id")
        record = previous or {"id": call.id, "name": call.name, "type": TYPE}
        record["properties"] = assignment_properties(
            call.path.subscription, role_guid, principal_id, principal_type, scope, caller, props,
            previous["properties"] if previous else None)
        call.store.put(record)
        return Response.json(201, record)  # Azure answers 201 even when the assignment already existed

    def list(self, call):
        scope = call.container_id if call.container_id not in ("", None) else "/"
        terms = odata.parse(call.request.query.get("$filter"), ("atScope", "principalId", "assignedTo"))
        principal = (terms.get("principalId") or terms.get("assignedTo") or "").lower()
        # assignedTo() is transitive over group membership ("List Azure role assignments using the REST API":
        # the user's assignments and those of the groups it is a member of); principalId eq is that principal only
        principals = {principal} if principal else set()
        if terms.get("assignedTo"):
            principals.update(g.lower() for g in call.store.groups_of(principal))
        items = []
        for body in call.store.of_type(TYPE):
            assigned = body["properties"]["scope"]
            if not (is_above_or_at(assigned, scope) or (not terms.get("atScope") and is_below(assigned, scope))):
                continue
            if principals and body["properties"]["principalId"].lower() not in principals:
                continue
            items.append(body)
        return call.list_response(items)
