#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: resource_group
short_description: Create, update or delete an Azure resource group
version_added: 0.1.0
description:
  - Ensures a resource group exists in a location with the given tags, or is absent, so a playbook that builds the
    keyless chain needs nothing outside this collection.
  - Deleting a group that still holds resources requires O(force_delete_nonempty=true), because it deletes them all.
  - Many groups converge in one task with O(resource_groups); every group is read and checked before the first
    write.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  name:
    description:
      - Name of the resource group. Single form; mutually exclusive with O(resource_groups), one of them is required.
    type: str
  location:
    description:
      - Azure region, for example V(westeurope). Required to create the group; must match an existing group's location.
    type: str
  force_delete_nonempty:
    description:
      - With O(state=absent), delete the group even when it still contains resources (they are deleted too).
    type: bool
    default: false
  resource_groups:
    description:
      - Many groups in one task. Keys an item leaves unset take the top-level option's value.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the group.
        type: str
        required: true
      location:
        description: Region (default O(location)).
        type: str
      tags:
        description: Tags the group must carry (default O(tags)).
        type: dict
      append_tags:
        description: Keep tags not in O(resource_groups[].tags) (default O(append_tags)).
        type: bool
      force_delete_nonempty:
        description: Delete a group that still holds resources (default O(force_delete_nonempty)).
        type: bool
      state:
        description: Whether the group should exist (default O(state)).
        type: str
        choices: [present, absent]
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
  - keyless.aks_storage.tags
  - keyless.aks_storage.state
attributes:
  check_mode:
    support: full
    description: Reports what would change and makes no write.
  diff_mode:
    support: full
    description: Shows the group's name, location and tags before and after.
"""

EXAMPLES = r"""
- name: Resource group for the keyless storage chain
  keyless.aks_storage.resource_group:
    name: rg-keyless-dev
    location: westeurope
    tags:
      env: dev

- name: The groups of the storage, identities and cluster in one task
  keyless.aks_storage.resource_group:
    location: westeurope
    tags:
      env: dev
    resource_groups:
      - name: rg-keyless-dev
      - name: rg-aks-dev

- name: Remove it and everything in it
  keyless.aks_storage.resource_group:
    name: rg-keyless-dev
    state: absent
    force_delete_nonempty: true
"""

RETURN = r"""
id:
  description: ARM resource ID of the group; null when absent or not yet created (check mode).
  returned: single form
  type: str
  sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-keyless-dev
name:
  description: Name of the group.
  returned: single form
  type: str
  sample: rg-keyless-dev
location:
  description: Region of the group.
  returned: single form, when the group exists or would be created
  type: str
  sample: westeurope
tags:
  description: Tags of the group.
  returned: single form, when the group exists or would be created
  type: dict
  sample: {env: dev}
resource_groups:
  description: One entry per item of O(resource_groups), in order, with the single form's return values and C(changed).
  returned: bulk form
  type: list
  elements: dict
  sample:
    - {name: rg-keyless-dev, location: westeurope, tags: {env: dev}, changed: false,
       id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-keyless-dev}
written:
  description:
    - When a write failed mid-way, the labels of the items converged before it that needed a write (see
      C(docs/results.md)).
  returned: on a failure after the first item
  type: list
  elements: str
  sample: ["resource_groups[0] (rg-keyless-dev/example)"]
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
  sample: "resource_groups[2] (rg-keyless-dev/example)"
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
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.tagged_resource import (
    Operations, converged_result)

ITEM_KEYS = ("name", "location", "tags", "append_tags", "force_delete_nonempty", "state")


def summary(group):
    if group is None:
        return None
    return dict(id=group.id, name=group.name, location=group.location, tags=dict(group.tags or {}))


class GroupOperations(Operations):
    kind = "resource group"

    def __init__(self, module):
        self.module = module
        self.resources = module.client("resource")
        self.api = self.resources.resource_groups

    def read(self, item):
        return summary(self.module.get_or_none("read resource group %s" % item["name"], self.api.get, item["name"]))

    def check_delete(self, item, current):
        if item["force_delete_nonempty"]:
            return
        name = item["name"]
        # The listing is paged lazily: fetch the first page inside call() so errors are reported.
        first = self.module.call("list resources in %s" % name,
                                 lambda: next(iter(self.resources.resources.list_by_resource_group(name, top=1)), None))
        if first is not None:
            raise ModuleError("resource group %s still holds resources (for example %s); set force_delete_nonempty=true "
                              "to delete it with everything in it" % (name, first.id))

    def create(self, item, location, tags):
        return summary(self.module.write("create resource group %s" % item["name"], self.api.create_or_update,
                                         item["name"], {"location": location, "tags": tags}))

    def update(self, item, tags):
        return summary(self.module.write("update tags of resource group %s" % item["name"], self.api.update,
                                         item["name"], {"tags": tags}))

    def delete(self, item):
        name = item["name"]
        self.module.wait("delete resource group %s" % name,
                         self.module.write("delete resource group %s" % name, self.api.begin_delete, name))


def validate(items):
    for item in items:
        refuse([rules.name_problem("resource group", item["name"], "name")] + rules.tag_problems(item["tags"]),
               item.label)
    for item, _earlier in bulk.duplicates(items, lambda i: i["name"].lower()):
        raise ModuleError("resource group %s is listed twice" % item["name"]).labelled(item.label)


def converge(module):
    items = bulk.items_from_params(module.params, "resource_groups", ITEM_KEYS)
    validate(items)
    return converged_result(module, GroupOperations(module), items, "resource_groups")


def main():
    item_options = dict(
        name=dict(type="str", required=True),
        location=dict(type="str"),
        tags=dict(type="dict"),
        append_tags=dict(type="bool"),
        force_delete_nonempty=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str"),
            location=dict(type="str"),
            tags=dict(type="dict"),
            append_tags=dict(type="bool", default=True),
            force_delete_nonempty=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            resource_groups=dict(type="list", elements="dict", options=item_options),
        ),
        mutually_exclusive=[("name", "resource_groups")],
        required_one_of=[("name", "resource_groups")],
        supports_check_mode=True,
    )
    module.run(lambda: converge(module))


if __name__ == "__main__":
    main()
