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
    description:
      - Object ID of the principal (for a managed identity, its C(principal_id)).
      - One of O(principal_id) and O(identity) is required with O(role); they are mutually exclusive.
    type: str
  identity:
    description:
      - The principal as a user-assigned managed identity, instead of O(principal_id); the module reads the
        identity's principal ID (one read per identity in the task).
      - An identity that does not exist fails the task, except in check mode (see the notes) and with
        O(state=absent) (nothing is assigned to it through this option to remove).
    type: dict
    suboptions:
      resource_group:
        description: Resource group of the identity.
        type: str
        required: true
      name:
        description: Name of the identity.
        type: str
        required: true
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
        description: Object ID of the principal; one of it and O(assignments[].identity) is required.
        type: str
      identity:
        description: The principal as a user-assigned managed identity, as O(identity).
        type: dict
        suboptions:
          resource_group:
            description: Resource group of the identity.
            type: str
            required: true
          name:
            description: Name of the identity.
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
notes:
  - 'In check mode a parent that an earlier task of the play would have created is not an error: a principal given
    as O(identity) whose identity does not exist yet (M(keyless.aks_storage.managed_identity) in check mode created
    nothing), a scope that does not exist yet (a storage account, or its resource group, not created yet), and a
    custom role given by name that does not exist yet (M(keyless.aks_storage.role_definition) in check mode created
    nothing). The task plans the assignment as if the parent existed and held no assignment, reports C(changed)
    with what it would create (RV(assignments), RV(created), the diff, as for any check-mode create; the principal
    ID and the GUID name stay null while the identity does not exist, the role definition ID and the GUID name
    while the custom role does not) and warns that the parent was not found and that the result assumes an earlier
    task creates it. Outside check mode each fails the task as it always did: a missing identity or role before any
    write, naming it; a missing scope with Azure''s error (C(ResourceGroupNotFound), C(ResourceNotFound)).'
  - A principal given by O(principal_id) is not looked up before the write (Azure Resource Manager has no such
    read); one that does not exist is reported by the write (C(PrincipalNotFound), after
    O(principal_propagation_timeout)), so check mode reports it as to be assigned.
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
  - keyless.aks_storage.state
attributes:
  check_mode:
    support: full
    description:
      - Validates everything (roles are resolved) and reports what would change; makes no write.
      - An identity or a scope not created yet is planned as empty, with a warning (see the notes).
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

- name: The same, naming the principal by its managed identity (works in check mode before the identity exists)
  keyless.aks_storage.role_assignment:
    storage_account: stkeylessdev
    resource_group: rg-keyless-dev
    container: reports
    role: Storage Blob Data Contributor
    identity:
      resource_group: rg-keyless-dev
      name: id-reports

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
      description: GUID name (null in check mode for a principal whose identity is not created yet).
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
      description: Principal object ID (null in check mode for an identity not created yet).
      type: str
    principal_type:
      description: Principal type.
      type: str
created:
  description:
    - Names (GUIDs) of the assignments created (or that would be, in check mode; null for one whose principal's
      identity is not created yet).
  returned: always
  type: list
  elements: str
deleted:
  description: Names (GUIDs) of the assignments deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
written:
  description:
    - When a write failed mid-way, the labels of the items converged before it that needed a write (see
      C(docs/results.md)).
  returned: on a failure after the first item
  type: list
  elements: str
  sample: ["assignments[0] (rg-keyless-dev/example)"]
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
  sample: "assignments[2] (rg-keyless-dev/example)"
failed_items:
  description:
    - When items failed, the labels of all of them; an item whose failure is its own (see C(docs/results.md)) does not
      stop the items after it.
  returned: on a failure
  type: list
  elements: str
not_attempted:
  description: When a write failed mid-way, the labels of the items after the failed one, not touched.
  returned: on a failure after the first item
  type: list
  elements: str
