#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_oidc_cluster
short_description: Make an AKS cluster ready for keyless workloads (OIDC issuer, workload identity, blob driver)
version_added: 0.1.0
description:
  - Ensures an AKS cluster has the OIDC issuer and Microsoft Entra Workload Identity enabled, and that the
    AKS-managed blob CSI driver is off when the open-source driver is to be used (O(blob_driver=oss), the default),
    because the managed driver does not do keyless (token-only) mounts and conflicts with the open-source one.
  - With O(file_driver=oss) the AKS-managed Azure Files CSI driver is turned off too, for the open-source Azure Files
    driver installed by Helm. That is never the default, because existing Azure Files volumes depend on the managed
    driver; before turning it off the module checks which volumes would be affected and refuses when there are any
    (see O(file_driver_disruption_ok)).
  - Only what differs is written, as one update of the cluster (a long-running operation); a no-op run only reads.
  - With O(create=true), a missing cluster is created with a minimal system node pool and both features on.
  - Returns the OIDC issuer URL exactly as AKS reports it (federated credentials must use that exact string,
    trailing slash included) and can write the user kubeconfig for the later Kubernetes steps.
  - Deleting a cluster (O(state=absent)) requires O(force=true).
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description: Resource group of the cluster.
    type: str
    required: true
  name:
    description: Name of the cluster.
    type: str
    required: true
  oidc_issuer:
    description:
      - Whether the OIDC issuer is enabled. Azure cannot disable it once enabled, so V(false) on a cluster that has
        it fails before any write.
    type: bool
    default: true
  workload_identity:
    description: Whether Microsoft Entra Workload Identity is enabled (needs O(oidc_issuer)).
    type: bool
    default: true
  blob_driver:
    description:
      - V(oss) turns the AKS-managed blob CSI driver off, for the open-source driver installed by Helm (the only one
        that mounts blobs with a workload identity token).
      - V(managed) turns the AKS-managed driver on (no keyless mounts; a warning says so).
      - V(unmanaged) leaves the setting alone.
    type: str
    choices: [oss, managed, unmanaged]
    default: oss
  file_driver:
    description:
      - V(oss) turns the AKS-managed Azure Files CSI driver off (C(storageProfile.fileCSIDriver.enabled=false)), for
        the open-source driver installed by Helm; both register the CSI driver name C(file.csi.azure.com) and
        conflict.
      - V(managed) turns the AKS-managed Azure Files driver on.
      - V(unmanaged) leaves the setting alone. This is the default because turning the managed driver off breaks
        new mounts of the existing Azure Files volumes until the open-source driver is installed.
      - Before turning the managed driver off on an existing cluster (also in check mode), the module lists, read-only
        and with the cluster's user credentials, the PersistentVolumes of driver C(file.csi.azure.com) and the
        StorageClasses of that provisioner. It refuses, listing them (volume, claim, share), when any exists, except
        the token-only volumes this collection made (label C(app.kubernetes.io/managed-by=keyless.aks_storage) and
        C(mountWithWorkloadIdentityToken=true)), which the open-source driver serves the same way, and AKS's own
        StorageClasses (a warning names them). When the cluster cannot be read the check fails closed.
      - A new cluster created with V(oss) is created with the managed driver off; with V(unmanaged) it gets the AKS
        default (on).
    type: str
    choices: [oss, managed, unmanaged]
    default: unmanaged
  file_driver_disruption_ok:
    description:
      - Turn the AKS-managed Azure Files driver off (O(file_driver=oss)) without the check of its volumes, or
        although volumes use it. Existing mounts stay; new mounts and unmounts of those volumes fail until the
        open-source driver registers C(file.csi.azure.com).
    type: bool
    default: false
  create:
    description: Create the cluster when it does not exist. When V(false), a missing cluster is an error.
    type: bool
    default: false
  location:
    description: Region of a new cluster. Required with O(create=true) when the cluster does not exist.
    type: str
  dns_prefix:
    description: DNS prefix of a new cluster; defaults to O(name).
    type: str
  kubernetes_version:
    description: Kubernetes version of a new cluster; the AKS default when omitted. Existing clusters are not upgraded.
    type: str
  node_count:
    description: Node count of a new cluster's system pool.
    type: int
    default: 1
  vm_size:
    description: VM size of a new cluster's system pool.
    type: str
    default: Standard_D2s_v5
  user_assigned_identity:
    description:
      - Resource ID of a user-assigned managed identity for a new cluster's control plane; a system-assigned
        identity is used when omitted.
    type: str
  kubeconfig_path:
    description:
      - Where to write the kubeconfig (see O(kubeconfig_auth)), mode 0600. Only rewritten when its content changes
        or its token is about to expire.
      - Its first line records the cluster's resource ID and API server FQDN. While both still match and the file is
        0600, a re-run does not fetch the credentials again (see O(kubeconfig_refresh)); a recreated cluster (new
        FQDN) or another cluster's file is always refreshed.
    type: path
  kubeconfig_refresh:
    description:
      - Fetch the user credentials on every run and rewrite the kubeconfig when they differ, for example after
        C(az aks rotate-certs).
    type: bool
    default: false
  kubeconfig_auth:
    description:
      - How the kubeconfig authenticates to the API server.
      - V(local) writes the user kubeconfig AKS returns (a local account); on a cluster with Microsoft Entra ID
        integration, whose user kubeconfig needs C(kubelogin), the admin kubeconfig, which AKS refuses when local
        accounts are disabled.
      - V(entra) writes the cluster's server and CA with a Microsoft Entra access token for the AKS server
        application (C(6dae42f8-4368-4678-94ff-3960e28e3630/.default)), requested with this module's own credential
        (O(auth_source)), with no C(kubelogin) and no device code. The token (about an hour) is renewed by any later run of
        this module, or of C(aks_kubeconfig), once it expires within 20 minutes.
      - V(auto) is V(entra) for a cluster with an C(aadProfile), V(local) otherwise.
    type: str
    choices: [auto, local, entra]
    default: auto
  azure_rbac_check:
    description:
      - With V(entra) on a cluster that authorises Kubernetes requests with Azure RBAC (C(aadProfile.enableAzureRBAC)),
        check, before the kubeconfig is written, that the role assignments of this module's identity at the cluster
        (or above, group memberships included) allow what the chain does in Kubernetes (cluster roles, the
        CSIDriver, DaemonSets, namespaces, volumes, claims, Jobs); fail naming the role to grant otherwise.
    type: bool
    default: true
  reconcile_failed:
    description:
      - Allow updating a cluster whose provisioning state is C(Failed) (a PUT is how AKS reconciles it). Off by default
        so a broken cluster is looked at first.
    type: bool
    default: false
  force:
    description: Required with O(state=absent) to delete the cluster.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the cluster's long-running operations and for a busy cluster to settle.
    type: int
    default: 1800
  state:
    description: Whether the cluster should exist.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Reports what would change; makes no write and writes no kubeconfig.
  diff_mode:
    support: full
    description:
      - Shows the OIDC, workload identity and blob driver settings before and after, and the managed Azure Files
        driver's when O(file_driver) is not V(unmanaged).
