# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doctor's judgments: pure functions from what was read to one link result each.

A link is a dict ``{link, workload, status, summary, evidence, fix}``; ``status`` is ``ok``, ``warn``, ``fail`` or
``unknown`` (not judged: a link it depends on is not ok, or the read was refused). Nothing here reads or writes.
"""

from __future__ import annotations

import json
import re

from ansible_collections.keyless.aks_storage.plugins.module_utils import provisioner, rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.rbac import scope_covers

OK, WARN, FAIL, UNKNOWN = "ok", "warn", "fail", "unknown"
STATUSES = (OK, WARN, FAIL, UNKNOWN)
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
FIC_LIMIT = 20  # federated identity credentials per user-assigned identity
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
DATA_ACTIONS = {"read": (BLOBS + "/read",), "readwrite": (BLOBS + "/read", BLOBS + "/write")}
DATA_ROLE = {"read": "Storage Blob Data Reader", "readwrite": "Storage Blob Data Contributor"}
DRIVER = "blob.csi.azure.com"
FILE_DRIVER = "file.csi.azure.com"
FILES = "Microsoft.Storage/storageAccounts/fileServices/fileshares/files"
# The token-only SMB mount runs as the share's built-in administrator: the driver's docs grant "Storage File Data
# SMB MI Admin" (its dataActions, built-in-roles/storage.md) and call the other SMB roles not sufficient.
FILE_ADMIN = "Microsoft.Storage/storageAccounts/fileServices/runAsBuiltInFileAdministrator/action"
FILE_DATA_ACTIONS = {"read": (FILE_ADMIN, FILES + "/read"),
                     "readwrite": (FILE_ADMIN, FILES + "/read", FILES + "/write")}
FILE_DATA_ROLE = "Storage File Data SMB MI Admin"
AKS_MANAGED_LABEL = "kubernetes.azure.com/managedby"
_VERSION_TAG = re.compile(r":v?(\d+)\.(\d+)\.(\d+)(?:[-+@].*)?$")


class StorageKind:
    """What differs between the two keyless storage kinds: blob containers (blobfuse2) and Azure Files shares (SMB
    with Kerberos from an Entra token). The judgments below take one and are otherwise shared."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


BLOB = StorageKind(
    type="blob", driver=DRIVER, target="container", data_actions=DATA_ACTIONS, data_role=DATA_ROLE,
    role_target="container", denied="the data plane answers 403 AuthorizationPermissionMismatch", role_note="",
    csi_link="csi_driver", version_link="driver_version", nodes_link="driver_nodes", managed_link="managed_blob_driver",
    managed_profile="blobCSIDriver", managed_default=False, managed_flag="--disable-blob-driver",
    role="keyless.aks_storage.blob_csi_driver", chart_var="blob_csi_driver_chart_version",
    minimum_var="blob_csi_driver_minimum_version", chart_note="the chart (>= 1.27.0, feature.requiresRepublish true)",
    token_expiration=3600, node_containers=("blob", "blob-csi", "azureblob"), chart_floor=(0, 0, 0),
    version_means="token-only mounts that refresh their token", name="blob")
# Azure Files: token-only from driver v1.35.0; its chart renders requiresRepublish only from 1.35.3 and no
# expirationSeconds (docs/research/azure-files.md section 1, charts/v1.35.7 templates/csi-azurefile-driver.yaml).
FILE = StorageKind(
    type="file", driver=FILE_DRIVER, target="share", data_actions=FILE_DATA_ACTIONS,
    data_role={"read": FILE_DATA_ROLE, "readwrite": FILE_DATA_ROLE}, role_target="account",
    denied="the node gets no Kerberos ticket for the share: Error getting Kerberos service ticket",
    role_note="; share-scoped roles and SMB Share Contributor or Elevated Contributor are not sufficient "
              "(azurefile-csi-driver docs/workload-identity-static-pv-mount.md)",
    csi_link="file_csi_driver", version_link="file_driver_version", nodes_link="file_driver_nodes",
    managed_link="managed_file_driver", managed_profile="fileCSIDriver", managed_default=True,
    managed_flag="--disable-file-driver", role="keyless.aks_storage.azurefile_csi_driver",
    chart_var="azurefile_csi_driver_chart_version", minimum_var="azurefile_csi_driver_minimum_version",
    chart_note="the chart (>= 1.35.3)", token_expiration=None, node_containers=("azurefile",), chart_floor=(1, 35, 3),
    version_means="token-only SMB mounts (mountWithWorkloadIdentityToken)", name="Azure Files")
KINDS = {"blob": BLOB, "file": FILE}


def link(name, status, summary, evidence=None, fix=None, workload=None):
    return {"link": name, "workload": workload, "status": status, "summary": summary,
            "evidence": evidence or {}, "fix": fix}


def blocked(name, reasons, workload=None):
    """The link ``name`` could not be judged because the links in ``reasons`` ({link: status}) are not ok."""
    shown = ", ".join("%s is %s" % item for item in sorted(reasons.items()))
    return link(name, UNKNOWN, "not checked: " + shown, {"blocked_by": sorted(reasons)}, None, workload)


def subject_of(namespace, service_account):
    return "system:serviceaccount:%s:%s" % (namespace, service_account)


# ---- Azure -------------------------------------------------------------------------------------------------------
def issuer_difference(expected, found):
    """None when the issuers are equal (Entra compares them exactly), else how they differ."""
    if found == expected:
        return None
    if (found or "").rstrip("/") == (expected or "").rstrip("/"):
        return "only the trailing slash differs"
    if (found or "").lower() == (expected or "").lower():
        return "only the letter case differs"
    if (found or "").rstrip("/").lower() == (expected or "").rstrip("/").lower():
        return "only the letter case and the trailing slash differ"
    return "another issuer (an older or another cluster's)"


CREDENTIAL_PHRASES = ("issuer %s is not %s (%s)", "subject %s is not %s", "audiences %s are not [%s]")
TOKEN_PHRASES = ("iss %s is not the cluster's issuer %s (%s)", "sub %s is not %s", "aud %s lacks %s")