"""

from collections import namedtuple

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk, rbac, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.identity import missing as missing_identity
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import retry_on_codes

PRINCIPAL_TYPES = ["ServicePrincipal", "User", "Group", "ForeignGroup", "Device"]
ITEM_KEYS = ("scope", "storage_account", "resource_group", "container", "role", "principal_id", "identity",
             "principal_type", "name", "state")


class InvalidAssignment(ModuleError):
    """An assignment that cannot be converged as asked; nothing has been written."""


def assignment_key(options):
    """How an assignment is named in labels: its storage account path, or its scope."""
    if options.get("storage_account"):
        return "/".join(v for v in (options.get("resource_group"), options["storage_account"],
                                    options.get("container")) if v)
    return options.get("scope") or ""


# ---- normalize (pure) ----------------------------------------------------------------------------------------------
def normalize(item, subscription_id):
    """Validate one assignment's options; return them with a built ``scope``. Raises InvalidAssignment."""
    if item.get("scope") and item.get("storage_account"):
        raise InvalidAssignment("give either scope or storage_account (+ resource_group), not both")
    if item.get("storage_account"):
        if not item.get("resource_group"):
            raise InvalidAssignment("storage_account needs resource_group to build the scope")
        scope = rbac.storage_scope(subscription_id(), item["resource_group"], item["storage_account"],
                                   item.get("container"))
    else:
        scope = item.get("scope")
        if item.get("container"):
            raise InvalidAssignment("container needs storage_account and resource_group")
    if not rbac.valid_scope(scope):
        raise InvalidAssignment("scope '%s' is not a valid ARM scope (for example /subscriptions/<guid>/"
                                "resourceGroups/<name>/providers/Microsoft.Storage/storageAccounts/<name>)" % scope)
    if not item.get("role"):
        raise InvalidAssignment("role is required")
    check_principal(item)
    if item.get("name") and not rbac.is_guid(item["name"]):
        raise InvalidAssignment("name '%s' must be a GUID" % item["name"])
    return dict(item, scope=scope.rstrip("/") or "/", principal_id=(item.get("principal_id") or "").lower() or None)


def check_principal(item):
    """The principal is given once: by its object ID (principal_id) or as a managed identity (identity)."""
    ref, principal_id = item.get("identity"), item.get("principal_id")
    if ref and principal_id:
        raise InvalidAssignment("give either principal_id or identity, not both")
    if not ref and not principal_id:
        raise InvalidAssignment("principal_id or identity is required")
    if not ref:
        if not rbac.is_guid(principal_id):
            raise InvalidAssignment("principal_id '%s' must be the principal's object ID (a GUID)" % principal_id)
        return
    refuse([rules.name_problem("resource group", ref.get("resource_group"), "identity.resource_group"),
            rules.name_problem("identity", ref.get("name"), "identity.name"),
            None if item.get("principal_type") in (None, "ServicePrincipal") else
            "principal_type %s: a managed identity's principal is a ServicePrincipal" % item["principal_type"]],
           error=InvalidAssignment)


# ---- principals named as managed identities --------------------------------------------------------------------
def principal_of(module, identities, item):
    """The item's principal ID: principal_id, or the principal of its identity (read once per identity, into
    ``identities``). An identity that does not exist has none (None): that fails an assignment to be made, except
    in check mode (an earlier task creates the identity, see AzureModule.parent_missing); one to remove has nothing
    of it to remove."""
    ref = item.get("identity")
    if not ref:
        return item["principal_id"]
    rg, name = ref["resource_group"], ref["name"]
    key = (rg.lower(), name.lower())
    if key not in identities:
        found = module.get_or_none("read identity %s" % name, module.client("msi").user_assigned_identities.get,
                                   rg, name)
        identities[key] = found.principal_id.lower() if found is not None and found.principal_id else None
    if identities[key] is None and item["state"] == "present":
        module.parent_missing(*missing_identity(rg, name))
    return identities[key]


