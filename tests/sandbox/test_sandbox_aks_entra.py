"""AKS clusters with AKS-managed Microsoft Entra integration in the sandbox: aadProfile/disableLocalAccounts
through the real azure-mgmt-containerservice client, Entra access tokens for the AKS server application from
the real azure-identity ClientSecretCredential, and the real `kubernetes` client against the emulated API
server, authorized by Azure RBAC (Guard) or by Kubernetes RBAC. Every test asserts a refusal or a shape a
lenient emulator would not produce."""

import base64
import json
import uuid

import jwt
import pytest
import yaml
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from kubernetes import client as kclient
from kubernetes import config as kconfig
from sandbox_test_helpers import raw_arm

from sandbox import sdk
from sandbox.client import SandboxError

LOCATION = "westeurope"
RG = "rg-entra"
AKS_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_SCOPE = f"{AKS_APP}/.default"
KUBELOGIN_CLIENT = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
GUARD_DENIED = "User does not have access to the resource in Azure. Update role assignment to allow access."
ROLES = {"cluster admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", "admin": "3498e952-d568-435e-9b2c-8d77e338d7f7",
         "reader": "7f6c6a51-bcf8-42ba-9220-52d62157d7db", "writer": "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"}
STATIC_REFUSED = "Getting static credential is not allowed because this cluster is set to disable local accounts."
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
                "reason": "Unauthorized", "code": 401}


# ---------------------------------------------------------------------- fixtures and helpers
@pytest.fixture
def rg(rm_client):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    return RG


def cluster_body(*, aad=None, disable_local_accounts=None):
    props = {"dnsPrefix": "entra1", "enableRBAC": True,
             "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System",
                                    "osType": "Linux", "type": "VirtualMachineScaleSets"}],
             "oidcIssuerProfile": {"enabled": True}, "securityProfile": {"workloadIdentity": {"enabled": True}}}
    if aad is not None:
        props["aadProfile"] = aad
    if disable_local_accounts is not None:
        props["disableLocalAccounts"] = disable_local_accounts
    return {"location": LOCATION, "identity": {"type": "SystemAssigned"}, "properties": props}


def create(aks_client, name="aks1", **kwargs):
    return aks_client.managed_clusters.begin_create_or_update(RG, name, cluster_body(**kwargs)).result()


def update(aks_client, name, mutate):
    """GET, change the REST body, PUT it back (what the collection's module does)."""
    body = json.loads(json.dumps(aks_client.managed_clusters.get(RG, name).as_dict()))
    mutate(body)
    return aks_client.managed_clusters.begin_create_or_update(RG, name, body).result()


def azure_rbac(**extra):
    return {"managed": True, "enableAzureRBAC": True, **extra}


def decoded(value):
    return value.decode() if isinstance(value, bytes) else value


def user_kubeconfig(aks_client, name="aks1", **kwargs):
    creds = aks_client.managed_clusters.list_cluster_user_credentials(RG, name, **kwargs)
    assert creds.kubeconfigs[0].name == "clusterUser"
    return yaml.safe_load(decoded(creds.kubeconfigs[0].value))


def admin_kubeconfig(aks_client, name="aks1"):
    creds = aks_client.managed_clusters.list_cluster_admin_credentials(RG, name)
    return yaml.safe_load(decoded(creds.kubeconfigs[0].value))


def aks_token(conn, scope=AKS_SCOPE):
    """A fresh credential each time: azure-identity caches tokens, and group claims are fixed at issue."""
    return sdk.credential(conn).get_token(scope).token


def token_kubeconfig(tmp_path, template: dict, token: str) -> str:
    """The cluster and CA of an AKS kubeconfig, with a user whose credential is `token`."""
    config = {"apiVersion": "v1", "kind": "Config", "clusters": template["clusters"],
              "contexts": [{"name": "entra", "context": {"cluster": template["clusters"][0]["name"],
                                                         "user": "entra"}}],
              "current-context": "entra", "users": [{"name": "entra", "user": {"token": token}}]}
    path = tmp_path / f"kubeconfig-{uuid.uuid4().hex[:8]}"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def core_api(tmp_path, template, token):
    return kclient.CoreV1Api(kconfig.new_client_from_config(config_file=token_kubeconfig(tmp_path, template, token)))


