# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What other clusters of the inventory still use, so that tearing one cluster down leaves theirs working.

A cluster's own resources are its federated credentials (named after it) and its Kubernetes objects. Identities,
data role assignments and storage accounts can be shared through group_vars; teardown removes them only when no
other cluster of the inventory (every host of the group, whatever --limit says) uses them.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.filter.chain import (
    data_role_key, federated_credentials, identity_key, workload_identities)


STILL_USED = "still used by another cluster, or trusted by a federated credential that is not this cluster's"


def _host_usage(host):
    """(identities, assignments, accounts) a host's inventory uses, as comparable keys."""
    default_rg = host.get("keyless_identity_resource_group") or host.get("keyless_resource_group")
    identities, assignments, accounts = set(), set(), set()
    for workload in host.get("keyless_workloads") or []:
        rg, name = identity_key(workload, default_rg)
        identities.add((rg.lower(), name.lower()))
        assignments.add(data_role_key(workload, default_rg))
        accounts.add(workload["storage_account"].lower())
    accounts.update(a["name"].lower() for a in host.get("keyless_storage_accounts") or [])
    return identities, assignments, accounts


def still_federated(host, hostname, live):
    """Whether a cluster still holds a federated credential on one of its identities (``live``: managed_identity_info
    entries with federated_credentials). None for ``live`` counts every cluster of the inventory as in use."""
    if live is None:
        return True
    default_rg = host.get("keyless_identity_resource_group") or host.get("keyless_resource_group")
    cluster = host.get("keyless_cluster_name") or hostname
    existing = {(i["resource_group"].lower(), i["name"].lower()): set(i.get("federated_credentials") or [])
                for i in live if i.get("exists")}
    for identity in workload_identities(host.get("keyless_workloads"), default_rg):
        wanted = federated_credentials(host.get("keyless_workloads"), identity, default_rg, None, cluster)
        names = {c["name"] for c in wanted}
        if names & existing.get((identity["resource_group"].lower(), identity["name"].lower()), set()):
            return True
    return False


def fleet_usage(hostvars, hosts, this_host, live=None):
    """What the clusters other than ``this_host`` use: {identities, assignments, accounts} (lists of keys). With
    ``live``, a cluster counts only while Azure still holds one of its federated credentials (a cluster already torn
    down but still in the inventory uses nothing)."""
    usage = [set(), set(), set()]
    for host in hosts:
        if host == this_host or not still_federated(hostvars[host], host, live):
            continue
        for index, keys in enumerate(_host_usage(hostvars[host])):
            usage[index] |= keys
    for index, keys in enumerate(_trusted_elsewhere(hostvars[this_host], this_host, live)):
        usage[index] |= keys
    return {"identities": sorted(usage[0]), "assignments": sorted(usage[1]), "accounts": sorted(usage[2])}


def _trusted_elsewhere(host, hostname, live):
    """What this cluster's workloads use through identities that also trust someone else: an identity holding a
    federated credential that is not this cluster's (a cluster outside the inventory, a CI system) stays, and so do
    the data roles and accounts of the workloads that use it."""
    default_rg = host.get("keyless_identity_resource_group") or host.get("keyless_resource_group")
    cluster = host.get("keyless_cluster_name") or hostname
    foreign = set()
    for entry in live or []:
        if not entry.get("exists"):
            continue
        identity = {"resource_group": entry["resource_group"], "name": entry["name"]}
        mine = {c["name"] for c in federated_credentials(host.get("keyless_workloads"), identity, default_rg, None,
                                                         cluster)}
        if set(entry.get("federated_credentials") or []) - mine:
            foreign.add((entry["resource_group"].lower(), entry["name"].lower()))
    workloads = [w for w in host.get("keyless_workloads") or []
                 if tuple(k.lower() for k in identity_key(w, default_rg)) in foreign]
    _identities, assignments, accounts = _host_usage(dict(host, keyless_workloads=workloads,
                                                          keyless_storage_accounts=[]))
    return foreign, assignments, accounts


def not_shared_identities(identities, usage):
    """The identities ({resource_group, name}) no other cluster uses."""
    shared = {tuple(k) for k in usage["identities"]}
    return [i for i in identities or [] if (i["resource_group"].lower(), i["name"].lower()) not in shared]


def not_shared_assignments(workloads, usage, default_resource_group):
    """The workloads whose data role assignment (identity, account, container, role) no other cluster needs."""
    shared = {tuple(k) for k in usage["assignments"]}
    kept = []
    for workload in workloads or []:
        if data_role_key(workload, default_resource_group) not in shared:
            kept.append(workload)
    return kept


def not_shared_accounts(accounts, usage):
    shared = set(usage["accounts"])
    return [a for a in accounts or [] if a["name"].lower() not in shared]


def kept_report(usage, identities, workloads, accounts, default_resource_group):
    """One line per resource teardown keeps because another cluster uses it."""
    lines = ["identity %s/%s: %s" % (i["resource_group"], i["name"], STILL_USED)
             for i in identities or [] if i not in not_shared_identities([i], usage)]
    lines += ["data role of %s on %s/%s: another cluster's workload needs it" % (
        w["identity"]["name"], w["storage_account"], w.get("container") or w.get("share"))
        for w in workloads or [] if not not_shared_assignments([w], usage, default_resource_group)]
    lines += ["storage account %s: %s" % (a["name"], STILL_USED)
              for a in accounts or [] if not not_shared_accounts([a], usage)]
    return lines


class FilterModule:
    def filters(self):
        return {"fleet_usage": fleet_usage, "not_shared_identities": not_shared_identities,
                "not_shared_assignments": not_shared_assignments, "not_shared_accounts": not_shared_accounts,
                "kept_report": kept_report}
