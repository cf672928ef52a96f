#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keyless_audit_info
short_description: Find where storage keys are still enabled, granted or stored, across a subscription and its clusters
version_added: 0.1.0
description:
  - Reads a subscription and the Kubernetes objects of its AKS clusters and reports, as findings, everything that
    keeps a team from turning shared key access off without breaking anyone. Each finding has a type, a severity
    (V(critical), V(high), V(medium), V(low)), the resource id, what was found, why it matters and the fix.
  - "Subscription: storage accounts whose C(allowSharedKeyAccess) is true or unset (unset means allowed)
    (C(shared_key_enabled)); those in a resource group another resource provider manages, such as an AKS node
    resource group, apart (C(shared_key_enabled_managed)); role assignments at or above storage accounts whose role
    allows C(Microsoft.Storage/storageAccounts/listkeys/action), wildcards such as C(*) and C(Microsoft.Storage/*)
    included (C(list_keys_role_assignment): V(high) when an account in scope allows shared key access, else
    V(low)); every AKS cluster of the subscription with the OIDC issuer or workload identity off, or the
    AKS-managed blob driver on."
  - "Each cluster of O(clusters): Secrets holding a storage credential the drivers read, C(azurestorageaccountkey),
    C(azurestorageaccountsastoken), C(msisecret) or C(azurestoragespnclientsecret) (C(account_key_secret); names and
    key names only, a value never appears in any output or file); persistent
    volumes and StorageClasses of C(blob.csi.azure.com) and C(file.csi.azure.com) that are not token-only or
    reference a Secret (C(key_persistent_volume), C(key_storage_class); blobfuse volumes with
    C(AzureStorageAuthType) C(msi), a managed identity of the node, V(medium); NFS ones, which use no key, V(low));
    in-tree
    C(azureFile) volumes, of persistent volumes and of pods (C(in_tree_azure_file)); pods that mount any of those or
    read a key Secret through a volume or their environment (C(key_consuming_pod))."
  - "Requests grow with the number of resource types and pages, not with the number of resources: five ARM
    listings for the subscription (storage accounts, resource groups, AKS clusters, role assignments, role
    definitions) and, per cluster, five Kubernetes lists read in chunks of O(kubernetes_page_size)."
  - Makes no Azure write and no Kubernetes write, never lists account keys, and writes only its report files.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  clusters:
    description:
      - The clusters whose Kubernetes objects to audit. Every AKS cluster of the subscription gets its Azure
        findings; only these are read inside.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the AKS cluster.
        type: str
        required: true
      resource_group:
        description: Resource group of the AKS cluster.
        type: str
        required: true
      kubeconfig:
        description:
          - Kubeconfig of the cluster (for example the one C(aks_oidc_cluster) wrote). Without it the cluster's
            user credentials are read from ARM into memory (never written to disk), with a Microsoft Entra token for
            an Entra ID-integrated cluster, else the local account.
        type: path
      context:
        description: Context of O(clusters[].kubeconfig) to use (default its current context).
        type: str
  kubernetes_page_size:
    description: Items per page of the Kubernetes lists (C(limit) and C(continue)).
    type: int
    default: 500
  report_dir:
    description:
      - Directory to write the report to (created when missing), as C(<report_name>.json), C(.md) and a
        self-contained C(.html) page (no external assets) with a chart of the findings by severity and by
        account or cluster, and a table per finding type. Written in check mode too.
    type: path
  report_name:
    description: Base name of the report files.
    type: str
    default: keyless-audit
  fail_on:
    description:
      - The task fails when a finding has this severity or a worse one (V(never) never fails), for CI gates. The
        result, and the report files, are complete either way.
    type: str
    choices: [critical, high, medium, low, never]
    default: never
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - The automation identity needs C(Reader) on the subscription (role assignments and definitions included) and,
    in each cluster, list access to Secrets, PersistentVolumes, PersistentVolumeClaims, StorageClasses and Pods
    (C(get), C(list)); without a kubeconfig, C(listClusterUserCredential) on the cluster.
  - Listing Secrets returns their values to the caller; the module keeps only names, types and key names, and drops
    each page as soon as it is read.
"""

EXAMPLES = r"""
- name: Where does the subscription still use keys?
  keyless.aks_storage.keyless_audit_info:
    clusters:
      - name: aks-prod-1
        resource_group: rg-aks-prod
        kubeconfig: ~/.kube/aks-prod-1.yaml
    report_dir: "{{ playbook_dir }}/audit-reports"
  register: audit

- name: Fail the pipeline on critical and high findings
  keyless.aks_storage.keyless_audit_info:
    clusters: "{{ audit_clusters }}"
    fail_on: high
"""

RETURN = r"""
status:
  description: The worst severity found, or V(clean).
  returned: always
  type: str
findings:
  description: Every finding, worst first, then by type and resource id.
  returned: always
  type: list
  elements: dict
  contains:
    type:
      description: The finding type, e.g. C(shared_key_enabled).
      type: str
    severity:
      description: V(critical), V(high), V(medium) or V(low).
      type: str
    resource_id:
      description: The ARM id; for a Kubernetes object the cluster's ARM id followed by C(/kubernetes/) and the
        object's API path.
      type: str
    subject:
      description: What the finding is counted under in the report, C({kind, name}) (an account, a cluster, a
        resource group, the subscription).
      type: dict
    summary:
      description: What was found.
      type: str
    why:
      description: Why it matters.
      type: str
    fix:
      description: What to do.
      type: str
    evidence:
      description: The values the finding is based on (never a Secret's value).
      type: dict
summary:
  description: Counts C(total), C(by_severity), C(by_type) and C(by_subject).
  returned: always
  type: dict
types:
  description: The finding types in report order, with their title and why.
  returned: always
  type: list
  elements: dict
coverage:
  description: What was read, in counts, per cluster too.
  returned: always
  type: dict
requests:
  description: The requests made, C(azure) (ARM pages) and C(kubernetes) (list pages).
  returned: always
  type: dict
report_files:
  description: The files written, C(json), C(markdown) and C(html).
  returned: when O(report_dir) is set
  type: dict
"""

import json
import os

from ansible_collections.keyless.aks_storage.plugins.module_utils import audit, audit_report
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, as_rest
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.files import write_atomic
from ansible_collections.keyless.aks_storage.plugins.module_utils.kube import KubeError, KubeReader

# What is listed in each cluster: (what, API class, method, what is kept of an item)
KUBERNETES_LISTS = (
    ("secrets", "CoreV1Api", "list_secret_for_all_namespaces", audit.secret_shape),
    ("persistent_volumes", "CoreV1Api", "list_persistent_volume", None),
    ("persistent_volume_claims", "CoreV1Api", "list_persistent_volume_claim_for_all_namespaces", None),
    ("storage_classes", "StorageV1Api", "list_storage_class", None),
    ("pods", "CoreV1Api", "list_pod_for_all_namespaces", None),
)


class AzureLister:
    """The subscription's listings, every page counted."""

    def __init__(self, module):
        self.module, self.pages = module, 0

    def list(self, action, pager):
        pages = self.module.call(action, lambda: [[as_rest(x) for x in page] for page in pager().by_page()])
        self.pages += len(pages)
        return [item for page in pages for item in page]

    def subscription(self):
        m, sub = self.module, self.module.subscription_id
        where = "of subscription %s" % sub
        auth = m.client("authorization")
        return {
            "storage_accounts": self.list("list the storage accounts " + where,
                                          m.client("storage").storage_accounts.list),
            "resource_groups": self.list("list the resource groups " + where,
                                         m.client("resource").resource_groups.list),
            "clusters": self.list("list the AKS clusters " + where, m.client("containerservice").managed_clusters.list),
            "role_assignments": self.list("list the role assignments " + where,
                                          auth.role_assignments.list_for_subscription),
            "role_definitions": self.list("list the role definitions " + where,
                                          lambda: auth.role_definitions.list("/subscriptions/%s" % sub)),
        }


def cluster_items(module):
    """The O(clusters) items (Ansible checked their fields), with their index for error messages."""
    return [dict(item, index=index) for index, item in enumerate(module.params["clusters"])]


def find_cluster(module, listing, item):
    for cluster in listing:
        if (cluster["name"].lower() == item["name"].lower()
                and (audit.segment(cluster["id"], "resourceGroups") or "").lower() == item["resource_group"].lower()):
            return cluster
    raise ModuleError("clusters[%d]: AKS cluster %s is not in resource group %s of subscription %s" % (
        item["index"], item["name"], item["resource_group"], module.subscription_id))


def kube_reader(module, cluster, item):
    if item.get("kubeconfig"):
        return KubeReader(item["kubeconfig"], item.get("context"))
    from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access
    return aks_access.reader_from_arm(module, module.client("containerservice").managed_clusters, cluster, "auto",
                                      item.get("context"))


def read_cluster(module, cluster, item):
    """(objects, coverage, Kubernetes requests) of one cluster; objects is None for a cluster that could not be
    read, and its coverage says why."""
    coverage = {"name": cluster["name"], "id": cluster["id"], "kubernetes": False}
    reader = None
    try:
        reader = kube_reader(module, cluster, item)
        objects = {}
        for what, api_name, method, keep in KUBERNETES_LISTS:
            objects[what] = reader.list_pages("list %s of cluster %s" % (what.replace("_", " "), cluster["name"]),
                                              api_name, method, keep or dict,
                                              limit=module.params["kubernetes_page_size"])
            coverage[what] = len(objects[what])
    except (KubeError, ModuleError) as exc:  # an AzureError too (reading the credentials from ARM)
        coverage["error"] = getattr(exc, "msg", None) or str(exc)
        return None, coverage, reader.reads if reader else 0
    coverage["kubernetes"] = True
    return objects, coverage, reader.reads


def write_reports(directory, name, report):
    base = os.path.join(directory, name)
    files = {"json": base + ".json", "markdown": base + ".md", "html": base + ".html"}
    write_atomic(files["json"], json.dumps(report, indent=2, sort_keys=True).encode(), 0o644)
    write_atomic(files["markdown"], audit_report.markdown(report).encode(), 0o644)
    write_atomic(files["html"], audit_report.html(report).encode(), 0o644)
    return files


def run(module):
    if module.params["kubernetes_page_size"] < 1:
        raise ModuleError("kubernetes_page_size must be a positive number of items, not %s"
                          % module.params["kubernetes_page_size"])
    items = cluster_items(module)
    lister = AzureLister(module)
    estate = lister.subscription()
    targets = [(find_cluster(module, estate["clusters"], item), item) for item in items]
    accounts = estate["storage_accounts"]
    findings = audit.account_findings(accounts, estate["resource_groups"])
    role_found, unresolved = audit.role_findings(estate["role_assignments"], estate["role_definitions"], accounts)
    findings += role_found
    for cluster in estate["clusters"]:
        findings += audit.cluster_findings(cluster)
    kube_requests, clusters_read = 0, []
    for cluster, item in targets:
        objects, coverage, reads = read_cluster(module, cluster, item)
        kube_requests += reads
        clusters_read.append(coverage)
        if objects is not None:
            findings += audit.kubernetes_findings(cluster, objects)
        else:
            module.warn("cluster %s was not audited inside: %s" % (cluster["name"], coverage["error"]))
    findings = audit.sort_findings(findings)
    report = {
        "subscription_id": module.subscription_id, "status": audit.worst(findings),
        "summary": audit_report.summarize(findings), "types": audit.TYPES, "findings": findings,
        "coverage": {"storage_accounts": len(accounts), "resource_groups": len(estate["resource_groups"]),
                     "aks_clusters": len(estate["clusters"]), "role_assignments": len(estate["role_assignments"]),
                     "role_definitions": len(estate["role_definitions"]),
                     "role_assignments_unresolved": len(unresolved), "clusters": clusters_read},
        "requests": {"azure": lister.pages, "kubernetes": kube_requests},
    }
    result = dict(changed=False, **report)
    if module.params["report_dir"]:
        result["report_files"] = write_reports(module.params["report_dir"], module.params["report_name"], report)
    bad = audit_report.failing(findings, module.params["fail_on"])
    if bad:
        raise ModuleError("keyless audit: %d finding(s) at %s or worse (fail_on=%s), the worst: %s" % (
            len(bad), module.params["fail_on"], module.params["fail_on"], " | ".join(
                "%s %s: %s" % (f["severity"], f["type"], f["summary"]) for f in bad[:5])), result=result)
    return result


def main():
    module = AzureModule(
        argument_spec=dict(
            clusters=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                resource_group=dict(type="str", required=True),
                kubeconfig=dict(type="path"),
                context=dict(type="str"),
            )),
            kubernetes_page_size=dict(type="int", default=500),
            report_dir=dict(type="path"),
            report_name=dict(type="str", default="keyless-audit"),
            fail_on=dict(type="str", choices=["critical", "high", "medium", "low", "never"], default="never"),
        ),
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