def api_client(tmp_path, template, token):
    return kconfig.new_client_from_config(config_file=token_kubeconfig(tmp_path, template, token))


def admin_api(aks_client, tmp_path, name="aks1"):
    """The local account (listClusterAdminCredential's static token): cluster administrator."""
    path = tmp_path / f"admin-{name}.kubeconfig"
    path.write_text(yaml.safe_dump(admin_kubeconfig(aks_client, name)))
    return kconfig.new_client_from_config(config_file=str(path))


def assign(auth_client, conn, scope, role, principal, principal_type="ServicePrincipal"):
    props = {"roleDefinitionId": f"/subscriptions/{conn['subscription_id']}/providers/Microsoft.Authorization/"
                                 f"roleDefinitions/{ROLES[role]}",
             "principalId": principal, "principalType": principal_type}
    return auth_client.role_assignments.create(scope, str(uuid.uuid4()), {"properties": props})


def pv(name="pv-entra"):
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                     "csi": {"driver": "blob.csi.azure.com", "volumeHandle": f"rg#acct#{name}",
                             "volumeAttributes": {"containerName": "data"}}}}


def configmap(name="cm-entra"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def refused(call, status):
    with pytest.raises(kclient.ApiException) as info:
        call()
    assert info.value.status == status, info.value.body
    return json.loads(info.value.body)


def forbidden_body(message, details):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": "Forbidden", "details": details, "code": 403}


def make_namespace(aks_client, tmp_path, name, cluster="aks1"):
    kclient.CoreV1Api(admin_api(aks_client, tmp_path, cluster)).create_namespace(
        {"metadata": {"name": name}})


# ---------------------------------------------------------------------- the cluster resource
def test_aad_profile_defaults_and_rules(sandbox, conn, rg, aks_client):
    cluster = create(aks_client, aad={"managed": True, "adminGroupObjectIDs": [str(uuid.uuid4())]})
    aad = cluster.aad_profile
    assert aad.managed is True and aad.tenant_id == conn["tenant_id"] and aad.enable_azure_rbac is False
    with pytest.raises(HttpResponseError) as info:  # Entra integration cannot be turned off (Azure/AKS#1519)
        update(aks_client, "aks1", lambda b: b["properties"]["aadProfile"].update(managed=False))
    assert info.value.status_code == 400 and info.value.error.code == "PropertyChangeNotAllowed"
    assert "Changing property 'aadProfile.managed' is not allowed." in str(info.value)
    # a PUT that leaves the profile out keeps it (the SDK drops what it does not send)
    kept = update(aks_client, "aks1", lambda b: b["properties"].pop("aadProfile"))
    assert kept.aad_profile.managed is True
    with pytest.raises(HttpResponseError) as info:  # legacy (non-managed) integration is not emulated
        create(aks_client, "legacy", aad={"managed": False, "serverAppID": str(uuid.uuid4())})
    assert info.value.status_code == 400
    with pytest.raises(HttpResponseError) as info:
        create(aks_client, "badgroups", aad={"managed": True, "adminGroupObjectIDs": ["not-a-guid"]})
    assert info.value.status_code == 400 and info.value.error.target == "aadProfile.adminGroupObjectIDs"


def test_user_credential_of_an_entra_cluster_is_the_kubelogin_exec_kubeconfig(sandbox, conn, rg, aks_client):
    create(aks_client, aad=azure_rbac())
    config = user_kubeconfig(aks_client)
    admin = admin_kubeconfig(aks_client)
    assert config["clusters"] == admin["clusters"]  # same server URL and CA as the static kubeconfig
    assert config["users"] == [{"name": f"clusterUser_{RG}_aks1", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
        "args": ["get-token", "--environment", "AzurePublicCloud", "--server-id", AKS_APP,
                 "--client-id", KUBELOGIN_CLIENT, "--tenant-id", conn["tenant_id"], "--login", "devicecode"],
        "env": None, "provideClusterInfo": False,
        "installHint": "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                       "To learn more, please go to https://aka.ms/aks/kubelogin\n"}}}]
    assert admin["users"][0]["user"]["token"] not in json.dumps(config)  # no static credential in it
    assert user_kubeconfig(aks_client, format="exec") == config
    legacy = user_kubeconfig(aks_client, format="azure")
    assert legacy["clusters"] == admin["clusters"]
    assert legacy["users"][0]["user"] == {"auth-provider": {"name": "azure", "config": {
        "apiserver-id": AKS_APP, "client-id": KUBELOGIN_CLIENT, "config-mode": "1",
        "environment": "AzurePublicCloud", "tenant-id": conn["tenant_id"]}}}
    with pytest.raises(HttpResponseError) as info:
        aks_client.managed_clusters.list_cluster_user_credentials(RG, "aks1", format="kubeconfig")
    assert info.value.status_code == 400


def test_entra_tokens_for_the_aks_server_app(sandbox, conn):
    claims = jwt.decode(aks_token(conn), options={"verify_signature": False})
    assert claims["aud"] == AKS_APP and claims["tid"] == conn["tenant_id"] and claims["oid"] == conn["app_object_id"]
    assert "groups" not in claims
    upper = jwt.decode(aks_token(conn, AKS_SCOPE.upper().replace("/.DEFAULT", "/.default")),
                       options={"verify_signature": False})
    assert upper["aud"] == AKS_APP  # an app id is case-insensitive; the token carries Entra's spelling
    group = sandbox.add_group_member(conn["app_object_id"])["group_id"]
    assert jwt.decode(aks_token(conn), options={"verify_signature": False})["groups"] == [group]
    arm = jwt.decode(aks_token(conn, conn["arm_scope"]), options={"verify_signature": False})
    assert "groups" not in arm  # only the AKS server app's tokens carry the claim
    with pytest.raises(ClientAuthenticationError, match="AADSTS500011"):
        sdk.credential(conn).get_token("7dae42f8-4368-4678-94ff-3960e28e3630/.default")


def test_directory_group_control_api(sandbox, conn):
    group = str(uuid.uuid4())
    assert sandbox.add_group_member(conn["app_object_id"], group) == {"group_id": group,
                                                                      "members": [conn["app_object_id"]]}
    assert sandbox.directory_groups() == [{"id": group, "members": [conn["app_object_id"]]}]
    with pytest.raises(SandboxError) as info:
        sandbox.add_group_member(str(uuid.uuid4()), group)  # not a principal of the directory
    assert info.value.status == 400
    with pytest.raises(SandboxError):
        sandbox.add_group_member(conn["app_object_id"], "not-a-guid")
    assert sandbox.remove_group_member(conn["app_object_id"], group) is True
    assert sandbox.remove_group_member(conn["app_object_id"], group) is False
    sandbox.reset()
    assert sandbox.directory_groups() == []


# ---------------------------------------------------------------------- authentication
def test_without_a_role_creating_a_pv_is_403_with_guards_message(sandbox, conn, rg, aks_client, tmp_path):
    create(aks_client, aad=azure_rbac())
    core = core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    before = sandbox.counters()["kubernetes"]
    body = refused(lambda: core.create_persistent_volume(pv()), 403)
    assert body == forbidden_body(
        f'persistentvolumes is forbidden: User "{conn["app_object_id"]}" cannot create resource '
        f'"persistentvolumes" in API group "" at the cluster scope: {GUARD_DENIED}', {"kind": "persistentvolumes"})
    body = refused(lambda: core.read_namespaced_config_map("kube-root-ca.crt", "default"), 403)
    assert body["message"] == (
        f'configmaps "kube-root-ca.crt" is forbidden: User "{conn["app_object_id"]}" cannot get resource '
        f'"configmaps" in API group "" in the namespace "default": {GUARD_DENIED}')
    assert body["details"] == {"name": "kube-root-ca.crt", "kind": "configmaps"}
    delta = sandbox.counters_delta({"kubernetes": before})["kubernetes"]
    assert delta["forbidden"] == 2 and delta["unauthorized"] == 0 and delta["writes"] == 0 and delta["reads"] == 0
    # discovery stays open to every authenticated principal (system:discovery / Guard's discovery allowance)
    assert kclient.VersionApi(core.api_client).get_code().git_version.startswith("v1.")


def test_tokens_for_another_audience_or_expired_are_401(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    assign(auth_client, conn, cluster.id, "cluster admin", conn["app_object_id"])
    template = user_kubeconfig(aks_client)
    before = sandbox.counters()["kubernetes"]
    for scope in (conn["arm_scope"], "https://storage.azure.com/.default"):
        body = refused(lambda scope=scope: core_api(tmp_path, template, aks_token(conn, scope)).list_namespace(), 401)
        assert body == UNAUTHORIZED
    good = aks_token(conn)
    core_api(tmp_path, template, good).create_persistent_volume(pv())
    sandbox.expire_tokens()
    assert refused(lambda: core_api(tmp_path, template, good).list_namespace(), 401) == UNAUTHORIZED
    assert refused(lambda: core_api(tmp_path, template, "not-a-token").list_namespace(), 401) == UNAUTHORIZED
    delta = sandbox.counters_delta({"kubernetes": before})["kubernetes"]
    assert delta["unauthorized"] == 4 and delta["forbidden"] == 0 and delta["writes"] == 1


def test_a_token_of_another_tenant_is_401(sandbox, conn, rg, aks_client, tmp_path):
    """The sandbox's Entra serves one tenant, so the cluster trusts another one: its tokens are then foreign."""
    other_tenant = str(uuid.uuid4())
    create(aks_client, aad={"managed": True, "tenantID": other_tenant, "adminGroupObjectIDs": []})
    config = user_kubeconfig(aks_client)
    assert config["users"][0]["user"]["exec"]["args"][8] == other_tenant
    body = refused(lambda: core_api(tmp_path, config, aks_token(conn)).list_namespace(), 401)
    assert body == UNAUTHORIZED
    # the same token works once the cluster trusts the sandbox tenant (and the principal is an admin)
    group = sandbox.add_group_member(conn["app_object_id"])["group_id"]
    update(aks_client, "aks1", lambda b: b["properties"]["aadProfile"].update(
        tenantID=conn["tenant_id"], adminGroupObjectIDs=[group]))
    assert core_api(tmp_path, config, aks_token(conn)).list_namespace().items


def test_entra_tokens_are_refused_by_clusters_without_entra_integration(sandbox, conn, rg, aks_client, tmp_path):
    create(aks_client)
    config = user_kubeconfig(aks_client)
    assert set(config["users"][0]["user"]) == {"token"}  # today's static kubeconfig, unchanged
    assert refused(lambda: core_api(tmp_path, config, aks_token(conn)).list_namespace(), 401) == UNAUTHORIZED
    static = kconfig.new_client_from_config_dict(config)
    assert kclient.CoreV1Api(static).create_persistent_volume(pv()).metadata.name == "pv-entra"


# ---------------------------------------------------------------------- local accounts
def test_local_accounts_disabled_refuse_the_static_credentials(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac(), disable_local_accounts=False)
    admin = admin_kubeconfig(aks_client)
    static = kclient.CoreV1Api(kconfig.new_client_from_config_dict(admin))
    assert static.list_namespace().items  # local accounts enabled: the static token still works
    update(aks_client, "aks1", lambda b: b["properties"].update(disableLocalAccounts=True))
    with pytest.raises(HttpResponseError) as info:
        aks_client.managed_clusters.list_cluster_admin_credentials(RG, "aks1")
    assert info.value.status_code == 400 and info.value.error.code == "BadRequest"
    assert info.value.error.message == STATIC_REFUSED
    assert refused(static.list_namespace, 401) == UNAUTHORIZED
    assert user_kubeconfig(aks_client)["users"][0]["user"]["exec"]["command"] == "kubelogin"
    assign(auth_client, conn, cluster.id, "cluster admin", conn["app_object_id"])
    assert core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn)).list_namespace().items
    update(aks_client, "aks1", lambda b: b["properties"].update(disableLocalAccounts=False))
    assert static.list_namespace().items


def test_local_accounts_disabled_without_entra_leave_no_way_in(sandbox, conn, rg, aks_client, tmp_path):
    create(aks_client)
    static = kclient.CoreV1Api(kconfig.new_client_from_config_dict(user_kubeconfig(aks_client)))
    update(aks_client, "aks1", lambda b: b["properties"].update(disableLocalAccounts=True))
    for call in (aks_client.managed_clusters.list_cluster_user_credentials,
                 aks_client.managed_clusters.list_cluster_admin_credentials):
        with pytest.raises(HttpResponseError) as info:
            call(RG, "aks1")
        assert info.value.status_code == 400 and info.value.error.message == STATIC_REFUSED
    assert refused(static.list_namespace, 401) == UNAUTHORIZED


# ---------------------------------------------------------------------- Azure RBAC for Kubernetes authorization
@pytest.mark.parametrize("scope", ["cluster", "resource group"])
def test_cluster_admin_role_at_the_cluster_scope_or_above_allows(sandbox, conn, rg, aks_client, auth_client,
                                                                 tmp_path, scope):
    cluster = create(aks_client, aad=azure_rbac())
    target = cluster.id if scope == "cluster" else f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}"
    core = core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    refused(lambda: core.create_persistent_volume(pv()), 403)
    other = create(aks_client, "aks2", aad=azure_rbac())
    assign(auth_client, conn, other.id, "cluster admin", conn["app_object_id"])   # another cluster's scope
    refused(lambda: core.create_persistent_volume(pv()), 403)
    assign(auth_client, conn, target, "cluster admin", conn["app_object_id"])
    assert core.create_persistent_volume(pv()).metadata.name == "pv-entra"   # the same token, now allowed
    assert core.create_namespace({"metadata": {"name": "team-a"}}).metadata.name == "team-a"
    assert core.delete_persistent_volume("pv-entra") is not None
    assert sandbox.counters()["kubernetes"]["forbidden"] == 2


def test_rbac_admin_cannot_write_namespaces(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    assign(auth_client, conn, cluster.id, "admin", conn["app_object_id"])
    core = core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    assert core.create_persistent_volume(pv()).metadata.name == "pv-entra"
    body = refused(lambda: core.create_namespace({"metadata": {"name": "team-b"}}), 403)
    assert body["message"].endswith(f'cannot create resource "namespaces" in API group "" at the cluster scope: '
                                    f'{GUARD_DENIED}')


def test_rbac_reader_reads_but_cannot_write(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    assign(auth_client, conn, cluster.id, "reader", conn["app_object_id"])
    api = api_client(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    core, apps = kclient.CoreV1Api(api), kclient.AppsV1Api(api)
    assert "kube-root-ca.crt" in {c.metadata.name for c in core.list_namespaced_config_map("default").items}
    assert {"default", "kube-system"} <= {n.metadata.name for n in core.list_namespace().items}
    assert apps.list_namespaced_deployment("kube-system").items is not None
    body = refused(lambda: core.create_namespaced_config_map("default", configmap()), 403)
    assert body["message"] == (
        f'configmaps is forbidden: User "{conn["app_object_id"]}" cannot create resource "configmaps" in API group '
        f'"" in the namespace "default": {GUARD_DENIED}')
    body = refused(lambda: apps.create_namespaced_deployment("default", {
        "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}), 403)
    assert body["details"] == {"group": "apps", "kind": "deployments"}
    assert body["message"].startswith("deployments.apps is forbidden: ")
    refused(lambda: core.list_namespaced_secret("default"), 403)   # the Reader role does not read Secrets
    refused(core.list_persistent_volume, 403)                       # nor PersistentVolumes
    refused(lambda: core.delete_namespaced_config_map("kube-root-ca.crt", "default"), 403)


def test_rbac_writer_at_a_namespace_scope_writes_only_there(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    make_namespace(aks_client, tmp_path, "team-a")
    assign(auth_client, conn, f"{cluster.id}/namespaces/team-a", "writer", conn["app_object_id"])
    api = api_client(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    core, apps = kclient.CoreV1Api(api), kclient.AppsV1Api(api)
    assert core.create_namespaced_config_map("team-a", configmap()).metadata.namespace == "team-a"
    assert apps.create_namespaced_deployment("team-a", {
        "metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert core.read_namespace("team-a").metadata.name == "team-a"  # namespaces/read at its own scope
    body = refused(lambda: core.create_namespaced_config_map("default", configmap()), 403)
    assert body["message"].endswith(f'in API group "" in the namespace "default": {GUARD_DENIED}')
    refused(lambda: core.create_persistent_volume(pv()), 403)        # cluster-scoped: not in the namespace scope
    refused(core.list_config_map_for_all_namespaces, 403)           # a list across namespaces is cluster scope


def test_role_assignment_to_a_group_the_token_carries(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    group = str(uuid.uuid4())
    sandbox.add_group_member(conn["app_object_id"], group)
    assign(auth_client, conn, cluster.id, "cluster admin", group, principal_type="Group")
    template = user_kubeconfig(aks_client)
    assert core_api(tmp_path, template, aks_token(conn)).create_persistent_volume(pv()).metadata.name
    sandbox.remove_group_member(conn["app_object_id"], group)
    refused(lambda: core_api(tmp_path, template, aks_token(conn)).create_persistent_volume(pv("pv-2")), 403)


def test_token_request_needs_the_permission_and_counts_apart(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    cluster = create(aks_client, aad=azure_rbac())
    core = core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    before = sandbox.counters()["kubernetes"]
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    body = refused(lambda: core.create_namespaced_service_account_token("default", "default", request), 403)
    assert 'cannot create resource "serviceaccounts/token" in API group "" in the namespace "default"' in \
        body["message"]
    assign(auth_client, conn, cluster.id, "writer", conn["app_object_id"])   # serviceaccounts/* covers it
    assert core.create_namespaced_service_account_token("default", "default", request).status.token
    delta = sandbox.counters_delta({"kubernetes": before})["kubernetes"]
    assert delta["forbidden"] == 1 and delta["token_requests"] == 1 and delta["tokens_issued"] == 1
    assert delta["writes"] == 0


# ---------------------------------------------------------------------- Kubernetes RBAC with Entra
def test_kubernetes_rbac_admin_group_binding_and_bindings(sandbox, conn, rg, aks_client, auth_client, tmp_path):
    admins = str(uuid.uuid4())
    cluster = create(aks_client, aad={"managed": True, "adminGroupObjectIDs": [admins]})
    template = user_kubeconfig(aks_client)
    rbac = kclient.RbacAuthorizationV1Api(admin_api(aks_client, tmp_path))
    binding = rbac.read_cluster_role_binding("aks-cluster-admin-binding-aad")
    assert binding.role_ref.name == "cluster-admin" and [(s.kind, s.name) for s in binding.subjects] == \
        [("Group", admins)]
    assert binding.metadata.labels["addonmanager.kubernetes.io/mode"] == "Reconcile"
    # not a member, no binding: Kubernetes RBAC denies, without Guard's reason (Azure RBAC is off) ...
    assign(auth_client, conn, cluster.id, "cluster admin", conn["app_object_id"])   # ... and ignores Azure roles
    body = refused(lambda: core_api(tmp_path, template, aks_token(conn)).create_persistent_volume(pv()), 403)
    assert body == forbidden_body(
        f'persistentvolumes is forbidden: User "{conn["app_object_id"]}" cannot create resource '
        f'"persistentvolumes" in API group "" at the cluster scope', {"kind": "persistentvolumes"})
    # bound as User <object id> to a ClusterRole that allows creating PersistentVolumes (and nothing else)
    rbac.create_cluster_role({"metadata": {"name": "pv-creator"}, "rules": [
        {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["create"]}]})
    rbac.create_cluster_role_binding({"metadata": {"name": "pv-creator"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "pv-creator"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": conn["app_object_id"]}]})
    core = core_api(tmp_path, template, aks_token(conn))
    assert core.create_persistent_volume(pv()).metadata.name == "pv-entra"
    refused(lambda: core.read_persistent_volume("pv-entra"), 403)
    refused(lambda: core.delete_persistent_volume("pv-entra"), 403)
    # a member of the admin group is cluster-admin (aks-cluster-admin-binding-aad)
    sandbox.add_group_member(conn["app_object_id"], admins)
    member = core_api(tmp_path, template, aks_token(conn))
    assert member.read_persistent_volume("pv-entra").metadata.name == "pv-entra"
    assert member.delete_persistent_volume("pv-entra") is not None
    assert member.create_namespace({"metadata": {"name": "ops"}}).metadata.name == "ops"


def test_kubernetes_rbac_role_binding_and_resource_names(sandbox, conn, rg, aks_client, tmp_path):
    create(aks_client, aad={"managed": True})
    make_namespace(aks_client, tmp_path, "team-a")
    rbac = kclient.RbacAuthorizationV1Api(admin_api(aks_client, tmp_path))
    group = sandbox.add_group_member(conn["app_object_id"])["group_id"]
    rbac.create_namespaced_role("team-a", {"metadata": {"name": "one-cm"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "update"],
         "resourceNames": ["kube-root-ca.crt"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]})
    rbac.create_namespaced_role_binding("team-a", {"metadata": {"name": "one-cm"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "one-cm"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    core = core_api(tmp_path, user_kubeconfig(aks_client), aks_token(conn))
    assert core.read_namespaced_config_map("kube-root-ca.crt", "team-a").metadata.name == "kube-root-ca.crt"
    assert core.create_namespaced_config_map("team-a", configmap()).metadata.name == "cm-entra"
    refused(lambda: core.read_namespaced_config_map("cm-entra", "team-a"), 403)       # not in resourceNames
    refused(lambda: core.list_namespaced_config_map("team-a"), 403)                   # list is another verb
    refused(lambda: core.read_namespaced_config_map("kube-root-ca.crt", "default"), 403)  # other namespace
    # a binding to a missing role: the RBAC authorizer's reason names it
    rbac.create_namespaced_role_binding("team-a", {"metadata": {"name": "ghost"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ghost"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    body = refused(lambda: core.list_namespaced_secret("team-a"), 403)
    assert body["message"].endswith('in the namespace "team-a": RBAC: role.rbac.authorization.k8s.io "ghost" '
                                    'not found')


def test_raw_http_shapes(sandbox, conn, rg, aks_client, tmp_path):
    """The 401/403 bodies on the wire (no client in between)."""
    import ssl
    import urllib.error
    import urllib.request
    create(aks_client, aad=azure_rbac())
    server = user_kubeconfig(aks_client)["clusters"][0]["cluster"]["server"]
    context = ssl.create_default_context(cafile=conn["ca_file"])
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))

    def call(path, token):
        request = urllib.request.Request(server + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())
    status, body = call("/metrics", aks_token(conn))   # a non-resource path outside the discovery rules
    assert status == 403 and body == forbidden_body(
        f'forbidden: User "{conn["app_object_id"]}" cannot get path "/metrics": {GUARD_DENIED}', {})
    assert call("/version", aks_token(conn))[0] == 200 and call("/apis", aks_token(conn))[0] == 200
    status, body = call("/api/v1/namespaces/default/pods?watch=true", aks_token(conn))
    assert status == 403 and 'cannot watch resource "pods"' in body["message"]
    status, body = call("/apis/storage.k8s.io/v1/csidrivers/blob.csi.azure.com", aks_token(conn))
    assert status == 403 and body["details"] == {"name": "blob.csi.azure.com", "group": "storage.k8s.io",
                                                 "kind": "csidrivers"}
    assert body["message"].startswith('csidrivers.storage.k8s.io "blob.csi.azure.com" is forbidden: ')
    assert call("/api/v1/namespaces", aks_token(conn, conn["arm_scope"])) == (401, UNAUTHORIZED)
    assert raw_arm(conn, "GET", f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}?api-version=2021-04-01",
                   aks_token(conn))[0] == 401   # and ARM refuses the AKS token: audiences are not interchangeable


def test_exec_kubeconfig_names_the_cluster_tenant(sandbox, conn, rg, aks_client):
    create(aks_client)
    before = user_kubeconfig(aks_client)
    update(aks_client, "aks1", lambda b: b["properties"].update(aadProfile={"managed": True}))  # enable later
    after = user_kubeconfig(aks_client)
    assert set(before["users"][0]["user"]) == {"token"} and set(after["users"][0]["user"]) == {"exec"}
    assert base64.b64decode(after["clusters"][0]["cluster"]["certificate-authority-data"]) == \
        base64.b64decode(before["clusters"][0]["cluster"]["certificate-authority-data"])
