#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: managed_identity_info
short_description: Read user-assigned managed identities (client ID, principal ID), without changing anything
version_added: 0.1.0
description:
  - Returns the user-assigned managed identities of a resource group, or the ones named, with the C(client_id) a
    ServiceAccount annotation needs and the C(principal_id) a role assignment needs.
  - Lists each resource group once (one request per group, whatever the number of identities) instead of reading
    identity after identity. A named identity that does not exist is returned with C(exists=false) and null IDs, and
    a resource group that does not exist holds no identities; neither is an error.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description:
      - Resource group to read. Alone, every identity in it is returned; with O(name), that one identity.
      - The default of O(identities[].resource_group).
    type: str
  name:
    description: Name of one identity in O(resource_group).
    type: str
  federated_credentials:
    description:
      - Also return the names of each existing identity's federated identity credentials (one listing per identity).
    type: bool
    default: false
  identities:
    description: The identities to return, in this order. Mutually exclusive with O(name).
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
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as in a normal run.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

EXAMPLES = r"""
- name: The identities the workloads use (missing ones come back with exists=false)
  keyless.aks_storage.managed_identity_info:
    identities:
      - {resource_group: rg-keyless-dev, name: id-reports}
      - {resource_group: rg-keyless-dev, name: id-archive}
  register: found

- name: Every identity of a resource group
  keyless.aks_storage.managed_identity_info:
    resource_group: rg-keyless-dev
  register: all_identities
"""

RETURN = r"""
identities:
  description: The identities found (every one of the group), or one entry per identity asked for, in order.
  returned: always
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the identity exists.
      type: bool
    id:
      description: ARM resource ID (null when it does not exist).
      type: str
    name:
      description: Name of the identity.
      type: str
    resource_group:
      description: Resource group of the identity.
      type: str
    location:
      description: Region (only when it exists).
      type: str
    tags:
      description: Tags (only when it exists).
      type: dict
    client_id:
      description: Client (application) ID, for the C(azure.workload.identity/client-id) annotation.
      type: str
    principal_id:
      description: Object ID of its service principal, for role assignments.
      type: str
    tenant_id:
      description: Tenant of the identity.
      type: str
    federated_credentials:
      description: Names of its federated identity credentials.
      returned: with O(federated_credentials=true), for an identity that exists
      type: list
      elements: str
"""

from ansible_collections.keyless.aks_storage.plugins.module_utils import bulk
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.identity import absent, summary


def wanted(params):
    """The identities asked for as bulk items ({resource_group, name}); None when a whole group is listed."""
    if params["identities"] is None and not params["name"]:
        return None
    items = bulk.items_from_params(params, "identities", ("resource_group", "name"))
    for item in items:
        if not item["resource_group"]:
            raise ModuleError("resource_group is required (set it on the item or at the top level)").labelled(
                item.label)
    return items


def list_group(module, api, resource_group):
    """Every identity of ``resource_group``, by lowered name (a group that does not exist holds none)."""
    found = module.get_or_none("list identities in %s" % resource_group,
                               lambda: list(api.list_by_resource_group(resource_group)))
    return {i.name.lower(): summary(i, resource_group) for i in found or []}


def run(module):
    p = module.params
    items = wanted(p)
    if items is None and not p["resource_group"]:
        raise ModuleError("give resource_group (every identity in it), name with resource_group, or identities")
    api = module.client("msi").user_assigned_identities
    groups = {}
    for resource_group in [p["resource_group"]] if items is None else [i["resource_group"] for i in items]:
        if resource_group.lower() not in groups:
            groups[resource_group.lower()] = list_group(module, api, resource_group)
    if items is None:
        identities = [dict(v, exists=True) for v in groups[p["resource_group"].lower()].values()]
    else:
        identities = [entry(groups[i["resource_group"].lower()], i) for i in items]
    if p["federated_credentials"]:
        fics = module.client("msi").federated_identity_credentials
        for identity in identities:
            if identity["exists"]:
                identity["federated_credentials"] = module.call(
                    "list federated credentials of identity %s" % identity["name"],
                    lambda i=identity: sorted(c.name for c in fics.list(i["resource_group"], i["name"])))
    return dict(changed=False, identities=identities)


def entry(group, item):
    """The returned entry of one identity asked for, from its group's listing."""
    found = group.get(item["name"].lower())
    if found is None:
        return dict(absent(item["resource_group"], item["name"]), exists=False)
    return dict(found, exists=True)


def main():
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str"),
            name=dict(type="str"),
            federated_credentials=dict(type="bool", default=False),
            identities=dict(type="list", elements="dict", options=dict(
                resource_group=dict(type="str"),
                name=dict(type="str", required=True),
            )),
        ),
        mutually_exclusive=[("name", "identities")],
        required_by={"name": ("resource_group",)},
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
