"""Azure RBAC permission evaluation for one role definition.

Rules (learn.microsoft.com "Understand Azure role definitions"): action strings compare
case-insensitively; `*` matches any characters, including "/"; a `/*/` in the middle also matches
no segment at all (Managed Identity Operator's "userAssignedIdentities/*/read" is what lets it read
identities, i.e. ".../userAssignedIdentities/read"); effective permissions are Actions minus
NotActions and DataActions minus NotDataActions, evaluated per permission block. Control-plane
actions never grant data actions (Owner cannot read blobs without a data role) and vice versa.
Conditions (ABAC) on a block are not evaluated.
"""

import functools
import re


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str):
    regex = re.escape(pattern.lower()).replace("/\\*/", "/(?:.*/)?").replace("\\*", ".*")
    return re.compile(regex)


def matches(pattern: str, operation: str) -> bool:
    return bool(_compile(pattern).fullmatch(operation.lower()))


def _covered(operation, allowed, excluded) -> bool:
    return (any(matches(p, operation) for p in allowed or ())
            and not any(matches(p, operation) for p in excluded or ()))


def permits(role_definition: dict, action: str | None = None, data_action: str | None = None) -> bool:
    """Whether the role grants `action` (control plane) or `data_action` (data plane): give exactly one.

    role_definition: an ARM role definition body ({"properties": {"permissions": [...]}}), its
    properties, or an entry of builtin_roles.ROLES.
    """
    if (action is None) == (data_action is None):
        raise ValueError("give exactly one of action= or data_action=")
    props = role_definition.get("properties", role_definition)
    for block in props.get("permissions") or []:
        if action is not None and _covered(action, block.get("actions"), block.get("notActions")):
            return True
        if data_action is not None and _covered(data_action, block.get("dataActions"), block.get("notDataActions")):
            return True
    return False
