# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight: every problem of a host's inventory, before any module writes.

``workload_problems`` is also what the workload role checks before it renders anything, so the role run alone and
the playbooks refuse the same inputs with the same words. The rules themselves live in module_utils/rules.py.
"""

from __future__ import annotations

import os
import re
import tarfile

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keyless.aks_storage.plugins.module_utils import rules

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "roles")
# 1.27.0 is the first chart whose CSIDriver refreshes the token (requiresRepublish, expirationSeconds 3600);
# 1.27.1 the first driver that refuses mountWithWorkloadIdentityToken without a clientID instead of silently
# falling back to an account key (pkg/blob/blob.go GetAuthEnv, v1.27.0 vs v1.27.1).
MINIMUM_CHART_VERSION = "1.27.1"
QUANTITY = re.compile(r"^([1-9][0-9]*)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
BINARY = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
DECIMAL = ["", "k", "M", "G", "T", "P", "E"]
FILE_REFUSED = ("type file (Azure Files) has no keyless path - a file share needs shared key access for static and "
                "dynamic provisioning alike, so it cannot be mounted with a workload identity token alone. Use a "
                "blob container (type: blob) with the open-source blob CSI driver.")
NFS_REFUSED = ("protocol nfs is refused - NFS mounts carry no credentials, so workload identity does not apply; use "
               "protocol fuse (blobfuse) for a token-only mount.")


def role_options(role, entry_point="main"):
    """The options of a role's argument spec (meta/argument_specs.yml), as ArgumentSpecValidator takes them."""
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml")) as handle:
        return yaml.safe_load(handle)["argument_specs"][entry_point]["options"]


def spec_problems(role, values):
    """The role's own argument spec applied to ``values``: types, choices, required keys, unknown keys."""
    options = {k: v for k, v in role_options(role).items() if k in values}
    result = ArgumentSpecValidator(_as_argument_spec(options)).validate(values)
    return ["%s: %s" % (role, msg) for msg in result.error_messages]


def _as_argument_spec(options):
    """Role argument specs use the module argument-spec keys, minus the documentation ones."""
    spec = {}
    for name, option in options.items():
        option = {k: v for k, v in option.items() if k not in ("description", "version_added")}
        if "options" in option:
            option["options"] = _as_argument_spec(option["options"])
        spec[name] = option
    return spec


def quantity_problem(value, field):
    """A volume size: an integer with a suffix, written as Kubernetes writes it back (``1024Mi`` is stored as
    ``1Gi``; a manifest that differs from the stored object would be re-applied on every run)."""
    match = QUANTITY.match(value) if isinstance(value, str) else None
    if not match:
        return "%s %s is not a size like 10Gi (an integer with Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P or E)" % (
            field, repr(value) if not isinstance(value, str) else "'%s'" % value)
    number, suffix = int(match.group(1)), match.group(2) or ""
    scale, base = (BINARY, 1024) if suffix in BINARY else (DECIMAL, 1000)
    position = scale.index(suffix)
    while number % base == 0 and position + 1 < len(scale):
        number, position = number // base, position + 1
    canonical = "%d%s" % (number, scale[position])
    if canonical != value:
        return "%s '%s' is written by Kubernetes as '%s'; use '%s'" % (field, value, canonical, canonical)
    return None


def _text(value):
    return value if isinstance(value, str) else None


def workload_problems(workloads, client_ids=None, accounts=None, default_size="10Gi"):
    """Every problem of ``keyless_workloads``: what cannot be keyless, Kubernetes names and sizes, GUIDs,
    duplicates, and (with ``accounts``, the inventory's storage accounts) accounts that are not managed."""
    problems, pv_names, seen = [], {}, {}
    for index, workload in enumerate(workloads or []):
        if not isinstance(workload, dict):
            problems.append("keyless_workloads[%d]: must be a dict" % index)
            continue
        label = "keyless_workloads[%d] (%s/%s)" % (index, workload.get("namespace"), workload.get("name"))
        found = one_workload(workload, client_ids, accounts, default_size)
        key = (workload.get("namespace"), workload.get("name"))
        if key in seen:
            found.append("workload %s/%s is listed twice (also keyless_workloads[%d])" % (key + (seen[key],)))
        seen.setdefault(key, index)
        if workload.get("storage_class") is None:
            pv = (workload.get("volume") or {}).get("pv_name") or "pv-%s-%s" % key
            if pv in pv_names:
                found.append("PersistentVolume name %s is used by another workload (keyless_workloads[%d])"
                             % (pv, pv_names[pv]))
            pv_names.setdefault(pv, index)
        problems += ["%s: %s" % (label, p) for p in found if p]
    return problems