def federation_mismatches(found, issuer, subject, phrases):
    """How ``found`` (issuer, subject, audiences) differs from the cluster's issuer, the subject and the token
    audience, in ``phrases``: CREDENTIAL_PHRASES (the audiences must be exactly [TOKEN_AUDIENCE]) or TOKEN_PHRASES
    (they must contain it)."""
    got_issuer, got_subject, audiences = found
    problems = []
    difference = issuer_difference(issuer, got_issuer)
    if difference:
        problems.append(phrases[0] % (got_issuer, issuer, difference))
    if got_subject != subject:
        problems.append(phrases[1] % (got_subject, subject))
    exact = phrases is CREDENTIAL_PHRASES
    if (list(audiences or []) != [TOKEN_AUDIENCE]) if exact else (TOKEN_AUDIENCE not in audiences):
        problems.append(phrases[2] % (audiences, TOKEN_AUDIENCE))
    return problems


def credential_mismatches(cred, issuer, subject):
    """What keeps one federated credential ({issuer, subject, audiences}) from matching, as readable phrases."""
    return federation_mismatches((cred.get("issuer"), cred.get("subject"), cred.get("audiences")), issuer,
                                 subject, CREDENTIAL_PHRASES)


def judge_federated_credentials(creds, issuer, subject, identity, workload=None):
    """The credential link: one credential on ``identity`` (name, resource_group) matches issuer, subject, audience."""
    name = "federated_credential"
    evidence = {"issuer": issuer, "subject": subject, "audience": TOKEN_AUDIENCE, "count": len(creds),
                "limit": FIC_LIMIT}
    matching = [c["name"] for c in creds if not credential_mismatches(c, issuer, subject)]
    if matching:
        evidence["credential"] = matching[0]
        return link(name, OK, "credential %s trusts %s from the current issuer" % (matching[0], subject),
                    evidence, None, workload)
    closest = sorted(((credential_mismatches(c, issuer, subject), c["name"]) for c in creds), key=lambda x: len(x[0]))
    create = ("az identity federated-credential create --resource-group %s --identity-name %s --name <name> "
              "--issuer %s --subject %s --audiences %s" % (identity[0], identity[1], issuer, subject, TOKEN_AUDIENCE))
    if closest and len(closest[0][0]) < 3:
        problems, cred = closest[0]
        evidence.update(closest=cred, mismatches=problems)
        summary = "no credential matches; the closest, %s: %s (Entra answers AADSTS700213/AADSTS70021)" % (
            cred, "; ".join(problems))
        fix = ("re-run site.yml --tags federation (it converges credential %s), or: az identity federated-credential "
               "update --resource-group %s --identity-name %s --name %s --issuer %s --subject %s --audiences %s"
               % (cred, identity[0], identity[1], cred, issuer, subject, TOKEN_AUDIENCE))
    else:
        summary = "no federated credential on identity %s trusts %s (Entra answers AADSTS700213)" % (
            identity[1], subject)
        fix = "re-run site.yml --tags federation, or: " + create
    if len(creds) >= FIC_LIMIT:
        summary += "; the identity already holds the maximum of %d credentials" % FIC_LIMIT
        if "closest" not in evidence:  # updating an existing credential needs no free slot
            fix = "delete an unused credential first (az identity federated-credential delete), then " + fix
    return link(name, FAIL, summary, evidence, fix, workload)


def short_action(action):
    """The action's last word: ``.../blobs/read`` -> ``read``, ``.../runAsBuiltInFileAdministrator/action`` ->
    ``runAsBuiltInFileAdministrator``."""
    parts = action.split("/")
    return parts[-2] if parts[-1] == "action" else parts[-1]


def judge_role_assignments(assignments, definitions, target_scope, access, principal, workload=None, kind=BLOB):
    """The data-role link: roles assigned to ``principal`` at ``target_scope`` (the container; the account for Azure
    Files, the narrowest scope its driver documents) or above allow the data actions ``access`` needs.
    ``definitions`` maps a role definition id (lowered) to its REST body (None when unreadable); custom roles count
    by their dataActions like built-in ones."""
    name, needed = "role_assignment", kind.data_actions[access]
    covering, elsewhere, granted, conditional = [], [], set(), []
    for item in assignments:
        props = item.get("properties") or item
        scope, role_id = props.get("scope", ""), (props.get("roleDefinitionId") or "").lower()
        role = definitions.get(role_id) or {}
        role_name = (role.get("properties") or {}).get("roleName") or rbac.role_guid(role_id)
        if not scope_covers(scope, target_scope):
            elsewhere.append("%s at %s" % (role_name, scope))
            continue
        covering.append("%s at %s" % (role_name, scope))
        permissions = (role.get("properties") or {}).get("permissions") or []
        for action in needed:
            if rbac.permits(permissions, data_action=action):
                granted.add(action)
        if props.get("condition"):
            conditional.append(role_name)
    missing = [a for a in needed if a not in granted]
    evidence = {"principal_id": principal, "scope": target_scope, "needed": list(needed),
                "covering": covering, "not_covering": elsewhere, "missing": missing}
    if not missing:
        status = WARN if conditional else OK
        summary = "%s allow %s" % ("; ".join(covering), ", ".join(map(short_action, needed)))
        if conditional:
            summary += "; conditions on %s are not evaluated here (the live probe tests them)" % ", ".join(conditional)
        return link(name, status, summary, evidence, None, workload)
    what = ("no role assignment at the %s or above" % kind.role_target if not covering
            else "; ".join(covering) + " do not allow")
    summary = "%s %s (%s)" % (what, ", ".join(map(short_action, missing)), kind.denied)
    if elsewhere:
        summary += "; %s do not cover this %s" % ("; ".join(elsewhere), kind.role_target)
    fix = ("re-run site.yml --tags rbac, or: az role assignment create --assignee-object-id %s "
           "--assignee-principal-type ServicePrincipal --role \"%s\" --scope %s%s"
           % (principal, kind.data_role[access], target_scope, kind.role_note))
    return link(name, FAIL, summary, evidence, fix, workload)