def view(assignment, role_names):
    guid = rbac.role_guid(assignment.role_definition_id)
    return dict(id=assignment.id, name=assignment.name, scope=assignment.scope,
                role_definition_id=assignment.role_definition_id, role_name=role_names.get(guid),
                principal_id=assignment.principal_id, principal_type=assignment.principal_type)


# ---- resolve and guard ---------------------------------------------------------------------------------------------
# A built-in data role's definition, known without a lookup (see rbac.BUILTIN_DATA_ROLES); shaped like the SDK's.
KnownRole = namedtuple("KnownRole", "id role_name permissions")
KnownPermissions = namedtuple("KnownPermissions", "actions not_actions data_actions not_data_actions")


def known_role(role, subscription_id):
    """The definition of a built-in blob data role, without a request (None for any other role)."""
    known = rbac.builtin_data_role(role)
    if not known:
        return None
    guid, name, actions = known
    return KnownRole(id="/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                        % (subscription_id, guid), role_name=name,
                     permissions=[KnownPermissions(actions=actions, not_actions=[], data_actions=None,
                                                   not_data_actions=[])])


class RoleResolver:
    """Resolves role names/GUIDs/IDs to definitions, once per distinct role in the task."""

    def __init__(self, module, definitions):
        self.module = module
        self.definitions = definitions
        self.cache = {}
        self.names = {}

    def resolve(self, role, scope):
        at = scope
        scope = rbac.lookup_scope(scope)
        key = (role.lower(), scope.lower())
        if key not in self.cache:
            self.cache[key] = definition = (known_role(role, self.module.subscription_id)
                                            or self._lookup(role, scope, at))
            if definition.id:
                self.names[rbac.role_guid(definition.id)] = definition.role_name
        return self.cache[key]

    def _lookup(self, role, scope, at):
        module, defs = self.module, self.definitions
        if rbac.is_guid(role):
            found = module.get_or_none("read role definition %s" % role, defs.get, scope, role)
        elif role.startswith("/"):
            found = module.get_or_none("read role definition %s" % role, defs.get_by_id, role)
        else:
            found = self._find_by_name(role, scope, at)
        if found is None:
            error = ModuleError("role '%s' was not found at scope %s; use a built-in role name such as 'Storage Blob "
                                "Data Contributor', a custom role name, or a role definition GUID" % (role, scope))
            if rbac.is_guid(role) or role.startswith("/"):
                raise error
            # a custom role by name: in check mode an earlier task (role_definition) would have created it
            module.parent_missing("custom role '%s'" % role, error)
            return KnownRole(id=None, role_name=role, permissions=[])
        return found

    def _find_by_name(self, role, scope, at):
        """A listing by name at the subscription; a custom role assignable only below it (a resource group) is not
        listed there (the spec: "applicable at scope and above"), so, when none is, a second listing at the
        assignment's own scope."""
        module, defs = self.module, self.definitions
        query = "roleName eq '%s'" % role.replace("'", "''")  # role names may contain quotes; OData doubles them
        found = module.call("find role %s" % role, lambda: next(iter(defs.list(scope, filter=query)), None))
        if found is None and not rbac.same_scope(scope, at):
            found = module.call_under("scope %s" % at, "find role %s at %s" % (role, at),
                                      lambda: next(iter(defs.list(at, filter=query)), None))
        return found


def permissions_of(definition):
    return [{"actions": p.actions or [], "notActions": p.not_actions or [], "dataActions": p.data_actions or [],
             "notDataActions": p.not_data_actions or []} for p in definition.permissions or []]


def key_access_refusals(items, definitions, allowed):
    """The keyless guard (pure): each present assignment whose role can list storage account keys on a scope that
    reaches storage accounts, as "'<role>' at <scope>"."""
    if allowed:
        return []
    return ["'%s' at %s" % (d.role_name, item["scope"]) for item, d in zip(items, definitions)
            if item["state"] == "present" and rbac.covers_storage(item["scope"])
            and rbac.permits(permissions_of(d), action=rbac.LIST_KEYS_ACTION)]