def one_workload(w, client_ids, accounts, default_size):
    """The problems of one workload (its own fields)."""
    identity, volume = w.get("identity") or {}, w.get("volume") or {}
    found = [FILE_REFUSED if w.get("type") == "file" else None, NFS_REFUSED if w.get("protocol") == "nfs" else None,
             rules.name_problem("DNS-1123 label", w.get("name"), "name"),
             rules.name_problem("DNS-1123 label", w.get("namespace"), "namespace"),
             rules.name_problem("DNS-1123 subdomain", w.get("service_account"), "service_account"),
             rules.name_problem("storage account", w.get("storage_account"), "storage_account"),
             rules.name_problem("resource group", w.get("resource_group"), "resource_group"),
             rules.name_problem("container", w.get("container"), "container"),
             rules.name_problem("identity", identity.get("name"), "identity.name"),
             quantity_problem(volume.get("size") or default_size, "volume.size")]
    for key in ("pv_name", "pvc_name"):
        if volume.get(key) is not None:
            found.append(rules.name_problem("DNS-1123 subdomain", volume[key], "volume." + key))
    if w.get("storage_class") is not None:
        found.append(rules.name_problem("DNS-1123 subdomain", (w["storage_class"] or {}).get("name"),
                                        "storage_class.name"))
    if identity.get("resource_group") is not None:
        found.append(rules.name_problem("resource group", identity["resource_group"], "identity.resource_group"))
    if identity.get("tenant_id") is not None:
        found.append(rules.guid_problem(identity["tenant_id"], "identity.tenant_id"))
    found.append(client_id_problem(identity, client_ids))
    if accounts is not None and _text(w.get("storage_account")) and w["storage_account"] not in accounts:
        found.append("storage_account %s is not in keyless_storage_accounts; list it there so the chain creates it "
                     "keyless (or fix the name)" % w["storage_account"])
    return found


def client_id_problem(identity, client_ids):
    """A given client ID must be a GUID; without one, the identity must be known (client_ids None: not yet)."""
    if identity.get("client_id") is not None:
        return rules.guid_problem(identity["client_id"], "identity.client_id")
    if client_ids is not None and not (client_ids or {}).get(identity.get("name")):
        return ("no client ID for identity %s; set identity.client_id or run the identities stage first (it exports "
                "keyless_identity_client_ids)." % identity.get("name"))
    return None


def preflight(host, hostname="host"):
    """Every problem of one host's inventory (``host``: its variables), each naming the host, item and field."""
    problems = inventory_problems(host)
    accounts = [a.get("name") for a in host.get("keyless_storage_accounts") or [] if isinstance(a, dict)]
    workloads = host.get("keyless_workloads")
    if workloads is not None:
        problems += spec_problems("workload", {"keyless_workloads": workloads})
        problems += workload_problems(workloads, None, accounts, host.get("workload_default_size") or "10Gi")
    return ["%s: %s" % (hostname, p) for p in problems]


def inventory_problems(host):
    """The host-level variables site.yml and teardown.yml read."""
    problems = [None if host.get("keyless_resource_group") else "keyless_resource_group is required",
                None if host.get("keyless_location") else "keyless_location is required",
                None if isinstance(host.get("keyless_workloads"), list) else "keyless_workloads must be a list"]
    for var, kind in (("keyless_resource_group", "resource group"), ("keyless_cluster_resource_group",
                                                                     "resource group"),
                      ("keyless_identity_resource_group", "resource group"), ("keyless_cluster_name", "cluster")):
        if host.get(var) is not None:
            problems.append(rules.name_problem(kind, host[var], var))
    if host.get("keyless_location") is not None:
        problems.append(rules.exact_problem(host["keyless_location"], "keyless_location",
                                            "Azure region names have no spaces at either end"))
    problems += rules.tag_problems(host.get("keyless_tags"), "keyless_tags")
    problems += account_problems(host.get("keyless_storage_accounts"))
    problems.append(driver_chart_problem(host.get("keyless_blob_csi_driver_chart_ref"),
                                         host.get("keyless_blob_csi_driver_chart_version"), prefix="keyless_blob_csi_driver"))
    workloads = host.get("keyless_workloads") if isinstance(host.get("keyless_workloads"), list) else []
    problems += driver_values_problems(host.get("blob_csi_driver_values"), workloads)
    return [p for p in problems if p]


