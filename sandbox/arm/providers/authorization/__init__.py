"""Microsoft.Authorization: built-in and custom role definitions, and role assignments.

`permits(role_definition, action=None, data_action=None)` is the reusable RBAC check (e.g. for a
data-plane emulation deciding whether a principal may read or write blobs); `role_definition(store, guid)` is the
definition an assignment's GUID names, built-in or custom, in the shape `permits` reads.
"""

from .builtin_roles import BY_ID as BUILTIN_ROLES_BY_ID
from .builtin_roles import BY_NAME as BUILTIN_ROLES_BY_NAME
from .permissions import matches, permits
from .role_assignments import RoleAssignments
from .role_definitions import RoleDefinitions
from .role_definitions import find as role_definition


def register(registry):
    registry.register(RoleDefinitions())
    registry.register(RoleAssignments())


__all__ = ["BUILTIN_ROLES_BY_ID", "BUILTIN_ROLES_BY_NAME", "matches", "permits", "register", "role_definition"]
