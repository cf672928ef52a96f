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
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description: Resource group that holds the identity.
    type: str
    required: true
  name:
    description:
      - Name of the identity, 3 to 128 characters of letters, digits, hyphens and underscores, starting with a letter
        or digit.
    type: str
    required: true
  location:
    description:
      - Azure region, for example V(westeurope). Only used when creating; defaults to the resource group's location.
      - Must match the existing identity's location when the identity already exists.
    type: str
  tags:
    description:
      - Tags the identity must carry. Left unmanaged when omitted.
    type: dict
  append_tags:
    description:
      - When V(true), tags on the identity that are not in O(tags) are kept; when V(false) they are removed.
    type: bool
    default: true
  state:
    description: Whether the identity should exist.
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

- name: Remove the identity
  keyless.aks_storage.managed_identity:
    resource_group: rg-keyless-dev
    name: id-reports
    state: absent
"""

RETURN = r"""
id:
  description: ARM resource ID of the identity. Null when absent or in check mode before creation.
  returned: always
  type: str
  sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reports
name:
  description: Name of the identity.
  returned: always
  type: str
  sample: id-reports
location:
  description: Region of the identity.
  returned: when the identity exists or would be created
  type: str
  sample: westeurope
tags:
  description: Tags of the identity.
  returned: when the identity exists or would be created
  type: dict
  sample: {app: reports}
client_id:
  description: Client (application) ID, used by workload identity and in the ServiceAccount annotation.
  returned: always
  type: str
  sample: 11111111-2222-3333-4444-555555555555
principal_id:
  description: Object ID of the identity's service principal, used by role assignments.
  returned: always
  type: str
  sample: 66666666-7777-8888-9999-000000000000
tenant_id:
  description: Tenant of the identity.
  returned: always
  type: str
  sample: 72f988bf-86f1-41af-91ab-2d7cd011db47
"""

import re

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule
from ansible_collections.keyless.aks_storage.plugins.module_utils.tagged_resource import (
    ensure_absent, ensure_present)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


def summary(identity):
    """The returned/diffed view of an SDK Identity (None when absent)."""
    if identity is None:
        return None
    return dict(id=identity.id, name=identity.name, location=identity.location, tags=dict(identity.tags or {}),
                client_id=identity.client_id, principal_id=identity.principal_id, tenant_id=identity.tenant_id)


def main():
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            location=dict(type="str"),
            tags=dict(type="dict"),
            append_tags=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not NAME_PATTERN.match(p["name"]):
        module.fail_json(msg="name '%s' is not a valid identity name: use 3-128 letters, digits, hyphens or "
                             "underscores, starting with a letter or digit" % p["name"])
    rg, name = p["resource_group"], p["name"]
    identities = module.client("msi").user_assigned_identities
    current = summary(module.get_or_none("read identity %s" % name, identities.get, rg, name))
    unknown = dict(id=None, name=name, client_id=None, principal_id=None, tenant_id=None)

    if p["state"] == "absent":
        ensure_absent(module, current, lambda: module.call("delete identity %s" % name, identities.delete, rg, name),
                      unknown)

    location = p["location"]
    if current is None and not location:
        # Like the Azure CLI: a new identity defaults to its resource group's region.
        location = module.call("read resource group %s" % rg, module.client("resource").resource_groups.get,
                               rg).location

    def create(loc, tags):
        return summary(module.call("create identity %s" % name, identities.create_or_update, rg, name,
                                   {"location": loc, "tags": tags}))

    def update(tags):
        return summary(module.call("update tags of identity %s" % name, identities.update, rg, name,
                                   {"tags": tags}))

    ensure_present(module, "identity", current, location, create, update, unknown)


if __name__ == "__main__":
    main()
