# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Files of a keyless storage account: its SMB file shares and SMB OAuth, through Azure Resource Manager only
(``fileServices/default/shares``, never the data plane, so no key is ever needed).

Facts relied on (docs/research/azure-files.md):
  - Share properties, from the azure-mgmt-storage 25.3.0 ``FileShareProperties`` docstrings (§5): ``shareQuota`` in
    GiB, greater than 0 and at most 5120, 102400 with large file shares; ``accessTier`` TransactionOptimized, Hot or
    Cool on a general-purpose v2 account, Premium on a FileStorage account; ``enabledProtocols`` SMB or NFS, settable
    only when the share is created. Premium (FileStorage) shares are at least 100 GiB (§5 "Limits").
  - Share names: 3-63 lowercase letters, digits and dashes, every dash between letters or digits (§5).
  - SMB OAuth (§2 "SMB OAuth on the account"): ``azureFilesIdentityBasedAuthentication.smbOAuthSettings
    .isSmbOAuthEnabled``; ``directoryServiceOptions`` is required in that object, so a write carries it; an account
    can use managed identities for SMB "only if it doesn't have any other identity source configured"
    (Microsoft Learn, files-managed-identities.md).
  - NFS mounts do not use the workload identity (no credentials at all, §3 "NFS + WI"): there is no keyless NFS
    path, so NFS shares are refused.