def judge_smb_oauth(props, rg, account):
    """SMB OAuth on the account (properties of a storage account): a token-only SMB mount trades its Entra token
    for a Kerberos ticket, which the account issues only with isSmbOAuthEnabled and no other identity source
    (directoryServiceOptions None; files-managed-identities.md)."""
    auth = props.get("azureFilesIdentityBasedAuthentication") or {}
    enabled = (auth.get("smbOAuthSettings") or {}).get("isSmbOAuthEnabled")
    source = auth.get("directoryServiceOptions")
    evidence = {"isSmbOAuthEnabled": enabled, "directoryServiceOptions": source}
    command = "az storage account update -g %s -n %s --enable-smb-oauth true" % (rg, account)
    if enabled is not True:
        return link("smb_oauth", FAIL, "SMB OAuth is %s on account %s: the share cannot be mounted with an Entra "
                    "token (the node gets no Kerberos ticket)" % ("off" if enabled is False else "unset (off)",
                                                                  account), evidence,
                    "run site.yml --tags storage (smb_oauth: true), or: " + command)
    if source not in (None, "None"):
        return link("smb_oauth", FAIL, "account %s has another identity source (directoryServiceOptions %s): SMB "
                    "OAuth needs None" % (account, source), evidence,
                    "use an account without an AD DS, Entra Domain Services or Entra Kerberos source, or set "
                    "directoryServiceOptions None; then run site.yml --tags storage")
    return link("smb_oauth", OK, "SMB OAuth is on and no other identity source is set", evidence)


def judge_share(share, name, account):
    """The file share exists (ARM ``fileServices/default/shares``) and speaks SMB, the protocol with an identity."""
    if share is None:
        return link("share", FAIL, "file share %s does not exist in %s" % (name, account), {"share": name},
                    "run site.yml --tags storage (file_shares of keyless_storage_accounts)")
    props = share.get("properties") or {}
    protocol = props.get("enabledProtocols") or "SMB"
    evidence = {"id": share.get("id"), "enabledProtocols": props.get("enabledProtocols"),
                "shareQuota": props.get("shareQuota")}
    if protocol.upper() != "SMB":
        return link("share", FAIL, "file share %s is %s: NFS mounts carry no identity (token-only is SMB)" % (
            name, protocol), evidence, "an SMB share is needed: the protocol is set only when a share is created "
            "(enabledProtocols): create an SMB share and point the workload at it")
    return link("share", OK, "file share %s exists (SMB)" % name, evidence)


def job_state(job):
    """complete, failed or running, from a Job's conditions (as the Job controller sets them)."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return "complete" if condition["type"] == "Complete" else "failed"
    return "running"


def judge_validation_job(jobs, events, claim, workload=None):
    """The data link of an Azure Files workload, from the latest validation Job that mounts ``claim``: the controller
    has no SMB or Kerberos client to probe a share with, and the Job's pod did mount it on a node as the workload's
    service account. ``events``: the latest events of the claim's pods (FailedMount carries the mount's error)."""
    name = "probe_data"
    if not jobs:
        return link(name, UNKNOWN, "no validation Job mounts claim %s (the workload role's Job is deleted a day "
                    "after it finishes), and Azure Files SMB cannot be probed from here" % claim, {"claim": claim},
                    "run site.yml --tags workloads (it runs the validation Job again)", workload)
    job = max(jobs, key=lambda j: (j.get("metadata") or {}).get("creationTimestamp") or "")
    meta, status = job.get("metadata") or {}, job.get("status") or {}
    state = job_state(job)
    evidence = {"job": meta.get("name"), "state": state, "created": meta.get("creationTimestamp"),
                "completionTime": status.get("completionTime"), "claim": claim}
    if state == "complete":
        return link(name, OK, "validation Job %s mounted the share and its probe passed (completed %s; SMB is not "
                    "probed from here)" % (meta.get("name"), status.get("completionTime")), evidence, None, workload)
    if state == "running":
        return link(name, UNKNOWN, "validation Job %s has not finished" % meta.get("name"), evidence,
                    "re-run the doctor when it has (kubectl -n %s get job %s)" % (meta.get("namespace"),
                                                                                  meta.get("name")), workload)
    prefix = "%s-" % meta.get("name")
    mounts = [e for e in events if e.get("reason") == "FailedMount" and (e.get("pod") or "").startswith(prefix)]
    conditions = [c for c in status.get("conditions") or [] if c.get("type") == "Failed"]
    cause = mounts[-1]["message"] if mounts else "%s: %s (its pod's log says why)" % (
        (conditions or [{}])[0].get("reason"), (conditions or [{}])[0].get("message"))
    evidence["cause"] = cause
    return link(name, FAIL, "validation Job %s failed: %s" % (meta.get("name"), cause), evidence,
                "fix what the message names, then run site.yml --tags workloads (it replaces a failed validation "
                "Job, so the mount is tried again)", workload)


# ---- cluster -----------------------------------------------------------------------------------------------------
def judge_csi_driver(spec, kind=BLOB, labels=None, audience=TOKEN_AUDIENCE):
    """The CSIDriver object's spec (None when missing): the open-source driver's (not AKS-labelled), a token for
    ``audience`` and requiresRepublish (expirationSeconds is not required: the API server defaults it to an hour)."""
    name = kind.csi_link
    if spec is None:
        return link(name, FAIL, "CSIDriver %s does not exist: the open-source %s driver is not installed" % (
            kind.driver, kind.name), {"csidriver": None}, "run site.yml --tags driver (role %s)" % kind.role)
    requests = spec.get("tokenRequests") or []
    audiences = [r.get("audience") for r in requests]
    evidence = {"tokenRequests": requests, "requiresRepublish": spec.get("requiresRepublish")}
    problems = []
    if (labels or {}).get(AKS_MANAGED_LABEL) == "aks":
        evidence["labels"] = labels
        problems.append("it carries the label %s: aks, so it is the AKS-managed driver's, which AKS reconciles "
                        "over the chart's" % AKS_MANAGED_LABEL)
    if audience not in audiences:
        problems.append("tokenRequests %s has no audience %s: the kubelet passes no token and the driver mounts an "
                        "empty node-local directory" % (audiences, audience))
    if spec.get("requiresRepublish") is not True:
        problems.append("requiresRepublish is %s: the mount keeps its first token and fails when it expires (about "
                        "an hour)" % spec.get("requiresRepublish"))
    if problems:
        return link(name, FAIL, "; ".join(problems), evidence, csi_driver_fix(kind, audience))
    return link(name, OK, "CSIDriver requests a %s token and republishes" % audience, evidence)


def csi_driver_fix(kind, audience):
    request = {"audience": audience}
    if kind.token_expiration:
        request["expirationSeconds"] = kind.token_expiration
    patch = json.dumps({"spec": {"requiresRepublish": True, "tokenRequests": [request]}}, separators=(",", ":"))
    return ("%s renders both; this CSIDriver was changed or installed by something else (an AKS-managed one: turn "
            "the managed driver off first, %s): kubectl patch csidriver %s --type merge -p '%s' (or helm upgrade the "
            "release: site.yml --tags driver upgrades only when the chart version or values change)"
            % (kind.chart_note, kind.managed_flag, kind.driver, patch))


def image_version(image):
    match = _VERSION_TAG.search(image or "")
    return tuple(int(match.group(i)) for i in (1, 2, 3)) if match else None


def judge_driver_version(images, floor, kind=BLOB):
    """The node DaemonSet's driver container image tag is at least ``floor`` (x.y.z)."""
    name = kind.version_link
    versions = [(image, image_version(image)) for image in images]
    known = [v for _image, v in versions if v]
    evidence = {"images": images, "minimum": floor}
    if not known:
        return link(name, UNKNOWN, "no version tag in the node DaemonSet's images %s" % images, evidence,
                    "check the driver's version with helm list -n <namespace>")
    lowest = min(known)
    shown = ".".join(str(p) for p in lowest)
    evidence["version"] = shown
    wanted = tuple(int(p) for p in floor.lstrip("v").split(".")[:3])
    if lowest < wanted:
        chart = ".".join(str(p) for p in max(wanted, kind.chart_floor))
        return link(name, FAIL, "driver %s is below %s, the lowest this collection supports for %s (%s)" % (
            shown, floor, kind.version_means, kind.minimum_var), evidence,
            "upgrade the driver: set %s to %s or newer and run site.yml --tags driver" % (kind.chart_var, chart))
    return link(name, OK, "driver %s (at least %s)" % (shown, floor), evidence)