"""

EXAMPLES = r"""
- name: Prepare an existing cluster for keyless storage
  keyless.aks_storage.aks_oidc_cluster:
    resource_group: rg-aks-dev
    name: aks-dev
    kubeconfig_path: "{{ playbook_dir }}/.kube/aks-dev.yaml"
  register: cluster

- name: Hand Azure Files over to the open-source driver (refused while other Azure Files volumes use the managed one)
  keyless.aks_storage.aks_oidc_cluster:
    resource_group: rg-aks-dev
    name: aks-dev
    file_driver: oss
    kubeconfig_path: "{{ playbook_dir }}/.kube/aks-dev.yaml"

- name: Trust its service accounts on an identity
  keyless.aks_storage.federated_credential:
    resource_group: rg-keyless-dev
    identity_name: id-reports
    name: aks-dev-reports
    issuer: "{{ cluster.oidc_issuer_url }}"
    namespace: reports
    service_account: reports-writer
"""

RETURN = r"""
id:
  description: ARM ID of the cluster (null when absent or not created yet in check mode).
  returned: always
  type: str
provisioning_state:
  description: Provisioning state after the task.
  returned: when the cluster exists
  type: str
  sample: Succeeded
kubernetes_version:
  description: Current Kubernetes version.
  returned: when the cluster exists
  type: str
  sample: 1.33.2
