"""The managed cluster body: defaults of a new cluster, the AKS-style merge of an update, and the
feature rules (OIDC issuer, workload identity, Kubernetes versions).

Shapes follow the 2025-07-01 examples in Azure/azure-rest-api-specs (specification/containerservice/
resource-manager/Microsoft.ContainerService/aks/stable/2025-07-01/examples: ManagedClustersCreate_Update,
ManagedClustersGet, ManagedClustersCreate_SecurityProfile, AgentPoolsGet) and the models of
azure-mgmt-containerservice 41.8 (api-version 2026-08-01).

Update semantics: ARM PUT is a full replace, but the SDK drops read-only fields from the body it
sends back (and clients often send only some profiles), so a PUT of an existing cluster deep-merges the
request into the stored properties: profiles (objects) that are sent are merged, profiles that are
not sent are kept, scalars and lists are replaced; agent pools merge by name. Server-owned fields
(provisioningState, powerState, fqdn, currentKubernetesVersion, the issuer URL, the kubelet identity,
...) always come from the server.
"""

import copy
import hashlib
import re
import secrets
import uuid

from ...errors import invalid_request_content
from . import aad, common

# Fields the server owns: values a client sends are ignored.
SERVER_OWNED = ("provisioningState", "powerState", "maxAgentPools", "currentKubernetesVersion", "fqdn",
                "azurePortalFQDN", "privateFQDN", "resourceUID", "identityProfile")
POOL_SERVER_OWNED = ("provisioningState", "currentOrchestratorVersion", "nodeImageVersion", "eTag")
IMMUTABLE = ("dnsPrefix", "nodeResourceGroup")
NODE_IMAGE = "AKSUbuntu-2204gen2containerd-202507.21.0"
POOL_NAME = re.compile(r"[a-z][a-z0-9]{0,11}")


