# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for Azure RBAC: scopes, role definition ids, what a role permits, deterministic names."""

from __future__ import annotations

import re
import uuid

from ansible_collections.keyless.aks_storage.plugins.module_utils import rules

GUID = rules.GUID
LIST_KEYS_ACTION = "Microsoft.Storage/storageAccounts/listkeys/action"
ROLE_DEFINITION_ID = re.compile(r"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleDefinitions/(?P<guid>[^/]+)$",
                                re.IGNORECASE)
_SCOPE = re.compile(
    r"^(/providers/Microsoft\.Management/managementGroups/[^/]+"
    r"|/subscriptions/[0-9a-fA-F-]{36}(/resourceGroups/[-\w.()]+(/providers/[\w.]+/[^/]+/[^/]+(/[^/]+/[^/]+)*)?)?)$",
    re.IGNORECASE)
# Names are stable across runs and tools: the same scope, role and principal always give the same GUID.
_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
_DELEGATION_KEY = "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
# The built-in blob data roles the keyless chain assigns, with their fixed GUIDs and control-plane actions (the
# same in every tenant), so assigning them needs no role-definition lookup. Any other role is looked up.
BUILTIN_DATA_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": ("Storage Blob Data Contributor", [
        _CONTAINERS + "/delete", _CONTAINERS + "/read", _CONTAINERS + "/write", _DELEGATION_KEY]),
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": ("Storage Blob Data Reader", [_CONTAINERS + "/read", _DELEGATION_KEY]),
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": ("Storage Blob Data Owner", [_CONTAINERS + "/*", _DELEGATION_KEY]),
}

NAME_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "keyless.aks_storage/role_assignment")


def is_guid(value):
    return bool(value) and bool(GUID.match(value))


def valid_scope(scope):
    return bool(scope) and (scope == "/" or bool(_SCOPE.match(scope)))


def storage_scope(subscription_id, resource_group, account, container=None):
    scope = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Storage/storageAccounts/%s" % (
        subscription_id, resource_group, account)
    if container:
        scope += "/blobServices/default/containers/%s" % container
    return scope


def covers_storage(scope):
    """True when an assignment at ``scope`` reaches storage accounts (management group, subscription, group, account)."""
    lowered = scope.lower()
    if "/providers/" not in lowered.replace("/providers/microsoft.management/managementgroups/", "", 1):
        return True
    return "/providers/microsoft.storage/" in lowered


def lookup_scope(scope):
    """Where to look role definitions up: the subscription of ``scope`` (built-in and subscription custom roles)."""
    match = re.match(r"^/subscriptions/[^/]+", scope or "", re.IGNORECASE)
    return match.group(0) if match else scope


def role_guid(role_definition_id):
    """The GUID of a role definition id (or the value itself when it already is one)."""
    match = ROLE_DEFINITION_ID.match(role_definition_id or "")
    return (match.group("guid") if match else role_definition_id or "").lower()


def scope_key(scope):
    """A scope as Azure compares it: case-insensitively, without a trailing slash."""
    return (scope or "").rstrip("/").lower()


def same_scope(a, b):
    return scope_key(a) == scope_key(b)


def assignment_name(scope, role_definition_guid, principal_id):
    key = "%s|%s|%s" % (scope.rstrip("/").lower(), role_definition_guid.lower(), principal_id.lower())
    return str(uuid.uuid5(NAME_NAMESPACE, key))


def _matches(pattern, operation):
    # "*" matches any characters, "/" included; a "/*/" in the middle also matches no segment at all (Managed
    # Identity Operator's ".../userAssignedIdentities/*/read" allows ".../userAssignedIdentities/read")
    regex = re.escape(pattern.lower()).replace("/\\*/", "/(?:.*/)?").replace("\\*", ".*")
    return re.fullmatch(regex, operation.lower()) is not None


def permits(permissions, action=None, data_action=None):
    """Whether a role's ``permissions`` (list of {actions, notActions, dataActions, notDataActions}) allow an operation.

    Azure semantics: an operation is allowed by a permission block when one of its (wildcard) actions matches and none
    of its notActions does; the role allows it when any block does.
    """
    allow_key, deny_key, operation = ("actions", "notActions", action) if action else (
        "dataActions", "notDataActions", data_action)
    for block in permissions or []:
        allowed = any(_matches(p, operation) for p in block.get(allow_key) or [])
        denied = any(_matches(p, operation) for p in block.get(deny_key) or [])
        if allowed and not denied:
            return True
    return False


def builtin_data_role(role):
    """``(guid, name, actions)`` when ``role`` (name or GUID, any case) is a built-in blob data role, else None."""
    wanted = (role or "").strip().lower()
    for guid, (name, actions) in BUILTIN_DATA_ROLES.items():
        if wanted in (guid, name.lower()):
            return guid, name, actions
    return None


def scope_covers(assigned, target):
    """An assignment at ``assigned`` applies at ``target`` (the same scope or an ancestor of it). A management
    group the listing returns is one the target's subscription lies under (management groups are never below)."""
    a, t = assigned.rstrip("/").lower(), target.rstrip("/").lower()
    if a.startswith("/providers/microsoft.management/managementgroups/"):
        return True
    return a in ("", "/") or t == a or t.startswith(a + "/")


# ---- custom role definitions ---------------------------------------------------------------------------------------
# The default GUID of a custom role: a UUIDv5 of its lower-cased name (role names are unique in a tenant, compared
# without regard to case), so re-runs and other machines converge on one definition.
ROLE_DEFINITION_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "keyless.aks_storage/role_definition")
# An action string: "/"-separated segments of letters, digits, ".", "_", "-" with at most one "*" in all (Microsoft
# Learn, "Azure custom roles": "You can have only one wildcard in an action string"), such as "*/read",
# "Microsoft.Storage/storageAccounts/read" or "Microsoft.Authorization/*/read".
_ACTION = re.compile(r"^[A-Za-z0-9._*-]+(/[A-Za-z0-9._*-]+)*$")
MAX_ROLE_NAME = 512  # Microsoft Learn, "Azure custom roles", custom role properties


def role_definition_guid(role_name):
    return str(uuid.uuid5(ROLE_DEFINITION_NAMESPACE, role_name.lower()))


def action_problem(action, field):
    """``field`` must be one action string (see _ACTION); None when it is."""
    if not isinstance(action, str) or not _ACTION.match(action) or action.count("*") > 1:
        return ("%s '%s' is not an action string: use '/'-separated segments such as "
                "Microsoft.Storage/storageAccounts/read, with at most one '*'" % (field, action))
    return None


def matching_patterns(patterns, operation):
    """The (wildcard) action strings of ``patterns`` that match ``operation``, as permits() matches them."""
    return [p for p in patterns or [] if _matches(p, operation)]


def same_actions(a, b):
    """Action lists are equal as sets of case-insensitive strings (ARM compares action strings without regard to
    case, and their order means nothing)."""
    return {x.lower() for x in a or []} == {x.lower() for x in b or []}


def same_scopes(a, b):
    """Scope lists are equal as sets of scopes compared as Azure compares them (scope_key)."""
    return {scope_key(s) for s in a or []} == {scope_key(s) for s in b or []}


def within_subscription(scope, subscription_id):
    """``scope`` is the subscription or lies below it."""
    return scope_covers("/subscriptions/%s" % subscription_id, scope or "")
