#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_assignment
short_description: Grant or revoke Azure roles, least-privilege data roles for keyless storage by default
version_added: 0.1.0
description:
  - Ensures a role assignment (role, principal, scope) exists or is absent; one task can manage many with
    O(assignments).
  - Existing assignments are found with one listing per scope and principal, filtered by principal (never a listing
    of the whole subscription); scopes compare case-insensitively and roles by their GUID, so an assignment made by
    another tool under another name counts as present.
  - A new assignment is named with a deterministic GUID (a UUIDv5 of scope, role and principal) unless O(name) is
    given, so re-runs and parallel runs converge on one assignment.
  - A newly created managed identity can be unknown to the directory for a while; C(PrincipalNotFound) is retried
    with bounded backoff for up to O(principal_propagation_timeout) seconds.
  - B(Keyless guard:) by default, a role whose actions include
    C(Microsoft.Storage/storageAccounts/listkeys/action) (for example Owner, Contributor, Storage Account Contributor,
    Storage Account Key Operator Service Role) is refused on any scope that reaches storage accounts, because a
    token-only blob mount needs a data role (Storage Blob Data Contributor or Reader), never a key-listing one.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  scope:
    description:
      - Full ARM ID of the scope (management group, subscription, resource group or resource, including blob
        containers). Alternatively give O(storage_account) and O(resource_group) (and O(container)).
    type: str
  storage_account:
    description: Storage account name, to build the scope with O(resource_group) (and O(container)).
    type: str
  resource_group:
    description: Resource group of O(storage_account).
    type: str
  container:
    description: Blob container, to scope the assignment to one container of O(storage_account).
    type: str
  role:
    description:
      - Built-in or custom role name (V(Storage Blob Data Contributor)), role definition GUID, or role definition ID.
    type: str
  principal_id:
    description: Object ID of the principal (for a managed identity, its C(principal_id)).
    type: str
  principal_type:
    description:
      - Type of the principal. Sending it lets Azure create the assignment before a new principal has replicated.
    type: str
    choices: [ServicePrincipal, User, Group, ForeignGroup, Device]
    default: ServicePrincipal
  name:
    description:
      - GUID name of a new assignment. Defaults to a UUIDv5 of scope, role and principal.
    type: str
  assignments:
    description:
      - Many assignments in one task, each with the keys of the single form and an optional C(state).
    type: list
    elements: dict
    suboptions:
      scope:
        description: Full ARM ID of the scope.
        type: str
      storage_account:
        description: Storage account name (with O(assignments[].resource_group)).
        type: str
      resource_group:
        description: Resource group of the storage account.
        type: str
      container:
        description: Blob container of the storage account.
        type: str
      role:
        description: Role name, GUID or role definition ID.
        type: str
        required: true
      principal_id:
        description: Object ID of the principal.
        type: str
        required: true
      principal_type:
        description: Type of the principal.
        type: str
        choices: [ServicePrincipal, User, Group, ForeignGroup, Device]
        default: ServicePrincipal
      name:
        description: GUID name of a new assignment.
        type: str
      state:
        description: Whether this assignment should exist; defaults to O(state).
        type: str
        choices: [present, absent]
  allow_key_access_roles:
    description:
      - Allow roles that can list storage account keys on scopes that reach storage accounts. Off by default because
        the keyless chain never needs them.
    type: bool
    default: false
  principal_propagation_timeout:
    description: Seconds to keep retrying C(PrincipalNotFound) for a newly created principal.
    type: int
    default: 300
  state:
    description: Whether the assignments should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Validates everything (roles are resolved) and reports what would change; makes no write.
  diff_mode:
    support: full
    description: Shows the matching assignments before and after.
"""

EXAMPLES = r"""
- name: The reports identity may read and write blobs in one container, nothing more
  keyless.aks_storage.role_assignment:
    storage_account: stkeylessdev
    resource_group: rg-keyless-dev
    container: reports
    role: Storage Blob Data Contributor
    principal_id: "{{ reports_identity.principal_id }}"

- name: Many workloads in one task
  keyless.aks_storage.role_assignment:
    assignments:
      - storage_account: stkeylessdev
        resource_group: rg-keyless-dev
        container: reports
        role: Storage Blob Data Contributor
        principal_id: "{{ reports_principal }}"
      - storage_account: stkeylessdev
        resource_group: rg-keyless-dev
        container: archive
        role: Storage Blob Data Reader
        principal_id: "{{ archive_principal }}"
"""

RETURN = r"""
assignments:
  description: The managed assignments after the task (in check mode, as they would be). Absent ones are omitted.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ARM ID of the assignment (null when not created yet in check mode).
      type: str
    name:
      description: GUID name.
      type: str
    scope:
      description: Scope.
      type: str
    role_definition_id:
      description: Role definition ID.
      type: str
    role_name:
      description: Role name.
      type: str
      sample: Storage Blob Data Contributor
    principal_id:
      description: Principal object ID.
      type: str
    principal_type:
      description: Principal type.
      type: str
created:
  description: Number of assignments created.
  returned: always
  type: int
