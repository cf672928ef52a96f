#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: doctor
short_description: Diagnose the keyless storage chain of AKS workloads, link by link, without changing anything
version_added: 0.1.0
description:
  - Reads the live state of Azure and of the cluster and judges every link of the keyless chain of each workload as
    V(ok), V(warn), V(fail) or V(unknown), with the evidence (the values compared) and the fix (the option to change
    or the command to run).
  - "Azure links: the cluster (C(cluster_oidc_issuer), C(cluster_workload_identity), C(managed_blob_driver)); per
    workload C(storage_account), C(shared_key), C(container), C(identity), C(federated_credential) (the issuer must
    equal the cluster's B(current) issuer exactly: a trailing slash or a letter case is named as the difference),
    C(role_assignment) (the roles' C(dataActions) at the container or above, inherited and custom roles included)."
  - "Cluster links: C(kubernetes_api) (the kubeconfig reaches the API server), C(driver_version) (from the node
    DaemonSet's image), C(csi_driver) (token audience, C(requiresRepublish)), C(driver_nodes); per workload
    C(service_account), C(service_account_client_id), C(persistent_volume) (token-only, the identity's client ID,
    no Secret), C(persistent_volume_claim) (bound), C(pods) (the pods that mount the claim, their service account
    and recent mount events)."
  - "With O(probe): C(probe_token) (a TokenRequest for the service account, audience C(api://AzureADTokenExchange);
    nothing is stored; its C(iss), C(sub) and C(aud) are compared), C(probe_exchange) (the token exchanged at
    Microsoft Entra ID as the identity, with C(azure-identity)) and C(probe_data) (with that token, one blob listing
    of the container, and with O(probe_write) a blob written and deleted, with C(azure-storage-blob))."
  - "Azure Files workloads (C(type=file), or a claim whose volume is C(file.csi.azure.com)) get C(smb_oauth) (the
    account's C(isSmbOAuthEnabled) is true and C(directoryServiceOptions) C(None)) and C(share) (read through ARM)
    instead of C(container); C(role_assignment) needs C(runAsBuiltInFileAdministrator/action) and the files' read
    (and write) data actions at the B(account) or above (Storage File Data SMB MI Admin; share-scoped and other SMB
    roles are not enough for the driver); C(persistent_volume) needs C(mountWithWorkloadIdentityToken) exactly
    C(\"true\") and no C(sec=), C(username=) or pre-3.0 C(vers=) mount option. The cluster then also gets
    C(managed_file_driver), C(file_driver_version) (at least O(file_driver_minimum_version)), C(file_csi_driver)
    (not AKS-labelled, token audience, C(requiresRepublish); judged once the version is ok, since charts below
    1.35.3 render no C(requiresRepublish)) and C(file_driver_nodes)."
  - "An SMB share cannot be mounted from the controller without a Kerberos and SMB client, so C(probe_data) of a
    Files workload is not a live probe: it is the latest validation Job of the workload role that mounts the claim
    (completed is V(ok), failed is V(fail) with its pod's mount error, none or running is V(unknown))."
  - "Dynamically provisioned blob workloads (C(storage_class) in the item, or a claim whose C(storageClassName)
    names a C(blob.csi.azure.com) class) get C(storage_class) (provisioner C(blob.csi.azure.com), token-only:
    C(mountWithWorkloadIdentityToken) C(\"true\"), the identity's C(clientID), the workload's C(storageAccount),
    C(resourceGroup) and C(containerName); no C(useDataPlaneAPI), C(secretName), C(secretNamespace),
    C(allowSharedKeyAccess) or stored key; C(reclaimPolicy) as chosen, V(warn) on C(Delete) not chosen) and
    C(provisioner_role) (a role at the account or above lets the driver's controller create containers through
    ARM, and delete them with C(reclaimPolicy) C(Delete); V(warn) when a role there can list keys); the cluster
    gets C(provisioner_identity) (the controller's identity: the workload identity its ServiceAccount
    O(blob_controller_service_account) names, else the cluster's kubelet identity) and C(provisioner_federation)
    (that workload identity trusts the ServiceAccount on the cluster's issuer). Their C(persistent_volume_claim)
    is Bound to the volume the driver provisioned, or fails with the claim's latest C(ProvisioningFailed) event
    (for example ARM's C(AuthorizationFailed)), or says the controller is not running."
  - A link whose prerequisites are not ok is V(unknown) (blocked), so one breakage is reported once, where it is.
  - Makes no Azure write, no Kubernetes write (the TokenRequest aside) and never lists account keys; reads grow with
    the number of links, not with the size of the subscription.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  cluster_resource_group:
    description: Resource group of the AKS cluster.
    type: str
    required: true
  cluster_name:
    description: Name of the AKS cluster.
    type: str
    required: true
  kubeconfig:
    description:
      - Kubeconfig of the cluster (for example the one C(aks_oidc_cluster) wrote). Without it the cluster and probe
        links are V(unknown).
    type: path
  kube_context:
    description: Context of O(kubeconfig) to use (default its current context).
    type: str
  workloads:
    description:
      - The workloads to diagnose, items of the C(keyless_workloads) shape (extra keys are ignored).
      - "Only C(workloads[].namespace) and a claim (C(workloads[].volume.pvc_name), or C(workloads[].name)) are
        required: the storage account, container, resource group and client ID are then read from the claim's
        volume, the service account from the pods that mount it, and the identity found by its client ID (one
        listing of the subscription's identities)."
    type: list
    elements: dict
    required: true
  identity_resource_group:
    description: Resource group of identities whose item does not name one.
    type: str
  driver_namespace:
    description: Namespace of the blob CSI driver.
    type: str
    default: kube-system
  driver_node_daemonset:
    description: Name of the driver's node DaemonSet.
    type: str
    default: csi-blob-node
  blob_controller_service_account:
    description:
      - ServiceAccount (in O(driver_namespace)) of the blob driver's controller, whose
        C(azure.workload.identity/client-id) annotation (chart value C(workloadIdentity.clientID)) names the identity
        it provisions as. Read only for dynamically provisioned workloads.
    type: str
    default: csi-blob-controller-sa
  driver_minimum_version:
    description: The lowest driver version accepted (the first that mounts with a workload identity token alone).
    type: str
    default: 1.27.1
  file_driver_namespace:
    description: Namespace of the Azure Files CSI driver (for Files workloads).
    type: str
    default: kube-system
  file_driver_node_daemonset:
    description: Name of the Azure Files driver's node DaemonSet.
    type: str
    default: csi-azurefile-node
  file_driver_minimum_version:
    description: The lowest Azure Files driver version accepted (the first that mounts with a workload identity
      token alone).
    type: str
    default: 1.35.0
  probe:
    description: Run the live probe (TokenRequest, token exchange, blob listing).
    type: bool
    default: false
  probe_write:
    description: Also write a small blob (C(.keyless-doctor/probe-<random>)) and delete it, for V(readwrite) workloads.
    type: bool
    default: false
  report_dir:
    description: Directory to write C(doctor-<cluster>.md) and C(doctor-<cluster>.json) to (created when missing).
    type: path
  fail_on:
    description:
      - The task fails when a link is V(fail) (V(fail)); V(fail), V(warn) or V(unknown) (V(warn)); or V(never).
    type: str
    choices: [fail, warn, never]
    default: fail
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Reads only; the probe runs in check mode too (a TokenRequest stores nothing), without the write of
      O(probe_write).
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - The automation identity needs C(Reader) on the cluster, the storage accounts and the identities; with O(probe),
    the Kubernetes permission to create C(serviceaccounts/token) in the workloads' namespaces.
"""

EXAMPLES = r"""
- name: What is wrong with the reports workload?
  keyless.aks_storage.doctor:
    cluster_resource_group: rg-aks-prod
    cluster_name: aks-prod-1
    kubeconfig: ~/.kube/aks-prod-1.yaml
    identity_resource_group: rg-keyless-prod
    workloads: "{{ keyless_workloads }}"
    probe: true
    report_dir: "{{ playbook_dir }}/doctor-reports"
  register: doctor

- name: One claim, everything else discovered from it
  keyless.aks_storage.doctor:
    cluster_resource_group: rg-aks-prod
    cluster_name: aks-prod-1
    kubeconfig: ~/.kube/aks-prod-1.yaml
    workloads:
      - {name: reports, namespace: reports, volume: {pvc_name: reports-blob}}
    probe: true
"""

RETURN = r"""
links:
  description: Every link judged, cluster links first, then each workload's in chain order.
  returned: always
  type: list
  elements: dict
  contains:
    link:
      description: The link's name, e.g. C(federated_credential).
      type: str
    workload:
      description: The workload's name; null for the cluster's links.
      type: str
    status:
      description: V(ok), V(warn), V(fail) or V(unknown).
      type: str
    summary:
      description: One sentence saying what was found.
      type: str
    evidence:
      description: The values compared.
      type: dict
    fix:
      description: The option to change or the command to run; null when there is nothing to fix.
      type: str
status:
  description: The worst status of all links.
  returned: always
  type: str
counts:
  description: Number of links per status.
  returned: always
  type: dict
table:
  description: The summary table, one line per link.
  returned: always
  type: list
  elements: str
report_files:
  description: The Markdown and JSON reports written.
  returned: with O(report_dir)
  type: dict
reads:
  description: Requests made, by kind (C(azure), C(kubernetes), C(token_requests), C(entra), C(data_plane)).
  returned: always
  type: dict
"""

import json
import os

from ansible_collections.keyless.aks_storage.plugins.module_utils import doctor as judge
from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access, provisioner, rbac, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import authority_options, token_claims
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, as_rest
from ansible_collections.keyless.aks_storage.plugins.module_utils.blob_probe import blob_probe
from ansible_collections.keyless.aks_storage.plugins.module_utils.doctor import FAIL, OK, UNKNOWN, WARN, link
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.files import write_atomic
from ansible_collections.keyless.aks_storage.plugins.module_utils.kube import KubeError, KubeReader

STORAGE_SCOPE = "https://storage.azure.com/.default"
PROBE_TOKEN_SECONDS = 600  # the shortest a TokenRequest may ask for
KUBE = ("kubernetes_api",)  # what every Kubernetes link needs
VALIDATION_LABEL = "keyless.aks-storage/validation=true"  # the workload role's validation Jobs
READER_FIX = "grant the automation identity Reader on %s (or run the doctor as an identity that has it)"


class Doctor:
    """Collects link results; ``check`` runs a judgment unless a prerequisite is not ok."""

    def __init__(self, module):
        self.module, self.params = module, module.params
        self.links = []
        self.cache = {}
        self.azure_reads = 0
        self.entra, self.data_plane = 0, 0
        kubeconfig = self.params["kubeconfig"]
        self.kube = KubeReader(kubeconfig, self.params["kube_context"]) if kubeconfig else None

    def status(self, name, workload):
        for item in reversed(self.links):
            if item["link"] == name and item["workload"] in (workload, None):
                return item["status"]
        return UNKNOWN

    def check(self, name, deps, workload, judgment, scope=None):
        """Add the link ``name`` judged by ``judgment()`` (a link), or blocked/unknown."""
        reasons = {d: self.status(d, workload) for d in deps}
        reasons = {d: s for d, s in reasons.items() if s not in (OK, WARN)}
        if reasons:
            self.links.append(judge.blocked(name, reasons, workload))
            return
        try:
            result = judgment()
        except KubeError as exc:
            result = link(name, UNKNOWN, "could not read: %s" % exc, {"status": exc.status},
                          "give the doctor's kubeconfig user read access (and serviceaccounts/token create for the "
                          "probe) in the namespace" if exc.status in (401, 403) else "check the kubeconfig")
        except AzureError as exc:
            result = link(name, UNKNOWN, "could not read: %s" % exc.msg,
                          {"status": exc.status_code, "error_code": exc.error_code},
                          READER_FIX % (scope or "the resource") if exc.status_code in (401, 403) else None)
        result["workload"] = workload
        self.links.append(result)

    def cached(self, key, read):
        if key not in self.cache:
            self.cache[key] = read()
        return self.cache[key]

    def azure(self, action, fn):
        """One ARM read (a 404 is None), counted."""
        self.azure_reads += 1
        return as_rest(self.module.get_or_none(action, fn))

    def azure_list(self, action, fn):
        self.azure_reads += 1
        return [as_rest(x) for x in self.module.call(action, lambda: list(fn()))]

    def kube_get(self, what, api_name, method, *args):
        return self.cached((method,) + args, lambda: self.kube.get("read " + what, api_name, method, *args))

    def kube_items(self, what, api_name, method, *args, **kwargs):
        return self.cached((method,) + args, lambda: self.kube.items("list " + what, api_name, method, *args,
                                                                     **kwargs))


# ---- the cluster's links --------------------------------------------------------------------------------------------
def cluster_links(doc, kinds, dynamic=False):
    """The cluster's links; the driver links of each storage kind in ``kinds`` (the kinds of the workloads); with
    ``dynamic`` (a workload provisioned from a StorageClass) the blob driver's controller identity."""
    p = doc.params
    rg, name = p["cluster_resource_group"], p["cluster_name"]
    clusters = doc.module.client("containerservice").managed_clusters
    scope = "cluster %s in resource group %s" % (name, rg)

    def read():
        found = doc.azure("read AKS cluster %s" % name, lambda: clusters.get(rg, name))
        doc.cache["cluster"] = (found or {}).get("properties") or {}
        doc.cache["cluster_body"] = found
        if found is None:
            return link("cluster", FAIL, "AKS cluster %s does not exist in resource group %s" % (name, rg),
                        {"resource_group": rg, "name": name}, "check cluster_resource_group and cluster_name")
        state = doc.cache["cluster"].get("provisioningState")
        return link("cluster", OK if state == "Succeeded" else WARN, "cluster %s is %s" % (name, state),
                    {"id": found.get("id"), "provisioningState": state},
                    None if state == "Succeeded" else "wait for the running operation, then re-run")
    doc.check("cluster", (), None, read, scope)
    doc.check("cluster_oidc_issuer", ("cluster",), None, lambda: oidc_issuer(doc.cache["cluster"], rg, name))
    doc.check("cluster_workload_identity", ("cluster",), None,
              lambda: workload_identity(doc.cache["cluster"], rg, name))
    for kind in kinds:
        doc.check(kind.managed_link, ("cluster",), None,
                  lambda k=kind: judge.judge_managed_driver(doc.cache["cluster"], k, rg, name))
    doc.check("cluster_azure_rbac", ("cluster",), None, lambda: cluster_azure_rbac(doc), scope)
    doc.check("kubernetes_api", (), None, lambda: kubernetes_api(doc))
    for kind in kinds:
        driver_links(doc, kind)
    if dynamic:
        doc.check("provisioner_identity", KUBE + ("cluster",), None, lambda: provisioner_identity(doc))
        doc.check("provisioner_federation", ("provisioner_identity", "cluster_oidc_issuer"), None,
                  lambda: provisioner_federation(doc))


def driver_links(doc, kind):
    """The open-source driver of ``kind``: its CSIDriver, its node image's version, its node pods. A Files chart
    below 1.35.3 renders no requiresRepublish, so its CSIDriver is judged once the version is ok (a too-old driver
    is one failing link, its version)."""
    namespace, daemonset, floor = driver_settings(doc, kind)
    after_version = (kind.version_link,) if kind is judge.FILE else ()
    doc.check(kind.version_link, KUBE, None, lambda: driver_version(doc, kind))
    doc.check(kind.csi_link, KUBE + after_version, None, lambda: csi_driver(doc, kind))
    doc.check(kind.nodes_link, KUBE, None, lambda: judge.judge_daemonset(
        "%s/%s" % (namespace, daemonset), (node_daemonset(doc, kind) or {}).get("status"), kind))


def driver_settings(doc, kind):
    """(namespace, node DaemonSet, minimum version) of ``kind``'s driver, from the module's options."""
    p = doc.params
    if kind is judge.FILE:
        return p["file_driver_namespace"], p["file_driver_node_daemonset"], p["file_driver_minimum_version"]
    return p["driver_namespace"], p["driver_node_daemonset"], p["driver_minimum_version"]


def cluster_azure_rbac(doc):
    """On a cluster that authorises Kubernetes requests with Azure RBAC: whether the identity running the doctor may
    do what the chain does there (its role assignments at the cluster or above)."""
    cluster = doc.cache["cluster_body"]
    if not ((cluster.get("properties") or {}).get("aadProfile") or {}).get("enableAzureRBAC"):
        return link("cluster_azure_rbac", OK, "Kubernetes authorises with its own RBAC, not Azure RBAC",
                    {"enableAzureRBAC": False})
    missing, principal, reads = aks_access.azure_rbac_missing(doc.module, cluster)
    doc.azure_reads += reads
    evidence = {"enableAzureRBAC": True, "principal_id": principal, "missing": missing}
    if missing:
        return link("cluster_azure_rbac", WARN, "the identity running the doctor may not %d of the chain's "
                    "Kubernetes actions: site.yml run as it gets 403 from the API server" % len(missing), evidence,
                    aks_access.azure_rbac_grant(cluster, principal))
    return link("cluster_azure_rbac", OK, "the identity running the doctor may do the chain's Kubernetes actions",
                evidence)


def kubernetes_api(doc):
    """The kubeconfig reaches the API server and is accepted (one discovery read)."""
    if doc.kube is None:
        return link("kubernetes_api", UNKNOWN, "no kubeconfig given: the cluster's objects were not read", {},
                    "set kubeconfig (site.yml's oidc_cluster stage writes keyless_kubeconfig_path)")
    try:
        version = doc.kube.get("read the API server's version", "VersionApi", "get_code")
    except KubeError as exc:
        return link("kubernetes_api", FAIL, "the API server cannot be read with the kubeconfig: %s" % exc,
                    {"kubeconfig": doc.kube.kubeconfig, "status": exc.status},
                    "refresh the kubeconfig: run site.yml --tags cluster (aks_oidc_cluster rewrites it) or az aks "
                    "get-credentials; a 403 needs read access for the kubeconfig's user")
    return link("kubernetes_api", OK, "API server %s answers" % (version or {}).get("gitVersion"),
                {"kubeconfig": doc.kube.kubeconfig, "gitVersion": (version or {}).get("gitVersion")})


def csi_driver(doc, kind):
    found = doc.kube_get("CSIDriver " + kind.driver, "StorageV1Api", "read_csi_driver", kind.driver)
    if found is None:
        return judge.judge_csi_driver(None, kind)
    return judge.judge_csi_driver(found.get("spec") or {}, kind, (found.get("metadata") or {}).get("labels") or {})


def node_daemonset(doc, kind):
    namespace, daemonset, _floor = driver_settings(doc, kind)
    return doc.kube_get("DaemonSet %s/%s" % (namespace, daemonset), "AppsV1Api", "read_namespaced_daemon_set",
                        daemonset, namespace)


def driver_version(doc, kind):
    found = node_daemonset(doc, kind)
    if found is None:
        return link(kind.version_link, UNKNOWN, "no node DaemonSet to read the version from", {},
                    "run site.yml --tags driver")
    containers = ((found.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
    images = [c.get("image") for c in containers if c.get("name") in kind.node_containers]
    return judge.judge_driver_version(images or [c.get("image") for c in containers[-1:]],
                                      driver_settings(doc, kind)[2], kind)


def oidc_issuer(props, rg, name):
    issuer = (props.get("oidcIssuerProfile") or {})
    evidence = {"enabled": issuer.get("enabled"), "issuerURL": issuer.get("issuerURL")}
    if not issuer.get("enabled") or not issuer.get("issuerURL"):
        return link("cluster_oidc_issuer", FAIL, "the cluster's OIDC issuer is off", evidence,
                    "az aks update -g %s -n %s --enable-oidc-issuer (or run site.yml --tags cluster)" % (rg, name))
    return link("cluster_oidc_issuer", OK, "issuer %s" % issuer["issuerURL"], evidence)


def workload_identity(props, rg, name):
    enabled = ((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")
    if not enabled:
        return link("cluster_workload_identity", FAIL, "workload identity is off: pods get no token", {
            "enabled": enabled}, "az aks update -g %s -n %s --enable-workload-identity (or run site.yml --tags "
                                 "cluster)" % (rg, name))
    return link("cluster_workload_identity", OK, "workload identity is on", {"enabled": True})


def issuer_of(doc):
    return (doc.cache.get("cluster", {}).get("oidcIssuerProfile") or {}).get("issuerURL")


# ---- the workloads ---------------------------------------------------------------------------------------------
def workload_item(doc, item, index):
    """One workload as the doctor needs it; what the item leaves out is discovered from the claim's volume."""
    vol = item.get("volume") or {}
    name = item.get("name") or vol.get("pvc_name")
    if not item.get("namespace") or not name:
        raise ModuleError("workloads[%d]: namespace and name (or volume.pvc_name) are required" % index)
    if item.get("type") not in (None,) + tuple(judge.KINDS):
        raise ModuleError("workloads[%d].type must be blob or file, not %s" % (index, item.get("type")))
    kind = judge.KINDS[item.get("type") or "blob"]
    identity = item.get("identity") or {}
    w = dict(name=name, namespace=item["namespace"], service_account=item.get("service_account"),
             storage_account=item.get("storage_account"), resource_group=item.get("resource_group"),
             container=item.get("container"), share=item.get("share"), access=item.get("access"), kind=kind,
             identity_name=identity.get("name"),
             identity_resource_group=identity.get("resource_group") or doc.params["identity_resource_group"],
             client_id=identity.get("client_id"), pvc_name=vol.get("pvc_name") or "%s-%s" % (name, kind.type),
             pv_name=vol.get("pv_name"), dynamic=bool(item.get("storage_class")))
    if w["access"] not in (None,) + tuple(judge.DATA_ACTIONS):
        raise ModuleError("workloads[%d].access must be read or readwrite, not %s" % (index, w["access"]))
    storage_class_item(w, item, index)
    if not w["pv_name"] and not w["dynamic"] and item.get("storage_account"):
        w["pv_name"] = "pv-%s-%s" % (w["namespace"], name)
    missing = missing_fields(w)
    if missing:
        discover(doc, w, missing, index)
    w["access"] = w["access"] or "readwrite"
    return w


def storage_class_item(w, item, index):
    """The StorageClass of a dynamically provisioned workload: its name and the reclaimPolicy chosen (Retain by
    default, as the workload role renders it)."""
    sc = item.get("storage_class") or {}
    w["storage_class"], w["reclaim_policy"] = sc.get("name"), None
    if not w["dynamic"]:
        return
    if w["kind"] is not judge.BLOB or not w["storage_class"]:
        raise ModuleError("workloads[%d].storage_class needs a name and type blob" % index)
    w["reclaim_policy"] = sc.get("reclaim_policy") or "Retain"
    if w["reclaim_policy"] not in ("Retain", "Delete"):
        raise ModuleError("workloads[%d].storage_class.reclaim_policy must be Retain or Delete, not %s"
                          % (index, w["reclaim_policy"]))


def missing_fields(w):
    """What the doctor needs of ``w`` and does not know yet (the container, or the share of a Files workload)."""
    return [k for k in ("storage_account", "resource_group", w["kind"].target, "identity_name", "service_account",
                        "identity_resource_group") if not w[k]]


def discover(doc, w, missing, index):
    """Fill ``missing`` fields of ``w`` from the live claim, its volume, its pods and the subscription's identities."""
    if doc.kube is None:
        raise ModuleError("workloads[%d]: %s not given and no kubeconfig to discover them from"
                          % (index, ", ".join(missing)))
    try:
        discover_from_claim(doc, w)
    except KubeError as exc:
        raise ModuleError("workloads[%d]: could not discover %s: %s" % (index, ", ".join(missing), exc)) from exc
    if not w["identity_name"] and w["client_id"]:
        match = identity_by_client_id(doc, w["client_id"])
        if match:
            w["identity_name"] = match["name"]
            w["identity_resource_group"] = match["id"].split("/")[4]
    still = missing_fields(w)
    if still:
        raise ModuleError("workloads[%d]: could not discover %s from claim %s/%s; give them in the item"
                          % (index, ", ".join(still), w["namespace"], w["pvc_name"]))


def identity_by_client_id(doc, client_id):
    """The user-assigned identity with ``client_id`` (one listing of the subscription's identities), or None."""
    found = doc.cached("identities", lambda: doc.azure_list(
        "list the subscription's managed identities",
        doc.module.client("msi").user_assigned_identities.list_by_subscription))
    return next((i for i in found if (i.get("properties") or {}).get("clientId") == client_id), None)


def discover_from_claim(doc, w):
    """The claim's volume attributes (or, while it has none, its blob StorageClass's parameters), access mode and
    the service account of the pods that mount it; a volume of the Azure Files driver makes the workload a Files
    one, a claim of a blob.csi.azure.com class a dynamically provisioned one."""
    pvc = claim_of(doc, w)
    w["pv_name"] = w["pv_name"] or ((pvc or {}).get("spec") or {}).get("volumeName")
    pv = volume_of(doc, w) if w["pv_name"] else None
    csi = ((pv or {}).get("spec") or {}).get("csi") or {}
    if csi.get("driver") == judge.FILE_DRIVER:
        w["kind"] = judge.FILE
    attrs = dict((k.lower(), v) for k, v in (csi.get("volumeAttributes") or {}).items())
    class_name = ((pvc or {}).get("spec") or {}).get("storageClassName")
    sc = storage_class_of(doc, class_name) if class_name and w["kind"] is judge.BLOB else None
    if sc and sc.get("provisioner") == judge.DRIVER:
        w.update(dynamic=True, storage_class=class_name)
        params = dict((k.lower(), v) for k, v in (sc.get("parameters") or {}).items())
        attrs = dict(params, **attrs)  # what the volume mounts wins over what the class would provision
    if pv and not w["access"]:  # what the volume mounts: a read-only volume needs only the read role
        modes = (pv.get("spec") or {}).get("accessModes") or []
        w["access"] = "read" if csi.get("readOnly") or modes == ["ReadOnlyMany"] else "readwrite"
    for key, attr in (("storage_account", "storageaccount"), ("resource_group", "resourcegroup"),
                      ("container", "containername"), ("share", "sharename"), ("client_id", "clientid")):
        w[key] = w[key] or attrs.get(attr)
    if not w["service_account"]:
        users = [p["service_account"] for p in claim_pods(doc, w)]
        w["service_account"] = users[0] if users else None


def account_of(doc, w):
    storage = doc.module.client("storage").storage_accounts
    return doc.cached(("account", w["resource_group"].lower(), w["storage_account"].lower()), lambda: doc.azure(
        "read storage account %s" % w["storage_account"],
        lambda: storage.get_properties(w["resource_group"], w["storage_account"])))


def identity_of(doc, w):
    api = doc.module.client("msi").user_assigned_identities
    rg, name = w["identity_resource_group"], w["identity_name"]
    return doc.cached(("identity", rg.lower(), name.lower()), lambda: doc.azure(
        "read managed identity %s" % name, lambda: api.get(rg, name)))


def azure_links(doc, w):
    wl, kind = w["name"], w["kind"]
    account_scope = rbac.storage_scope(doc.module.subscription_id, w["resource_group"], w["storage_account"])
    doc.check("storage_account", (), wl, lambda: storage_account(doc, w), account_scope)
    doc.check("shared_key", ("storage_account",), wl, lambda: shared_key(doc, w))
    if kind is judge.FILE:
        doc.check("smb_oauth", ("storage_account",), wl, lambda: judge.judge_smb_oauth(
            account_of(doc, w).get("properties") or {}, w["resource_group"], w["storage_account"]))
        doc.check("share", ("storage_account",), wl, lambda: share(doc, w), account_scope)
    else:
        doc.check("container", ("storage_account",), wl, lambda: container(doc, w), account_scope)
    doc.check("identity", (), wl, lambda: identity(doc, w), "identity %s" % w["identity_name"])
    doc.check("federated_credential", ("identity", "cluster_oidc_issuer"), wl, lambda: federation(doc, w))
    doc.check("role_assignment", ("identity", kind.target), wl, lambda: data_role(doc, w, account_scope),
              account_scope)


def storage_account(doc, w):
    found = account_of(doc, w)
    if found is None:
        return link("storage_account", FAIL, "storage account %s does not exist in resource group %s" % (
            w["storage_account"], w["resource_group"]), {"name": w["storage_account"]},
            "run site.yml --tags storage (keyless_storage_accounts)")
    return link("storage_account", OK, "storage account %s exists" % w["storage_account"], {"id": found["id"]})


def shared_key(doc, w):
    allowed = (account_of(doc, w).get("properties") or {}).get("allowSharedKeyAccess")
    if allowed is not False:
        return link("shared_key", FAIL, "shared key access is %s: anyone who can list keys can read the data "
                    "without an identity" % ("unset (Azure treats unset as allowed)" if allowed is None else "on"),
                    {"allowSharedKeyAccess": allowed},
                    "run site.yml --tags storage (it turns it off), or: az storage account update -g %s -n %s "
                    "--allow-shared-key-access false" % (w["resource_group"], w["storage_account"]))
    return link("shared_key", OK, "shared key access is off", {"allowSharedKeyAccess": False})


def container(doc, w):
    api = doc.module.client("storage").blob_containers
    found = doc.azure("read container %s" % w["container"],
                      lambda: api.get(w["resource_group"], w["storage_account"], w["container"]))
    if found is None and w["dynamic"]:
        return link("container", WARN, "container %s does not exist yet: the blob driver's controller creates it "
                    "when it provisions the first claim of StorageClass %s" % (w["container"], w["storage_class"]),
                    {"container": w["container"]}, "see the persistent_volume_claim and provisioner links")
    if found is None:
        return link("container", FAIL, "container %s does not exist in %s" % (w["container"], w["storage_account"]),
                    {"container": w["container"]},
                    "run site.yml --tags storage,rbac (it creates the workloads' containers, then their role "
                    "assignments, which may have gone with the container)")
    return link("container", OK, "container %s exists" % w["container"], {"id": found["id"]})


def share(doc, w):
    api = doc.module.client("storage").file_shares
    found = doc.azure("read file share %s" % w["share"],
                      lambda: api.get(w["resource_group"], w["storage_account"], w["share"]))
    return judge.judge_share(found, w["share"], w["storage_account"])


def identity(doc, w):
    found = identity_of(doc, w)
    if found is None:
        return link("identity", FAIL, "managed identity %s does not exist in resource group %s" % (
            w["identity_name"], w["identity_resource_group"]), {"name": w["identity_name"]},
            "run site.yml --tags identities")
    props = found.get("properties") or {}
    w.update(client_id_live=props.get("clientId"), principal_id=props.get("principalId"),
             tenant_id=props.get("tenantId"))
    return link("identity", OK, "identity %s (client %s)" % (w["identity_name"], props.get("clientId")),
                {"client_id": props.get("clientId"), "principal_id": props.get("principalId")})


def credentials_of(doc, rg, name):
    """The federated credentials of identity ``name`` (one listing per identity)."""
    api = doc.module.client("msi").federated_identity_credentials
    return doc.cached(("fics", rg.lower(), name.lower()), lambda: [
        dict(name=c["name"], **(c.get("properties") or {}))
        for c in doc.azure_list("list federated credentials of %s" % name, lambda: api.list(rg, name))])


def federation(doc, w):
    rg, name = w["identity_resource_group"], w["identity_name"]
    return judge.judge_federated_credentials(credentials_of(doc, rg, name), issuer_of(doc), judge.subject_of(
        w["namespace"], w["service_account"]), (rg, name))


def roles_of(doc, scope, principal):
    """The role assignments of ``principal`` at ``scope``, above and below it (one principal-filtered listing per
    scope and principal), and the definitions they use (one read per distinct role)."""
    api = doc.module.client("authorization")
    assignments = doc.cached(("assignments", scope.lower(), principal), lambda: doc.azure_list(
        "list role assignments of %s" % principal,
        lambda: api.role_assignments.list_for_scope(scope, filter="principalId eq '%s'" % principal)))
    definitions = {}
    for item in assignments:
        role_id = ((item.get("properties") or {}).get("roleDefinitionId") or "").lower()
        definitions[role_id] = doc.cached(("role", role_id), lambda r=role_id: doc.azure(
            "read role definition %s" % r, lambda: api.role_definitions.get_by_id(r)))
    return assignments, definitions


def data_role(doc, w, account_scope):
    principal = w["principal_id"]
    assignments, definitions = roles_of(doc, account_scope, principal)
    # Azure Files: the account is the narrowest scope the driver's docs grant the role at (share-level is not)
    scope = account_scope if w["kind"] is judge.FILE else rbac.storage_scope(
        doc.module.subscription_id, w["resource_group"], w["storage_account"], w["container"])
    return judge.judge_role_assignments(assignments, definitions, scope, w["access"], principal, kind=w["kind"])


def claim_of(doc, w):
    return doc.kube_get("PersistentVolumeClaim %s/%s" % (w["namespace"], w["pvc_name"]), "CoreV1Api",
                        "read_namespaced_persistent_volume_claim", w["pvc_name"], w["namespace"])


def storage_class_of(doc, name):
    return doc.kube_get("StorageClass " + name, "StorageV1Api", "read_storage_class", name)


def claim_events(doc, w):
    """The events about the claim (one listing of the namespace's events), oldest first, quoted."""
    events = doc.kube_items("events in " + w["namespace"], "CoreV1Api", "list_namespaced_event", w["namespace"])
    mine = [e for e in events if (e.get("involvedObject") or {}).get("kind") == "PersistentVolumeClaim"
            and e["involvedObject"].get("name") == w["pvc_name"]]
    mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [{"type": e.get("type"), "reason": e.get("reason"), "message": e.get("message"), "count": e.get("count")}
            for e in mine]


def volume_of(doc, w):
    return doc.kube_get("PersistentVolume " + w["pv_name"], "CoreV1Api", "read_persistent_volume", w["pv_name"])


def claim_pods(doc, w):
    """The pods of the namespace that mount the claim (one listing per namespace)."""
    pods = doc.kube_items("pods in " + w["namespace"], "CoreV1Api", "list_namespaced_pod", w["namespace"])
    found = []
    for pod in pods:
        spec = pod.get("spec") or {}
        claims = [(v.get("persistentVolumeClaim") or {}).get("claimName") for v in spec.get("volumes") or []]
        if w["pvc_name"] in claims:
            found.append({"name": pod["metadata"]["name"], "service_account": spec.get("serviceAccountName")
                          or "default", "phase": (pod.get("status") or {}).get("phase")})
    return found


def mount_events(doc, w, pods, limit=5):
    """The latest events about those pods (one listing per namespace), quoted."""
    if not pods:
        return []
    names = {p["name"] for p in pods}
    events = doc.kube_items("events in " + w["namespace"], "CoreV1Api", "list_namespaced_event", w["namespace"])
    mine = [e for e in events if (e.get("involvedObject") or {}).get("kind") == "Pod"
            and e["involvedObject"].get("name") in names]
    mine.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [{"pod": e["involvedObject"]["name"], "type": e.get("type"), "reason": e.get("reason"),
             "message": e.get("message"), "count": e.get("count")} for e in mine[-limit:]]


def cluster_workload_links(doc, w):
    wl = w["name"]
    doc.check("service_account", KUBE, wl, lambda: service_account(doc, w))
    doc.check("service_account_client_id", ("service_account", "identity"), wl, lambda: sa_client_id(doc, w))
    if w["dynamic"]:
        provisioner_links(doc, w)
    else:
        doc.check("persistent_volume_claim", KUBE, wl, lambda: judge.judge_claim(
            claim_of(doc, w), "%s/%s" % (w["namespace"], w["pvc_name"]), w["pv_name"],
            volume_of(doc, w) if w["pv_name"] else None))
    if not w["pv_name"] and doc.status("persistent_volume_claim", wl) != UNKNOWN:
        # a dynamically provisioned claim: its volume is the one it is bound to
        w["pv_name"] = ((claim_of(doc, w) or {}).get("spec") or {}).get("volumeName")
    # a provisioned volume exists once its claim is Bound: before, its link is blocked, not a second failure
    after_claim = ("persistent_volume_claim",) if w["dynamic"] else ()
    doc.check("persistent_volume", KUBE + ("identity",) + after_claim, wl, lambda: judge.judge_volume(
        volume_of(doc, w) if w["pv_name"] else None, expected_volume(w), kind=w["kind"]))
    doc.check("pods", ("persistent_volume_claim", "service_account"), wl, lambda: pods(doc, w))


# ---- dynamic provisioning (blob) ------------------------------------------------------------------------------------
def provisioner_links(doc, w):
    """The StorageClass, the controller's role at the account, then the claim it provisions (after both and after
    the controller's identity, so one cause fails one link)."""
    wl = w["name"]
    account_scope = rbac.storage_scope(doc.module.subscription_id, w["resource_group"], w["storage_account"])
    doc.check("storage_class", KUBE, wl, lambda: judge.judge_storage_class(
        storage_class_of(doc, w["storage_class"]), w["storage_class"], expected_class(doc, w)))
    doc.check("provisioner_role", ("provisioner_identity", "storage_account"), wl,
              lambda: provisioner_role(doc, w, account_scope), account_scope)
    doc.check("persistent_volume_claim", KUBE + ("storage_class", "provisioner_identity", "provisioner_federation",
                                                 "provisioner_role"), wl, lambda: dynamic_claim(doc, w))


def expected_class(doc, w):
    return {"storage_account": w["storage_account"], "resource_group": w["resource_group"],
            "container": w["container"], "client_id": w.get("client_id_live") or w["client_id"],
            "subscription_id": doc.module.subscription_id, "reclaim_policy": w["reclaim_policy"]}


def controller_names(doc):
    """(ServiceAccount, Deployment) of the blob driver's controller, as ns/name."""
    namespace = doc.params["driver_namespace"]
    return ("%s/%s" % (namespace, doc.params["blob_controller_service_account"]),
            "%s/%s" % (namespace, provisioner.CONTROLLER_DEPLOYMENT))


def provisioner_identity(doc):
    names = controller_names(doc)
    (sa_ns, sa_name), (dep_ns, dep_name) = (n.split("/") for n in names)
    sa = doc.kube_get("ServiceAccount " + names[0], "CoreV1Api", "read_namespaced_service_account", sa_name, sa_ns)
    deployment = doc.kube_get("Deployment " + names[1], "AppsV1Api", "read_namespaced_deployment", dep_name, dep_ns)
    choice = provisioner.controller_identity(sa, doc.cache["cluster"], deployment)
    identity = identity_by_client_id(doc, choice[1]) if choice and choice[0] == "workload_identity" else None
    result = judge.judge_provisioner_identity(sa, deployment, doc.cache["cluster"], names, identity)
    doc.cache["provisioner"] = result["evidence"]
    return result


def provisioner_federation(doc):
    found = doc.cache["provisioner"]
    if found["identity"] == "kubelet_identity":
        return link("provisioner_federation", OK, "the kubelet identity is the nodes' managed identity: no federated "
                    "credential is needed", {"identity": found["identity"]})
    rg, name = found["identity_resource_group"], found["identity_name"]
    namespace, service_account = found["service_account"].split("/")
    result = judge.judge_federated_credentials(credentials_of(doc, rg, name), issuer_of(doc),
                                               judge.subject_of(namespace, service_account), (rg, name))
    result["link"] = "provisioner_federation"
    return result


def provisioner_role(doc, w, account_scope):
    principal = doc.cache["provisioner"]["principal_id"]
    assignments, definitions = roles_of(doc, account_scope, principal)
    sc = storage_class_of(doc, w["storage_class"])
    # the class's policy decides what DeleteVolume will do; without a class, what the workload chose
    reclaim = (sc.get("reclaimPolicy") or "Delete") if sc else (w["reclaim_policy"] or "Retain")
    params = dict((k.lower(), v) for k, v in ((sc or {}).get("parameters") or {}).items())
    container = params.get("containername") or w["container"]
    return judge.judge_provisioner_role(assignments, definitions, account_scope, principal, reclaim, None, container)


def dynamic_claim(doc, w):
    pvc = claim_of(doc, w)
    bound = ((pvc or {}).get("status") or {}).get("phase") == "Bound"
    return judge.judge_dynamic_claim(pvc, "%s/%s" % (w["namespace"], w["pvc_name"]), w["storage_class"],
                                     [] if bound or pvc is None else claim_events(doc, w), controller_names(doc)[1])


def pods(doc, w):
    found = claim_pods(doc, w)
    return judge.judge_pods(found, w["service_account"], mount_events(doc, w, found))


def expected_volume(w):
    return {"name": w["pv_name"] or "(none)", "storage_account": w["storage_account"], "container": w["container"],
            "share": w["share"], "resource_group": w["resource_group"], "client_id": w.get("client_id_live")}


def service_account(doc, w):
    found = doc.kube_get("ServiceAccount %s/%s" % (w["namespace"], w["service_account"]), "CoreV1Api",
                         "read_namespaced_service_account", w["service_account"], w["namespace"])
    w["sa"] = found
    if found is None:
        return link("service_account", FAIL, "ServiceAccount %s/%s does not exist" % (
            w["namespace"], w["service_account"]), {}, "run site.yml --tags workloads")
    return link("service_account", OK, "ServiceAccount %s/%s exists" % (w["namespace"], w["service_account"]),
                {"name": w["service_account"]})


def sa_client_id(doc, w):
    annotations = (w["sa"].get("metadata") or {}).get("annotations") or {}
    found = annotations.get("azure.workload.identity/client-id")
    evidence = {"annotation": found, "identity_client_id": w["client_id_live"]}
    if found != w["client_id_live"]:
        return link("service_account_client_id", FAIL, "annotation azure.workload.identity/client-id is %s, not the "
                    "client ID %s of identity %s" % (found, w["client_id_live"], w["identity_name"]), evidence,
                    "run site.yml --tags workloads, or: kubectl -n %s annotate serviceaccount %s --overwrite "
                    "azure.workload.identity/client-id=%s"
                    % (w["namespace"], w["service_account"], w["client_id_live"]))
    return link("service_account_client_id", OK, "annotated with client %s" % found, evidence)


# ---- the live probe -------------------------------------------------------------------------------------------------
def probe_links(doc, w):
    wl = w["name"]
    doc.check("probe_token", ("service_account", "cluster_oidc_issuer"), wl, lambda: probe_token(doc, w))
    doc.check("probe_exchange", ("probe_token", "identity", "federated_credential"), wl, lambda: exchange(doc, w))
    if w["kind"] is judge.FILE:
        # No SMB or Kerberos client here: the data link is the validation Job's mount (see validation_job)
        doc.check("probe_data", ("probe_exchange", "smb_oauth", "share", "role_assignment", "persistent_volume"),
                  wl, lambda: validation_job(doc, w))
        return
    doc.check("probe_data", ("probe_exchange", "storage_account", "container", "role_assignment"), wl,
              lambda: data_probe(doc, w))


def probe_token(doc, w):
    w["token"] = doc.kube.request_token(w["namespace"], w["service_account"], judge.TOKEN_AUDIENCE,
                                        PROBE_TOKEN_SECONDS)
    if not w["token"]:
        return link("probe_token", FAIL, "the API server returned no token", {}, "check the API server's logs")
    return judge.judge_token(token_claims(w["token"]), issuer_of(doc),
                             judge.subject_of(w["namespace"], w["service_account"]))


def exchange(doc, w):
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import ClientAssertionCredential
    cloud, token = doc.module.cloud, w["token"]
    credential = ClientAssertionCredential(w["tenant_id"], w["client_id_live"], lambda: token,
                                           **authority_options(cloud))
    doc.entra += 1
    evidence = {"tenant_id": w["tenant_id"], "client_id": w["client_id_live"], "scope": STORAGE_SCOPE}
    try:
        credential.get_token(STORAGE_SCOPE)
    except ClientAuthenticationError as exc:
        text = str(exc.message if hasattr(exc, "message") else exc)
        code = judge.aadsts_code(text)
        evidence.update(error=text.splitlines()[0][:600], aadsts=code)
        return link("probe_exchange", FAIL, "Entra ID refused the exchange: %s" % (code or text.splitlines()[0]),
                    evidence, judge.aadsts_fix(code))
    w["credential"] = credential
    return link("probe_exchange", OK, "Entra ID issued a storage token to client %s for the service account token"
                % w["client_id_live"], evidence)


def data_probe(doc, w):
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import ContainerClient
    endpoint = ((account_of(doc, w).get("properties") or {}).get("primaryEndpoints") or {}).get("blob")
    evidence, made = {"endpoint": endpoint, "container": w["container"]}, []
    write = doc.params["probe_write"] and w["access"] == "readwrite"
    if write and doc.module.check_mode:  # check mode changes nothing, not even a blob written and deleted
        write, evidence["write_probe"] = False, "skipped in check mode"

    def count(n):
        doc.data_plane += n
        made.append(n)
    try:
        with ContainerClient(endpoint, w["container"], credential=w["credential"], retry_total=2) as client:
            done = blob_probe(client, write, count)
    except HttpResponseError as exc:
        code = getattr(exc, "error_code", None)
        evidence.update(status=exc.status_code, error_code=code, requests=sum(made))
        return link("probe_data", FAIL, "the data plane answered %s %s" % (exc.status_code, code), evidence,
                    "a new role assignment takes up to 10 minutes to reach the data plane: re-run the doctor; "
                    "otherwise check the account's network rules (firewall, private endpoint) for this client")
    evidence["done"] = done
    return link("probe_data", OK, "as the identity: %s" % ", ".join(done), evidence)


def validation_job(doc, w):
    """The latest of the workload role's validation Jobs that mount the claim (one listing per namespace), and the
    mount events of its pod: Azure Files is mounted by SMB with a Kerberos ticket on a node, which the controller
    cannot do, so what the Job's pod did is the evidence (never a result made up here)."""
    jobs = doc.kube_items("validation Jobs in " + w["namespace"], "BatchV1Api", "list_namespaced_job", w["namespace"],
                          label_selector=VALIDATION_LABEL)
    mine = [j for j in jobs if w["pvc_name"] in [
        (v.get("persistentVolumeClaim") or {}).get("claimName")
        for v in ((((j.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes") or [])]]
    found = claim_pods(doc, w)
    return judge.judge_validation_job(mine, mount_events(doc, w, found), "%s/%s" % (w["namespace"], w["pvc_name"]),
                                      w["name"])


# ---- the run --------------------------------------------------------------------------------------------------------
def write_reports(directory, report):
    base = os.path.join(directory, "doctor-%s" % report["cluster"])
    files = {"markdown": base + ".md", "json": base + ".json"}
    write_atomic(files["markdown"], judge.markdown(report).encode(), 0o644)
    write_atomic(files["json"], json.dumps(report, indent=2, sort_keys=True).encode(), 0o644)
    return files


def run(module):
    for option in ("driver_minimum_version", "file_driver_minimum_version"):
        problem = rules.semver_problem(module.params[option], option)
        if problem:
            raise ModuleError(problem)
    doc = Doctor(module)
    items = [workload_item(doc, item, i) for i, item in enumerate(module.params["workloads"])]
    used = {w["kind"].type for w in items} or {"blob"}
    cluster_links(doc, [kind for kind in (judge.BLOB, judge.FILE) if kind.type in used],
                  any(w["dynamic"] for w in items))
    for w in items:
        azure_links(doc, w)
        cluster_workload_links(doc, w)
        if module.params["probe"]:
            probe_links(doc, w)
    links = doc.links
    report = {"cluster": module.params["cluster_name"], "status": judge.worst(links), "counts": judge.counts(links),
              "links": links,
              "reads": {"azure": doc.azure_reads, "kubernetes": doc.kube.reads if doc.kube else 0,
                        "token_requests": doc.kube.token_requests if doc.kube else 0, "entra": doc.entra,
                        "data_plane": doc.data_plane}}
    result = dict(changed=False, table=judge.table(links), **report)
    if module.params["report_dir"]:
        result["report_files"] = write_reports(module.params["report_dir"], report)
    bad = judge.failing(links, module.params["fail_on"])
    if bad:
        raise ModuleError("doctor: %d link(s) not healthy (fail_on=%s): %s" % (
            len(bad), module.params["fail_on"], " | ".join(map(judge.line, bad))), result=result)
    return result


def main():
    module = AzureModule(
        argument_spec=dict(
            cluster_resource_group=dict(type="str", required=True),
            cluster_name=dict(type="str", required=True),
            kubeconfig=dict(type="path"),
            kube_context=dict(type="str"),
            workloads=dict(type="list", elements="dict", required=True),
            identity_resource_group=dict(type="str"),
            driver_namespace=dict(type="str", default="kube-system"),
            driver_node_daemonset=dict(type="str", default="csi-blob-node"),
            blob_controller_service_account=dict(type="str", default=provisioner.CONTROLLER_SERVICE_ACCOUNT),
            driver_minimum_version=dict(type="str", default="1.27.1"),
            file_driver_namespace=dict(type="str", default="kube-system"),
            file_driver_node_daemonset=dict(type="str", default="csi-azurefile-node"),
            file_driver_minimum_version=dict(type="str", default="1.35.0"),
            probe=dict(type="bool", default=False),
            probe_write=dict(type="bool", default=False),
            report_dir=dict(type="path"),
            fail_on=dict(type="str", choices=["fail", "warn", "never"], default="fail"),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
