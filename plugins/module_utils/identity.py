# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a user-assigned managed identity is returned, by managed_identity and managed_identity_info alike, and how
the modules that need one (federated_credential, role_assignment) say that it does not exist."""

from __future__ import annotations

import re

from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError

ID_RESOURCE_GROUP = re.compile(r"/resourceGroups/([^/]+)/", re.IGNORECASE)


def summary(identity, resource_group=None):
    """The returned/diffed view of an SDK Identity (None when absent); the resource group from its ID if not given."""
    if identity is None:
        return None
    if resource_group is None:
        match = ID_RESOURCE_GROUP.search(identity.id or "")
        resource_group = match.group(1) if match else None
    return dict(id=identity.id, name=identity.name, resource_group=resource_group, location=identity.location,
                tags=dict(identity.tags or {}), client_id=identity.client_id, principal_id=identity.principal_id,
                tenant_id=identity.tenant_id)


def absent(resource_group, name):
    """The returned values of an identity that does not exist."""
    return dict(id=None, name=name, resource_group=resource_group, client_id=None, principal_id=None, tenant_id=None)


def missing(resource_group, name):
    """``(parent, error)`` of an identity a task needs that does not exist, for AzureModule.parent_missing: how a
    check-mode warning names it, and the error outside check mode."""
    return ("managed identity %s in resource group %s" % (name, resource_group),
            ModuleError("managed identity %s was not found in resource group %s; create it first with "
                        "keyless.aks_storage.managed_identity" % (name, resource_group)))
