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
      - Where to write the user kubeconfig (from C(listClusterUserCredential)), mode 0600. Only rewritten when its
        content changes.
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
    description: Shows the OIDC, workload identity and blob driver settings before and after.
"""

EXAMPLES = r"""
- name: Prepare an existing cluster for keyless storage
  keyless.aks_storage.aks_oidc_cluster:
    resource_group: rg-aks-dev
    name: aks-dev
    kubeconfig_path: "{{ playbook_dir }}/.kube/aks-dev.yaml"
  register: cluster

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
changes:
  description: What was (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
  sample: [oidc_issuer, workload_identity, managed_blob_driver]
"""

import base64
import os
import re
import time

from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, as_rest
from ansible_collections.keyless.aks_storage.plugins.module_utils import rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.files import write_atomic
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


def features(cluster):
    """The managed settings of a REST cluster body."""
    props = (cluster or {}).get("properties") or {}
    return dict(
        oidc_issuer=bool((props.get("oidcIssuerProfile") or {}).get("enabled")),
        workload_identity=bool(((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")),
        managed_blob_driver=bool(((props.get("storageProfile") or {}).get("blobCSIDriver") or {}).get("enabled")),
    )


def wanted_features(p, current):
    want = dict(oidc_issuer=p["oidc_issuer"], workload_identity=p["workload_identity"],
                managed_blob_driver=current["managed_blob_driver"])
    if p["blob_driver"] != "unmanaged":
        want["managed_blob_driver"] = p["blob_driver"] == "managed"
    return want


def apply_features(body, want):
    """Set the wanted features on a REST cluster body (in place)."""
    props = body.setdefault("properties", {})
    props.setdefault("oidcIssuerProfile", {})["enabled"] = want["oidc_issuer"]
    props.setdefault("securityProfile", {}).setdefault("workloadIdentity", {})["enabled"] = want["workload_identity"]
    props.setdefault("storageProfile", {}).setdefault("blobCSIDriver", {})["enabled"] = want["managed_blob_driver"]
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
    return apply_features(body, dict(oidc_issuer=True, workload_identity=True,
                                     managed_blob_driver=p["blob_driver"] == "managed"))


def summary(cluster):
    if cluster is None:
        return dict(id=None, workload_identity_enabled=False, managed_blob_driver_enabled=False)
    props = cluster.get("properties") or {}
    kubelet = (props.get("identityProfile") or {}).get("kubeletidentity") or {}
    feats = features(cluster)
    return dict(
        id=cluster.get("id"), provisioning_state=props.get("provisioningState"),
        kubernetes_version=props.get("currentKubernetesVersion") or props.get("kubernetesVersion"),
        oidc_issuer_url=(props.get("oidcIssuerProfile") or {}).get("issuerURL") if feats["oidc_issuer"] else None,
        workload_identity_enabled=feats["workload_identity"], managed_blob_driver_enabled=feats["managed_blob_driver"],
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
        return dict(action="delete" if cluster else None, before=features(cluster) if cluster else None,
                    after=None, changes=["deleted"] if cluster else [])
    if cluster is None:
        if not p["create"]:
            raise ModuleError("cluster %s was not found in resource group %s; set create: true to create a minimal "
                              "cluster, or check the names" % (name, p["resource_group"]))
        if not p["location"]:
            raise ModuleError("location is required to create cluster %s" % name)
        body = create_body(p)
        return dict(action="create", body=body, before=None, after=features(body), changes=["created"])
    if provisioning_state(cluster) == "Failed" and not p["reconcile_failed"]:
        raise ModuleError("cluster %s is in provisioning state Failed; look at its activity log, then re-run with "
                          "reconcile_failed: true to let this task update it (AKS reconciles on update)" % name)
    before = features(cluster)
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


def kubeconfig_marker(cluster):
    """First line of the kubeconfig we write: which cluster (and which incarnation of it) the file belongs to."""
    props = cluster.get("properties") or {}
    fqdn = props.get("fqdn") or props.get("privateFQDN") or ""
    # resourceUID tells apart clusters that reuse one ARM ID (create, delete, create): same name, new credentials
    uid = props.get("resourceUID") or "-"
    return ("# keyless.aks_storage: %s %s %s\n" % ((cluster.get("id") or "").lower(), uid, fqdn)).encode()


def kubeconfig_current(path, marker):
    """Whether ``path`` is a 0600 kubeconfig we wrote for this very cluster."""
    try:
        with open(path, "rb") as existing:
            return existing.readline() == marker and (os.stat(path).st_mode & 0o777) == 0o600
    except (IOError, OSError):
        return False


def kubeconfig_accepted(path):
    """Whether the API server still accepts the kubeconfig: one authenticated discovery read (GET /api/v1). A 401
    (rotated credentials) or a TLS failure (a new cluster CA) says to fetch it again; anything this cannot judge
    (no kubernetes library, an exec plugin such as kubelogin, the server unreachable) keeps the file."""
    try:
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import MaxRetryError, SSLError
    except ImportError:
        return True
    try:
        client.CoreV1Api(config.new_client_from_config(config_file=path)).get_api_resources(_request_timeout=15)
    except ApiException as exc:
        return exc.status != 401
    except (SSLError, MaxRetryError) as exc:
        tls = exc if isinstance(exc, SSLError) else getattr(exc, "reason", None)
        return not isinstance(tls, SSLError)
    except Exception:  # pylint: disable=broad-except
        return True
    return True


def write_kubeconfig(module, clusters, cluster, path):
    """Write the user kubeconfig when its content differs; return whether it changed."""
    p = module.params
    marker = kubeconfig_marker(cluster)
    if not p["kubeconfig_refresh"] and kubeconfig_current(path, marker) and kubeconfig_accepted(path):
        return False  # no credential read on a re-run: the file is this cluster's and its API server accepts it
    result = as_rest(module.call("read the user kubeconfig of %s" % p["name"],
                                 clusters.list_cluster_user_credentials, p["resource_group"], p["name"]))
    kubeconfigs = (result or {}).get("kubeconfigs") or []
    if not kubeconfigs:
        raise ModuleError("cluster %s returned no user kubeconfig" % p["name"])
    content = marker + base64.b64decode(kubeconfigs[0]["value"])
    try:
        with open(path, "rb") as existing:
            if existing.read() == content and (os.stat(path).st_mode & 0o777) == 0o600:
                return False
    except (IOError, OSError):
        pass
    if not module.check_mode:
        write_atomic(path, content, 0o600, directory_mode=0o700)
    return True


def result_of(p, planned, cluster):
    """The returned values: the cluster as it is after the task (or, in check mode, as it would be)."""
    if planned["action"] == "delete" or p["state"] == "absent":
        return summary(None)
    result = summary(cluster)
    if cluster is None:  # check mode, cluster to be created
        result.update(workload_identity_enabled=planned["after"]["workload_identity"],
                      managed_blob_driver_enabled=planned["after"]["managed_blob_driver"])
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
    cluster = apply(module, clusters, planned, cluster)
    result, changes = result_of(p, planned, cluster), list(planned["changes"])
    if p["kubeconfig_path"] and p["state"] == "present":
        result["kubeconfig_path"] = p["kubeconfig_path"]
        if cluster is not None and write_kubeconfig(module, clusters, cluster, p["kubeconfig_path"]):
            changes.append("kubeconfig")
    return dict(result, changed=bool(changes), changes=changes, diff=diff(planned["before"], planned["after"]))


def main():
    module = AzureModule(
        argument_spec=dict(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
            oidc_issuer=dict(type="bool", default=True),
            workload_identity=dict(type="bool", default=True),
            blob_driver=dict(type="str", choices=["oss", "managed", "unmanaged"], default="oss"),
            create=dict(type="bool", default=False),
            location=dict(type="str"),
            dns_prefix=dict(type="str"),
            kubernetes_version=dict(type="str"),
            node_count=dict(type="int", default=1),
            vm_size=dict(type="str", default="Standard_D2s_v5"),
            user_assigned_identity=dict(type="str"),
            kubeconfig_path=dict(type="path"),
            kubeconfig_refresh=dict(type="bool", default=False),
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
