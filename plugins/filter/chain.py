# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the keyless_workloads data into the inputs of each stage of the chain."""

from __future__ import annotations

DATA_ROLES = {"readwrite": "Storage Blob Data Contributor", "read": "Storage Blob Data Reader"}


def _identity_key(workload, default_resource_group):
    identity = workload["identity"]
    return identity.get("resource_group") or default_resource_group, identity["name"]


def workload_identities(workloads, default_resource_group):
    """The distinct identities the workloads use: [{name, resource_group}], in first-use order."""
    seen, result = set(), []
    for workload in workloads or []:
        key = _identity_key(workload, default_resource_group)
        if key not in seen:
            seen.add(key)
            result.append({"resource_group": key[0], "name": key[1]})
    return result


def federated_credentials(workloads, identity, default_resource_group, issuer, cluster_name):
    """Federated credentials the cluster's service accounts need on ``identity`` ({name, resource_group})."""
    creds, seen = [], set()
    for workload in workloads or []:
        if _identity_key(workload, default_resource_group) != (identity["resource_group"], identity["name"]):
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
        key = "%s/%s" % _identity_key(workload, default_resource_group)
        result.append({"storage_account": workload["storage_account"], "resource_group": workload["resource_group"],
                       "container": workload["container"], "role": DATA_ROLES[workload.get("access", "readwrite")],
                       "principal_id": principal_ids.get(key)})
    return result


def identity_map(results, field):
    """``{"resource_group/name": result[field]}`` from the registered results of the identity loop."""
    return {"%s/%s" % (r["item"]["resource_group"], r["item"]["name"]): r.get(field) for r in results or []}


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
                "identity_map": identity_map}
