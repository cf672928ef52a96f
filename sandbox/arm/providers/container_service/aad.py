"""AKS-managed Microsoft Entra integration: `aadProfile`, `disableLocalAccounts`, the kubelogin kubeconfig
and what AKS writes into the cluster for the admin groups.

Facts and where they come from (details and more sources in sandbox/README.md, "AKS managed clusters"):
- `aadProfile: {managed: true, enableAzureRBAC, adminGroupObjectIDs, tenantID}` (2025-07-01 API;
  tenantID defaults to the subscription's tenant, as az aks create does). Once on, Entra integration cannot
  be turned off ("Microsoft Entra integration can't be disabled after it's enabled on a cluster",
  MicrosoftDocs/azure-aks-docs articles/aks/entra-id-control-plane-authentication.md); AKS's refusal of
  `managed: false` is `Changing property 'aadProfile.managed' is not allowed` (Azure/AKS#1519).
- `disableLocalAccounts` is accepted with or without Entra integration (a cluster without it can then not be
  reached at all: articles/aks/local-accounts.md; hashicorp/terraform-provider-azurerm#15489 shows such a
  cluster created and its clusterUser credential refused).
- listClusterUserCredential of an Entra cluster returns the exec-plugin kubeconfig that runs `kubelogin
  get-token` ("clusters ... running Kubernetes version 1.24 or later automatically use the kubelogin
  format", articles/aks/kubelogin-authentication.md); `format=azure` (azure-mgmt-containerservice 41.8
  `Format`: "Return azure auth-provider kubeconfig") gives the legacy auth-provider form, `format=exec` the
  exec one; the SDK sends no `format` unless asked. Server app 6dae42f8-4368-4678-94ff-3960e28e3630, client
  app 80faf920-1908-4b52-b5ef-a8e7bedfc67a (Azure/kubelogin docs/book/src/concepts/aks.md).
- AKS binds the admin groups to `cluster-admin` through the ClusterRoleBinding
  `aks-cluster-admin-binding-aad` (labels `addonmanager.kubernetes.io/mode: Reconcile`,
  `kubernetes.io/cluster-service: "true"`; seen with `kubectl describe` in public walkthroughs).
"""

import json
import re

from ....entra import AKS_SERVER_APP_ID
from . import common

