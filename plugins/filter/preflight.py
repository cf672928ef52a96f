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

from ansible_collections.keyless.aks_storage.plugins.filter.chain import QUANTITY
from ansible_collections.keyless.aks_storage.plugins.module_utils import rules

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "roles")
# 1.27.0 is the first chart whose CSIDriver refreshes the token (requiresRepublish, expirationSeconds 3600);
# 1.27.1 the first driver that refuses mountWithWorkloadIdentityToken without a clientID instead of silently
# falling back to an account key (pkg/blob/blob.go GetAuthEnv, v1.27.0 vs v1.27.1).
MINIMUM_CHART_VERSION = "1.27.1"
BINARY = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
DECIMAL = ["", "k", "M", "G", "T", "P", "E"]
NFS_REFUSED = ("protocol nfs is refused - NFS mounts carry no credentials (the blob and Azure Files drivers mount "
               "NFS without the workload identity), so there is no keyless path; use protocol fuse or fuse2 for a "
               "blob container, smb (the default) for an Azure Files share.")
# Keyless dynamic provisioning of Azure Files would need the driver's controller identity to hold Storage Account
# Contributor, which can list keys (docs/research/azure-files.md "allowSharedKeyAccess=false", dynamic provisioning).
FILE_STORAGE_CLASS_REFUSED = ("storage_class with type file is refused - dynamic provisioning of Azure Files is not "
                              "keyless yet: the driver's controller would create the share with an identity that needs "
                              "a key-listing role (Storage Account Contributor). Omit storage_class: the storage stage "
                              "creates the share through ARM and the role mounts it with a static volume.")
# StorageClass parameters (blob-csi-driver v1.27.9 pkg/blob/blob.go field names, compared without case): the role
# sets the keyless ones itself; a user may add only volume-level ones. Each refused group says why.
ROLE_SET_PARAMETERS = ("storageaccount", "resourcegroup", "containername", "clientid", "mountwithworkloadidentitytoken",
                       "protocol", "subscriptionid", "tenantid")
KEY_PARAMETERS = ("storeaccountkey", "getlatestaccountkey", "usedataplaneapi", "secretname", "secretnamespace",
                  "azurestorageauthtype", "getaccountkeyfromsecret", "keyvaulturl", "keyvaultsecretname",
                  "keyvaultsecretversion", "azurestoragespnclientid", "azurestoragespntenantid", "accountkey",
                  "accountname", "storageaccountname")
CLASS_PARAMETERS_ALLOWED = ("mountPermissions", "fsGroupChangePolicy")
PROTOCOLS = {"blob": ("fuse", "fuse2", "nfs"), "file": ("smb", "nfs")}
# SMB mount options that would weaken a token-only mount: the driver sets sec=krb5,cruid=0,upcall_target=mount
# itself (pkg/azurefile/nodeserver.go, v1.35.7), SMB below 3.0 has no encryption, and credentials in mount options
# are exactly what a keyless mount must not carry (docs/research/azure-files.md "Mount options", "Flow").
WEAK_SMB_OPTIONS = (
    (re.compile(r"^vers=(1\.0|2\.0|2\.1|1|2)$"),
     "SMB below 3.0 has no encryption; leave vers unset (3.1.1 is negotiated)"),
    (re.compile(r"^sec="), "the driver sets sec=krb5 for a token-only mount; another sec= would not use the token"),
    (re.compile(r"^(username|user|password|pass|credentials|cred|domain|dom)="),
     "credentials in mount options are not keyless; the driver mounts with the workload identity's Kerberos ticket"),
)


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
    found = [NFS_REFUSED if w.get("protocol") == "nfs" else None,
             rules.name_problem("DNS-1123 label", w.get("name"), "name"),
             rules.name_problem("DNS-1123 label", w.get("namespace"), "namespace"),
             rules.name_problem("DNS-1123 subdomain", w.get("service_account"), "service_account"),
             rules.name_problem("storage account", w.get("storage_account"), "storage_account"),
             rules.name_problem("resource group", w.get("resource_group"), "resource_group"),
             rules.name_problem("identity", identity.get("name"), "identity.name"),
             quantity_problem(volume.get("size") or default_size, "volume.size")]
    found += storage_target_problems(w)
    for key in ("pv_name", "pvc_name"):
        if volume.get(key) is not None:
            found.append(rules.name_problem("DNS-1123 subdomain", volume[key], "volume." + key))
    if w.get("storage_class") is not None:
        found += storage_class_problems(w["storage_class"] or {})
    if identity.get("resource_group") is not None:
        found.append(rules.name_problem("resource group", identity["resource_group"], "identity.resource_group"))
    if identity.get("tenant_id") is not None:
        found.append(rules.guid_problem(identity["tenant_id"], "identity.tenant_id"))
    found.append(client_id_problem(identity, client_ids))
    if accounts is not None and _text(w.get("storage_account")) and w["storage_account"] not in accounts:
        found.append("storage_account %s is not in keyless_storage_accounts; list it there so the chain creates it "
                     "keyless (or fix the name)" % w["storage_account"])
    return found