oidc_issuer_url:
  description: The cluster's OIDC issuer URL, exactly as AKS reports it (use it verbatim in federated credentials).
  returned: when the cluster exists and the issuer is enabled
  type: str
  sample: https://westeurope.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/11111111-1111-1111-1111-111111111111/
workload_identity_enabled:
  description: Whether workload identity is enabled.
  returned: always
  type: bool
managed_blob_driver_enabled:
  description: Whether the AKS-managed blob CSI driver is enabled.
  returned: always
  type: bool
managed_file_driver_enabled:
  description: Whether the AKS-managed Azure Files CSI driver is enabled (AKS enables it unless told otherwise).
  returned: always
  type: bool
node_resource_group:
  description: The resource group AKS keeps the nodes in.
  returned: when the cluster exists
  type: str
kubelet_identity:
  description: The kubelet's managed identity (client_id, object_id, resource_id).
  returned: when the cluster exists
  type: dict
fqdn:
  description: API server FQDN.
  returned: when the cluster exists
  type: str
kubeconfig_path:
  description: Path of the kubeconfig written (or that would be written), when O(kubeconfig_path) is set.
  returned: when O(kubeconfig_path) is set
  type: str
kubeconfig_auth:
  description: How the kubeconfig authenticates, V(local) or V(entra) (see O(kubeconfig_auth)).
  returned: when O(kubeconfig_path) is set and the cluster exists
  type: str
azure_rbac:
  description: Whether the cluster authorises Kubernetes requests with Azure RBAC.
  returned: when O(kubeconfig_path) is set and the cluster exists
  type: bool