def account_problems(accounts):
    if accounts is None:
        return []
    if not isinstance(accounts, list):
        return ["keyless_storage_accounts must be a list"]
    problems, seen = [], set()
    for index, account in enumerate(accounts):
        where = "keyless_storage_accounts[%d]" % index
        name = (account or {}).get("name") if isinstance(account, dict) else None
        problems.append(rules.name_problem("storage account", name, where + ".name"))
        if name in seen:
            problems.append("%s: storage account %s is listed twice" % (where, name))
        seen.add(name)
        for position, container in enumerate((account or {}).get("containers") or []):
            container = container.get("name") if isinstance(container, dict) else container
            problems.append(rules.name_problem("container", container, "%s.containers[%d]" % (where, position)))
        problems += rules.tag_problems((account or {}).get("tags"), where + ".tags", name_limit=128)
    return problems


def chart_problem(version, field="keyless_blob_csi_driver_chart_version", minimum=MINIMUM_CHART_VERSION):
    """A chart version must be semver and at least the keyless floor."""
    if version is None:
        return None
    version = str(version)
    problem = rules.semver_problem(version, field)
    if problem:
        return problem
    if rules.semver_key(version) < rules.semver_key(minimum):
        return ("%s %s is older than %s: before 1.27.0 the chart's CSIDriver never refreshes the workload identity "
                "token (no requiresRepublish), so mounts lose access once it expires, and 1.27.0 silently ignores "
                "mountWithWorkloadIdentityToken without a clientID and falls back to the account key"
                % (field, version, minimum))
    return None


def local_chart_version(ref):
    """The version in a local chart's Chart.yaml (a chart directory or a packaged .tgz); None for a chart that is not
    a local path (a repository chart name or an OCI reference), whose version is the pinned chart_version."""
    if not ref or "://" in str(ref) or not os.path.exists(ref):
        return None
    if os.path.isdir(ref):
        with open(os.path.join(ref, "Chart.yaml")) as handle:
            return str(yaml.safe_load(handle).get("version"))
    with tarfile.open(ref) as archive:
        member = next(m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml"))
        return str(yaml.safe_load(archive.extractfile(member)).get("version"))


def driver_chart_problem(chart_ref, chart_version, minimum=MINIMUM_CHART_VERSION, prefix="blob_csi_driver"):
    """The chart the driver role would install: a local chart's own version, else the pinned one."""
    local = local_chart_version(chart_ref)
    if local is not None:
        return chart_problem(local, "%s_chart_ref %s (its Chart.yaml version)" % (prefix, chart_ref), minimum)
    return chart_problem(chart_version, prefix + "_chart_version", minimum)


REPUBLISH_OFF = ("feature.requiresRepublish is false: the kubelet would not republish the volumes, so the driver never "
                 "rewrites the workload identity token (the CSIDriver's tokenRequests expire after 3600 s) and "
                 "long-running pods lose blob access at blobfuse2's first Entra token refresh after that; leave it "
                 "true (the chart's default)")
BLOBFUSE_V1 = ("protocol fuse with the blob CSI driver's node.enableBlobfuseProxy false mounts with blobfuse v1 inside "
               "the driver container (pkg/blob/nodeserver.go mountBlobfuseInsideDriver), which cannot mount with a "
               "workload identity token; use protocol fuse2 (always blobfuse2) or keep the proxy on")


def _false(value):
    return value is False or str(value).strip().lower() == "false"


def driver_values_problems(values, workloads=None, field="blob_csi_driver_values"):
    """Chart values that would break token-only mounts: republish off, or blobfuse v1 for a ``fuse`` workload."""
    if values is None:
        return []
    if not isinstance(values, dict):
        return ["%s must be a dict of chart values" % field]
    feature, node = values.get("feature") or {}, values.get("node") or {}
    problems = ["%s: %s" % (field, REPUBLISH_OFF)] if _false(feature.get("requiresRepublish")) else []
    if _false(node.get("enableBlobfuseProxy")):
        for index, workload in enumerate(workloads or []):
            if isinstance(workload, dict) and (workload.get("protocol") or "fuse") == "fuse":
                problems.append("keyless_workloads[%d] (%s/%s): %s" % (
                    index, workload.get("namespace"), workload.get("name"), BLOBFUSE_V1))
    return problems


class FilterModule:
    def filters(self):
        return {"preflight": preflight, "workload_problems": workload_problems, "chart_problem": chart_problem,
                "driver_chart_problem": driver_chart_problem, "driver_values_problems": driver_values_problems}