def guard(items, definitions, allowed):
    refused = key_access_refusals(items, definitions, allowed)
    if refused:
        raise ModuleError("refusing roles that can list storage account keys: %s. The keyless (token-only) blob mount "
                          "needs a data role such as 'Storage Blob Data Contributor' or 'Storage Blob Data Reader'; "
                          "set allow_key_access_roles=true only if you really need key access" % "; ".join(refused))


# ---- read ----------------------------------------------------------------------------------------------------------
def list_existing(module, auth, items):
    """One principal-filtered listing per (scope, principal); returns {(scope lowered, principal): [assignment]}.

    A principal not known yet (None) has nothing to list. A scope that does not exist fails the task, except in
    check mode (an earlier task creates it: nothing is assigned at it yet, see AzureModule.parent_missing)."""
    listings = {}
    for item in items:
        key = (item["scope"].lower(), item["principal_id"])
        if key not in listings and item["principal_id"] is not None:
            query = "principalId eq '%s'" % item["principal_id"]
            listings[key] = module.call_under("scope %s" % item["scope"], "list role assignments at %s" % item["scope"],
                                              lambda s=item["scope"], q=query: list(
                                                  auth.role_assignments.list_for_scope(s, filter=q))) or []
    return listings


def matching(item, listings):
    """The listed assignments that are this item's: same scope (any case), role GUID and principal."""
    return [a for a in listings.get((item["scope"].lower(), item["principal_id"]), [])
            if rbac.same_scope(a.scope, item["scope"]) and rbac.role_guid(a.role_definition_id) == item["role_guid"]
            and (a.principal_id or "").lower() == item["principal_id"]]


# ---- plan (pure) ---------------------------------------------------------------------------------------------------
def plan(item, existing, role_names):
    """What to do for one assignment given the ``existing`` ones that match it: {action (create/delete/None), before,
    after, remove (assignments to delete), name and body (to create)}."""
    current = [view(a, role_names) for a in existing]
    if item["state"] == "absent":
        return dict(action="delete" if existing else None, before=current, after=[], remove=list(existing))
    if current:
        return dict(action=None, before=current, after=current, remove=[])
    # a principal or a custom role not known yet (check mode, not created yet) gives no deterministic name yet
    name = item.get("name") or (rbac.assignment_name(item["scope"], item["role_guid"], item["principal_id"])
                                if item["principal_id"] and item["role_guid"] else None)
    after = dict(id=None, name=name, scope=item["scope"], role_definition_id=item["role_definition_id"],
                 role_name=role_names.get(item["role_guid"]) if item["role_guid"] else item["role"],
                 principal_id=item["principal_id"],
                 principal_type=item["principal_type"])
    body = {"properties": {"roleDefinitionId": item["role_definition_id"], "principalId": item["principal_id"],
                           "principalType": item["principal_type"]}}
    return dict(action="create", before=[], after=[after], remove=[], name=name, body=body)


# ---- apply ---------------------------------------------------------------------------------------------------------
def apply(module, auth, item, planned, role_names):
    """Carry out one plan (nothing in check mode); returns {changed, after, created, deleted}."""
    action, after = planned["action"], planned["after"]
    created = [planned["name"]] if action == "create" else []
    deleted = [a.name for a in planned["remove"]]
    if not module.check_mode:
        for assignment in planned["remove"]:
            module.write("delete role assignment %s" % assignment.name, auth.role_assignments.delete,
                         assignment.scope, assignment.name)
        if action == "create":
            made = create(module, auth, item, planned, module.params["principal_propagation_timeout"])
            if made is None:  # 409 RoleAssignmentExists: it appeared since we listed
                created = []
            else:
                after = [view(made, role_names)]
    return dict(changed=bool(created or deleted), after=after, created=created, deleted=deleted)