def judge_daemonset(name_shown, status, kind=BLOB):
    """The node DaemonSet (status dict, None when missing) runs a ready pod on every node it targets."""
    name = kind.nodes_link
    if status is None:
        return link(name, FAIL, "DaemonSet %s does not exist" % name_shown, {"daemonset": name_shown},
                    "run site.yml --tags driver")
    desired, ready = status.get("desiredNumberScheduled") or 0, status.get("numberReady") or 0
    evidence = {"daemonset": name_shown, "desired": desired, "ready": ready,
                "updated": status.get("updatedNumberScheduled")}
    if desired == 0 or ready < desired:
        return link(name, FAIL, "DaemonSet %s has %d of %d node pods ready" % (name_shown, ready, desired), evidence,
                    "kubectl -n <namespace> describe daemonset %s (image pulls, node selectors, taints)"
                    % name_shown.split("/")[-1])
    return link(name, OK, "%d of %d node pods ready" % (ready, desired), evidence)


def judge_managed_driver(props, kind, rg, cluster):
    """The AKS-managed driver of ``kind`` (storageProfile of the cluster's properties) is off: it owns the same
    CSIDriver name and objects as the open-source driver the chain installs. AKS defaults the Files one to on."""
    enabled = ((props.get("storageProfile") or {}).get(kind.managed_profile) or {}).get("enabled")
    effective = kind.managed_default if enabled is None else enabled
    evidence = {"enabled": enabled}
    if effective:
        return link(kind.managed_link, FAIL, "the AKS-managed %s driver is %s: it owns %s and conflicts with the "
                    "open-source driver the chain installs" % (
                        kind.name, "on" if enabled else "unset (AKS defaults it to on)", kind.driver), evidence,
                    "az aks update -g %s -n %s %s (or run site.yml --tags cluster)" % (rg, cluster, kind.managed_flag))
    return link(kind.managed_link, OK, "the AKS-managed %s driver is off" % kind.name, evidence)


# Mount options the token-only SMB mount must not carry: the driver adds sec=krb5,cruid=0,upcall_target=mount itself
# (pkg/azurefile/nodeserver.go, v1.35.7); a user name or another sec= takes another path, and SMB before 3.0 has no
# encryption.
_SMB_FORBIDDEN = re.compile(r"^(vers=(1\.0|2(\.\d+)?)|sec=.*|username=.*)$", re.IGNORECASE)


def volume_problems(csi, attrs, mount_options, expected, kind):
    """What keeps a PV's CSI source from being ``kind``'s token-only volume on the expected storage and identity.
    ``attrs``: its volumeAttributes with lowered keys (both drivers read them case-insensitively)."""
    problems = []
    if csi.get("driver") != kind.driver:
        problems.append("driver is %s, not %s" % (csi.get("driver"), kind.driver))
    problems += volume_key_problems(csi, attrs, mount_options, kind)
    wanted = (("clientID", "client_id"), ("storageaccount", "storage_account"),
              ("shareName" if kind is FILE else "containerName", kind.target), ("resourcegroup", "resource_group"))
    for attr, key in wanted:
        value = attrs.get(attr.lower(), attrs.get("storageaccountname") if attr == "storageaccount" else None)
        if expected.get(key) and value != expected[key]:
            problems.append("%s is %r, not %r" % (attr, value, expected[key]))
    return problems


def volume_key_problems(csi, attrs, mount_options, kind):
    """What keeps the CSI source of a ``kind`` volume from mounting with the workload identity token alone (a key,
    a SAS or a Secret instead; NFS, which uses no identity). ``attrs`` as for volume_problems."""
    problems = []
    token = attrs.get("mountwithworkloadidentitytoken")
    # blob: Go's strconv.ParseBool; Files: shouldUseServiceAccountToken() compares == "true" (nodeserver.go)
    accepted = ("true",) if kind is FILE else ("1", "t", "true")
    if (token if kind is FILE else str(token).lower()) not in accepted:
        problems.append("mountWithWorkloadIdentityToken is %r, not \"true\" (key mode)" % token)
    if str(attrs.get("protocol") or "").lower() == "nfs":
        problems.append("protocol is nfs: NFS mounts without any identity, so the token is not used")
    for key in ("secretName", "azurestorageaccountkey", "azurestorageaccountsastoken"):
        if attrs.get(key.lower()):
            problems.append("volumeAttributes.%s is set (a key or SAS in a Secret)" % key)
    for ref in ("nodeStageSecretRef", "nodePublishSecretRef"):
        if csi.get(ref):
            problems.append("%s is set (a key in a Secret)" % ref)
    if kind is FILE:
        bad = [o for o in mount_options if _SMB_FORBIDDEN.match(o.strip())]
        if bad:
            problems.append("mountOptions %s: the driver sets sec=krb5 itself and keeps SMB 3 encryption" % bad)
    return problems