"""

from __future__ import annotations

from ansible_collections.keyless.aks_storage.plugins.module_utils import rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError

FILES_AUTH = "azureFilesIdentityBasedAuthentication"
SHARE_KEYS = ("name", "quota", "access_tier", "protocol", "state")
STANDARD_TIERS = ("TransactionOptimized", "Hot", "Cool")
PREMIUM_TIER = "Premium"
DEFAULT_QUOTA = 100
STANDARD_MAX_QUOTA = 5120
LARGE_MAX_QUOTA = 102400
PREMIUM_MIN_QUOTA = 100
# Account kinds with a file service (Microsoft Learn, "Storage account overview"); FileStorage is premium only.
FILE_KINDS = ("StorageV2", "FileStorage")
PREMIUM_SKUS = ("Premium_LRS", "Premium_ZRS")
NFS_REFUSAL = ("NFS shares are not managed here: an NFS mount carries no credentials, so the pod's workload "
               "identity is never used and there is no keyless path; use an SMB share")


# ---- options (pure, before any request) ----------------------------------------------------------------------------
def desired_shares(shares, kind):
    """Validate the file_shares option of an account of ``kind``; return a list of {name, quota, access_tier, state}.
    Every problem names its field (``file_shares[1].quota``)."""
    if shares and kind not in FILE_KINDS:
        raise ModuleError("file_shares: a %s account has no file service; use kind StorageV2 or FileStorage" % kind)
    result, seen = [], set()
    for index, item in enumerate(shares or []):
        where = "file_shares[%d]" % index
        spec = share_spec(item, where)
        problem = rules.first(rules.name_problem("file share", spec["name"], where + ".name"),
                              quota_problem(spec["quota"], where + ".quota", kind),
                              tier_problem(spec["access_tier"], where + ".access_tier", kind),
                              protocol_problem(spec["protocol"], where + ".protocol"),
                              None if spec["state"] in ("present", "absent") else
                              "%s.state must be present or absent" % where)
        if problem:
            raise ModuleError(problem)
        if spec["name"] in seen:
            raise ModuleError("%s.name: file share %s is listed more than once" % (where, spec["name"]))
        seen.add(spec["name"])
        result.append({k: spec[k] for k in ("name", "quota", "access_tier", "state")})
    return result


def share_spec(item, where):
    """One item as a dict with every key, unset (null) keys at their defaults."""
    spec = {"name": item} if isinstance(item, str) else item
    if not isinstance(spec, dict) or "name" not in spec:
        raise ModuleError("%s must be a file share name or a dict with a name" % where)
    unknown = set(spec) - set(SHARE_KEYS)
    if unknown:
        raise ModuleError("%s: unknown keys %s (allowed: %s)" % (where, sorted(unknown), ", ".join(SHARE_KEYS)))
    defaults = dict(quota=DEFAULT_QUOTA, access_tier=None, protocol="SMB", state="present")
    spec = dict(defaults, **{k: v for k, v in spec.items() if v is not None})
    if isinstance(spec["quota"], str) and spec["quota"].isdigit():  # a templated number arrives as a string
        spec["quota"] = int(spec["quota"])
    return spec


def quota_problem(quota, field, kind):
    """The quota's range for the kind (the 5120 GiB limit of standard shares without large file shares is checked
    once the account is known, see plan_shares)."""
    low = PREMIUM_MIN_QUOTA if kind == "FileStorage" else 1
    problem = rules.range_problem(quota, field, low, LARGE_MAX_QUOTA)
    if problem and kind == "FileStorage" and isinstance(quota, int) and 0 < quota < low:
        return problem + " (premium FileStorage shares are provisioned at %d GiB or more)" % PREMIUM_MIN_QUOTA
    return problem


def tier_problem(tier, field, kind):
    if tier is None:
        return None
    allowed = (PREMIUM_TIER,) if kind == "FileStorage" else STANDARD_TIERS
    if tier not in allowed:
        return "%s '%s' is not an access tier of a %s account: use %s" % (field, tier, kind, " or ".join(allowed))
    return None


def protocol_problem(protocol, field):
    if str(protocol).upper() == "NFS":
        return "%s NFS: %s" % (field, NFS_REFUSAL)
    if protocol != "SMB":
        return "%s '%s' is not a protocol of a file share here: use SMB" % (field, protocol)
    return None


def wanted_smb_oauth(option, shares):
    """SMB OAuth to enforce: the option when set, else on when the account has shares (the file_shares option; else
    not managed)."""
    if option is not None:
        return option
    present = [s for s in shares or [] if not (isinstance(s, dict) and s.get("state") == "absent")]
    return True if present else None


def kind_problems(p):
    """What an account of kind ``p["kind"]`` cannot have: a FileStorage account has no blob service and premium SKUs
    only; a BlockBlobStorage account no file service."""
    kind = p["kind"]
    if kind == "FileStorage":
        return [None if p["sku"] in PREMIUM_SKUS else
                "sku %s: a FileStorage account is premium, use %s" % (p["sku"], " or ".join(PREMIUM_SKUS)),
                "containers: a FileStorage account has no blob service" if p["containers"] else None,
                "blob_soft_delete_days: a FileStorage account has no blob service"
                if p["blob_soft_delete_days"] is not None else None,
                "access_tier: a FileStorage account has no blob access tier (set the shares' access_tier)"
                if p["access_tier"] else None,
                large_shares_problem(p)]
    problems = [large_shares_problem(p)]
    if kind not in FILE_KINDS and p["smb_oauth"]:
        problems.append("smb_oauth: a %s account has no file service" % kind)
    return problems


def large_shares_problem(p):
    if p["large_file_shares"] is not None and p["kind"] != "StorageV2":
        return "large_file_shares applies to StorageV2 accounts (FileStorage shares take up to %d GiB already)" \
               % LARGE_MAX_QUOTA
    return None


# ---- the account's SMB OAuth setting -------------------------------------------------------------------------------
def auth_view(props):
    """The comparable SMB OAuth setting of an account's properties; Azure omits it on an account never set."""
    auth = (props or {}).get(FILES_AUTH) or {}
    return {"directoryServiceOptions": auth.get("directoryServiceOptions") or "None",
            "smbOAuthSettings": {"isSmbOAuthEnabled": bool((auth.get("smbOAuthSettings") or {})
                                                           .get("isSmbOAuthEnabled"))}}


def auth_setting(want):
    """The desired setting (None: not managed). Turning SMB OAuth on needs no other identity source, so it asks for
    ``directoryServiceOptions: None``; turning it off leaves the identity source as it is."""
    if want is None:
        return None
    return {"directoryServiceOptions": "None" if want else None, "smbOAuthSettings": {"isSmbOAuthEnabled": want}}


def auth_body(setting, current_view):
    """The REST body of the setting, ``directoryServiceOptions`` (required) filled from the account as read."""
    source = setting.get("directoryServiceOptions") or (current_view or {}).get("directoryServiceOptions") or "None"
    return {"directoryServiceOptions": source, "smbOAuthSettings": dict(setting["smbOAuthSettings"])}


