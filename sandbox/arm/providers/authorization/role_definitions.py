"""Microsoft.Authorization/roleDefinitions: the built-in roles, readable at any scope, and custom roles.

GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid} (built-ins at tenant level too) and the list
with $filter=roleName eq '...' and/or type eq 'BuiltInRole'|'CustomRole'. Custom roles (api-version 2022-04-01,
azure-rest-api-specs examples PutRoleDefinition.json / DeleteRoleDefinition.json): PUT answers 201 for a create and
an update alike (the only status the spec declares), DELETE 200 with the body or 204 when absent. A custom role is a
subscription-level resource whatever scope it is written at (id /subscriptions/{s}/providers/.../{guid}); the
refusals and their sources are in sandbox/README.md ("Authorization") and custom_roles.py.
"""

import copy
from typing import ClassVar

from ....server import Response
from ...errors import ArmError
from ...registry import ResourceType
from . import custom_roles, odata
from .builtin_roles import BY_ID, ROLES

TYPE = "Microsoft.Authorization/roleDefinitions"
# azure-mgmt-authorization 4.0 (role definitions and role assignments), both the pinned SDK and the
# requirements.txt floor: DEFAULT_API_VERSION of _authorization_management_client.py, no per-group override.
API_VERSIONS = ("2022-04-01",)


def definition_id(subscription, guid) -> str:
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    return f"{prefix}/providers/{TYPE}/{guid}"


def not_found(guid, status=404) -> ArmError:
    return ArmError(status, "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{guid}' does not exist.")


def body(role, subscription) -> dict:
    return {"id": definition_id(subscription, role["id"]), "name": role["id"], "type": TYPE,
            "properties": {"roleName": role["roleName"], "type": "BuiltInRole", "description": role["description"],
                           "assignableScopes": ["/"], "permissions": copy.deepcopy(role["permissions"]),
                           "createdOn": None, "updatedOn": None, "createdBy": None, "updatedBy": None}}


def find(store, guid):
    """The definition with this GUID as permits() reads it: a built-in entry of builtin_roles.ROLES, or a stored
    custom role's ARM body; None when neither exists."""
    key = (guid or "").lower()
    return BY_ID.get(key) or custom_roles.stored(store, key)


def _name_filter(roles, terms, name_of):
    if "roleName" not in terms:
        return roles
    return [r for r in roles if name_of(r).lower() == terms["roleName"].lower()]


class RoleDefinitions(ResourceType):
    type_name = TYPE
    api_versions = API_VERSIONS
    config_defaults: ClassVar[dict] = {"custom_role_limit": custom_roles.TENANT_LIMIT}

    def get(self, call):
        guid = (call.name or "").lower()
        role = BY_ID.get(guid)
        if role is not None:
            return Response.json(200, body(role, call.path.subscription))
        custom = custom_roles.stored(call.store, guid) if call.path.subscription else None
        if custom is None:
            raise not_found(call.name)
        return Response.json(200, custom)

    def put(self, call):
        return Response.json(201, custom_roles.write(call, call.body()))

    def delete(self, call):
        removed = custom_roles.delete(call)
        return Response.json(200, removed) if removed is not None else Response.empty(204)

    def list(self, call):
        terms = odata.parse(call.request.query.get("$filter"), ("roleName", "type"))
        wanted = (terms.get("type") or "").lower()
        builtin = [] if wanted == "customrole" else [body(r, call.path.subscription) for r in
                                                     _name_filter(ROLES, terms, lambda r: r["roleName"])]
        custom = [] if wanted == "builtinrole" or not call.path.subscription else _name_filter(
            custom_roles.applicable(call.store, call.container_id or "/"), terms, lambda r: r["properties"]["roleName"])
        if wanted not in ("", "builtinrole", "customrole"):
            builtin, custom = [], []
        return call.list_response(builtin + custom)