def storage_class_problems(storage_class):
    """A workload's StorageClass: a valid name, an explicit reclaim policy, and no parameter that would store, list
    or use an account key or would have the driver create an account (it must use the pre-created keyless one)."""
    found = [rules.name_problem("DNS-1123 subdomain", storage_class.get("name"), "storage_class.name")]
    if storage_class.get("reclaim_policy", "Retain") not in ("Retain", "Delete"):
        found.append("storage_class.reclaim_policy must be Retain or Delete (Delete deletes the container and its "
                     "data with the claim)")
    for key in storage_class.get("parameters") or {}:
        found.append(class_parameter_problem(str(key)))
    return found


def class_parameter_problem(key):
    """Why a user-given StorageClass parameter is refused (None when it is allowed)."""
    lowered, field = key.lower(), "storage_class.parameters." + key
    if lowered in (k.lower() for k in CLASS_PARAMETERS_ALLOWED):
        return None
    if lowered in ROLE_SET_PARAMETERS:
        return "%s is set by the role from the workload (token-only, the pre-created account)" % field
    if lowered in KEY_PARAMETERS:
        return ("%s is refused - it makes the blob CSI driver store, list or use an account key; a keyless class "
                "mounts with the workload identity token only" % field)
    return ("%s is refused - the class points at the pre-created keyless account, so account settings belong to "
            "keyless_storage_accounts; only %s may be added" % (field, ", ".join(CLASS_PARAMETERS_ALLOWED)))


def storage_target_problems(w):
    """What a workload mounts: a blob ``container`` (type blob) or a file ``share`` (type file), each with the
    protocols and settings its driver can mount keyless."""
    kind = w.get("type") or "blob"
    if kind not in PROTOCOLS:
        return []  # the argument spec names the choices
    field, other = ("share", "container") if kind == "file" else ("container", "share")
    if w.get(field) is None:
        found = ["%s is required for type %s" % (field, kind)]
    else:
        found = [rules.name_problem("file share" if kind == "file" else "container", w[field], field)]
    if w.get(other) is not None:
        found.append("%s is for type %s; a type %s workload mounts its %s" % (
            other, "file" if kind == "blob" else "blob", kind, field))
    if w.get("protocol") is not None and w["protocol"] not in PROTOCOLS[kind]:
        found.append("protocol %s does not apply to type %s; use one of %s" % (
            w["protocol"], kind, ", ".join(p for p in PROTOCOLS[kind] if p != "nfs")))
    if kind == "file":
        found.append(FILE_STORAGE_CLASS_REFUSED if w.get("storage_class") is not None else None)
        found += smb_mount_option_problems((w.get("volume") or {}).get("mount_options"))
    return found


