# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the keyless_workloads data into the inputs of each stage of the chain."""

from __future__ import annotations

DATA_ROLES = {"readwrite": "Storage Blob Data Contributor", "read": "Storage Blob Data Reader"}


def identity_key(workload, default_resource_group):
    identity = workload["identity"]
    return identity.get("resource_group") or default_resource_group, identity["name"]


def workload_identities(workloads, default_resource_group):
    """The distinct identities the workloads use: [{name, resource_group}], in first-use order."""
    seen, result = set(), []
    for workload in workloads or []:
        key = identity_key(workload, default_resource_group)
        if key not in seen:
            seen.add(key)
            result.append({"resource_group": key[0], "name": key[1]})
    return result


def federated_credentials(workloads, identity, default_resource_group, issuer, cluster_name):
    """Federated credentials the cluster's service accounts need on ``identity`` ({name, resource_group})."""
    creds, seen = [], set()
    for workload in workloads or []:
        if identity_key(workload, default_resource_group) != (identity["resource_group"], identity["name"]):
            continue
        subject = (workload["namespace"], workload["service_account"])
        if subject in seen:
            continue
        seen.add(subject)
        name = "%s-%s-%s" % (cluster_name, workload["namespace"], workload["service_account"])
        creds.append({"name": name[:120], "issuer": issuer, "namespace": workload["namespace"],
                      "service_account": workload["service_account"]})
    return creds


def data_role_assignments(workloads, principal_ids, default_resource_group):
    """One least-privilege data role per workload, scoped to its container.

    ``principal_ids`` maps "resource_group/name" of each identity to its principal (object) ID.
    """
    result = []
    for workload in workloads or []:
        key = "%s/%s" % identity_key(workload, default_resource_group)
        result.append({"storage_account": workload["storage_account"], "resource_group": workload["resource_group"],
                       "container": workload["container"], "role": DATA_ROLES[workload.get("access", "readwrite")],
                       "principal_id": principal_ids.get(key)})
    return result


def federated_identities(workloads, identities, default_resource_group, issuer, cluster_name, state=None):
    """federated_credential's ``identities`` items: every identity with the credentials its workloads need."""
    items = []
    for identity in identities or []:
        credentials = federated_credentials(workloads, identity, default_resource_group, issuer, cluster_name)
        if state:
            credentials = [dict(c, state=state) for c in credentials]
        items.append({"resource_group": identity["resource_group"], "identity_name": identity["name"],
                      "credentials": credentials})
    return items


def storage_account_items(accounts, workloads):
    """keyless_storage_account's ``accounts`` items: each account with every container its workloads mount."""
    return [dict(account, containers=account_containers(workloads, account["name"], account.get("containers")))
            for account in accounts or []]


def resource_group_items(names):
    """``[{"name": ...}]`` items of resource_group's ``resource_groups`` option, each name once, in order."""
    items, seen = [], set()
    for name in names or []:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            items.append({"name": name})
    return items


def identity_map(results, field):
    """``{"resource_group/name": result[field]}`` from managed_identity's ``identities`` return value (or the
    ``results`` of a loop over identities)."""
    mapped = {}
    for result in results or []:
        source = result.get("item") or result
        mapped["%s/%s" % (source["resource_group"], source["name"])] = result.get(field)
    return mapped


def account_containers(workloads, account, extra=None):
    """The containers of ``account``: those listed for it plus every container a workload mounts."""
    names = list(extra or [])
    for workload in workloads or []:
        if workload["storage_account"] == account and workload["container"] not in names:
            names.append(workload["container"])
    return names


class FilterModule:
    def filters(self):
        return {"workload_identities": workload_identities, "federated_credentials": federated_credentials,
                "data_role_assignments": data_role_assignments, "account_containers": account_containers,
                "identity_map": identity_map, "resource_group_items": resource_group_items,
                "storage_account_items": storage_account_items, "federated_identities": federated_identities}