def judge_volume(pv, expected, workload=None, kind=BLOB):
    """The PersistentVolume is token-only and points at the expected account, container (share) and identity.

    ``expected``: {name, storage_account, resource_group, container or share, client_id}."""
    name = "persistent_volume"
    if pv is None:
        return link(name, FAIL, "PersistentVolume %s does not exist" % expected["name"], {"name": expected["name"]},
                    "run site.yml --tags workloads", workload)
    spec = pv.get("spec") or {}
    csi = spec.get("csi") or {}
    attrs = csi.get("volumeAttributes") or {}
    lowered = dict((k.lower(), v) for k, v in attrs.items())
    evidence = {"name": expected["name"], "driver": csi.get("driver"), "volumeAttributes": attrs,
                "nodeStageSecretRef": csi.get("nodeStageSecretRef")}
    if kind is FILE:
        evidence["mountOptions"] = spec.get("mountOptions")
    problems = volume_problems(csi, lowered, spec.get("mountOptions") or [], expected, kind)
    if problems:
        return link(name, FAIL, "; ".join(problems), evidence,
                    "PersistentVolume fields are immutable: re-run site.yml --tags workloads (the workload role "
                    "replaces a volume no pod uses), or delete the claim and volume and re-run it", workload)
    target = lowered.get("sharename") if kind is FILE else attrs.get("containerName")
    return link(name, OK, "token-only %svolume on %s/%s as client %s" % (
        "SMB " if kind is FILE else "", lowered.get("storageaccount", lowered.get("storageaccountname")), target,
        lowered.get("clientid")), evidence, None, workload)


def judge_claim(pvc, claim, pv_name, pv=None, workload=None):
    """The claim is Bound to ``pv_name``; a claim left Pending by a Released volume gets the claimRef fix."""
    name = "persistent_volume_claim"
    if pvc is None:
        return link(name, FAIL, "PersistentVolumeClaim %s does not exist" % claim, {"claim": claim},
                    "run site.yml --tags workloads", workload)
    phase = (pvc.get("status") or {}).get("phase")
    bound_to = (pvc.get("spec") or {}).get("volumeName")
    volume_phase = ((pv or {}).get("status") or {}).get("phase")
    evidence = {"claim": claim, "phase": phase, "volumeName": bound_to, "expected_volume": pv_name,
                "volume_phase": volume_phase, "volume_claimRef": ((pv or {}).get("spec") or {}).get("claimRef")}
    if phase == "Bound" and (not pv_name or bound_to == pv_name):
        return link(name, OK, "claim %s is Bound to %s" % (claim, bound_to), evidence, None, workload)
    summary = "claim %s is %s (volumeName %s, expected %s)" % (claim, phase, bound_to, pv_name)
    if volume_phase == "Released":
        summary += "; volume %s is Released: its claimRef still names a deleted claim" % pv_name
        fix = ("kubectl patch pv %s --type json -p '[{\"op\": \"remove\", \"path\": \"/spec/claimRef\"}]' "
               "(the volume's Retain policy kept the data; the claim then binds)" % pv_name)
    else:
        namespace, _sep, short = claim.rpartition("/")
        fix = ("kubectl%s describe pvc %s (its events say why it does not bind); then run site.yml --tags "
               "workloads" % (" -n " + namespace if namespace else "", short))
    return link(name, FAIL, summary, evidence, fix, workload)


def judge_pods(pods, service_account, events, workload=None):
    """The pods that mount the claim run as ``service_account``; their recent mount events are quoted."""
    name = "pods"
    evidence = {"pods": [{"name": p["name"], "service_account": p["service_account"], "phase": p["phase"]}
                         for p in pods],
                "events": events}
    others = [p["name"] for p in pods if p["service_account"] != service_account]
    if others:
        return link(name, FAIL, "pods %s mount the claim as another service account than %s: their token has "
                    "another subject" % (", ".join(others), service_account), evidence,
                    "set spec.serviceAccountName: %s in those pods' controller" % service_account, workload)
    failing = [e for e in events if e.get("reason") in ("FailedMount", "FailedAttachVolume")]
    if failing and any(p["phase"] == "Pending" for p in pods):
        return link(name, WARN, "a pod cannot mount: %s" % failing[-1]["message"], evidence,
                    "see the failing links above; kubectl describe pod shows the events", workload)
    if not pods:
        return link(name, OK, "no pod mounts the claim now", evidence, None, workload)
    return link(name, OK, "%d pod(s) mount the claim as %s" % (len(pods), service_account), evidence, None, workload)


# ---- dynamic provisioning (blob) -------------------------------------------------------------------------------
# The blob driver lowers StorageClass parameter keys and compares most values with strings.EqualFold; booleans of
# strconv.ParseBool accept these (pkg/blob/controllerserver.go and blob.go, v1.27.9).
GO_TRUE = ("1", "t", "true")
KEY_PARAMETERS = ("secretName", "secretNamespace")
# The CSI sidecars' reserved StorageClass parameters that hand the driver a Secret (external-provisioner README,
# "StorageClass parameters"): the key the driver then reads from it.
CSI_SECRET_PARAMETERS = tuple("csi.storage.k8s.io/%s-secret-name" % step for step in (
    "provisioner", "node-stage", "node-publish", "controller-expand", "node-expand"))
DELETE_NOTE = ("reclaimPolicy Delete: deleting a claim of this class deletes container %s and its data (every claim "
               "of the class shares that container)")


def class_problems(params, expected):
    """What keeps StorageClass ``params`` (keys lowered) from being token-only on the expected account, container
    and identity. ``expected``: {storage_account, resource_group, container, client_id, subscription_id}."""
    problems = class_key_problems(params)
    if not params.get("storageaccount"):
        problems.append("no storageAccount: the driver would pick or create an account itself, not the keyless one")
    wanted = (("storageAccount", "storage_account"), ("resourceGroup", "resource_group"),
              ("containerName", "container"), ("clientID", "client_id"))
    for param, key in wanted:
        value = params.get(param.lower())
        if key == "container" and not value:
            problems.append("no containerName: the driver names one container per claim, which the workload's data "
                            "role on container %s does not cover" % expected.get("container"))
        elif expected.get(key) and value != expected[key] and (value or key != "storage_account"):
            problems.append("%s is %r, not %r" % (param, value, expected[key]))
    subscription = params.get("subscriptionid")
    if subscription and expected.get("subscription_id") and subscription.lower() != expected["subscription_id"].lower():
        problems.append("subscriptionID is %r, not the account's %r" % (subscription, expected["subscription_id"]))
    return problems


