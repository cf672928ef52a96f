# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the keyless_workloads data into the inputs of each stage of the chain."""

from __future__ import annotations

import math
import re

from ansible_collections.keyless.aks_storage.plugins.module_utils import provisioner

DATA_ROLES = {"readwrite": "Storage Blob Data Contributor", "read": "Storage Blob Data Reader"}
# Token-only SMB mounts: the driver docs (docs/workload-identity-static-pv-mount.md, master) and the AKS docs
# (create-volume-azure-files.md) grant this role at the storage account for both access modes: the Kerberos ticket
# is requested at the account's file endpoint, share scope is undocumented, and no read-only MI role exists (a read
# workload is kept read-only by its read-only mount). See docs/research/azure-files.md "Role" and "Scope".
FILE_DATA_ROLE = "Storage File Data SMB MI Admin"
QUANTITY = re.compile(r"^([1-9][0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
FACTORS = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def is_file(workload):
    """Whether a workload mounts an Azure Files share (type file) rather than a blob container."""
    return (workload or {}).get("type") == "file"


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


def data_role(workload):
    """The data role a workload's identity needs: a blob role by access, or the Files SMB MI role."""
    return FILE_DATA_ROLE if is_file(workload) else DATA_ROLES[workload.get("access", "readwrite")]


def data_role_key(workload, default_resource_group):
    """What one workload's data role assignment is, as a comparable key: (identity group, identity, account,
    container - "" for a file workload, whose role is at the account -, role); names Azure compares without case
    are lower-cased."""
    rg, name = identity_key(workload, default_resource_group)
    return (rg.lower(), name.lower(), workload["storage_account"].lower(),
            "" if is_file(workload) else workload["container"], data_role(workload))


def data_role_assignments(workloads, principal_ids, default_resource_group):
    """One least-privilege data role per workload: a blob workload's at its container, a file workload's at its
    storage account (the narrowest scope the Files driver is documented with). Identical items (several file
    workloads of one identity on one account) collapse into one.

    ``principal_ids`` maps "resource_group/name" of each identity to its principal (object) ID.
    """
    result = []
    for workload in workloads or []:
        key = "%s/%s" % identity_key(workload, default_resource_group)
        item = {"storage_account": workload["storage_account"], "resource_group": workload["resource_group"],
                "role": data_role(workload), "principal_id": principal_ids.get(key)}
        if not is_file(workload):
            item["container"] = workload["container"]
        if item not in result:
            result.append(item)
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


def storage_account_items(accounts, workloads, default_size="10Gi"):
    """keyless_storage_account's ``accounts`` items: each account with every container its blob workloads mount and,
    when file workloads use it, every share they mount (``file_shares``) and SMB OAuth on (token-only SMB mounts need
    it on the account: docs/research/azure-files.md "SMB OAuth on the account")."""
    items = []
    for account in accounts or []:
        item = dict(account, containers=account_containers(workloads, account["name"], account.get("containers")))
        shares = account_shares(workloads, account["name"], account.get("file_shares"), default_size)
        if shares:
            item["file_shares"] = shares
        if any(is_file(w) and w["storage_account"] == account["name"] for w in workloads or []):
            item["smb_oauth"] = True
        items.append(item)
    return items


def share_quota(size):
    """A volume size (a Kubernetes quantity like 10Gi) as a share quota: whole GiB, rounded up, at least 1."""
    match = QUANTITY.match(str(size))
    if not match:
        return None
    return max(1, int(math.ceil(int(match.group(1)) * FACTORS[match.group(2) or ""] / float(2 ** 30))))


def account_shares(workloads, account, extra=None, default_size="10Gi"):
    """The file shares of ``account``: those listed for it (they win) plus every share a file workload mounts, with
    the workload's volume size as quota."""
    shares = [dict(s) if isinstance(s, dict) else {"name": s} for s in extra or []]
    names = {s.get("name") for s in shares}
    for workload in workloads or []:
        if is_file(workload) and workload["storage_account"] == account and workload["share"] not in names:
            names.add(workload["share"])
            size = (workload.get("volume") or {}).get("size") or default_size
            shares.append({"name": workload["share"], "quota": share_quota(size)})
    return shares


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
    """The containers of ``account``: those listed for it plus every container a blob workload mounts."""
    names = list(extra or [])
    for workload in workloads or []:
        if not is_file(workload) and workload["storage_account"] == account and workload["container"] not in names:
            names.append(workload["container"])
    return names


def dynamic_workloads(workloads):
    """The workloads whose claim is provisioned by the blob CSI driver from their StorageClass."""
    return [w for w in workloads or [] if (w or {}).get("storage_class") is not None]


def controller_workloads(identity, namespace=provisioner.DRIVER_NAMESPACE,
                         service_account=provisioner.CONTROLLER_SERVICE_ACCOUNT):
    """The blob CSI driver's controller as a workload of the identity and federation stages: [] without its own
    identity (it then uses the kubelet identity), else one item whose service account is the controller's, so
    the identity is created and federated like a workload's (blob-csi-driver docs/workload-identity-deploy-csi-
    driver.md, v1.27.9: a federated credential for system:serviceaccount:kube-system:csi-blob-controller-sa)."""
    if not identity:
        return []
    return [{"name": "blob-csi-controller", "namespace": namespace, "service_account": service_account,
             "identity": dict(identity)}]


def provisioner_role_definition(subscription_id=None, name=provisioner.ROLE_NAME):
    """role_definition's item for the collection's least-privilege provisioner role (no listKeys, no data), assignable
    in ``subscription_id`` (without one, in the module's subscription)."""
    item = {"name": name, "description": provisioner.ROLE_DESCRIPTION, "actions": list(provisioner.ROLE_ACTIONS),
            "not_actions": [], "data_actions": [], "not_data_actions": []}
    if subscription_id:
        item["assignable_scopes"] = ["/subscriptions/%s" % subscription_id]
    return item


def provisioner_assignments(workloads, principal_id, role=provisioner.ROLE_NAME):
    """role_assignment's items: the provisioner role at each storage account a StorageClass points at, for the
    driver controller's principal (the kubelet identity or the controller's own workload identity)."""
    items = []
    for workload in dynamic_workloads(workloads):
        item = {"storage_account": workload["storage_account"], "resource_group": workload["resource_group"],
                "role": role, "principal_id": principal_id}
        if item not in items:
            items.append(item)
    return items


class FilterModule:
    def filters(self):
        return {"dynamic_workloads": dynamic_workloads, "controller_workloads": controller_workloads,
                "provisioner_role_definition": provisioner_role_definition,
                "provisioner_assignments": provisioner_assignments,
                "workload_identities": workload_identities, "federated_credentials": federated_credentials,
                "data_role_assignments": data_role_assignments, "account_containers": account_containers,
                "identity_map": identity_map, "resource_group_items": resource_group_items,
                "storage_account_items": storage_account_items, "federated_identities": federated_identities,
                "account_shares": account_shares, "data_role_key": data_role_key}