def auth_refusal(name, want, current_view):
    """Refuse SMB OAuth on an account that has another identity source for Azure Files (AD DS, Entra Domain Services,
    Entra Kerberos): replacing it would cut off the clients that use it."""
    source = (current_view or {}).get("directoryServiceOptions")
    if want and source not in (None, "None"):
        return ModuleError(
            "smb_oauth: storage account %s has another identity source for Azure Files (%s.directoryServiceOptions "
            "%s); SMB OAuth for managed identities needs an account without one (Microsoft Learn, "
            "files-managed-identities: only if it doesn't have any other identity source configured). Remove that "
            "identity source first, or use another account for keyless file shares" % (name, FILES_AUTH, source))
    return None


def auth_model(models, body):
    """The SDK model of the REST body of the setting."""
    return models.AzureFilesIdentityBasedAuthentication(
        directory_service_options=body["directoryServiceOptions"],
        smb_o_auth_settings=models.SmbOAuthSettings(
            is_smb_o_auth_enabled=body["smbOAuthSettings"]["isSmbOAuthEnabled"]))


# ---- shares: plan (pure) and converge -------------------------------------------------------------------------------
def share_view(share):
    props = (share or {}).get("properties") or {}
    return dict(name=share.get("name"), quota=props.get("shareQuota"), access_tier=props.get("accessTier"),
                protocol=props.get("enabledProtocols") or "SMB")


def plan_shares(account, desired, current, kind, large_enabled):
    """Each listed share's write (no request): {name, write (None|create|update|delete), before, after}.

    ``current`` maps the account's share names to share_view(); refuses, before any write, a quota over the
    standard limit without large file shares and a share that exists with NFS (its protocol cannot change)."""
    plans = []
    for index, want in enumerate(desired):
        where, have = "file_shares[%d]" % index, current.get(want["name"])
        if have and have["protocol"] != "SMB":
            raise ModuleError("%s.protocol: file share %s of %s exists with protocol %s, which cannot change; %s"
                              % (where, want["name"], account, have["protocol"], NFS_REFUSAL))
        if want["state"] == "absent":
            plans.append(dict(name=want["name"], write="delete" if have else None, before=have, after=None))
            continue
        if kind == "StorageV2" and want["quota"] > STANDARD_MAX_QUOTA and not large_enabled:
            raise ModuleError("%s.quota %d is over %d GiB, the limit of a standard share without large file shares; "
                              "set large_file_shares: true on storage account %s (it cannot be turned off again)"
                              % (where, want["quota"], STANDARD_MAX_QUOTA, account))
        after = dict(name=want["name"], quota=want["quota"], protocol="SMB",
                     access_tier=want["access_tier"] or (have or {}).get("access_tier"))
        write = None if have == after else ("update" if have else "create")
        plans.append(dict(name=want["name"], write=write, before=have, after=after))
    return plans


def share_model(models, planned):
    after = planned["after"]
    if planned["write"] == "create":  # the protocol can only be given when the share is created
        return models.FileShare(share_quota=after["quota"], access_tier=after["access_tier"],
                                enabled_protocols="SMB")
    return models.FileShare(share_quota=after["quota"], access_tier=after["access_tier"])


def converge_shares(module, api, models, rg, account, plans):
    """Make the planned share writes (none in check mode); return (before, after, changed names)."""
    from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import as_rest
    before = [planned["before"] for planned in plans if planned["before"]]
    after, changed = [], []
    for planned in plans:
        name, write = planned["name"], planned["write"]
        if write:
            changed.append(name)
        if write == "delete" and not module.check_mode:
            module.write("delete file share %s" % name, api.delete, rg, account, name)
        elif write in ("create", "update") and not module.check_mode:
            call = api.create if write == "create" else api.update
            written = as_rest(module.write("%s file share %s" % (write, name), call, rg, account, name,
                                           share_model(models, planned)))
            reported = {k: v for k, v in share_view(written).items() if v is not None}
            planned = dict(planned, after=dict(planned["after"], **reported))
        if planned["after"]:
            after.append(planned["after"])
    return before, after, changed
