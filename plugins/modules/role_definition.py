#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: role_definition
short_description: Azure custom role definitions, least privilege and never key-listing on storage by default
version_added: 0.1.0
description:
  - Ensures an Azure custom role definition (its name, description, actions, not-actions, data actions, not-data
    actions and assignable scopes) exists as given, or is absent; one task can manage many with O(definitions).
  - A new role is named with a deterministic GUID (a UUIDv5 of the lower-cased role name) unless O(id) is given, so
    re-runs and other machines converge on one definition. It is read with one request by that GUID; when it is not
    there, one listing by role name at O(scope) finds a role of the same name made by another tool, which is then
    managed in place (Azure refuses a second role with the same name in a tenant).
  - Action strings compare as case-insensitive sets (their order means nothing), assignable scopes as sets without
    regard to case or a trailing slash, the description exactly. A role already as asked is not written.
  - B(Keyless guard:) by default, a role whose actions allow C(Microsoft.Storage/storageAccounts/listkeys/action)
    (directly or through a wildcard such as C(Microsoft.Storage/*) or C(*)) is refused, before any write, when an
    assignable scope reaches storage accounts (the subscription, a resource group, a storage account). The keyless
    chain never needs key access; grant blob data actions instead.
  - O(state=absent) is refused while role assignments use the role (the error lists their IDs); remove them first
    with M(keyless.aks_storage.role_assignment) and O(state=absent), then delete the role.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  name:
    description:
      - The role's name (C(roleName)), unique in the tenant, at most 512 characters. Required with O(state=present);
        with O(state=absent) O(id) alone also names the role.
    type: str
  description:
    description:
      - The role's description. Compared exactly; when not given, the description of an existing role is left
        alone.
    type: str
  actions:
    description: Control-plane actions the role allows (wildcards allowed, one per action string).
    type: list
    elements: str
    default: []
  not_actions:
    description: Control-plane actions subtracted from O(actions).
    type: list
    elements: str
    default: []
  data_actions:
    description:
      - Data-plane actions the role allows, such as
        C(Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read).
    type: list
    elements: str
    default: []
  not_data_actions:
    description: Data-plane actions subtracted from O(data_actions).
    type: list
    elements: str
    default: []
  assignable_scopes:
    description:
      - Full ARM IDs of the scopes where the role can be assigned (and below them). Each must lie in the
        subscription given (O(subscription_id)); management groups and the root scope are not accepted.
      - Defaults to the subscription.
    type: list
    elements: str
  scope:
    description:
      - Scope the role definition is written at (an ARM scope in the subscription); defaults to the subscription.
    type: str
  id:
    description: The role's GUID. Defaults to a UUIDv5 of the lower-cased O(name).
    type: str
  allow_key_access:
    description:
      - Allow a role whose actions can list storage account keys on assignable scopes that reach storage accounts.
        Off by default because the keyless chain never needs key access.
    type: bool
    default: false
  definitions:
    description: Many role definitions in one task, each with the keys of the single form and an optional C(state).
    type: list
    elements: dict
    suboptions:
      name:
        description: The role's name.
        type: str
      description:
        description: The role's description.
        type: str
      actions:
        description: Control-plane actions.
        type: list
        elements: str
      not_actions:
        description: Control-plane actions subtracted.
        type: list
        elements: str
      data_actions:
        description: Data-plane actions.
        type: list
        elements: str
      not_data_actions:
        description: Data-plane actions subtracted.
        type: list
        elements: str
      assignable_scopes:
        description: Scopes where the role can be assigned.
        type: list
        elements: str
      scope:
        description: Scope the role definition is written at.
        type: str
      id:
        description: The role's GUID.
        type: str
      state:
        description: Whether this role should exist; defaults to O(state).
        type: str
        choices: [present, absent]
notes:
  - The role is managed as one permission block; a role made elsewhere with several blocks is rewritten as one.
  - A role that was just created or changed can take a while to be usable everywhere in Azure; a role assignment
    that names it right away may be refused for a few minutes (C(RoleAssignmentScopeNotAssignableToRoleDefinition)).
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
  - keyless.aks_storage.state
attributes:
  check_mode:
    support: full
    description:
      - Validates everything (the keyless guard and the assignments check included) and reports what would change;
        makes no write.
  diff_mode:
    support: full
    description: Shows the role definitions before and after.
"""

EXAMPLES = r"""
- name: A role that may only read the account and manage its blob containers (what the blob CSI controller needs)
  keyless.aks_storage.role_definition:
    name: Keyless Blob CSI Provisioner
    description: Read a storage account and create, read and delete its blob containers; never list keys.
    actions:
      - Microsoft.Storage/storageAccounts/read
      - Microsoft.Storage/storageAccounts/blobServices/containers/read
      - Microsoft.Storage/storageAccounts/blobServices/containers/write
      - Microsoft.Storage/storageAccounts/blobServices/containers/delete
    assignable_scopes:
      - "/subscriptions/{{ subscription_id }}/resourceGroups/rg-keyless-dev"
  register: provisioner_role

- name: Assign it by name (works in check mode before the role exists)
  keyless.aks_storage.role_assignment:
    storage_account: stkeylessdev
    resource_group: rg-keyless-dev
    role: Keyless Blob CSI Provisioner
    principal_id: "{{ controller_principal_id }}"

- name: Remove a role (refused while assignments use it)
  keyless.aks_storage.role_definition:
    name: Keyless Blob CSI Provisioner
    state: absent
"""

RETURN = r"""
definitions:
  description: The managed role definitions after the task (in check mode, as they would be). Absent ones are omitted.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: ARM ID of the role definition.
      type: str
      sample: /subscriptions/<subscription>/providers/Microsoft.Authorization/roleDefinitions/<guid>
    name:
      description: The role's GUID.
      type: str
    role_name:
      description: The role's name.
      type: str
      sample: Keyless Blob CSI Provisioner
    description:
      description: The role's description.
      type: str
    permissions:
      description: The permission blocks (C(actions), C(not_actions), C(data_actions), C(not_data_actions)).
      type: list
      elements: dict
    assignable_scopes:
      description: Scopes where the role can be assigned.
      type: list
      elements: str
created:
  description: GUIDs of the role definitions created (or that would be, in check mode).
  returned: always
  type: list
  elements: str
updated:
  description: GUIDs of the role definitions changed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: GUIDs of the role definitions deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
written:
  description: When a write failed mid-way, the labels of the items converged before it that needed a write.
  returned: on a failure after the first item
  type: list
  elements: str
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
failed_items:
  description: When items failed, the labels of all of them.
  returned: on a failure
  type: list
  elements: str
not_attempted:
  description: When a write failed mid-way, the labels of the items after the failed one, not touched.
  returned: on a failure after the first item
  type: list
  elements: str
"""

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk, rbac, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff

ITEM_KEYS = ("name", "description", "actions", "not_actions", "data_actions", "not_data_actions",
             "assignable_scopes", "scope", "id", "state")
ACTION_KEYS = (("actions", "actions"), ("not_actions", "notActions"), ("data_actions", "dataActions"),
               ("not_data_actions", "notDataActions"))
DEFINITION_PATH = "/providers/Microsoft.Authorization/roleDefinitions/"


class InvalidDefinition(ModuleError):
    """A role definition that cannot be converged as asked; nothing has been written."""


def definition_key(options):
    return options.get("name") or options.get("id") or ""


# ---- normalize (pure) ----------------------------------------------------------------------------------------------
def normalize(item, subscription_id):
    """Validate one definition's options; return them with defaults filled in. Raises InvalidDefinition."""
    sub_scope = "/subscriptions/%s" % subscription_id
    options = dict(item, scope=trimmed(item.get("scope") or sub_scope),
                   assignable_scopes=[trimmed(s) for s in item.get("assignable_scopes") or [sub_scope]])
    for key, _rest in ACTION_KEYS:
        options[key] = list(item.get(key) or [])
    refuse(name_problems(options) + scope_problems(options, subscription_id) + action_problems(options),
           error=InvalidDefinition)
    options["id"] = (options.get("id") or rbac.role_definition_guid(options["name"])).lower()
    return options


def trimmed(scope):
    return (scope.rstrip("/") or scope) if isinstance(scope, str) else scope


def name_problems(options):
    name, guid = options.get("name"), options.get("id")
    problems = [rules.guid_problem(guid, "id") if guid else None]
    if name is None:
        if options["state"] == "present" or not guid:
            problems.append("name is required%s" % ("" if options["state"] == "present" else " (or id)"))
    elif not name.strip() or len(name) > rbac.MAX_ROLE_NAME:
        problems.append("name '%s' must be 1-%d characters" % (name, rbac.MAX_ROLE_NAME))
    else:
        problems.append(rules.exact_problem(name, "name", "Azure compares role names as given"))
    return problems


def scope_problems(options, subscription_id):
    problems = []
    for field, scope in [("scope", options["scope"])] + [
            ("assignable_scopes[%d]" % i, s) for i, s in enumerate(options["assignable_scopes"])]:
        if not rbac.valid_scope(scope) or scope in ("", "/"):
            problems.append("%s '%s' is not a valid ARM scope (a subscription, resource group or resource ID)"
                            % (field, scope))
        elif not rbac.within_subscription(scope, subscription_id):
            problems.append("%s '%s' is not in subscription %s: custom roles of this module are assignable only "
                            "within the subscription given" % (field, scope, subscription_id))
    return problems


def action_problems(options):
    problems = []
    if options["state"] == "present" and not options["actions"] and not options["data_actions"]:
        problems.append("actions or data_actions is required: a role that allows nothing grants nothing")
    for key, _rest in ACTION_KEYS:
        problems += [rbac.action_problem(a, "%s[%d]" % (key, i)) for i, a in enumerate(options[key])]
    return problems


def permissions_of(options):
    """The one permission block of a definition's options, REST-shaped (what rbac.permits reads)."""
    return [{rest: list(options[key]) for key, rest in ACTION_KEYS}]


def key_access_problem(options, allowed):
    """The keyless guard (pure): the problem of a present role whose actions can list storage account keys on an
    assignable scope that reaches storage accounts (None when there is none, or when ``allowed``)."""
    if allowed or options["state"] != "present":
        return None
    reach = [s for s in options["assignable_scopes"] if rbac.covers_storage(s)]
    if not reach or not rbac.permits(permissions_of(options), action=rbac.LIST_KEYS_ACTION):
        return None
    through = rbac.matching_patterns(options["actions"], rbac.LIST_KEYS_ACTION)
    return ("actions allow %s (through %s) on assignable scopes that reach storage accounts (%s): the keyless "
            "(token-only) chain never needs key access, grant blob data actions (data_actions) instead; remove the "
            "action, subtract it with not_actions, or set allow_key_access=true only if you really need key access"
            % (rbac.LIST_KEYS_ACTION, ", ".join("'%s'" % p for p in through), ", ".join(reach)))


# ---- read ----------------------------------------------------------------------------------------------------------
def read(module, defs, item):
    """The role as it is: one read by GUID; when absent, a listing by name finds a role made by another tool."""
    guid, scope, name = item["id"], item["scope"], item.get("name")
    found = module.get_or_none("read role definition %s" % guid, defs.get, scope, guid)
    if found is not None or not name:
        return check_custom(found, guid)
    same = find_by_name(module, defs, name, [scope] + item["assignable_scopes"])
    builtin = [d for d in same if d.role_type != "CustomRole"]
    if builtin:
        raise InvalidDefinition("name '%s' is the name of a built-in role; choose another name" % name)
    if same and item.get("given_id") and same[0].name.lower() != guid:
        raise InvalidDefinition("a custom role named '%s' already exists with id %s (Azure allows one role per name "
                                "in a tenant): drop id to manage that role, or give its id" % (name, same[0].name))
    return same[0] if same else None


def find_by_name(module, defs, name, scopes):
    """The roles named ``name`` (any case) that a listing finds at the first of ``scopes`` that has one. A listing
    returns the roles assignable at its scope (the spec: "applicable at scope and above"), so the desired
    assignable scopes are listed too: a role another tool made for them is found even when it is not assignable at
    the subscription."""
    query = "roleName eq '%s'" % name.replace("'", "''")  # OData escapes quotes by doubling
    seen = set()
    for scope in scopes:
        if scope.lower() in seen:
            continue
        seen.add(scope.lower())
        listed = module.call_under("scope %s" % scope, "find role definition %s at %s" % (name, scope),
                                   lambda s=scope: list(defs.list(s, filter=query))) or []
        same = [d for d in listed if (d.role_name or "").lower() == name.lower()]
        if same:
            return same
    return []


def check_custom(found, guid):
    if found is not None and found.role_type != "CustomRole":
        raise InvalidDefinition("id %s is a built-in role (%s); built-in roles cannot be changed or deleted"
                                % (guid, found.role_name))
    return found


def view(definition):
    return dict(id=definition.id, name=definition.name, role_name=definition.role_name,
                description=definition.description,
                permissions=[{key: list(getattr(p, key) or []) for key, _rest in ACTION_KEYS}
                             for p in definition.permissions or []],
                assignable_scopes=list(definition.assignable_scopes or []))


def desired_view(item, current, subscription_id):
    guid = current.name if current is not None else item["id"]
    description = item.get("description")
    if description is None and current is not None:
        description = current.description
    return dict(id="/subscriptions/%s%s%s" % (subscription_id, DEFINITION_PATH, guid) if current is None
                else current.id, name=guid, role_name=item["name"], description=description,
                permissions=[{key: list(item[key]) for key, _rest in ACTION_KEYS}],
                assignable_scopes=list(item["assignable_scopes"]))


def differs(before, after):
    """Whether the role must be written: names and the description exactly, actions and scopes as sets."""
    if before["role_name"] != after["role_name"] or before["description"] != after["description"]:
        return True
    if len(before["permissions"]) != 1:
        return True
    have, want = before["permissions"][0], after["permissions"][0]
    return (not all(rbac.same_actions(have[key], want[key]) for key, _rest in ACTION_KEYS)
            or not rbac.same_scopes(before["assignable_scopes"], after["assignable_scopes"]))


def users_of(module, auth, definition):
    """IDs of the role assignments that use ``definition``: one listing per assignable scope (at, above and below
    it), filtered by the role's GUID."""
    guid, ids = definition.name.lower(), []
    for scope in definition.assignable_scopes or []:
        listed = module.call("list role assignments at %s" % scope,
                             lambda s=scope: list(auth.role_assignments.list_for_scope(s))) or []
        ids += [a.id for a in listed if rbac.role_guid(a.role_definition_id) == guid and a.id not in ids]
    return ids


# ---- plan ----------------------------------------------------------------------------------------------------------
def plan(module, auth, item):
    """{action (create/update/delete/None), before, after, guid, body} for one definition (reads only)."""
    current = read(module, auth.role_definitions, item)
    before = [view(current)] if current is not None else []
    if item["state"] == "absent":
        if current is None:
            return dict(action=None, before=[], after=[], guid=item["id"])
        users = users_of(module, auth, current)
        if users:
            raise InvalidDefinition("role '%s' (%s) is still assigned: %s. Remove these assignments first "
                                    "(keyless.aks_storage.role_assignment with state=absent), then delete the role"
                                    % (current.role_name, current.name, ", ".join(users)))
        return dict(action="delete", before=before, after=[], guid=current.name, scope=item["scope"])
    after = desired_view(item, current, module.subscription_id)
    if current is not None and not differs(before[0], after):
        return dict(action=None, before=before, after=before, guid=current.name)
    body = {"properties": {"roleName": after["role_name"], "description": after["description"],
                           "type": "CustomRole", "assignableScopes": after["assignable_scopes"],
                           "permissions": permissions_of(item)}}
    return dict(action="update" if current is not None else "create", before=before, after=[after],
                guid=after["name"], scope=item["scope"], body=body)


# ---- apply ---------------------------------------------------------------------------------------------------------
def apply(module, defs, item, planned):
    """Carry out one plan (nothing in check mode); returns {changed, after, created, updated, deleted}."""
    action, after = planned["action"], planned["after"]
    result = dict(changed=action is not None, after=after, created=[], updated=[], deleted=[])
    if action is None:
        return result
    result[{"create": "created", "update": "updated", "delete": "deleted"}[action]] = [planned["guid"]]
    if module.check_mode:
        return result
    if action == "delete":
        module.write("delete role definition %s" % (item.get("name") or planned["guid"]), defs.delete,
                     planned["scope"], planned["guid"])
        return result
    try:
        made = module.write("%s role definition %s" % (action, item["name"]), defs.create_or_update,
                            planned["scope"], planned["guid"], planned["body"])
    except AzureError as exc:
        if exc.error_code == "RoleDefinitionWithSameNameExists":
            exc.hint = ("a custom role named '%s' exists in the tenant but is not assignable at %s, so the module "
                        "did not find it; give its id, or scope, to manage it" % (item["name"], item["scope"]))
            exc.msg = "%s; %s" % (exc.msg, exc.hint)
        raise
    result["after"] = [view(made)]
    return result


# ---- driver --------------------------------------------------------------------------------------------------------
def run(module):
    """normalize and guard -> read and plan -> apply."""
    items = bulk.items_from_params(module.params, "definitions", ITEM_KEYS, key_of=definition_key)
    allowed = module.params["allow_key_access"]
    for item, options in zip(items, bulk.plan_all(items, lambda item: normalize_item(module, item, allowed))):
        item.options = options
    for item, earlier in bulk.duplicates(items, lambda item: item["id"]):
        raise InvalidDefinition("the same role as %s (id %s) is given twice" % (earlier.name, item["id"])
                                ).labelled(item.label)
    auth = module.client("authorization")
    plans = bulk.plan_all(items, lambda item: plan(module, auth, item))
    results = bulk.apply_all(module, items, plans, lambda item, planned: apply(module, auth.role_definitions, item,
                                                                               planned))
    before = [d for p in plans for d in p["before"]]
    after = [d for r in results for d in r["after"]]
    changes = {key: [g for r in results for g in r[key]] for key in ("created", "updated", "deleted")}
    return dict(changed=any(r["changed"] for r in results), definitions=after,
                diff=diff({"definitions": before}, {"definitions": after}), **changes)


def normalize_item(module, item, allowed):
    options = normalize(dict(item.options, given_id=item.get("id")), module.subscription_id)
    refuse([key_access_problem(options, allowed)], error=InvalidDefinition)
    return options


def main():
    item_spec = dict(
        name=dict(type="str"),
        description=dict(type="str"),
        actions=dict(type="list", elements="str"),
        not_actions=dict(type="list", elements="str"),
        data_actions=dict(type="list", elements="str"),
        not_data_actions=dict(type="list", elements="str"),
        assignable_scopes=dict(type="list", elements="str"),
        scope=dict(type="str"),
        id=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str"),
            description=dict(type="str"),
            actions=dict(type="list", elements="str", default=[]),
            not_actions=dict(type="list", elements="str", default=[]),
            data_actions=dict(type="list", elements="str", default=[]),
            not_data_actions=dict(type="list", elements="str", default=[]),
            assignable_scopes=dict(type="list", elements="str"),
            scope=dict(type="str"),
            id=dict(type="str"),
            allow_key_access=dict(type="bool", default=False),
            definitions=dict(type="list", elements="dict", options=item_spec),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        mutually_exclusive=[("definitions", "name"), ("definitions", "id")],
        required_one_of=[("definitions", "name", "id")],
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