changes:
  description: What was (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
  sample: [oidc_issuer, workload_identity, managed_blob_driver, managed_file_driver]
"""

import re
import time

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, as_rest
from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access, file_driver_guard, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import diff, normalize_location
from ansible_collections.keyless.aks_storage.plugins.module_utils.retries import wait_until

# Workload identity needs Kubernetes >= 1.22 on AKS (service account token volume projection with OIDC issuer).
MIN_WORKLOAD_IDENTITY_VERSION = (1, 22)
VM_SIZE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,63}$")
BUSY_STATES = ("Creating", "Updating", "Upgrading", "Scaling", "Starting", "Stopping", "Deleting", "Migrating")
POLL_SECONDS = 10
# Read-only or server-managed fields dropped from the body sent back on update.
READ_ONLY = ("id", "name", "type", "systemData")
READ_ONLY_PROPERTIES = ("provisioningState", "powerState", "currentKubernetesVersion", "fqdn", "privateFQDN",
                        "azurePortalFQDN", "maxAgentPools", "resourceUID")


def version_tuple(version):
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def features(cluster, file_driver=False):
    """The managed settings of a REST cluster body (the managed Files driver's with ``file_driver``)."""
    props = (cluster or {}).get("properties") or {}
    found = dict(
        oidc_issuer=bool((props.get("oidcIssuerProfile") or {}).get("enabled")),
        workload_identity=bool(((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")),
        managed_blob_driver=bool(((props.get("storageProfile") or {}).get("blobCSIDriver") or {}).get("enabled")),
    )
    if file_driver:
        found["managed_file_driver"] = file_driver_enabled(cluster)
    return found


def file_driver_enabled(cluster):
    """``storageProfile.fileCSIDriver.enabled``, true when absent (ManagedClusterStorageProfileFileCSIDriver: "The
    default value is true", docs/research/azure-files.md section 4)."""
    driver = (((cluster or {}).get("properties") or {}).get("storageProfile") or {}).get("fileCSIDriver") or {}
    return driver.get("enabled") is not False


def manages_file_driver(p):
    """Whether the task sets the managed Files driver (file_driver oss or managed; unmanaged leaves it)."""
    return p.get("file_driver") in ("oss", "managed")


def wanted_features(p, current):
    want = dict(oidc_issuer=p["oidc_issuer"], workload_identity=p["workload_identity"],
                managed_blob_driver=current["managed_blob_driver"])
    if p["blob_driver"] != "unmanaged":
        want["managed_blob_driver"] = p["blob_driver"] == "managed"
    if manages_file_driver(p):
        want["managed_file_driver"] = p["file_driver"] == "managed"
    return want


def apply_features(body, want):
    """Set the wanted features on a REST cluster body (in place)."""
    props = body.setdefault("properties", {})
    props.setdefault("oidcIssuerProfile", {})["enabled"] = want["oidc_issuer"]
    props.setdefault("securityProfile", {}).setdefault("workloadIdentity", {})["enabled"] = want["workload_identity"]
    props.setdefault("storageProfile", {}).setdefault("blobCSIDriver", {})["enabled"] = want["managed_blob_driver"]
    if "managed_file_driver" in want:
        props["storageProfile"].setdefault("fileCSIDriver", {})["enabled"] = want["managed_file_driver"]
    return body


def update_body(cluster, want):
    """The current cluster as a PUT body: read-only fields dropped, everything else (agent pools included) kept."""
    body = {k: v for k, v in cluster.items() if k not in READ_ONLY}
    body["properties"] = {k: v for k, v in (cluster.get("properties") or {}).items() if k not in READ_ONLY_PROPERTIES}
    issuer = dict(body["properties"].get("oidcIssuerProfile") or {})
    issuer.pop("issuerURL", None)
    body["properties"]["oidcIssuerProfile"] = issuer
    return apply_features(body, want)


def create_body(p):
    identity = {"type": "SystemAssigned"}
    if p["user_assigned_identity"]:
        identity = {"type": "UserAssigned", "userAssignedIdentities": {p["user_assigned_identity"]: {}}}
    props = {
        "dnsPrefix": p["dns_prefix"] or p["name"],
        "agentPoolProfiles": [{"name": "system", "count": p["node_count"], "vmSize": p["vm_size"], "mode": "System",
                               "osType": "Linux", "type": "VirtualMachineScaleSets"}],
        "enableRBAC": True,
    }
    if p["kubernetes_version"]:
        props["kubernetesVersion"] = p["kubernetes_version"]
    body = {"location": normalize_location(p["location"]), "identity": identity, "properties": props}
    want = dict(oidc_issuer=True, workload_identity=True, managed_blob_driver=p["blob_driver"] == "managed")
    if manages_file_driver(p):
        want["managed_file_driver"] = p["file_driver"] == "managed"
    return apply_features(body, want)


def summary(cluster):
    if cluster is None:
        return dict(id=None, workload_identity_enabled=False, managed_blob_driver_enabled=False,
                    managed_file_driver_enabled=False)
    props = cluster.get("properties") or {}
    kubelet = (props.get("identityProfile") or {}).get("kubeletidentity") or {}
    feats = features(cluster)
    return dict(
        id=cluster.get("id"), provisioning_state=props.get("provisioningState"),
        kubernetes_version=props.get("currentKubernetesVersion") or props.get("kubernetesVersion"),
        oidc_issuer_url=(props.get("oidcIssuerProfile") or {}).get("issuerURL") if feats["oidc_issuer"] else None,
        workload_identity_enabled=feats["workload_identity"], managed_blob_driver_enabled=feats["managed_blob_driver"],
        managed_file_driver_enabled=file_driver_enabled(cluster),
        node_resource_group=props.get("nodeResourceGroup"), fqdn=props.get("fqdn"),
        kubelet_identity=dict(client_id=kubelet.get("clientId"), object_id=kubelet.get("objectId"),
                              resource_id=kubelet.get("resourceId")))


# ---- normalize (pure) ----------------------------------------------------------------------------------------------
def input_problems(p):
    """Malformed names and numbers (Microsoft Learn, AKS naming restrictions; the system pool's count is 1-1000 in
    the managedClusters REST API)."""
    problems = [rules.name_problem("resource group", p["resource_group"], "resource_group"),
                rules.name_problem("cluster", p["name"], "name"),
                rules.range_problem(p["wait_timeout"], "wait_timeout", 1)]
    if p["state"] == "present" and p["create"]:
        problems += [rules.name_problem("DNS prefix", p["dns_prefix"], "dns_prefix") if p["dns_prefix"] else None,
                     rules.range_problem(p["node_count"], "node_count", 1, 1000),
                     None if VM_SIZE.match(p["vm_size"] or "") else
                     "vm_size '%s' is not a VM size name like Standard_D2s_v5" % p["vm_size"]]
    return problems


def validate(p):
    """Refuse contradictory options before any request; returns the warnings to give."""
    refuse(input_problems(p))
    if p["workload_identity"] and not p["oidc_issuer"]:
        raise ModuleError("workload_identity needs oidc_issuer: the identity webhook's tokens are issued by the "
                          "cluster's OIDC issuer")
    if p["kubernetes_version"] and not re.match(r"^\d+\.\d+(\.\d+)?$", p["kubernetes_version"]):
        raise ModuleError("kubernetes_version '%s' is not a version like 1.33 or 1.33.2" % p["kubernetes_version"])
    if p["kubernetes_version"] and version_tuple(p["kubernetes_version"]) < MIN_WORKLOAD_IDENTITY_VERSION:
        raise ModuleError("kubernetes_version %s is too old for workload identity (needs %d.%d or newer)"
                          % ((p["kubernetes_version"],) + MIN_WORKLOAD_IDENTITY_VERSION))
    if p["blob_driver"] == "managed":
        return ["blob_driver=managed: the AKS-managed blob CSI driver cannot mount blobs with a workload identity "
                "token; keyless mounts need the open-source driver (blob_driver=oss)"]
    return []


# ---- read: a busy cluster is waited for --------------------------------------------------------------------------
def provisioning_state(cluster):
    return ((cluster or {}).get("properties") or {}).get("provisioningState")


def settled(read, cluster, p, sleep=time.sleep, clock=time.monotonic):
    """The cluster once no other operation runs on it (polled, bounded by wait_timeout)."""
    if provisioning_state(cluster) not in BUSY_STATES:
        return cluster
    return wait_until(read, lambda c: provisioning_state(c) not in BUSY_STATES, p["wait_timeout"], POLL_SECONDS,
                      lambda c: "cluster %s is still %s after %ss; re-run when its current operation has finished"
                                % (p["name"], provisioning_state(c), p["wait_timeout"]),
                      sleep=sleep, clock=clock, first=cluster)


# ---- plan (pure) ---------------------------------------------------------------------------------------------------
def plan(p, cluster):
    """What to do with the cluster as read: {action (create/update/delete/None), body, before, after, changes}.
    Raises ModuleError, before any write, for what must not or cannot be done."""
    name = p["name"]
    if p["state"] == "absent":
        if cluster and not p["force"]:
            raise ModuleError("refusing to delete cluster %s without force: true (it deletes every workload on it)"
                              % name)
        return dict(action="delete" if cluster else None,
                    before=features(cluster, manages_file_driver(p)) if cluster else None,
                    after=None, changes=["deleted"] if cluster else [])
    if cluster is None:
        if not p["create"]:
            raise ModuleError("cluster %s was not found in resource group %s; set create: true to create a minimal "
                              "cluster, or check the names" % (name, p["resource_group"]))
        if not p["location"]:
            raise ModuleError("location is required to create cluster %s" % name)
        body = create_body(p)
        return dict(action="create", body=body, before=None, after=features(body, manages_file_driver(p)),
                    changes=["created"])
    if provisioning_state(cluster) == "Failed" and not p["reconcile_failed"]:
        raise ModuleError("cluster %s is in provisioning state Failed; look at its activity log, then re-run with "
                          "reconcile_failed: true to let this task update it (AKS reconciles on update)" % name)
    before = features(cluster, manages_file_driver(p))
    after = wanted_features(p, before)
    check_existing(p, cluster, before, after)
    changes = [k for k in after if after[k] != before[k]]
    if provisioning_state(cluster) == "Failed":
        changes.append("reconcile")  # AKS reconciles a Failed cluster on a PUT, even one that changes nothing
    return dict(action="update" if changes else None, body=update_body(cluster, after) if changes else None,
                before=before, after=after, changes=changes)


def check_existing(p, cluster, current, want):
    """Refuse what Azure would refuse, before any write."""
    name = p["name"]
    version = summary(cluster)["kubernetes_version"]
    if want["workload_identity"] and version_tuple(version) and version_tuple(version) < MIN_WORKLOAD_IDENTITY_VERSION:
        raise ModuleError("cluster %s runs Kubernetes %s, too old for workload identity (needs %d.%d or newer); "
                          "upgrade the cluster first" % ((name, version) + MIN_WORKLOAD_IDENTITY_VERSION))
    if current["oidc_issuer"] and not want["oidc_issuer"]:
        raise ModuleError("cluster %s has the OIDC issuer enabled and Azure cannot disable it; set oidc_issuer: true"
                          % name)
    if p["location"] and normalize_location(p["location"]) != normalize_location(cluster.get("location")):
        raise ModuleError("cluster %s is in %s, not %s" % (name, cluster.get("location"), p["location"]))


# ---- apply ---------------------------------------------------------------------------------------------------------
def apply(module, clusters, planned, cluster):
    """Make the planned write (none in check mode); returns the cluster after it (None once deleted, or while still
    to be created in check mode)."""
    p, action = module.params, planned["action"]
    rg, name = p["resource_group"], p["name"]
    if action is None or module.check_mode:
        return None if action == "delete" else cluster
    if action == "delete":
        module.wait("delete cluster %s" % name, module.write("delete cluster %s" % name, clusters.begin_delete,
                                                             rg, name), timeout=p["wait_timeout"])
        return None
    verb = "create" if action == "create" else "update"
    poller = module.write("%s cluster %s" % (verb, name), clusters.begin_create_or_update, rg, name, planned["body"])
    return as_rest(module.wait("%s cluster %s" % (verb, name), poller, timeout=p["wait_timeout"]))


def result_of(p, planned, cluster):
    """The returned values: the cluster as it is after the task (or, in check mode, as it would be)."""
    if planned["action"] == "delete" or p["state"] == "absent":
        return summary(None)
    result = summary(cluster)
    if cluster is None:  # check mode, cluster to be created
        result.update(workload_identity_enabled=planned["after"]["workload_identity"],
                      managed_blob_driver_enabled=planned["after"]["managed_blob_driver"],
                      managed_file_driver_enabled=planned["after"].get("managed_file_driver", True))
    return result


def run(module):
    """normalize -> read (wait while busy) -> plan -> apply -> kubeconfig."""
    p = module.params
    for warning in validate(p):
        module.warn(warning)
    clusters = module.client("containerservice").managed_clusters

    def read():
        return as_rest(module.get_or_none("read cluster %s" % p["name"], clusters.get, p["resource_group"],
                                          p["name"]))
    cluster = read()
    if cluster is not None and p["state"] == "present":
        cluster = settled(read, cluster, p)
    planned = plan(p, cluster)
    if planned["action"] == "create":
        module.check_location(planned["body"]["location"])
    if turns_file_driver_off(planned) and not p["file_driver_disruption_ok"]:
        require_azure_rbac(module, cluster)  # the guard's reads need it too: say what to grant, not a bare 403
        file_driver_guard.check(module, clusters, cluster)  # read-only, in check mode too
    cluster = apply(module, clusters, planned, cluster)
    result, changes = result_of(p, planned, cluster), list(planned["changes"])
    if p["kubeconfig_path"] and p["state"] == "present":
        result["kubeconfig_path"] = p["kubeconfig_path"]
        if cluster is not None:
            result.update(kubernetes_access(module, clusters, cluster))
            if result.pop("kubeconfig_written"):
                changes.append("kubeconfig")
    return dict(result, changed=bool(changes), changes=changes, diff=diff(planned["before"], planned["after"]))


def turns_file_driver_off(planned):
    """Whether the planned update turns the managed Files driver of an existing cluster off."""
    before, after = planned["before"] or {}, planned["after"] or {}
    return planned["action"] == "update" and before.get("managed_file_driver") and \
        after.get("managed_file_driver") is False


def require_azure_rbac(module, cluster):
    """The kubeconfig auth to use; on an Azure RBAC cluster reached with Entra tokens, refuse (naming the role to
    grant) when the automation identity may not do what the chain does there. Returns the auth."""
    p = module.params
    auth = aks_access.resolve_auth(p["kubeconfig_auth"], cluster)
    if auth == "entra" and p["azure_rbac_check"]:
        missing, principal, _reads = aks_access.azure_rbac_missing(module, cluster)
        if missing:
            raise aks_access.azure_rbac_refusal(cluster, missing, principal)
    return auth


def kubernetes_access(module, clusters, cluster):
    """The kubeconfig for the Kubernetes stages (local account or Entra token), after checking that an Azure RBAC
    cluster lets the automation identity do what the chain does there (before any Kubernetes write)."""
    p = module.params
    auth = require_azure_rbac(module, cluster)
    written = aks_access.write(module, clusters, cluster, p["kubeconfig_path"], auth, p["kubeconfig_refresh"])
    profile = (cluster.get("properties") or {}).get("aadProfile") or {}
    # a renewed token is a new credential for the same access, not a change of the cluster (a re-run stays ok)
    return dict(kubeconfig_written=written == "kubeconfig", kubeconfig_token_renewed=written == "token",
                kubeconfig_auth=auth, azure_rbac=bool(profile.get("enableAzureRBAC")))


def main():
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            oidc_issuer=dict(type="bool", default=True),
            workload_identity=dict(type="bool", default=True),
            blob_driver=dict(type="str", choices=["oss", "managed", "unmanaged"], default="oss"),
            file_driver=dict(type="str", choices=["oss", "managed", "unmanaged"], default="unmanaged"),
            file_driver_disruption_ok=dict(type="bool", default=False),
            create=dict(type="bool", default=False),
            location=dict(type="str"),
            dns_prefix=dict(type="str"),
            kubernetes_version=dict(type="str"),
            node_count=dict(type="int", default=1),
            vm_size=dict(type="str", default="Standard_D2s_v5"),
            user_assigned_identity=dict(type="str"),
            kubeconfig_path=dict(type="path"),
            kubeconfig_refresh=dict(type="bool", default=False),
            kubeconfig_auth=dict(type="str", choices=list(aks_access.AUTH_CHOICES), default="auto"),
            azure_rbac_check=dict(type="bool", default=True),
            reconcile_failed=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
