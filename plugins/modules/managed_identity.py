#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_identity
short_description: Create, update or delete a user-assigned managed identity
version_added: 0.1.0
description:
  - Ensures a user-assigned managed identity exists with the given tags, or is absent.
  - The identity is what an AKS workload becomes in Azure under Microsoft Entra Workload Identity; its
    C(client_id) goes into the Kubernetes ServiceAccount annotation and its C(principal_id) receives the storage
    data role (see M(keyless.aks_storage.federated_credential) and M(keyless.aks_storage.role_assignment)).
  - Reads the identity once; writes only when something differs. An identity cannot change location, so a different
    O(location) fails instead of silently recreating it (its client ID would change).
  - Many identities converge in one task with O(identities) (one module process and one token for all of them);
    every identity is read and checked before the first write, so a refused item leaves nothing half-done.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description:
      - Resource group that holds the identity. Required for the single form; the default of O(identities[].resource_group).
    type: str
  name:
    description:
      - Name of the identity, 3 to 128 characters of letters, digits, hyphens and underscores, starting with a letter
        or digit.
      - Single form; mutually exclusive with O(identities), one of them is required.
    type: str
  location:
    description:
      - Azure region, for example V(westeurope). Only used when creating; defaults to the resource group's location.
      - Must match the existing identity's location when the identity already exists.
    type: str
  identities:
    description:
      - Many identities in one task. Keys an item leaves unset take the top-level option's value.
    type: list
    elements: dict
    suboptions:
      resource_group:
        description: Resource group of the identity (default O(resource_group)).
        type: str
      name:
        description: Name of the identity.
        type: str
        required: true
      location:
        description: Region, used when creating (default O(location), else the resource group's region).
        type: str
      tags:
        description: Tags the identity must carry (default O(tags)).
        type: dict
      append_tags:
        description: Keep tags not in O(identities[].tags) (default O(append_tags)).
        type: bool
      state:
        description: Whether the identity should exist (default O(state)).
        type: str
        choices: [present, absent]
notes:
  - In check mode a resource group that does not exist yet is not an error. An earlier task of the play
    (M(keyless.aks_storage.resource_group)) would have created it, but check mode created nothing; so the identity
    is reported as to be created (C(changed), its values and the diff, as for any check-mode create; RV(location)
    is null when O(location) is not given, since it would be the group's) and a warning says that the group was
    not found and that the result assumes an earlier task creates it. Outside check mode a missing group fails the
    task (C(ResourceGroupNotFound)).
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
  - keyless.aks_storage.tags
  - keyless.aks_storage.state
attributes:
  check_mode:
    support: full
    description:
      - Reports what would change and makes no write.
      - A resource group not created yet is no error, with a warning (see the notes).
  diff_mode:
    support: full
    description: Shows the identity's name, location and tags before and after.
"""

EXAMPLES = r"""
- name: Identity for the reports workload
  keyless.aks_storage.managed_identity:
    resource_group: rg-keyless-dev
    name: id-reports
    location: westeurope
    tags:
      app: reports
  register: reports_identity

- name: Use its client ID in the ServiceAccount annotation
  ansible.builtin.debug:
    msg: "azure.workload.identity/client-id: {{ reports_identity.client_id }}"

- name: Every workload's identity in one task
  keyless.aks_storage.managed_identity:
    resource_group: rg-keyless-dev
    location: westeurope
    identities:
      - name: id-reports
      - name: id-archive
      - name: id-legacy
        state: absent
  register: workload_identities

- name: Client IDs by identity name
  ansible.builtin.debug:
    msg: "{{ workload_identities.identities | items2dict(key_name='name', value_name='client_id') }}"

- name: Remove the identity
  keyless.aks_storage.managed_identity:
    resource_group: rg-keyless-dev
    name: id-reports
    state: absent
"""

RETURN = r"""
id:
  description: ARM resource ID of the identity. Null when absent or in check mode before creation.
  returned: single form
  type: str
  sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reports
name:
  description: Name of the identity.
  returned: single form
  type: str
  sample: id-reports
resource_group:
  description: Resource group of the identity.
  returned: single form
  type: str
  sample: rg-keyless-dev
location:
  description:
    - Region of the identity (null in check mode when it would be that of a resource group not created yet).
  returned: single form, when the identity exists or would be created
  type: str
  sample: westeurope
tags:
  description: Tags of the identity.
  returned: single form, when the identity exists or would be created
  type: dict
  sample: {app: reports}
client_id:
  description: Client (application) ID, used by workload identity and in the ServiceAccount annotation.
  returned: single form
  type: str
  sample: 11111111-2222-3333-4444-555555555555
principal_id:
  description: Object ID of the identity's service principal, used by role assignments.
  returned: single form
  type: str
  sample: 66666666-7777-8888-9999-000000000000
tenant_id:
  description: Tenant of the identity.
  returned: single form
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
identities:
  description:
    - One entry per item of O(identities), in order, with the single form's return values and C(changed).
  returned: bulk form
  type: list
  elements: dict
  sample:
    - name: id-reports
      resource_group: rg-keyless-dev
      location: westeurope
      tags: {}
      changed: true
      id: /subscriptions/0000/resourceGroups/rg-keyless-dev/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reports
      client_id: 11111111-2222-3333-4444-555555555555
      principal_id: 66666666-7777-8888-9999-000000000000
      tenant_id: 72f988bf-86f1-41af-91ab-2d7cd011db47
written:
  description:
    - When a write failed mid-way, the labels of the items converged before it that needed a write (see
      C(docs/results.md)).
  returned: on a failure after the first item
  type: list
  elements: str
  sample: ["identities[0] (rg-keyless-dev/example)"]
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
  sample: "identities[2] (rg-keyless-dev/example)"
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

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, group_parent
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.identity import absent, summary
from ansible_collections.keyless.aks_storage.plugins.module_utils.tagged_resource import (
    Operations, converged_result)

ITEM_KEYS = ("resource_group", "name", "location", "tags", "append_tags", "state")


class IdentityOperations(Operations):
    kind = "identity"

    def __init__(self, module):
        self.module = module
        self.api = module.client("msi").user_assigned_identities
        self.group_locations = {}

    def read(self, item):
        rg = item["resource_group"]
        return summary(self.module.get_in_group(rg if item["state"] == "present" else None,
                                                "read identity %s" % item["name"], self.api.get, rg, item["name"]),
                       rg)

    def default_location(self, item):
        # Like the Azure CLI: a new identity defaults to its resource group's region (read once per group). A
        # group that does not exist fails the task, except in check mode (not known yet, see parent_missing).
        rg = item["resource_group"]
        if rg not in self.group_locations:
            group = self.module.call_under(group_parent(rg), "read resource group %s" % rg,
                                           self.module.client("resource").resource_groups.get, rg)
            self.group_locations[rg] = group.location if group is not None else None
        return self.group_locations[rg]

    def create(self, item, location, tags):
        return summary(self.module.write("create identity %s" % item["name"], self.api.create_or_update,
                                         item["resource_group"], item["name"], {"location": location, "tags": tags}),
                       item["resource_group"])

    def update(self, item, tags):
        return summary(self.module.write("update tags of identity %s" % item["name"], self.api.update,
                                         item["resource_group"], item["name"], {"tags": tags}), item["resource_group"])

    def delete(self, item):
        self.module.write("delete identity %s" % item["name"], self.api.delete, item["resource_group"], item["name"])

    def unknown(self, item):
        return absent(item["resource_group"], item["name"])


def validate(items):
    """Every item's problems, before anything is read or written."""
    for item in items:
        if not item["resource_group"]:
            raise ModuleError("resource_group is required (set it on the item or at the top level)").labelled(
                item.label)
        refuse([rules.name_problem("resource group", item["resource_group"], "resource_group"),
                rules.name_problem("identity", item["name"], "name")] + rules.tag_problems(item["tags"]), item.label)
    for item, _earlier in bulk.duplicates(items, lambda i: (i["resource_group"].lower(), i["name"].lower())):
        raise ModuleError("identity %s is listed twice" % item.key).labelled(item.label)


def converge(module):
    items = bulk.items_from_params(module.params, "identities", ITEM_KEYS)
    validate(items)
    return converged_result(module, IdentityOperations(module), items, "identities")


def main():
    item_options = dict(
        resource_group=dict(type="str"),
        name=dict(type="str", required=True),
        location=dict(type="str"),
        tags=dict(type="dict"),
        append_tags=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str"),
            name=dict(type="str"),
            location=dict(type="str"),
            tags=dict(type="dict"),
            append_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            identities=dict(type="list", elements="dict", options=item_options),
        ),
        mutually_exclusive=[("name", "identities")],
        required_one_of=[("name", "identities")],
        supports_check_mode=True,
    )
    module.run(lambda: converge(module))


if __name__ == "__main__":
    main()