def smb_mount_option_problems(options):
    """The user's SMB mount options that would weaken a token-only mount (see WEAK_SMB_OPTIONS)."""
    found = []
    for option in options or []:
        for part in str(option).replace(" ", ",").split(","):
            why = next((reason for pattern, reason in WEAK_SMB_OPTIONS if pattern.match(part.strip().lower())), None)
            if why:
                found.append("volume.mount_options %s is refused: %s" % (part.strip(), why))
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
    problems += controller_identity_problems(host.get("keyless_blob_csi_controller_identity"))
    problems.append(driver_chart_problem(host.get("keyless_blob_csi_driver_chart_ref"),
                                         host.get("keyless_blob_csi_driver_chart_version"), prefix="keyless_blob_csi_driver"))
    workloads = host.get("keyless_workloads") if isinstance(host.get("keyless_workloads"), list) else []
    problems += driver_values_problems(host.get("blob_csi_driver_values"), workloads)
    problems.append(driver_chart_problem(host.get("keyless_azurefile_csi_driver_chart_ref"),
                                         host.get("keyless_azurefile_csi_driver_chart_version"), FILE_REPUBLISH_VERSION,
                                         prefix="keyless_azurefile_csi_driver", driver="file"))
    problems += driver_values_problems(host.get("azurefile_csi_driver_values"), field="azurefile_csi_driver_values",
                                       driver="file")
    return [p for p in problems if p]


def controller_identity_problems(identity):
    """keyless_blob_csi_controller_identity: {name, resource_group?} of the blob CSI controller's own identity."""
    field = "keyless_blob_csi_controller_identity"
    if identity is None:
        return []
    if not isinstance(identity, dict):
        return ["%s must be a dict with name (and resource_group)" % field]
    problems = [rules.name_problem("identity", identity.get("name"), field + ".name")]
    if identity.get("resource_group") is not None:
        problems.append(rules.name_problem("resource group", identity["resource_group"], field + ".resource_group"))
    problems += ["%s.%s is not an option (name, resource_group)" % (field, k) for k in identity
                 if k not in ("name", "resource_group")]
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


def chart_problem(version, field="keyless_blob_csi_driver_chart_version", minimum=MINIMUM_CHART_VERSION,
                  driver="blob"):
    """A chart version must be semver and at least the keyless floor (``driver``: blob or file, for the reason)."""
    if version is None:
        return None
    version = str(version)
    problem = rules.semver_problem(version, field)
    if problem:
        return problem
    if rules.semver_key(version) < rules.semver_key(minimum):
        return TOO_OLD[driver](field, version, minimum)
    return None


def _blob_too_old(field, version, minimum):
    return ("%s %s is older than %s: before 1.27.0 the chart's CSIDriver never refreshes the workload identity "
            "token (no requiresRepublish), so mounts lose access once it expires, and 1.27.0 silently ignores "
            "mountWithWorkloadIdentityToken without a clientID and falls back to the account key"
            % (field, version, minimum))


# docs/research/azure-files.md sections 1-2: mountWithWorkloadIdentityToken arrives in driver 1.35.0 (PR #2902,
# commit 9bd37489d; before it a workload identity mount lists the account key), and the chart's CSIDriver sets
# requiresRepublish only from 1.35.3 (commit cb86016d8).
FILE_TOKEN_MOUNTS_VERSION = "1.35.0"
FILE_REPUBLISH_VERSION = "1.35.3"


def _file_too_old(field, version, minimum):
    key = rules.semver_key(version)
    if key < rules.semver_key(FILE_TOKEN_MOUNTS_VERSION):
        return ("%s %s cannot mount Azure Files with a workload identity token alone: token-only SMB mounts "
                "(mountWithWorkloadIdentityToken) need driver 1.35.0, and the chart's CSIDriver refreshes the token "
                "(requiresRepublish) from 1.35.3" % (field, version))
    if key < rules.semver_key(FILE_REPUBLISH_VERSION):
        return ("%s %s is older than %s: the chart's CSIDriver has no requiresRepublish before 1.35.3, so the kubelet "
                "never hands the driver a fresh workload identity token and mounts lose access to the share once the "
                "first one expires" % (field, version, minimum))
    return "%s %s is older than the minimum version %s" % (field, version, minimum)


TOO_OLD = {"blob": _blob_too_old, "file": _file_too_old}


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