def create(module, auth, item, planned, timeout):
    """Create one assignment; retry PrincipalNotFound (replication delay); None when it already exists."""
    action = "assign %s to %s at %s" % (item["role"], item["principal_id"], item["scope"])
    try:
        return module.write(action, retry_on_codes,
                            lambda: auth.role_assignments.create(item["scope"], planned["name"], planned["body"]),
                            {"PrincipalNotFound"}, timeout, first_delay=2.0, max_delay=20.0)
    except AzureError as exc:
        if exc.error_code == "RoleAssignmentExists":
            return None
        if exc.error_code == "PrincipalNotFound":
            raise AzureError.from_exception(
                action, exc.cause, hint="principal %s is still unknown to the directory after %ss; if it was just "
                                        "created re-run later (or raise principal_propagation_timeout), otherwise "
                                        "check principal_id" % (item["principal_id"], timeout)) from exc.cause
        raise


# ---- driver --------------------------------------------------------------------------------------------------------
def run(module):
    """normalize -> resolve and guard -> read -> plan -> apply."""
    refuse([rules.range_problem(module.params["principal_propagation_timeout"], "principal_propagation_timeout", 0)])
    items = bulk.items_from_params(module.params, "assignments", ITEM_KEYS, key_of=assignment_key)
    normalized = bulk.plan_all(items, lambda item: normalize(item.options, lambda: module.subscription_id))
    for item, options in zip(items, normalized):
        item.options = options
    identities = {}
    for item, principal in zip(items, bulk.plan_all(items, lambda item: principal_of(module, identities, item))):
        item.options["principal_id"] = principal
    auth = module.client("authorization")
    roles = RoleResolver(module, auth.role_definitions)
    definitions = bulk.plan_all(items, lambda item: roles.resolve(item["role"], item["scope"]))
    for item, definition in zip(items, definitions):
        item.options.update(role_guid=rbac.role_guid(definition.id), role_definition_id=definition.id)
    guard(items, definitions, module.params["allow_key_access_roles"])
    listings = list_existing(module, auth, items)
    plans = [plan(item, matching(item, listings), roles.names) for item in items]
    # a principal that never replicated is that assignment's own failure: the independent ones after it still converge
    results = bulk.apply_all(module, items, plans,
                             lambda item, planned: apply(module, auth, item, planned, roles.names),
                             own_failure=lambda error: error.error_code == "PrincipalNotFound")
    before = [a for p in plans for a in p["before"]]
    after = [a for r in results for a in r["after"]]
    created = [n for r in results for n in r["created"]]
    deleted = [n for r in results for n in r["deleted"]]
    return dict(changed=bool(created or deleted), assignments=after, created=created, deleted=deleted,
                diff=diff({"assignments": before}, {"assignments": after}))


def identity_spec():
    return dict(resource_group=dict(type="str", required=True), name=dict(type="str", required=True))


def main():
    item_spec = dict(
        scope=dict(type="str"),
        storage_account=dict(type="str"),
        resource_group=dict(type="str"),
        container=dict(type="str"),
        role=dict(type="str", required=True),
        principal_id=dict(type="str"),
        identity=dict(type="dict", options=identity_spec()),
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
            identity=dict(type="dict", options=identity_spec()),
            principal_type=dict(type="str", choices=PRINCIPAL_TYPES, default="ServicePrincipal"),
            name=dict(type="str"),
            assignments=dict(type="list", elements="dict", options=item_spec),
            allow_key_access_roles=dict(type="bool", default=False),
            principal_propagation_timeout=dict(type="int", default=300),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("assignments", "scope"), ("assignments", "role"), ("assignments", "principal_id"),
                            ("assignments", "identity"), ("assignments", "storage_account"), ("assignments", "name"),
                            ("principal_id", "identity")],
        required_one_of=[("assignments", "role")],
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
