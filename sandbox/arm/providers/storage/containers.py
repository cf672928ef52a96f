"""Microsoft.Storage/storageAccounts/blobServices/containers (management plane).

PUT creates (201) or updates (200) publicAccess and metadata; PATCH merges; DELETE answers 200, or
204 when absent. Public access on an account whose allowBlobPublicAccess is not true is refused with
the blob service's 409 PublicAccessNotPermitted, as ARM relays it.

Blob data lives beside the container in the store's private (hidden) data as {"blobs": {name: {...}}},
never in the ARM body; `blobs()` is the accessor a data-plane emulation (the job "kubelet") can use.
"""

import copy

from ...errors import invalid_request_content
from ...stored import StoredResourceType
from .common import (API_VERSIONS, CONTAINERS, account_id_of, check_container_name, data_plane_error, etag_of,
                     iso_now, parent_missing)

PUBLIC_ACCESS = {"none": "None", "blob": "Blob", "container": "Container"}
DEFAULT_ENCRYPTION_SCOPE = "$account-encryption-key"


def blobs(store, container_id: str) -> dict:
    """The mutable blob map of a container ({} if the container has none yet); call with the store lock."""
    return store.hidden.setdefault(container_id.lower(), {}).setdefault("blobs", {})


def _public_access(value):
    if value is None:
        return "None"
    if not isinstance(value, str) or value.lower() not in PUBLIC_ACCESS:
        raise invalid_request_content(f"The value '{value}' is not valid for 'publicAccess'. Allowed values: "
                                      f"None, Blob, Container.")
    return PUBLIC_ACCESS[value.lower()]


def metadata_value(value):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise invalid_request_content("The 'metadata' property must be an object of string values.")
    return dict(value)


class Containers(StoredResourceType):
    type_name = CONTAINERS
    api_versions = API_VERSIONS
    tracked = False

    def validate_name(self, call):
        check_container_name(call.name or "")

    def parent_not_found(self, call, parent_type, parent_name):
        return parent_missing(call, parent_type, parent_name)

    def new_properties(self, call, requested):
        props = {"publicAccess": "None", "metadata": {}, "leaseStatus": "Unlocked", "leaseState": "Available",
                 "hasImmutabilityPolicy": False, "hasLegalHold": False, "deleted": False,
                 "remainingRetentionDays": 0, "defaultEncryptionScope": DEFAULT_ENCRYPTION_SCOPE,
                 "denyEncryptionScopeOverride": False, "enableNfsV3RootSquash": False,
                 "enableNfsV3AllSquash": False}
        for key in ("defaultEncryptionScope", "denyEncryptionScopeOverride"):  # settable at creation only
            if requested.get(key) is not None:
                props[key] = requested[key]
        return self.updated_properties(call, props, requested)

    def updated_properties(self, call, existing, requested):
        props = copy.deepcopy(existing)
        if "publicAccess" in requested:
            props["publicAccess"] = _public_access(requested["publicAccess"])
        if "metadata" in requested:
            props["metadata"] = metadata_value(requested["metadata"])
        props["lastModifiedTime"] = iso_now()
        return props

    def patched_properties(self, call, existing, patch):
        return self.updated_properties(call, existing, patch)

    def validate_write(self, call, record, existing):
        if record["properties"]["publicAccess"] == "None":
            return
        account = call.store.get(account_id_of(record["id"])) or {}
        if account.get("properties", {}).get("allowBlobPublicAccess") is not True:
            raise data_plane_error(409, "PublicAccessNotPermitted", "Public access is not permitted on this storage "
                                                                    "account.")

    def new_hidden(self, call, record):
        return {"blobs": {}}

    def render(self, call, record):
        body = super().render(call, record)
        body["etag"] = etag_of(record["properties"])
        return body
