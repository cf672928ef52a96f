"""Microsoft.Storage/storageAccounts/fileServices/shares (management plane: FileShares_* operations).

PUT creates (201) or updates (200), PATCH merges, GET of a missing share is 404 `ShareNotFound`, DELETE answers
200 (204 when absent), the list (`.../fileServices/default/shares`) pages with `$maxpagesize` and `nextLink`.
Rules, from the azure-mgmt-storage 25.3.0 `FileShareProperties` docstrings (generated from the spec) and the
Azure Files scale targets (docs/research/azure-files.md section 5):
- name: 3-63 characters, lowercase letters, digits and single dashes between them (the container rule and codes);
- `shareQuota` (GiB): 1..5120, up to 102400 with `largeFileSharesState: Enabled` or on a FileStorage account,
  at least 100 on FileStorage (premium); out of range: 400 `InvalidHeaderValue`, the data-plane answer
  reported for a bad quota (crossplane-contrib/provider-upjet-azure#869, microsoft/lisa PR #3611);
- `accessTier`: TransactionOptimized (default) | Hot | Cool on general-purpose accounts, Premium (the only one,
  default) on FileStorage;
- `enabledProtocols`: SMB (default) | NFS, NFS only on FileStorage, fixed once created; `rootSquash` only for NFS.
Refusals whose real wording is unknown start with "sandbox:". Files written by the Job kubelet's probe live in the
share's private data (`write_probe_file`, `share_files`), never in the ARM body; they go with the share and with
its account (Store.delete_tree drops the private data of every id it removes).
"""

import base64
import copy
import time

from ...errors import ArmError, invalid_request_content
from ...stored import StoredResourceType
from .account_body import canonical
from .common import (API_VERSIONS, FILE_KINDS, SHARES, account_id_of, check_container_name, data_plane_error,
                     etag_of, invalid_value, iso_now, parent_missing)
from .containers import metadata_value
from .file_services import feature_not_supported

TIERS = ("TransactionOptimized", "Hot", "Cool", "Premium")
PROTOCOLS = ("SMB", "NFS")
ROOT_SQUASH = ("NoRootSquash", "RootSquash", "AllSquash")
STANDARD_MAX_GIB, LARGE_MAX_GIB, PREMIUM_MIN_GIB = 5120, 102400, 100


def share_files(store, share_id: str) -> dict:
    """The files recorded in a share ({} when none); read-only, leaves no private data behind."""
    return dict((store.hidden.get(share_id.lower()) or {}).get("files") or {})


def write_probe_file(store, share_id: str, name: str, content, writer: str = "") -> dict:
    """Record a file the Job kubelet's probe wrote through an SMB mount of the share (call with the store lock
    held). `content` is bytes or text. Returns the stored record; LookupError when the share does not exist."""
    if store.get(share_id) is None:
        raise LookupError(f"no file share {share_id}")
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    record = {"content_b64": base64.b64encode(data).decode("ascii"), "size": len(data),
              "last_modified": iso_now(time.time()), "written_by": writer}
    try:
        record["content"] = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    store.hidden.setdefault(share_id.lower(), {}).setdefault("files", {})[name] = record
    store.dirty = True
    return record


def share_not_found() -> ArmError:
    # The File service error code (learn.microsoft.com/rest/api/storageservices/file-service-error-codes),
    # relayed by the storage RP with its RequestId/Time tail, as for containers.
    return data_plane_error(404, "ShareNotFound", "The specified share does not exist.")


def quota_limits(account) -> tuple:
    props, kind = account.get("properties") or {}, account.get("kind")
    large = kind == "FileStorage" or props.get("largeFileSharesState") == "Enabled"
    return (PREMIUM_MIN_GIB if kind == "FileStorage" else 1), (LARGE_MAX_GIB if large else STANDARD_MAX_GIB)


def default_quota(account) -> int:
    """Approximation: the largest quota a standard share can have, 100 GiB on premium (what the driver asks)."""
    return PREMIUM_MIN_GIB if account.get("kind") == "FileStorage" else quota_limits(account)[1]


def check_quota(quota, account) -> None:
    if isinstance(quota, bool) or not isinstance(quota, int):
        raise invalid_request_content(f"The value '{quota}' is not valid for 'shareQuota': an integer is required.")
    low, high = quota_limits(account)
    if not low <= quota <= high:
        raise data_plane_error(400, "InvalidHeaderValue",
                               "The value for one of the HTTP headers is not in the correct format.")


