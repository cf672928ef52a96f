"""Shared bits of the Microsoft.Storage provider: type names, name rules, error wording, timestamps.

Wording is Azure's (see the report in sandbox/README.md): account names and global uniqueness from
the ARM troubleshooting page "Resolve errors for storage account names"; container errors are the
blob data-plane codes, which the storage resource provider passes through ARM with a
"RequestId/Time" tail (e.g. 409 PublicAccessNotPermitted, azure-rest-api-specs issue 11331).
"""

import hashlib
import re
import time
import uuid

from ...errors import ArmError, resource_not_found

NAMESPACE = "Microsoft.Storage"
ACCOUNTS = f"{NAMESPACE}/storageAccounts"
BLOB_SERVICES = f"{ACCOUNTS}/blobServices"
CONTAINERS = f"{BLOB_SERVICES}/containers"
FILE_SERVICES = f"{ACCOUNTS}/fileServices"
SHARES = f"{FILE_SERVICES}/shares"
# Kinds with a file service (the kinds whose primaryEndpoints have "file"; see account_body.ENDPOINTS_BY_KIND).
FILE_KINDS = ("Storage", "StorageV2", "FileStorage")
# azure-mgmt-storage 25.3 sends 2026-09-01; the shapes follow the 2025-06-01 spec examples; 2023-01-01 is what the
# requirements.txt floor azure-mgmt-storage 21.1.0 sends for storage_accounts, blob_services and blob_containers
# (its DEFAULT_API_VERSION; v2023_01_01/_configuration.py). Every storage type serves all three.
API_VERSIONS = ("2026-09-01", "2025-06-01", "2023-01-01")

ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
# 3-63 characters, lowercase letters, digits and single hyphens, starting and ending alphanumeric.
CONTAINER_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SPECIAL_CONTAINERS = ("$root", "$web")


def iso_now(ts=None) -> str:
    """Storage's timestamp format: 7 fractional digits, e.g. 2017-05-24T13:25:33.4863236Z."""
    ts = time.time() if ts is None else ts
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e7):07d}Z"


def account_name_invalid(name) -> ArmError:
    return ArmError(400, "AccountNameInvalid", invalid_name_message(name), target=name)


def invalid_name_message(name) -> str:
    return (f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
            f"characters in length and use numbers and lower-case letters only.")


def taken_message(name) -> str:
    return f"The storage account named {name} is already taken."


def data_plane_error(status, code, message) -> ArmError:
    """A blob-service error as ARM relays it: the data-plane code and message plus RequestId/Time."""
    return ArmError(status, code, f"{message}\nRequestId:{uuid.uuid4()}\nTime:{iso_now()}")


def invalid_value(message) -> ArmError:
    """A refusal of a property value whose real storage-RP wording is unknown (see sandbox/README.md)."""
    return ArmError(400, "InvalidRequestPropertyValue", f"sandbox: {message}")


def etag_of(props: dict) -> str:
    """An etag that changes with every write (lastModifiedTime), in the storage services' "0x..." format."""
    stamp = hashlib.sha256(props.get("lastModifiedTime", "").encode()).hexdigest()[:15].upper()
    return f'"0x{stamp}"'


def check_container_name(name) -> None:
    if name in SPECIAL_CONTAINERS:
        return
    if not 3 <= len(name) <= 63:
        raise data_plane_error(400, "OutOfRangeInput",
                               "The specified resource name length is not within the permissible limits.")
    if not CONTAINER_NAME.fullmatch(name):
        # "specifed" is Azure's own spelling in this message.
        raise data_plane_error(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")


def account_id_of(resource_id: str) -> str:
    """The storage account id a nested storage id (blob service, container) belongs to."""
    marker = "/providers/microsoft.storage/storageaccounts/"
    index = resource_id.lower().index(marker) + len(marker)
    end = resource_id.find("/", index)
    return resource_id if end < 0 else resource_id[:end]


def file_service_id(account_id: str) -> str:
    return f"{account_id}/fileServices/default"


def share_id(account_id: str, share: str) -> str:
    """The id a share is stored under (the same casing rules as containers: as ARM returns it)."""
    return f"{file_service_id(account_id)}/shares/{share}"


def parent_missing(call, parent_type, parent_name) -> ArmError:
    """A missing parent of a blob service or container (usually the account): the storage RP answers
    ResourceNotFound naming it, not ARM's ParentResourceNotFound."""
    return resource_not_found(parent_type, parent_name, call.resource_group)