def class_key_problems(params):
    """What keeps StorageClass ``params`` (keys lowered) from provisioning volumes that mount with the workload
    identity token alone: key mode, a stored or listed key, a Secret, shared key access, NFS."""
    problems = []
    token = params.get("mountwithworkloadidentitytoken")
    if str(token or "").lower() != "true":
        stored = "" if str(params.get("storeaccountkey") or "").lower() == "false" else (
            "CreateVolume lists the account key and stores it in a Secret (storeAccountKey defaults to true), and ")
        problems.append("mountWithWorkloadIdentityToken is %r, not \"true\": %smounts use the key (key mode)"
                        % (token, stored))
    if str(params.get("usedataplaneapi") or "").lower() == "true":
        problems.append("useDataPlaneAPI is \"true\": CreateVolume lists the account keys to create the container "
                        "through the data plane")
    for key in KEY_PARAMETERS + CSI_SECRET_PARAMETERS:
        if params.get(key.lower()):
            problems.append("%s is set: the driver reads or stores the account key in that Secret" % key)
    if str(params.get("allowsharedkeyaccess") or "").lower() in GO_TRUE:
        problems.append("allowSharedKeyAccess is %r: shared key access must stay off" % params["allowsharedkeyaccess"])
    if str(params.get("protocol") or "").lower() == "nfs":
        problems.append("protocol is nfs: NFS mounts without any identity, so the token is not used")
    return problems


def judge_storage_class(sc, name, expected, workload=None):
    """The StorageClass ``name`` (its REST body, None when missing) provisions token-only blob volumes on the
    workload's account, container and identity, and has the reclaimPolicy the workload chose
    (``expected["reclaim_policy"]``; None for a claim found on the command line: Delete is then a warning)."""
    link_name = "storage_class"
    if sc is None:
        return link(link_name, FAIL, "StorageClass %s does not exist" % name, {"name": name},
                    "run site.yml --tags workloads", workload)
    params = dict((k.lower(), v) for k, v in (sc.get("parameters") or {}).items())
    reclaim = sc.get("reclaimPolicy") or "Delete"  # the API server's default
    wanted = expected.get("reclaim_policy")
    evidence = {"name": name, "provisioner": sc.get("provisioner"), "parameters": sc.get("parameters") or {},
                "reclaimPolicy": reclaim, "expected_reclaim_policy": wanted,
                "volumeBindingMode": sc.get("volumeBindingMode")}
    problems = []
    if sc.get("provisioner") != DRIVER:
        problems.append("provisioner is %s, not %s" % (sc.get("provisioner"), DRIVER))
    problems += class_problems(params, expected)
    if wanted and reclaim != wanted:
        problems.append("reclaimPolicy is %s, not %s (storage_class.reclaim_policy)" % (reclaim, wanted))
    if problems:
        return link(link_name, FAIL, "; ".join(problems), evidence,
                    "a StorageClass's parameters and reclaimPolicy are immutable: kubectl delete storageclass %s "
                    "(claims and volumes made from it stay), then re-run site.yml --tags workloads" % name, workload)
    summary = "token-only class %s on %s/%s as client %s, reclaimPolicy %s" % (
        name, params.get("storageaccount"), params.get("containername"), params.get("clientid"), reclaim)
    if reclaim != "Delete":
        return link(link_name, OK, summary, evidence, None, workload)
    note = DELETE_NOTE % params.get("containername")
    if wanted:  # chosen explicitly
        return link(link_name, OK, summary + "; " + note, evidence, None, workload)
    return link(link_name, WARN, note, evidence, "if the data must outlive its claims, use a class with "
                "reclaimPolicy Retain (storage_class.reclaim_policy: Retain)", workload)


def judge_provisioner_identity(service_account, deployment, cluster_props, names, identity=None):
    """Which identity the blob driver's controller calls ARM as (provisioner.controller_identity): the workload
    identity its ServiceAccount names (found in the subscription as ``identity``, a REST body, None when no
    user-assigned identity has that client ID), or the cluster's kubelet identity. ``names``: (ServiceAccount,
    Deployment) as ns/name; ``service_account`` and ``deployment`` their bodies (None when missing). The evidence
    carries the principal the role link checks."""
    name, (sa_shown, deployment_shown) = "provisioner_identity", names
    for body, kind, shown in ((deployment, "Deployment", deployment_shown), (service_account, "ServiceAccount",
                                                                             sa_shown)):
        if body is None:
            return link(name, FAIL, "%s %s does not exist: the blob driver's controller is not installed by the "
                        "chart (or under other names: blob_controller_service_account, driver_namespace)"
                        % (kind, shown), {"service_account": sa_shown, "deployment": deployment_shown},
                        "run site.yml --tags driver")
    choice = provisioner.controller_identity(service_account, cluster_props, deployment)
    evidence = {"service_account": sa_shown, "deployment": deployment_shown}
    if choice is None:
        return link(name, UNKNOWN, "ServiceAccount %s gives the controller no workload identity and the cluster "
                    "reports no kubelet identity (identityProfile.kubeletidentity): the identity the controller "
                    "calls ARM as is not known" % sa_shown, evidence,
                    "give the driver a workload identity (blob_csi_driver_values workloadIdentity.clientID) or use "
                    "a cluster with a managed kubelet identity")
    if choice[0] == "kubelet_identity":
        return kubelet_controller(service_account, choice[1], names, evidence)
    evidence.update(identity=choice[0], client_id=choice[1])
    if identity is None:
        return link(name, UNKNOWN, "ServiceAccount %s names client %s (workloadIdentity.clientID), which is no "
                    "user-assigned identity of the subscription: its principal and federated credentials cannot "
                    "be read" % (sa_shown, choice[1]), evidence,
                    "set workloadIdentity.clientID (blob_csi_driver_values) to a user-assigned identity's client ID, "
                    "then run site.yml --tags driver")
    props = identity.get("properties") or {}
    evidence.update(principal_id=props.get("principalId"), identity_name=identity.get("name"),
                    identity_resource_group=identity["id"].split("/")[4])
    return link(name, OK, "the controller calls ARM as workload identity %s (client %s, principal %s) from "
                "ServiceAccount %s" % (identity.get("name"), choice[1], props.get("principalId"), sa_shown), evidence)


