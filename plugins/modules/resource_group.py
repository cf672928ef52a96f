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
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  name:
    description: Name of the resource group.
    type: str
    required: true
  location:
    description:
      - Azure region, for example V(westeurope). Required to create the group; must match an existing group's location.
    type: str
  tags:
    description: Tags the group must carry. Left unmanaged when omitted.
    type: dict
  append_tags:
    description: When V(true), tags not in O(tags) are kept; when V(false) they are removed.
    type: bool
    default: true
  force_delete_nonempty:
    description:
      - With O(state=absent), delete the group even when it still contains resources (they are deleted too).
    type: bool
    default: false
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
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

- name: Remove it and everything in it
  keyless.aks_storage.resource_group:
    name: rg-keyless-dev
    state: absent
    force_delete_nonempty: true
"""

RETURN = r"""
id:
  description: ARM resource ID of the group; null when absent or not yet created (check mode).
  returned: always
  type: str
  sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-keyless-dev
name:
  description: Name of the group.
  returned: always
  type: str
  sample: rg-keyless-dev
location:
  description: Region of the group.
  returned: when the group exists or would be created
  type: str
  sample: westeurope
tags:
  description: Tags of the group.
  returned: when the group exists or would be created
  type: dict
  sample: {env: dev}
"""

import re

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.tagged_resource import (
    ensure_absent, ensure_present)

# 1-90 characters: letters, digits, underscores, hyphens, periods and parentheses; not ending in a period.
NAME_PATTERN = re.compile(r"^[-\w.()]{0,89}[-\w()]$")


def summary(group):
    if group is None:
        return None
    return dict(id=group.id, name=group.name, location=group.location, tags=dict(group.tags or {}))


def main():
    module = AzureModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            location=dict(type="str"),
            tags=dict(type="dict"),
            append_tags=dict(type="bool", default=True),
            force_delete_nonempty=dict(type="bool", default=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    if not NAME_PATTERN.match(name):
        module.fail_json(msg="name '%s' is not a valid resource group name: use 1-90 letters, digits, underscores, "
                             "hyphens, periods or parentheses, not ending in a period" % name)
    resources = module.client("resource")
    groups = resources.resource_groups
    current = summary(module.get_or_none("read resource group %s" % name, groups.get, name))
    unknown = dict(id=None, name=name)

    if p["state"] == "absent":
        if current and not p["force_delete_nonempty"]:
            # The listing is paged lazily: fetch the first page inside call() so errors are reported.
            first = module.call("list resources in %s" % name,
                                lambda: next(iter(resources.resources.list_by_resource_group(name, top=1)), None))
            if first is not None:
                module.fail_json(msg="resource group %s still holds resources (for example %s); set "
                                     "force_delete_nonempty=true to delete it with everything in it" % (name, first.id))
        ensure_absent(module, current, lambda: module.wait("delete resource group %s" % name, module.call(
            "delete resource group %s" % name, groups.begin_delete, name)), unknown)

    def create(location, tags):
        return summary(module.call("create resource group %s" % name, groups.create_or_update, name,
                                   {"location": location, "tags": tags}))

    def update(tags):
        return summary(module.call("update tags of resource group %s" % name, groups.update, name, {"tags": tags}))

    ensure_present(module, "resource group", current, p["location"], create, update, unknown)


if __name__ == "__main__":
    main()
