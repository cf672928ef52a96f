"""Microsoft.Storage/storageAccounts/fileServices: the one "default" file service of an account.

Like the blob service it exists as soon as an account of a kind with Azure Files does (Storage, StorageV2,
FileStorage), so shares always have their parent; accounts of the other kinds (BlobStorage, BlockBlobStorage)
have none. PUT (FileServices_SetServiceProperties) merges the sent properties into the current ones; GET and
the list (`{"value": [...]}`, FileServices_List: not paged) read them; there is no PATCH or DELETE.
Shapes: azure-rest-api-specs Microsoft.Storage stable/2025-06-01 examples FileServicesGet.json,
FileServicesPut_EnableSecureSmbFeatures.json, FileServicesPut_EnableSMBMultichannel.json; the allowed values
are the azure-mgmt-storage 25.3.0 model docstrings (`SmbSetting`, `DeleteRetentionPolicy`). Refusals whose
real wording is unknown start with "sandbox:" (see "Azure Files in ARM" in sandbox/README.md).
"""

from ....server import Response
from ...errors import ArmError
from .account_body import deep_merge
from .blob_services import AccountService
from .common import (API_VERSIONS, FILE_KINDS, FILE_SERVICES, account_id_of, file_service_id, invalid_value,
                     parent_missing)

# protocolSettings.smb: each a ";"-separated list of these values.
SMB_LISTS = {
    "versions": ("SMB2.1", "SMB3.0", "SMB3.1.1"),
    "authenticationMethods": ("NTLMv2", "Kerberos"),
    "kerberosTicketEncryption": ("RC4-HMAC", "AES-256"),
    "channelEncryption": ("AES-128-CCM", "AES-128-GCM", "AES-256-GCM"),
}


def default_file_service(account_id: str) -> dict:
    """What a new REST-created account's file service reads as (approximation: soft delete off, as the
    sandbox's blob service; the portal turns share soft delete on with 7 days)."""
    return {"id": file_service_id(account_id), "name": "default", "type": FILE_SERVICES,
            "properties": {"cors": {"corsRules": []}, "shareDeleteRetentionPolicy": {"enabled": False},
                           "protocolSettings": {"smb": {}}}}


def feature_not_supported(account) -> ArmError:
    return ArmError(400, "FeatureNotSupportedForAccount",
                    f"sandbox: File is not supported for the account '{account['name']}' of kind "
                    f"'{account.get('kind')}'.")


def check_retention(policy) -> None:
    if policy is None:
        return
    if not isinstance(policy, dict) or not isinstance(policy.get("enabled", False), bool):
        raise invalid_value("'shareDeleteRetentionPolicy' must be an object with a boolean 'enabled'.")
    days = policy.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365):
        raise invalid_value(f"'shareDeleteRetentionPolicy.days' is {days!r}; it must be between 1 and 365.")


def check_smb(smb, account) -> None:
    if smb is None:
        return
    if not isinstance(smb, dict):
        raise invalid_value("'protocolSettings.smb' must be an object.")
    for key, allowed in SMB_LISTS.items():
        value = smb.get(key)
        if value is None:
            continue
        items = value.split(";") if isinstance(value, str) else [None]
        bad = [item for item in items if item not in allowed]
        if bad:
            raise invalid_value(f"'protocolSettings.smb.{key}' is {value!r}; it must be a ';'-separated list of "
                                f"{', '.join(allowed)}.")
    multichannel = smb.get("multichannel")
    if multichannel is not None:
        if not isinstance(multichannel, dict) or not isinstance(multichannel.get("enabled", False), bool):
            raise invalid_value("'protocolSettings.smb.multichannel' must be an object with a boolean 'enabled'.")
        # The SDK's Multichannel docstring: "only supported on premium file accounts".
        if multichannel.get("enabled") and account.get("kind") != "FileStorage":
            raise invalid_value("SMB multichannel is only supported on premium file accounts (kind FileStorage).")


class FileServices(AccountService):
    type_name = FILE_SERVICES
    api_versions = API_VERSIONS
    tracked = False

    def validate_name(self, call):
        if call.name != "default":
            raise ArmError(400, "InvalidResourceName",
                           f"Resource name '{call.name}' is invalid. The file service name must be 'default'.")
        account = call.store.get(account_id_of(call.id))
        if account is not None and account.get("kind") not in FILE_KINDS:
            raise feature_not_supported(account)

    def parent_not_found(self, call, parent_type, parent_name):
        return parent_missing(call, parent_type, parent_name)

    def not_found(self, call):
        account = call.store.get(account_id_of(call.id)) or {}
        if account and account.get("kind") not in FILE_KINDS:
            return feature_not_supported(account)
        return super().not_found(call)

    def new_properties(self, call, requested):
        return self.updated_properties(call, default_file_service(call.id)["properties"], requested)

    def updated_properties(self, call, existing, requested):
        merged = deep_merge(existing, requested)
        account = call.store.get(account_id_of(call.id)) or {}
        check_retention(merged.get("shareDeleteRetentionPolicy"))
        protocol = merged.get("protocolSettings")
        if protocol is not None and not isinstance(protocol, dict):
            raise invalid_value("'protocolSettings' must be an object.")
        check_smb((protocol or {}).get("smb"), account)
        return merged

    def list(self, call):
        """FileServices_List answers FileServiceItems: a plain {"value": [...]}, never paged."""
        items = call.store.under(call.container_id, self.type_name)
        return Response.json(200, {"value": [self.render(call, item) for item in items]})
