"""Microsoft.Authorization/roleDefinitions: the built-in roles, readable at any scope.

GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid} (tenant level too) and the list
with $filter=roleName eq '...' and/or type eq 'BuiltInRole'|'CustomRole'. Custom roles are not emulated.
"""

import copy

from ....server import Response
from ...errors import ArmError
from ...registry import ResourceType
from . import odata
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
                           "createdBy": None, "updatedBy": None}}


class RoleDefinitions(ResourceType):
    type_name = TYPE
    api_versions = API_VERSIONS

    def get(self, call):
        role = BY_ID.get((call.name or "").lower())
        if role is None:
            raise not_found(call.name)
        return Response.json(200, body(role, call.path.subscription))

    def list(self, call):
        terms = odata.parse(call.request.query.get("$filter"), ("roleName", "type"))
        roles = ROLES
        if "roleName" in terms:
            roles = [r for r in roles if r["roleName"].lower() == terms["roleName"].lower()]
        if "type" in terms and terms["type"].lower() != "builtinrole":
            roles = []
        return call.list_response([body(r, call.path.subscription) for r in roles])