def check_tier(tier, account) -> None:
    allowed = ("Premium",) if account.get("kind") == "FileStorage" else TIERS[:3]
    if tier not in allowed:
        raise invalid_value(f"The access tier '{tier}' is not supported for a file share on an account of kind "
                            f"'{account.get('kind')}'; allowed: {', '.join(allowed)}.")


def check_protocols(props, account, existing) -> None:
    if existing is not None and props["enabledProtocols"] != existing.get("enabledProtocols"):
        raise invalid_value("'enabledProtocols' can only be specified when creating a share; it is "
                            f"'{existing.get('enabledProtocols')}'.")
    if props["enabledProtocols"] == "NFS" and account.get("kind") != "FileStorage":
        raise invalid_value("The NFS protocol is only supported on premium file shares (an account of kind "
                            "FileStorage).")
    if "rootSquash" in props and props["enabledProtocols"] != "NFS":
        raise invalid_value("'rootSquash' applies only to NFS shares.")


def requested_values(requested: dict) -> dict:
    """The settable properties of a request, canonicalized; read-only ones are ignored like ARM does."""
    values = {}
    if requested.get("shareQuota") is not None:
        values["shareQuota"] = requested["shareQuota"]
    for key, allowed in (("accessTier", TIERS), ("enabledProtocols", PROTOCOLS), ("rootSquash", ROOT_SQUASH)):
        if requested.get(key) is not None:
            values[key] = canonical(requested[key], allowed, key)
    if requested.get("metadata") is not None:
        values["metadata"] = metadata_value(requested["metadata"])
    return values


class Shares(StoredResourceType):
    type_name = SHARES
    api_versions = API_VERSIONS
    tracked = False

    def validate_name(self, call):
        check_container_name(call.name or "")

    def parent_not_found(self, call, parent_type, parent_name):
        account = call.store.get(account_id_of(call.id or call.container_id))
        if account is not None and account.get("kind") not in FILE_KINDS:
            return feature_not_supported(account)
        return parent_missing(call, parent_type, parent_name)

    def not_found(self, call):
        return share_not_found()

    @staticmethod
    def _account(call):
        return call.store.get(account_id_of(call.id)) or {}

    def new_properties(self, call, requested):
        account = self._account(call)
        props = {"shareQuota": default_quota(account), "enabledProtocols": "SMB", "metadata": {},
                 "accessTier": "Premium" if account.get("kind") == "FileStorage" else "TransactionOptimized",
                 "leaseStatus": "Unlocked", "leaseState": "Available", "deleted": False}
        props.update(requested_values(requested))
        if props["enabledProtocols"] == "NFS":
            props.setdefault("rootSquash", "NoRootSquash")
        return self._stamped(props)

    def updated_properties(self, call, existing, requested):
        return self._stamped({**copy.deepcopy(existing), **requested_values(requested)})

    def patched_properties(self, call, existing, patch):
        return self.updated_properties(call, existing, patch)

    @staticmethod
    def _stamped(props):
        props["lastModifiedTime"] = iso_now()
        if props.get("accessTier") and props.get("accessTierChangeTime") is None:
            props["accessTierChangeTime"] = props["lastModifiedTime"]
        return props

    def validate_write(self, call, record, existing):
        account = self._account(call)
        props = record["properties"]
        check_quota(props["shareQuota"], account)
        check_tier(props["accessTier"], account)
        check_protocols(props, account, (existing or {}).get("properties"))
        if existing and props["accessTier"] != existing["properties"].get("accessTier"):
            props["accessTierChangeTime"] = props["lastModifiedTime"]

    def new_hidden(self, call, record):
        return {"files": {}}

    def render(self, call, record):
        body = super().render(call, record)
        body["etag"] = etag_of(record["properties"])
        return body

    def list(self, call):
        size = call.request.query.get("$maxpagesize")
        if size is not None and not (size.isdigit() and int(size) > 0):
            raise invalid_value(f"'$maxpagesize' is '{size}'; it must be a positive integer.")
        items = call.store.under(call.container_id, self.type_name)
        return call.list_response([self.render(call, item) for item in items], page_size=int(size or 0))


__all__ = ["Shares", "share_files", "share_not_found", "write_probe_file"]