deleted:
  description: Number of assignments deleted.
  returned: always
  type: int
"""

from collections import namedtuple

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_errors import error_code
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import retry_on_codes

PRINCIPAL_TYPES = ["ServicePrincipal", "User", "Group", "ForeignGroup", "Device"]
ITEM_KEYS = ("scope", "storage_account", "resource_group", "container", "role", "principal_id", "principal_type",
             "name")


class InvalidAssignment(Exception):
    pass


def normalize(item, where, subscription_id):
    """Validate one assignment; return it with a built ``scope``. Raises InvalidAssignment."""
    if item.get("scope") and item.get("storage_account"):
        raise InvalidAssignment("%s: give either scope or storage_account (+ resource_group), not both" % where)
    if item.get("storage_account"):
        if not item.get("resource_group"):
            raise InvalidAssignment("%s: storage_account needs resource_group to build the scope" % where)
        scope = rbac.storage_scope(subscription_id(), item["resource_group"], item["storage_account"],
                                   item.get("container"))
    else:
        scope = item.get("scope")
        if item.get("container"):
            raise InvalidAssignment("%s: container needs storage_account and resource_group" % where)
    if not rbac.valid_scope(scope):
        raise InvalidAssignment("%s: scope '%s' is not a valid ARM scope (for example /subscriptions/<guid>/"
                                "resourceGroups/<name>/providers/Microsoft.Storage/storageAccounts/<name>)"
                                % (where, scope))
    if not item.get("role"):
        raise InvalidAssignment("%s: role is required" % where)
    if not rbac.is_guid(item.get("principal_id")):
        raise InvalidAssignment("%s: principal_id '%s' must be the principal's object ID (a GUID)"
                                % (where, item.get("principal_id")))
    if item.get("name") and not rbac.is_guid(item["name"]):
        raise InvalidAssignment("%s: name '%s' must be a GUID" % (where, item["name"]))
    return dict(item, scope=scope.rstrip("/") or "/", principal_id=item["principal_id"].lower())


def view(assignment, role_names):
    guid = rbac.role_guid(assignment.role_definition_id)
    return dict(id=assignment.id, name=assignment.name, scope=assignment.scope,
                role_definition_id=assignment.role_definition_id, role_name=role_names.get(guid),
                principal_id=assignment.principal_id, principal_type=assignment.principal_type)


# A built-in data role's definition, known without a lookup (see rbac.BUILTIN_DATA_ROLES); shaped like the SDK's.
KnownRole = namedtuple("KnownRole", "id role_name permissions")
KnownPermissions = namedtuple("KnownPermissions", "actions not_actions data_actions not_data_actions")


class RoleResolver:
    """Resolves role names/GUIDs/IDs to definitions, once per distinct role in the task."""

    def __init__(self, module, definitions):
        self.module = module
        self.definitions = definitions
        self.cache = {}
        self.names = {}

    def resolve(self, role, scope):
        scope = rbac.lookup_scope(scope)
        key = (role.lower(), scope.lower())
        if key not in self.cache:
            self.cache[key] = definition = self._lookup(role, scope)
            self.names[rbac.role_guid(definition.id)] = definition.role_name
        return self.cache[key]

    def _lookup(self, role, scope):
        module, defs = self.module, self.definitions
        known = rbac.builtin_data_role(role)
        if known:
            guid, name, actions = known
            return KnownRole(id="/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                                % (module.subscription_id, guid), role_name=name,
                             permissions=[KnownPermissions(actions=actions, not_actions=[], data_actions=None,
                                                           not_data_actions=[])])
        if rbac.is_guid(role):
            found = module.get_or_none("read role definition %s" % role, defs.get, scope, role)
        elif role.startswith("/"):
            found = module.get_or_none("read role definition %s" % role, defs.get_by_id, role)
        else:
            # Role names may contain quotes; OData escapes them by doubling.
            query = "roleName eq '%s'" % role.replace("'", "''")
            found = module.call("find role %s" % role, lambda: next(iter(defs.list(scope, filter=query)), None))
        if found is None:
            module.fail_json(msg="role '%s' was not found at scope %s; use a built-in role name such as 'Storage Blob "
                                 "Data Contributor', a custom role name, or a role definition GUID" % (role, scope))
        return found


def permissions_of(definition):
    return [{"actions": p.actions or [], "notActions": p.not_actions or [], "dataActions": p.data_actions or [],
             "notDataActions": p.not_data_actions or []} for p in definition.permissions or []]


def main():
    item_spec = dict(
        scope=dict(type="str"),
        storage_account=dict(type="str"),
        resource_group=dict(type="str"),
        container=dict(type="str"),
        role=dict(type="str", required=True),
        principal_id=dict(type="str", required=True),
        principal_type=dict(type="str", choices=PRINCIPAL_TYPES, default="ServicePrincipal"),
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = AzureModule(
        argument_spec=dict(
            scope=dict(type="str"),
            storage_account=dict(type="str"),
            resource_group=dict(type="str"),
            container=dict(type="str"),
            role=dict(type="str"),
            principal_id=dict(type="str"),
            principal_type=dict(type="str", choices=PRINCIPAL_TYPES, default="ServicePrincipal"),
            name=dict(type="str"),
            assignments=dict(type="list", elements="dict", options=item_spec),
            allow_key_access_roles=dict(type="bool", default=False),
            principal_propagation_timeout=dict(type="int", default=300),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("assignments", "scope"), ("assignments", "role"), ("assignments", "principal_id"),
                            ("assignments", "storage_account"), ("assignments", "name")],
        required_one_of=[("assignments", "role")],
        required_by={"role": ("principal_id",)},
        supports_check_mode=True,
    )
    p = module.params
    if p["assignments"] is not None:
        raw = [(dict(a, state=a.get("state") or p["state"]), "assignments[%d]" % i)
               for i, a in enumerate(p["assignments"])]
    else:
        raw = [(dict({k: p.get(k) for k in ITEM_KEYS}, state=p["state"]), "the assignment")]
    try:
        items = [normalize(item, where, lambda: module.subscription_id) for item, where in raw]
    except InvalidAssignment as exc:
        module.fail_json(msg=str(exc))

    auth = module.client("authorization")
    roles = RoleResolver(module, auth.role_definitions)
    refused = []
    for item in items:
        definition = roles.resolve(item["role"], item["scope"])
        item["role_guid"] = rbac.role_guid(definition.id)
        item["role_definition_id"] = definition.id
        if (item["state"] == "present" and not p["allow_key_access_roles"] and rbac.covers_storage(item["scope"])
                and rbac.permits(permissions_of(definition), action=rbac.LIST_KEYS_ACTION)):
            refused.append("'%s' at %s" % (definition.role_name, item["scope"]))
    if refused:
        module.fail_json(msg="refusing roles that can list storage account keys: %s. The keyless (token-only) blob "
                             "mount needs a data role such as 'Storage Blob Data Contributor' or 'Storage Blob Data "
                             "Reader'; set allow_key_access_roles=true only if you really need key access"
                             % "; ".join(refused))

    # One filtered listing per (scope, principal); matches compare scope case-insensitively and role by GUID.
    listings = {}
    for item in items:
        key = (item["scope"].lower(), item["principal_id"])
        if key not in listings:
            query = "principalId eq '%s'" % item["principal_id"]
            listings[key] = module.call("list role assignments at %s" % item["scope"],
                                        lambda s=item["scope"], q=query: list(
                                            auth.role_assignments.list_for_scope(s, filter=q)))
        item["existing"] = [a for a in listings[key] if rbac.same_scope(a.scope, item["scope"])
                            and rbac.role_guid(a.role_definition_id) == item["role_guid"]
                            and (a.principal_id or "").lower() == item["principal_id"]]

    before, after, created, deleted = [], [], 0, 0
    for item in items:
        current = [view(a, roles.names) for a in item["existing"]]
        before.extend(current)
        if item["state"] == "absent":
            for a in item["existing"]:
                if not module.check_mode:
                    module.call("delete role assignment %s" % a.name, auth.role_assignments.delete, a.scope, a.name)
                deleted += 1
            continue
        if current:
            after.extend(current)
            continue
        name = item.get("name") or rbac.assignment_name(item["scope"], item["role_guid"], item["principal_id"])
        planned = dict(id=None, name=name, scope=item["scope"], role_definition_id=item["role_definition_id"],
                       role_name=roles.names.get(item["role_guid"]), principal_id=item["principal_id"],
                       principal_type=item["principal_type"])
        if not module.check_mode:
            made = create(module, auth, item, name, p["principal_propagation_timeout"])
            if made is None:  # 409 RoleAssignmentExists: it appeared since we listed
                after.append(planned)
                continue
            planned = view(made, roles.names)
        after.append(planned)
        created += 1

    module.exit_json(changed=bool(created or deleted), assignments=after, created=created, deleted=deleted,
                     diff=diff({"assignments": before}, {"assignments": after}))


def create(module, auth, item, name, timeout):
    """Create one assignment; retry PrincipalNotFound (replication delay); None when it already exists."""
    body = {"properties": {"roleDefinitionId": item["role_definition_id"], "principalId": item["principal_id"],
                           "principalType": item["principal_type"]}}

    try:
        return retry_on_codes(lambda: auth.role_assignments.create(item["scope"], name, body),
                              {"PrincipalNotFound"}, timeout, first_delay=2.0, max_delay=20.0)
    except Exception as exc:  # pylint: disable=broad-except
        code = error_code(exc)
        if code == "RoleAssignmentExists":
            return None
        if code == "PrincipalNotFound":
            module.fail_azure(exc, "assign %s to %s at %s" % (item["role"], item["principal_id"], item["scope"]),
                              hint="principal %s is still unknown to the directory after %ss; if it was just created "
                                   "re-run later (or raise principal_propagation_timeout), otherwise check "
                                   "principal_id" % (item["principal_id"], timeout))
        module.fail_azure(exc, "assign %s to %s at %s" % (item["role"], item["principal_id"], item["scope"]))


if __name__ == "__main__":
    main()