def merge(base, overlay):
    """Deep merge for the AKS update: objects merge, None means "not sent", anything else replaces."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            continue
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def _flag(props, *path) -> bool:
    node = props
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return bool(node)


def oidc_enabled(props) -> bool:
    return _flag(props, "oidcIssuerProfile", "enabled")


def workload_identity_enabled(props) -> bool:
    return _flag(props, "securityProfile", "workloadIdentity", "enabled")


def blob_driver_enabled(props) -> bool:
    return _flag(props, "storageProfile", "blobCSIDriver", "enabled")


def file_driver_enabled(props) -> bool:
    """The AKS-managed Azure Files driver ("The default value is true": default_storage_profile sets it)."""
    return _flag(props, "storageProfile", "fileCSIDriver", "enabled")


# ---------------------------------------------------------------------- names and strings
def default_dns_prefix(name: str, resource_group: str, subscription: str) -> str:
    """What az aks create generates when no dnsPrefix is given: name[:10]-group[:16]-sub[:6]."""
    def clean(value):
        return re.sub(r"[^A-Za-z0-9-]", "", value)
    prefix = f"{clean(name)[:10]}-{clean(resource_group)[:16]}-{clean(subscription)[:6]}"
    return prefix if prefix[0].isalpha() else "a" + prefix


def fqdn_hash(cluster_id: str) -> str:
    return hashlib.sha256(cluster_id.lower().encode()).hexdigest()[:8]


def node_resource_group(resource_group: str, name: str, location: str) -> str:
    return f"MC_{resource_group}_{name}_{location}"[:80]


# ---------------------------------------------------------------------- agent pools
def normalize_pool(requested: dict, existing: dict | None, cluster_version: str, state: str) -> dict:
    """One agent pool profile (with "name"), defaults filled like AKS, server-owned fields set."""
    if not isinstance(requested, dict):
        raise invalid_request_content("Each agent pool profile must be an object.")
    pool = merge(existing or {}, {k: v for k, v in requested.items() if k not in POOL_SERVER_OWNED})
    name = pool.get("name")
    if not isinstance(name, str) or not POOL_NAME.fullmatch(name):
        raise common.ArmError(400, "InvalidParameter",
                              f"The value of parameter agentPoolProfile.name '{name}' is invalid. The agent pool "
                              f"name must start with a lowercase letter, contain only lowercase letters and "
                              f"numbers, and be 1 to 12 characters long.", target="agentPoolProfile.name")
    pool.setdefault("count", 1)
    pool.setdefault("vmSize", "Standard_DS2_v2")
    pool.setdefault("osDiskSizeGB", 128)
    pool.setdefault("osDiskType", "Managed")
    pool.setdefault("kubeletDiskType", "OS")
    pool.setdefault("maxPods", 110)
    pool.setdefault("type", "VirtualMachineScaleSets")
    pool.setdefault("enableAutoScaling", False)
    pool.setdefault("osType", "Linux")
    pool.setdefault("osSKU", "Ubuntu")
    pool.setdefault("enableNodePublicIP", False)
    pool.setdefault("enableFIPS", False)
    pool.setdefault("mode", "User")
    pool.setdefault("powerState", {"code": "Running"})
    if not pool.get("orchestratorVersion"):
        pool["orchestratorVersion"] = cluster_version
    pool["currentOrchestratorVersion"] = pool["orchestratorVersion"]
    pool["nodeImageVersion"] = (existing or {}).get("nodeImageVersion") or NODE_IMAGE
    pool["provisioningState"] = state
    return pool


def merge_pools(requested, existing: list, cluster_version: str, state: str) -> list:
    """Pools sent are merged by name into the stored ones; stored pools not sent are kept."""
    if requested is None:
        requested = []
    if not isinstance(requested, list):
        raise invalid_request_content("The 'agentPoolProfiles' member must be an array.")
    by_name = {(p.get("name") or "").lower(): p for p in existing}
    result = [copy.deepcopy(p) for p in existing]
    index = {(p.get("name") or "").lower(): i for i, p in enumerate(result)}
    for item in requested:
        key = (item.get("name") or "").lower() if isinstance(item, dict) else ""
        pool = normalize_pool(item, by_name.get(key), cluster_version, state)
        if key in index:
            result[index[key]] = pool
        else:
            index[key] = len(result)
            result.append(pool)
    if not result:
        result.append(normalize_pool({"name": "nodepool1", "mode": "System"}, None, cluster_version, state))
    if not any(str(p.get("mode")).lower() == "system" for p in result):
        result[0]["mode"] = "System"  # AKS needs one System pool; the first one becomes it
    return result


# ---------------------------------------------------------------------- properties
def new_properties(call, requested: dict, location: str, kubelet_identity: dict) -> dict:
    """Properties of a new cluster (provisioningState Creating)."""
    config = call.store.config
    default_version = str(config.get("default_kubernetes_version") or "1.33.2")
    requested = {k: v for k, v in requested.items() if k not in SERVER_OWNED and v is not None}
    version = requested.get("kubernetesVersion") or default_version
    props = {"provisioningState": "Creating", "powerState": {"code": "Running"}, "maxAgentPools": 100,
             "kubernetesVersion": version, "supportPlan": "KubernetesOfficial"}
    props = merge(props, requested)
    props["kubernetesVersion"] = version
    check_version_supported(call, version)
    current = common.full_version(version, default_version)
    props["currentKubernetesVersion"] = current
    dns_prefix = props.get("dnsPrefix") or default_dns_prefix(call.name, call.resource_group, call.app.subscription_id)
    props["dnsPrefix"] = dns_prefix
    host = f"{dns_prefix}-{fqdn_hash(call.id)}"
    props["fqdn"] = f"{host}.hcp.{location}.azmk8s.io"
    props["azurePortalFQDN"] = f"{host}.portal.hcp.{location}.azmk8s.io"
    props["agentPoolProfiles"] = merge_pools(requested.get("agentPoolProfiles"), [], version, "Creating")
    props.setdefault("servicePrincipalProfile", {"clientId": "msi"})
    props.setdefault("addonProfiles", {})
    props["nodeResourceGroup"] = props.get("nodeResourceGroup") or node_resource_group(call.resource_group,
                                                                                       call.name, location)
    props.setdefault("enableRBAC", True)
    props["networkProfile"] = merge(default_network_profile(), props.get("networkProfile") or {})
    props["storageProfile"] = merge(default_storage_profile(), props.get("storageProfile") or {})
    props["oidcIssuerProfile"] = {"enabled": oidc_enabled(props)}
    props.setdefault("autoUpgradeProfile", {"upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage"})
    if isinstance(props.get("aadProfile"), dict):
        props["aadProfile"].setdefault("tenantID", call.app.tenant_id)
    props["identityProfile"] = {"kubeletidentity": kubelet_identity}
    props["resourceUID"] = secrets.token_hex(12)
    check_features(call, props, None)
    if oidc_enabled(props):
        props["oidcIssuerProfile"]["issuerURL"] = new_issuer_url(call, location)
    return props


def updated_properties(call, existing: dict, requested: dict, location: str) -> dict:
    """Properties after a PUT on an existing cluster (provisioningState Updating)."""
    config = call.store.config
    default_version = str(config.get("default_kubernetes_version") or "1.33.2")
    requested = {k: v for k, v in requested.items() if k not in SERVER_OWNED and v is not None}
    for prop in IMMUTABLE:
        if requested.get(prop) and existing.get(prop) and str(requested[prop]) != str(existing[prop]):
            raise common.property_change_not_allowed(prop)
    pools = requested.pop("agentPoolProfiles", None)
    issuer = dict(requested.pop("oidcIssuerProfile", None) or {})
    issuer.pop("issuerURL", None)
    props = merge(existing, requested)
    if issuer:
        props["oidcIssuerProfile"] = merge(existing.get("oidcIssuerProfile") or {}, issuer)
    version = props.get("kubernetesVersion") or existing.get("currentKubernetesVersion") or default_version
    props["kubernetesVersion"] = version
    if version != existing.get("kubernetesVersion"):
        check_version_supported(call, version)
    props["agentPoolProfiles"] = merge_pools(pools, existing.get("agentPoolProfiles") or [], version, "Updating")
    for field in SERVER_OWNED:
        if field in existing:
            props[field] = copy.deepcopy(existing[field])
    props["provisioningState"] = "Updating"
    check_features(call, props, existing)
    if oidc_enabled(props) and not (props.get("oidcIssuerProfile") or {}).get("issuerURL"):
        props["oidcIssuerProfile"]["issuerURL"] = new_issuer_url(call, location)
    return props


def default_network_profile() -> dict:
    return {"networkPlugin": "azure", "networkPluginMode": "overlay", "podCidr": "10.244.0.0/16",
            "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10", "outboundType": "loadBalancer",
            "loadBalancerSku": "standard", "podCidrs": ["10.244.0.0/16"], "serviceCidrs": ["10.0.0.0/16"],
            "ipFamilies": ["IPv4"]}


def default_storage_profile() -> dict:
    return {"diskCSIDriver": {"enabled": True, "version": "v1"}, "fileCSIDriver": {"enabled": True},
            "snapshotController": {"enabled": True}}


def new_issuer_url(call, location: str) -> str:
    """AKS's issuer shape, hosted by the sandbox: {oidc_issuer_base}{location}/{tenant}/{guid}/."""
    return call.app.oidc.issuer_url(f"{location}/{call.app.tenant_id}/{uuid.uuid4()}")


# ---------------------------------------------------------------------- rules
def check_version_supported(call, version: str) -> None:
    minimum = str(call.store.config.get("min_kubernetes_version") or "")
    if common.parse_version(version) is None or (minimum and common.version_below(version, minimum)):
        raise common.version_not_supported(call.name, version)


def check_features(call, props: dict, existing: dict | None) -> None:
    if existing is not None and oidc_enabled(existing) and not oidc_enabled(props):
        raise common.oidc_cannot_be_disabled()
    aad.check(call, props, existing)  # aadProfile / disableLocalAccounts (Microsoft Entra integration)
    if workload_identity_enabled(props):
        if not oidc_enabled(props):
            raise common.workload_identity_needs_oidc()
        minimum = str(call.store.config.get("min_workload_identity_version") or "")
        version = props.get("kubernetesVersion") or ""
        if minimum and common.version_below(version, minimum):
            raise common.workload_identity_version(version, minimum)
