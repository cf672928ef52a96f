"""Storage account bodies: server defaults for a new account and the merge rules for updates.

Defaults are what Azure returns for a new account created with a recent api-version (spec texts in
azure-mgmt-storage 25.3 / api-version 2026-09-01 and the 2025-06-01 examples):
  allowBlobPublicAccess false, allowCrossTenantReplication false, supportsHttpsTrafficOnly true,
  minimumTlsVersion TLS1_2, accessTier Hot (general-purpose v2 and blob accounts), networkAcls
  Allow/AzureServices, Microsoft-managed encryption for blob and file.
  allowSharedKeyAccess, defaultToOAuthAuthentication and publicNetworkAccess are *absent* unless set:
  "The default value is null, which is equivalent to true" (shared key allowed).
"""

import copy

from .... import storage_data
from ...errors import ArmError, invalid_request_content
from .common import iso_now

KINDS = ("Storage", "StorageV2", "BlobStorage", "BlockBlobStorage", "FileStorage")
SKUS = ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS",
        "Premium_LRS", "Premium_ZRS", "StandardV2_LRS", "StandardV2_GRS", "StandardV2_ZRS", "StandardV2_GZRS",
        "PremiumV2_LRS", "PremiumV2_ZRS")
ENDPOINTS_BY_KIND = {
    "Storage": ("blob", "queue", "table", "file"),
    "StorageV2": ("blob", "dfs", "file", "queue", "table", "web"),
    "BlobStorage": ("blob", "dfs", "table", "web"),
    "BlockBlobStorage": ("blob", "dfs", "web"),
    "FileStorage": ("file",),
}
# Set by the service, never taken from a request body.
READ_ONLY = {"provisioningState", "primaryEndpoints", "primaryLocation", "statusOfPrimary", "creationTime",
             "keyCreationTime", "secondaryLocation", "statusOfSecondary", "secondaryEndpoints",
             "lastGeoFailoverTime", "geoReplicationStats", "failoverInProgress", "privateEndpointConnections",
             "blobRestoreStatus", "isSkuConversionBlocked", "accountMigrationInProgress",
             "storageAccountSkuConversionStatus"}


def canonical(value, allowed, what):
    for candidate in allowed:
        if isinstance(value, str) and candidate.lower() == value.lower():
            return candidate
    raise invalid_request_content(f"The value '{value}' is not valid for '{what}'. Allowed values: "
                                  f"{', '.join(allowed)}.")


def sku_of(sku) -> dict:
    if not isinstance(sku, dict) or not sku.get("name"):
        raise invalid_request_content("The 'sku' property with a 'name' is required.")
    name = canonical(sku["name"], SKUS, "sku.name")
    return {"name": name, "tier": "Premium" if name.startswith("Premium") else "Standard"}


def endpoints(base_url, name, kind) -> dict:
    """primaryEndpoints: the services of the kind, each on the sandbox itself (see sandbox/storage_data.py:
    no data plane is emulated, a request there is refused at once with 501)."""
    return {service: storage_data.endpoint(base_url, name, service) for service in ENDPOINTS_BY_KIND[kind]}


def network_acls(acls) -> dict:
    if not isinstance(acls, dict):
        raise invalid_request_content("The 'networkAcls' property must be an object.")
    ip_rules = [{"value": r["value"], "action": r.get("action") or "Allow"}
                for r in acls.get("ipRules") or [] if isinstance(r, dict) and r.get("value")]
    vnet_rules = [{"id": r["id"], "action": r.get("action") or "Allow", "state": r.get("state") or "Succeeded"}
                  for r in acls.get("virtualNetworkRules") or [] if isinstance(r, dict) and r.get("id")]
    result = {**acls, "bypass": acls.get("bypass") or "AzureServices",
              "defaultAction": canonical(acls.get("defaultAction") or "Allow", ("Allow", "Deny"),
                                         "networkAcls.defaultAction"),
              "ipRules": ip_rules, "virtualNetworkRules": vnet_rules}
    return result


def default_encryption(now) -> dict:
    service = {"keyType": "Account", "enabled": True, "lastEnabledTime": now}
    return {"services": {"blob": dict(service), "file": dict(service)}, "keySource": "Microsoft.Storage",
            "requireInfrastructureEncryption": False}


def deep_merge(base: dict, patch: dict) -> dict:
    """Objects merge recursively, lists and scalars replace, null leaves the current value."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def writable(requested) -> dict:
    if not isinstance(requested, dict):
        raise invalid_request_content("The 'properties' member must be an object.")
    return {k: v for k, v in requested.items() if k not in READ_ONLY}


def new_properties(name, kind, location, requested, base_url) -> dict:
    now = iso_now()
    props = {
        "provisioningState": "Creating",
        "creationTime": now,
        "keyCreationTime": {"key1": now, "key2": now},
        "primaryEndpoints": endpoints(base_url, name, kind),
        "primaryLocation": location,
        "statusOfPrimary": "available",
        "allowBlobPublicAccess": False,
        "allowCrossTenantReplication": False,
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "networkAcls": network_acls({}),
        "encryption": default_encryption(now),
    }
    if kind in ("StorageV2", "BlobStorage"):
        props["accessTier"] = "Hot"
    elif kind == "BlockBlobStorage":
        props["accessTier"] = "Premium"
    return finish(deep_merge(props, writable(requested)))


def updated_properties(existing, requested) -> dict:
    props = finish(deep_merge(existing, writable(requested)))
    if existing.get("largeFileSharesState") == "Enabled" and props.get("largeFileSharesState") != "Enabled":
        # azure-mgmt-storage 25.3.0 LargeFileSharesState: "cannot be disabled once it is enabled".
        raise ArmError(400, "InvalidRequestPropertyValue",
                       "sandbox: 'largeFileSharesState' cannot be disabled once it is enabled.")
    return props


def finish(props) -> dict:
    props["networkAcls"] = network_acls(props.get("networkAcls") or {})
    if "accessTier" in props:
        props["accessTier"] = canonical(props["accessTier"], ("Hot", "Cool", "Cold", "Premium"), "accessTier")
    if "minimumTlsVersion" in props:
        props["minimumTlsVersion"] = canonical(props["minimumTlsVersion"], ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3"),
                                               "minimumTlsVersion")
    if "largeFileSharesState" in props:
        props["largeFileSharesState"] = canonical(props["largeFileSharesState"], ("Enabled", "Disabled"),
                                                  "largeFileSharesState")
    if "publicNetworkAccess" in props:
        props["publicNetworkAccess"] = canonical(props["publicNetworkAccess"],
                                                 ("Enabled", "Disabled", "SecuredByPerimeter"), "publicNetworkAccess")
    for flag in ("allowBlobPublicAccess", "allowSharedKeyAccess", "allowCrossTenantReplication",
                 "supportsHttpsTrafficOnly", "defaultToOAuthAuthentication", "isHnsEnabled"):
        if flag in props and not isinstance(props[flag], bool):
            raise invalid_request_content(f"The 'properties.{flag}' value must be a boolean.")
    return props


def changed_kind(existing_kind, requested_kind) -> str:
    """Kind is fixed once created, except the in-place upgrade of a v1/blob account to StorageV2."""
    kind = canonical(requested_kind, KINDS, "kind")
    if kind != existing_kind and not (kind == "StorageV2" and existing_kind in ("Storage", "BlobStorage")):
        raise ArmError(400, "AccountPropertyCannotBeUpdated",
                       "The property 'kind' was specified in the input, but it cannot be updated.")
    return kind