def kubelet_controller(service_account, kubelet, names, evidence):
    """The controller calls ARM as the kubelet identity; a client ID on its ServiceAccount that the webhook does not
    inject (the pods are not labelled) is a warning: the intended identity is not the one used."""
    evidence.update(identity="kubelet_identity", principal_id=kubelet.get("objectId"),
                    client_id=kubelet.get("clientId"), resource_id=kubelet.get("resourceId"))
    summary = "the controller calls ARM as the kubelet identity (object %s)" % kubelet.get("objectId")
    annotated = (((service_account.get("metadata") or {}).get("annotations") or {})
                 .get(provisioner.CLIENT_ID_ANNOTATION))
    if not annotated:
        return link("provisioner_identity", OK, summary + ": ServiceAccount %s has no workload identity" % names[0],
                    evidence)
    evidence["annotated_client_id"] = annotated
    return link("provisioner_identity", WARN, summary + ": ServiceAccount %s names client %s, but the pods of %s "
                "are not labelled %s: \"true\", so the webhook injects no token" % (
                    names[0], annotated, names[1], provisioner.USE_LABEL), evidence,
                "install the chart with workloadIdentity.clientID (it labels the pods): blob_csi_driver_values, then "
                "run site.yml --tags driver")


def last_words(action):
    """``.../blobServices/containers/write`` -> ``containers/write``."""
    return "/".join(action.split("/")[-2:])


def judge_provisioner_role(assignments, definitions, account_scope, principal, reclaim_policy, workload=None,
                           container=None):
    """A role assigned to the controller's ``principal`` at the account or above (or at the class's ``container``,
    the resource ARM authorizes the call on) permits what CreateVolume (and, with reclaimPolicy Delete,
    DeleteVolume) calls through ARM; a role there that can list keys is a warning. ``definitions``: role
    definition id (lowered) -> REST body (None when unreadable)."""
    name = "provisioner_role"
    target = account_scope + "/blobServices/default/containers/" + container if container else account_scope
    needed = [provisioner.CREATE_ACTION] + ([provisioner.DELETE_ACTION] if reclaim_policy == "Delete" else [])
    covering, elsewhere, granted, keys = [], [], set(), []
    for item in assignments:
        props = item.get("properties") or item
        scope, role_id = props.get("scope", ""), (props.get("roleDefinitionId") or "").lower()
        role = (definitions.get(role_id) or {}).get("properties") or {}
        shown = "%s at %s" % (role.get("roleName") or rbac.role_guid(role_id), scope)
        if not scope_covers(scope, target):
            elsewhere.append(shown)
            continue
        covering.append(shown)
        granted.update(a for a in needed if rbac.permits(role.get("permissions"), action=a))
        if rbac.permits(role.get("permissions"), action=rbac.LIST_KEYS_ACTION):
            keys.append(shown)
    missing = [a for a in needed if a not in granted]
    evidence = {"principal_id": principal, "scope": target, "needed": needed, "reclaimPolicy": reclaim_policy,
                "covering": covering, "not_covering": elsewhere, "missing": missing, "lists_keys": keys}
    assign = ("assign '%s' at %s to %s; site.yml does it for storage_class workloads (site.yml --tags rbac), or: "
              "az role assignment create --assignee-object-id %s --assignee-principal-type ServicePrincipal --role "
              "\"%s\" --scope %s" % (provisioner.ROLE_NAME, account_scope, principal, principal,
                                     provisioner.ROLE_NAME, account_scope))
    if missing:
        what = "no role assignment at the account or above%s allows" % (
            " (nor at container %s)" % container if container else "") if not covering else (
            "; ".join(covering) + " do not allow")
        summary = ("%s %s: ARM refuses the controller's call with AuthorizationFailed and the claim stays Pending "
                   "(ProvisioningFailed)" % (what, ", ".join(map(last_words, missing))))
        if elsewhere:
            summary += "; %s do not cover %s" % ("; ".join(elsewhere), "container " + container if container
                                                 else "the account")
        return link(name, FAIL, summary, evidence, assign, workload)
    summary = "%s allow %s" % ("; ".join(covering), ", ".join(map(last_words, needed)))
    if keys:
        return link(name, WARN, summary + "; %s can also list the account keys (listkeys/action), more than the "
                    "controller needs" % "; ".join(keys), evidence,
                    "%s, then remove the key-listing assignment (az role assignment delete)" % assign, workload)
    return link(name, OK, summary, evidence, None, workload)


