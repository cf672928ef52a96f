"""`properties.azureFilesIdentityBasedAuthentication` of a storage account: the identity source of SMB access to
Azure Files, with SMB OAuth (`smbOAuthSettings.isSmbOAuthEnabled`), which token-only (managed or workload
identity) SMB mounts need.

Facts (docs/research/azure-files.md, "SMB OAuth on the account"):
- the object's `directoryServiceOptions` is required (None | AADDS | AD | AADKERB; azure-mgmt-storage 25.3.0
  `AzureFilesIdentityBasedAuthentication`); the StorageAccounts_Update example StorageAccountEnableSmbOAuth.json
  (azure-rest-api-specs Microsoft.Storage stable/2025-01-01 and 2026-09-01) sends it with "None";
- `smbOAuthSettings` exists from api-version 2025-01-01 (the first stable one with that example); an older
  api-version neither takes nor shows it (ARM ignores a property its api-version does not define);
- an account can use SMB OAuth "only if it doesn't have any other identity source configured"
  (azure-docs articles/storage/files/files-managed-identities.md), i.e. with directoryServiceOptions None;
- AADDS needs a Microsoft Entra Domain Services tenant, which the sandbox never has: 409 AadDsTenantNotFound,
  the answer quoted in hashicorp/terraform-provider-azurerm#8961;
- switching the directory service to None clears activeDirectoryProperties (Azure/azure-rest-api-specs#12473).
Refusals whose real wording is unknown start with "sandbox:".
"""

from ...errors import ArmError
from .account_body import canonical
from .common import invalid_value

KEY = "azureFilesIdentityBasedAuthentication"
DIRECTORY_SERVICES = ("None", "AADDS", "AD", "AADKERB")
SHARE_PERMISSIONS = ("None", "StorageFileDataSmbShareReader", "StorageFileDataSmbShareContributor",
                     "StorageFileDataSmbShareElevatedContributor")
SMB_OAUTH_SINCE = "2025-01-01"


def smb_oauth_known(api_version: str) -> bool:
    return str(api_version or "")[:10] >= SMB_OAUTH_SINCE


def checked_request(call, properties):
    """The request's properties with the Files identity object validated and canonicalized (a new dict)."""
    if not isinstance(properties, dict) or properties.get(KEY) is None:
        return properties
    sent = properties[KEY]
    if not isinstance(sent, dict):
        raise invalid_value(f"'{KEY}' must be an object.")
    if sent.get("directoryServiceOptions") is None:
        raise invalid_value(f"'{KEY}.directoryServiceOptions' is required (None, AADDS, AD or AADKERB).")
    cleaned = dict(sent, directoryServiceOptions=canonical(sent["directoryServiceOptions"], DIRECTORY_SERVICES,
                                                           f"{KEY}.directoryServiceOptions"))
    if sent.get("defaultSharePermission") is not None:
        cleaned["defaultSharePermission"] = canonical(sent["defaultSharePermission"], SHARE_PERMISSIONS,
                                                      f"{KEY}.defaultSharePermission")
    oauth = sent.get("smbOAuthSettings")
    if oauth is not None:
        if not smb_oauth_known(call.api_version):
            del cleaned["smbOAuthSettings"]
        elif not isinstance(oauth, dict) or not isinstance(oauth.get("isSmbOAuthEnabled", False), bool):
            raise invalid_value(f"'{KEY}.smbOAuthSettings' must be an object with a boolean 'isSmbOAuthEnabled'.")
    return {**properties, KEY: cleaned}


def check_result(call, props: dict, requested) -> None:
    """After the merge: the rules between the fields (only when the request sent the object)."""
    sent = (requested or {}).get(KEY) if isinstance(requested, dict) else None
    identity = props.get(KEY)
    if not sent or not isinstance(identity, dict):
        return
    directory = identity["directoryServiceOptions"]
    if directory == "None" and "activeDirectoryProperties" not in sent:
        identity.pop("activeDirectoryProperties", None)
    if directory == "AADDS":
        raise ArmError(409, "AadDsTenantNotFound",
                       f"Unable to locate active AAD DS for AAD tenant Id {call.app.tenant_id} associated with the "
                       f"storage account. For more information, see - https://aka.ms/storagefilesaad")
    ad = identity.get("activeDirectoryProperties") or {}
    if directory == "AD" and not (ad.get("domainName") and ad.get("domainGuid")):
        raise invalid_value(f"'{KEY}.activeDirectoryProperties' with 'domainName' and 'domainGuid' is required "
                            f"when directoryServiceOptions is AD.")
    if smb_oauth_enabled(props) and directory != "None":
        raise invalid_value(f"SMB OAuth can be enabled only on an account without another identity source: "
                            f"directoryServiceOptions must be None, not {directory}.")


def smb_oauth_enabled(props: dict) -> bool:
    """Whether the account has SMB OAuth on (what a token-only SMB mount needs)."""
    identity = (props or {}).get(KEY) or {}
    return (identity.get("smbOAuthSettings") or {}).get("isSmbOAuthEnabled") is True


def rendered(api_version: str, props: dict) -> dict:
    """Answer as the api-version knows the account: before 2025-01-01 without smbOAuthSettings."""
    identity = props.get(KEY)
    if isinstance(identity, dict) and "smbOAuthSettings" in identity and not smb_oauth_known(api_version):
        props[KEY] = {k: v for k, v in identity.items() if k != "smbOAuthSettings"}
    return props
