"""Who is calling an emulated API server: the cluster's local account or a Microsoft Entra principal.

The AKS managed cluster's ARM record decides (read on every request, like the node pools):

- `properties.aadProfile.managed: true` (AKS-managed Microsoft Entra integration): the API server also
  accepts Entra access tokens, as AKS does through its Guard authentication webhook (kubeguard/guard
  v0.16.28 auth/providers/azure/azure.go): a token the sandbox's Entra issued (the token registry stands
  in for the signature check), not expired, whose audience is the AKS server application
  `6dae42f8-4368-4678-94ff-3960e28e3630` (Guard's go-oidc verifier with `--azure.client-id` and
  `--azure.verify-clientID`) and whose tenant is `aadProfile.tenantID` (Guard verifies the issuer of that
  tenant's OpenID metadata). The user is named after the `upn` claim, else the `oid` claim
  (`getUserInfo(azureUsernameClaim="upn", azureObjectIDClaim="oid")`): service principals and managed
  identities carry no `upn`, so their Kubernetes user name is their object id. Groups come from the token's
  `groups` claim, plus `system:authenticated` (added by kube-apiserver to every authenticated user).
- `properties.disableLocalAccounts: true`: the cluster's static credential (the token of today's
  kubeconfig, standing in for AKS's local-account client certificate) is refused. On a cluster without
  Entra integration nothing can authenticate any more ("On clusters without Microsoft Entra integration
  enabled and properties.disableLocalAccounts set to true, any attempt to authenticate with user or admin
  credentials will fail", MicrosoftDocs/azure-aks-docs articles/aks/local-accounts.md).

The local account is a member of `system:masters` (AKS's local admin credential is), which no
authorizer checks. A refused credential is always the same 401 `Status` ("Unauthorized",
k8s.io/apiserver v0.34.10 pkg/endpoints/filters/authentication.go `Unauthorized`).

Call with the store lock held.
"""

import hmac
import time
from dataclasses import dataclass, field

from ..entra import AKS_SERVER_APP_ID

CLUSTERS = "Microsoft.ContainerService/managedClusters"
LOCAL_USER = "masterclient"          # CN of the AKS local admin client certificate
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"


@dataclass
class AuthProfile:
    """The cluster's authentication and authorization settings (from its ARM record)."""
    cluster_id: str
    aad: bool = False                  # aadProfile.managed
    tenant_id: str | None = None       # aadProfile.tenantID
    azure_rbac: bool = False           # aadProfile.enableAzureRBAC
    local_accounts: bool = True        # not disableLocalAccounts


@dataclass
class Principal:
    name: str
    groups: list = field(default_factory=list)
    oid: str | None = None             # Entra object id (Guard's Extra["oid"])

    @property
    def local(self) -> bool:
        return MASTERS in self.groups


def profile_of(store, cluster) -> AuthProfile:
    """The settings of `cluster`: its managed cluster record's, or the defaults (standalone clusters)."""
    record = store.get(cluster.id)
    props = (record or {}).get("properties") or {}
    if not record or (record.get("type") or "").lower() != CLUSTERS.lower():
        return AuthProfile(cluster.id)
    aad = props.get("aadProfile") if isinstance(props.get("aadProfile"), dict) else {}
    managed = aad.get("managed") is True
    tenant = str(aad.get("tenantID") or "") if managed else ""
    return AuthProfile(cluster_id=record["id"], aad=managed, tenant_id=tenant or None,
                       azure_rbac=managed and aad.get("enableAzureRBAC") is True,
                       local_accounts=props.get("disableLocalAccounts") is not True)


def authenticate(store, cluster, token: str, profile: AuthProfile) -> Principal | None:
    """The caller behind a bearer token, or None (the API server answers 401)."""
    if not token:
        return None
    if hmac.compare_digest(token.encode(), cluster.token.encode()):
        return Principal(LOCAL_USER, [MASTERS, AUTHENTICATED]) if profile.local_accounts else None
    if not profile.aad:
        return None
    info = store.tokens.get(token)
    if info is None or info.get("expires_on", 0) <= time.time():
        return None
    if info.get("audience") != AKS_SERVER_APP_ID:
        return None
    if not profile.tenant_id or str(info.get("tenant_id", "")).lower() != profile.tenant_id.lower():
        return None
    oid = info.get("object_id")
    if not oid:
        return None
    groups = [g for g in info.get("groups") or [] if isinstance(g, str)]
    return Principal(name=info.get("upn") or oid, groups=[*groups, AUTHENTICATED], oid=oid)
