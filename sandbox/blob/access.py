"""Data-plane authorisation, the one implementation the Blob service and the Job kubelet's chain share.

A principal may perform a data action at a scope when one of its role assignments at that scope or above
(container -> storage account -> resource group -> subscription) has a role, built-in or custom, whose DataActions
allow it (`permits`, NotDataActions subtracted, conditions ignored). Call with the store lock held.
"""

from ..arm.providers.authorization import permits, role_definition
from ..arm.providers.authorization.role_assignments import TYPE as ROLE_ASSIGNMENTS
from ..arm.providers.authorization.role_assignments import is_above_or_at

BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
READ, WRITE, ADD, DELETE = f"{BLOBS}/read", f"{BLOBS}/write", f"{BLOBS}/add/action", f"{BLOBS}/delete"


def roles_at(store, object_id: str, scope: str) -> list:
    """The role definitions assigned to `object_id` at `scope` or above: built-in entries (builtin_roles.ROLES) and
    custom roles' ARM bodies, both shapes `permits` reads. A custom role deleted since is not counted."""
    roles = []
    for assignment in store.of_type(ROLE_ASSIGNMENTS):
        props = assignment["properties"]
        if props["principalId"].lower() == object_id.lower() and is_above_or_at(props["scope"], scope):
            role = role_definition(store, props["roleDefinitionId"].rsplit("/", 1)[-1])
            if role:
                roles.append(role)
    return roles


def allows_data(store, object_id: str, scope: str, data_action: str) -> bool:
    return any(permits(role, data_action=data_action) for role in roles_at(store, object_id, scope))


def allows_all(store, object_id: str, scope: str, data_actions) -> bool:
    roles = roles_at(store, object_id, scope)
    return all(any(permits(role, data_action=a) for role in roles) for a in data_actions)