def judge_dynamic_claim(pvc, claim, class_name, events, controller, workload=None):
    """A claim of a blob StorageClass: Bound to the volume the driver provisioned, or why not, from the claim's
    events (``events``: oldest first; ProvisioningFailed carries the driver's error, e.g. ARM's AuthorizationFailed).
    ``controller``: the driver's controller Deployment (ns/name), whose csi-provisioner sidecar provisions."""
    name = "persistent_volume_claim"
    if pvc is None:
        return link(name, FAIL, "PersistentVolumeClaim %s does not exist" % claim, {"claim": claim},
                    "run site.yml --tags workloads", workload)
    spec, phase = pvc.get("spec") or {}, (pvc.get("status") or {}).get("phase")
    evidence = {"claim": claim, "phase": phase, "volumeName": spec.get("volumeName"),
                "storageClassName": spec.get("storageClassName"), "expected_class": class_name,
                "events": events[-5:]}
    namespace, _sep, short = claim.rpartition("/")
    if class_name and spec.get("storageClassName") != class_name:
        return link(name, FAIL, "claim %s uses StorageClass %r, not %s" % (claim, spec.get("storageClassName"),
                                                                           class_name), evidence,
                    "a claim's storageClassName is immutable: delete claim %s once no pod uses it, then re-run "
                    "site.yml --tags workloads" % claim, workload)
    if phase == "Bound":
        return link(name, OK, "claim %s is Bound to %s, provisioned from StorageClass %s" % (
            claim, spec.get("volumeName"), spec.get("storageClassName")), evidence, None, workload)
    describe = "kubectl -n %s describe pvc %s" % (namespace, short)
    failed = [e for e in events if e.get("reason") == "ProvisioningFailed"]
    if failed:
        message = failed[-1].get("message")
        evidence["provisioning_failed"] = message
        if "AuthorizationFailed" in (message or ""):
            fix = ("the provisioner's role was found: a new role assignment can take minutes to reach ARM, and the "
                   "provisioner retries with a backoff; if it persists the controller calls ARM as another identity "
                   "(its pods predate the ServiceAccount's annotation): kubectl -n %s rollout restart deployment %s"
                   % tuple(controller.split("/")))
        else:
            fix = "fix what the message names (%s); the provisioner retries the claim with a backoff" % describe
        return link(name, FAIL, "claim %s is %s: provisioning failed: %s" % (claim, phase, message), evidence, fix,
                    workload)
    if phase == "Pending" and any(e.get("reason") == "Provisioning" for e in events):
        return link(name, UNKNOWN, "claim %s is being provisioned" % claim, evidence,
                    "re-run the doctor in a moment (%s)" % describe, workload)
    if phase == "Pending":
        seen = sorted({e.get("reason") for e in events}) or "no"
        return link(name, FAIL, "claim %s is Pending and no provisioner took it (%s events): the driver's controller "
                    "is not running" % (claim, seen), evidence,
                    "kubectl -n %s get deployment %s (its csi-provisioner container provisions %s claims); run "
                    "site.yml --tags driver" % (tuple(controller.split("/")) + (DRIVER,)), workload)
    return link(name, FAIL, "claim %s is %s (volumeName %s)" % (claim, phase, spec.get("volumeName")), evidence,
                "%s (its events say why); then run site.yml --tags workloads" % describe, workload)


# ---- live probe --------------------------------------------------------------------------------------------------
def judge_token(claims, issuer, subject, workload=None):
    name = "probe_token"
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    evidence = {"iss": claims.get("iss"), "sub": claims.get("sub"), "aud": audiences}
    problems = federation_mismatches((claims.get("iss"), claims.get("sub"), audiences), issuer, subject,
                                     TOKEN_PHRASES)
    if problems:
        return link(name, FAIL, "; ".join(problems), evidence,
                    "the API server signs with another issuer than ARM reports: az aks update --enable-oidc-issuer "
                    "and restart the pods", workload)
    return link(name, OK, "the service account token says iss %s, sub %s" % (claims.get("iss"), claims.get("sub")),
                evidence, None, workload)


# What Entra's refusals of a federated token exchange mean and what fixes them (AADSTS codes from Microsoft's
# "Microsoft Entra authentication and authorization error codes" page).
AADSTS_FIXES = {
    "700211": "the token's issuer has no federated credential on the identity (or its keys are not published): "
              "set the credential's issuer to the cluster's current issuer (site.yml --tags federation)",
    "700212": "the credential's audience is not the token's: use api://AzureADTokenExchange on both sides",
    "700213": "no credential has this subject: the credential must name system:serviceaccount:<namespace>:<sa> "
              "(site.yml --tags federation)",
    "70021": "no credential matches issuer, subject and audience together (site.yml --tags federation)",
    "700024": "the service account token is expired or not yet valid: check the node and API server clocks",
    "700016": "the client ID is not an application in the tenant: check the identity's client ID and tenant",
    "50013": "the token's signature does not verify against the issuer's published keys: the issuer rotated its "
             "keys or the cluster serves another issuer",
}
_AADSTS = re.compile(r"AADSTS(\d+)")


def aadsts_code(text):
    match = _AADSTS.search(text or "")
    return "AADSTS" + match.group(1) if match else None


def aadsts_fix(code):
    return AADSTS_FIXES.get((code or "")[len("AADSTS"):], "read the AADSTS code in the evidence at "
                            "https://learn.microsoft.com/entra/identity-platform/reference-error-codes")


def worst(links):
    for status in (FAIL, WARN, UNKNOWN):
        if any(item["status"] == status for item in links):
            return status
    return OK


def counts(links):
    return {status: sum(1 for item in links if item["status"] == status) for status in STATUSES}


GATES = {"fail": (FAIL,), "warn": (FAIL, WARN, UNKNOWN), "never": ()}


def failing(links, fail_on):
    """The links that fail the task: ``fail`` ones (fail_on=fail); ``fail``, ``warn`` and ``unknown`` ones (warn: a
    link that could not be judged is not healthy either); none (never)."""
    return [item for item in links if item["status"] in GATES[fail_on]]


def line(item):
    """One link as a sentence: ``workload/link: summary (fix: ...)``."""
    text = "%s%s: %s" % (item["workload"] + "/" if item.get("workload") else "", item["link"], item["summary"])
    return text + (" (fix: %s)" % item["fix"] if item.get("fix") else "")


def table(links):
    """The summary table: one line per link, the workload first."""
    rows = [("workload", "link", "status", "summary")]
    rows += [(item["workload"] or "(cluster)", item["link"], item["status"].upper(),
              " ".join(item["summary"].split("\n"))) for item in links]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return ["%-*s  %-*s  %-*s  %s" % (widths[0], r[0], widths[1], r[1], widths[2], r[2], r[3]) for r in rows]


def markdown(report):
    """The Markdown report: a summary line, the table, then every link that is not ok with its evidence and fix."""
    shown = ", ".join("%d %s" % (n, s) for s, n in report["counts"].items() if n)
    lines = ["# keyless.aks_storage doctor: %s" % report["cluster"], "",
             "Result: **%s** (%s)" % (report["status"].upper(), shown), "",
             "| workload | link | status | summary |", "|---|---|---|---|"]
    for item in report["links"]:
        summary = " ".join(item["summary"].split("\n")).replace("|", "\\|")
        lines.append("| %s | %s | %s | %s |" % (item["workload"] or "(cluster)", item["link"], item["status"], summary))
    for item in report["links"]:
        if item["status"] == OK:
            continue
        where = item["workload"] + " / " if item["workload"] else ""
        lines += ["", "## %s%s: %s" % (where, item["link"], item["status"]), "", item["summary"], ""]
        if item.get("fix"):
            lines += ["Fix: `%s`" % item["fix"], ""]
        lines += ["```json", json.dumps(item["evidence"], indent=2, sort_keys=True, default=str), "```"]
    return "\n".join(lines) + "\n"