def driver_chart_problem(chart_ref, chart_version, minimum=MINIMUM_CHART_VERSION, prefix="blob_csi_driver",
                         driver="blob"):
    """The chart the driver role would install: a local chart's own version, else the pinned one."""
    local = local_chart_version(chart_ref)
    if local is not None:
        return chart_problem(local, "%s_chart_ref %s (its Chart.yaml version)" % (prefix, chart_ref), minimum, driver)
    return chart_problem(chart_version, prefix + "_chart_version", minimum, driver)


REPUBLISH_OFF = ("feature.requiresRepublish is false: the kubelet would not republish the volumes, so the driver never "
                 "rewrites the workload identity token (the CSIDriver's tokenRequests expire after 3600 s) and "
                 "long-running pods lose blob access at blobfuse2's first Entra token refresh after that; leave it "
                 "true (the chart's default)")
BLOBFUSE_V1 = ("protocol fuse with the blob CSI driver's node.enableBlobfuseProxy false mounts with blobfuse v1 inside "
               "the driver container (pkg/blob/nodeserver.go mountBlobfuseInsideDriver), which cannot mount with a "
               "workload identity token; use protocol fuse2 (always blobfuse2) or keep the proxy on")


def _false(value):
    return value is False or str(value).strip().lower() == "false"


def driver_values_problems(values, workloads=None, field="blob_csi_driver_values", driver="blob"):
    """Chart values that would break token-only mounts: republish off, or blobfuse v1 for a ``fuse`` workload
    (``driver`` blob), or the Files driver's token-mount parts off (``driver`` file)."""
    if values is None:
        return []
    if not isinstance(values, dict):
        return ["%s must be a dict of chart values" % field]
    if driver == "file":
        return file_values_problems(values, field)
    feature, node = values.get("feature") or {}, values.get("node") or {}
    problems = ["%s: %s" % (field, REPUBLISH_OFF)] if _false(feature.get("requiresRepublish")) else []
    if _false(node.get("enableBlobfuseProxy")):
        for index, workload in enumerate(workloads or []):
            if isinstance(workload, dict) and (workload.get("protocol") or "fuse") == "fuse":
                problems.append("keyless_workloads[%d] (%s/%s): %s" % (
                    index, workload.get("namespace"), workload.get("name"), BLOBFUSE_V1))
    return problems


# docs/research/azure-files.md section 1 (chart values at v1.35.7) and section 3 (token flow).
FILE_REPUBLISH_OFF = ("feature.requiresRepublish is false: the chart's CSIDriver would not ask the kubelet to "
                      "republish the volumes, so the driver never gets a fresh workload identity token (the "
                      "TokenRequest default lifetime, 1 h, since the chart sets no expirationSeconds) and long-running "
                      "pods lose access to the share once it expires; leave it true (the chart's default)")
FILE_MI_AUTH_OFF = ("node.enableManagedIdentityAuth is false: the node DaemonSet loses the azfilesrefresh sidecar and "
                    "the host's Kerberos set-up (/etc/azfilesauth, krb5.conf), so a token-only SMB mount "
                    "(mountWithWorkloadIdentityToken) gets no Kerberos ticket; leave it true (the chart's default)")
FILE_LINUX_OFF = ("linux.enabled is false: the chart renders no Linux node DaemonSet, and token-only SMB mounts work "
                  "on Linux nodes only (on Windows the driver takes the account-key path and fails); leave it true")


def file_values_problems(values, field="azurefile_csi_driver_values"):
    """Azure Files chart values that break token-only SMB mounts."""
    feature, node, linux = values.get("feature") or {}, values.get("node") or {}, values.get("linux") or {}
    found = [FILE_REPUBLISH_OFF if _false(feature.get("requiresRepublish")) else None,
             FILE_MI_AUTH_OFF if _false(node.get("enableManagedIdentityAuth")) else None,
             FILE_LINUX_OFF if _false(linux.get("enabled")) else None]
    return ["%s: %s" % (field, problem) for problem in found if problem]


class FilterModule:
    def filters(self):
        return {"preflight": preflight, "workload_problems": workload_problems, "chart_problem": chart_problem,
                "driver_chart_problem": driver_chart_problem, "driver_values_problems": driver_values_problems}