AKS_CLIENT_APP_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
ENVIRONMENT = "AzurePublicCloud"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
INSTALL_HINT = ("\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                "To learn more, please go to https://aka.ms/aks/kubelogin\n")
ADMIN_BINDING = "aks-cluster-admin-binding-aad"
ADMIN_BINDING_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.io/cluster-service": "true"}
FIELD_MANAGER = "aks-addon-manager"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
FORMATS = ("azure", "exec")
EXEC_MIN_VERSION = "1.24.0"   # below it the default format is the azure auth-provider one


def managed(props) -> bool:
    aad = (props or {}).get("aadProfile")
    return isinstance(aad, dict) and aad.get("managed") is True


def local_accounts_disabled(props) -> bool:
    return (props or {}).get("disableLocalAccounts") is True


# ---------------------------------------------------------------------- rules
def check(call, props: dict, existing: dict | None) -> None:
    """Validate aadProfile / disableLocalAccounts of the properties about to be stored; fill defaults."""
    if "disableLocalAccounts" in props and not isinstance(props["disableLocalAccounts"], bool):
        raise common.ArmError(400, "InvalidParameter", "The value of parameter disableLocalAccounts is invalid: "
                              "it must be true or false.", target="disableLocalAccounts")
    aad = props.get("aadProfile")
    was_managed = existing is not None and managed(existing)
    if aad is None:
        return
    if not isinstance(aad, dict):
        raise common.ArmError(400, "InvalidParameter", "The 'aadProfile' member must be an object.",
                              target="aadProfile")
    if was_managed and aad.get("managed") is not True:
        raise common.property_change_not_allowed("aadProfile.managed")
    if aad.get("managed") is not True:
        # Approximation: legacy (non-managed) Entra integration is retired on AKS and not emulated.
        raise common.ArmError(400, "BadRequest", "Legacy Azure AD integration (aadProfile without managed: true) "
                              "is not supported; set aadProfile.managed to true (AKS-managed Microsoft Entra "
                              "integration).", target="aadProfile.managed")
    if "enableAzureRBAC" in aad and aad["enableAzureRBAC"] is not None and not isinstance(aad["enableAzureRBAC"],
                                                                                          bool):
        raise common.ArmError(400, "InvalidParameter", "The value of parameter aadProfile.enableAzureRBAC is "
                              "invalid: it must be true or false.", target="aadProfile.enableAzureRBAC")
    groups = aad.get("adminGroupObjectIDs")
    if groups is not None and (not isinstance(groups, list)
                               or not all(isinstance(g, str) and GUID.fullmatch(g) for g in groups)):
        raise common.ArmError(400, "InvalidParameter", "The value of parameter aadProfile.adminGroupObjectIDs is "
                              "invalid: it must be a list of group object ids (GUIDs).",
                              target="aadProfile.adminGroupObjectIDs")
    tenant = aad.get("tenantID")
    if tenant is not None and not (isinstance(tenant, str) and GUID.fullmatch(tenant)):
        raise common.ArmError(400, "InvalidParameter", f"The value of parameter aadProfile.tenantID '{tenant}' is "
                              f"invalid: it must be a tenant id (GUID).", target="aadProfile.tenantID")
    if not tenant:
        aad["tenantID"] = call.app.tenant_id
    if aad.get("enableAzureRBAC") is None:
        aad["enableAzureRBAC"] = False


# ---------------------------------------------------------------------- kubeconfigs
def _yaml(value) -> str:
    return json.dumps(value)   # JSON scalars are YAML scalars


def user_name(resource_group: str, cluster_name: str) -> str:
    return f"clusterUser_{resource_group}_{cluster_name}"


def _document(endpoint, cluster_name: str, user: str, user_lines: list) -> str:
    import base64

    with open(endpoint.ca_file, "rb") as handle:
        ca_data = base64.b64encode(handle.read()).decode("ascii")
    q = _yaml
    return "\n".join([
        "apiVersion: v1",
        "clusters:",
        "- cluster:",
        f"    certificate-authority-data: {ca_data}",
        f"    server: {q(endpoint.server)}",
        f"  name: {q(cluster_name)}",
        "contexts:",
        "- context:",
        f"    cluster: {q(cluster_name)}",
        f"    user: {q(user)}",
        f"  name: {q(cluster_name)}",
        f"current-context: {q(cluster_name)}",
        "kind: Config",
        "preferences: {}",
        "users:",
        f"- name: {q(user)}",
        "  user:",
        *user_lines,
        "",
    ])


def exec_kubeconfig(endpoint, cluster_name: str, resource_group: str, tenant_id: str) -> str:
    """The kubeconfig AKS returns for an Entra cluster: kubelogin as client-go exec plugin (device code)."""
    q = _yaml
    args = ["get-token", "--environment", ENVIRONMENT, "--server-id", AKS_SERVER_APP_ID, "--client-id",
            AKS_CLIENT_APP_ID, "--tenant-id", tenant_id, "--login", "devicecode"]
    lines = ["    exec:", f"      apiVersion: {q(EXEC_API_VERSION)}", "      args:",
             *[f"      - {q(a)}" for a in args],
             "      command: kubelogin", "      env: null", f"      installHint: {q(INSTALL_HINT)}",
             "      provideClusterInfo: false"]
    return _document(endpoint, cluster_name, user_name(resource_group, cluster_name), lines)


def azure_kubeconfig(endpoint, cluster_name: str, resource_group: str, tenant_id: str) -> str:
    """The legacy `azure` auth-provider form (format=azure); config-mode "1": audience without `spn:`."""
    q = _yaml
    lines = ["    auth-provider:", "      config:", f"        apiserver-id: {q(AKS_SERVER_APP_ID)}",
             f"        client-id: {q(AKS_CLIENT_APP_ID)}", "        config-mode: '1'",
             f"        environment: {q(ENVIRONMENT)}", f"        tenant-id: {q(tenant_id)}", "      name: azure"]
    return _document(endpoint, cluster_name, user_name(resource_group, cluster_name), lines)


def user_kubeconfig_format(call, props) -> str:
    """'exec' or 'azure' for listClusterUserCredential of an Entra cluster (query `format`)."""
    wanted = call.request.query.get("format")
    if wanted is None or wanted == "":
        version = props.get("currentKubernetesVersion") or props.get("kubernetesVersion") or ""
        return "azure" if common.version_below(version, EXEC_MIN_VERSION) else "exec"
    if wanted.lower() not in FORMATS:
        # Approximation: AKS's wording for an unknown format was not found.
        raise common.ArmError(400, "InvalidParameter", f"The value of parameter format '{wanted}' is invalid. "
                              f"Allowed values are 'azure' and 'exec'.", target="format")
    return wanted.lower()


# ---------------------------------------------------------------------- in-cluster objects
def cluster_admin_role() -> dict:
    """The bootstrap ClusterRole `cluster-admin` (kubernetes bootstrappolicy policy.go)."""
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]}


def admin_binding(groups: list) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": ADMIN_BINDING, "labels": dict(ADMIN_BINDING_LABELS)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups]}


def reconcile(hub, cluster_id: str, props: dict) -> None:
    """Entra clusters get the `cluster-admin` ClusterRole (when missing) and AKS's admin-group binding (rewritten
    to the current adminGroupObjectIDs; removed when there are none). Nothing happens on other clusters.
    The caller holds the store lock."""
    from ....k8s import kinds, operations

    if not managed(props):
        return
    cluster = hub.cluster(cluster_id)
    if cluster is None:
        return
    opts = operations.WriteOptions(manager=FIELD_MANAGER)
    roles = kinds.BY_KEY["rbac.authorization.k8s.io/clusterroles"]
    bindings = kinds.BY_KEY["rbac.authorization.k8s.io/clusterrolebindings"]
    if cluster.get(roles, "", "cluster-admin") is None:
        operations.create(cluster, roles, "", cluster_admin_role(), opts)
    groups = list(dict.fromkeys(props["aadProfile"].get("adminGroupObjectIDs") or []))
    current = cluster.get(bindings, "", ADMIN_BINDING)
    if not groups:
        if current is not None:
            operations.delete(cluster, bindings, "", ADMIN_BINDING, opts, {})
        return
    wanted = admin_binding(groups)
    if current is None:
        operations.create(cluster, bindings, "", wanted, opts)
    elif current.get("subjects") != wanted["subjects"] or current.get("roleRef") != wanted["roleRef"]:
        operations.delete(cluster, bindings, "", ADMIN_BINDING, opts, {})   # roleRef is immutable
        operations.create(cluster, bindings, "", wanted, opts)
