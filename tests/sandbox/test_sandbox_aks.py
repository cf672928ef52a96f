"""AKS managed clusters in the sandbox, driven by the real azure-mgmt-containerservice client (41.8,
api-version 2026-08-01), the real kubernetes client against the emulated API server, and the real
azure-identity WorkloadIdentityCredential against the sandbox's Entra."""

import base64
import json
import re
import uuid

import pytest
import yaml
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from sandbox_test_helpers import get_json, raw_arm


LOCATION = "westeurope"
RG = "rg-aks"
SA_SUBJECT = "system:serviceaccount:reports:blob-reader"
AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}


@pytest.fixture
def rg(rm_client):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    return RG


def cluster_body(*, oidc=True, workload_identity=True, blob=False, version=None, identity=None, **props):
    body = {"location": LOCATION, "tags": {"env": "test"},
            "identity": identity or {"type": "SystemAssigned"},
            "properties": {"dnsPrefix": "aks1", "enableRBAC": True,
                           "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5",
                                                  "mode": "System", "osType": "Linux",
                                                  "type": "VirtualMachineScaleSets"}],
                           "oidcIssuerProfile": {"enabled": oidc},
                           "securityProfile": {"workloadIdentity": {"enabled": workload_identity}},
                           "storageProfile": {"blobCSIDriver": {"enabled": blob}}, **props}}
    if version:
        body["properties"]["kubernetesVersion"] = version
    return body


def create(aks_client, name="aks1", **kwargs):
    return aks_client.managed_clusters.begin_create_or_update(RG, name, cluster_body(**kwargs)).result()


def as_dict(model):
    return model.as_dict() if hasattr(model, "as_dict") else model


def update(aks_client, name, mutate):
    """What the collection's module does: GET, change the REST body, PUT it back."""
    current = aks_client.managed_clusters.get(RG, name)
    body = json.loads(json.dumps(current.as_dict()))
    mutate(body)
    return aks_client.managed_clusters.begin_create_or_update(RG, name, body).result()


def kube_api(aks_client, name, tmp_path):
    """A kubernetes ApiClient built from listClusterUserCredential's kubeconfig."""
    from kubernetes import client as kclient
    from kubernetes import config as kconfig
    creds = aks_client.managed_clusters.list_cluster_user_credentials(RG, name)
    text = creds.kubeconfigs[0].value
    text = text.decode() if isinstance(text, bytes) else text
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(text)
    configuration = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(path), client_configuration=configuration)
    return kclient.ApiClient(configuration), yaml.safe_load(text)


def wait_operation(conn, token, url, polls=20):
    """Poll an Azure-AsyncOperation status URL until it is no longer InProgress (bounded)."""
    for _attempt in range(polls):
        status, _headers, body = raw_arm(conn, "GET", url[len(conn["arm_url"]) - 1:], token)
        assert status == 200
        if json.loads(body)["status"] != "InProgress":
            return json.loads(body)
    raise AssertionError(f"operation {url} still running after {polls} polls")


def arm_error(exc_info):
    return exc_info.value.error.code, exc_info.value.error.message


# ---------------------------------------------------------------------- create / get / list
def test_create_with_oidc_and_workload_identity(sandbox, conn, rg, aks_client, msi_client):
    cluster = create(aks_client)
    props = cluster.as_dict()
    assert cluster.provisioning_state == "Succeeded"
    assert cluster.type == "Microsoft.ContainerService/ManagedClusters"
    assert cluster.identity.type == "SystemAssigned"
    assert cluster.identity.principal_id and cluster.identity.tenant_id == conn["tenant_id"]
    issuer = cluster.oidc_issuer_profile.issuer_url
    pattern = (re.escape(conn["oidc_issuer_base"]) + LOCATION + "/" + conn["tenant_id"] +
               r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/")
    assert re.fullmatch(pattern, issuer), issuer
    assert cluster.security_profile.workload_identity.enabled is True
    assert cluster.node_resource_group == f"MC_{RG}_aks1_{LOCATION}"
    assert re.fullmatch(rf"aks1-[0-9a-f]{{8}}\.hcp\.{LOCATION}\.azmk8s\.io", cluster.fqdn)
    assert cluster.current_kubernetes_version == "1.33.2" and cluster.power_state.code == "Running"
    pool = cluster.agent_pool_profiles[0]
    assert (pool.name, pool.mode, pool.provisioning_state, pool.orchestrator_version) == \
        ("system", "System", "Succeeded", cluster.kubernetes_version)
    assert props["properties"]["storageProfile"]["diskCSIDriver"]["enabled"] is True
    # The kubelet identity is a real identity in the node resource group.
    kubelet = cluster.identity_profile["kubeletidentity"]
    identity = msi_client.user_assigned_identities.get(cluster.node_resource_group, "aks1-agentpool")
    assert (kubelet.resource_id, kubelet.client_id, kubelet.object_id) == \
        (identity.id, identity.client_id, identity.principal_id)
    # GET is stable; the issuer is served (discovery + JWKS) by the sandbox.
    again = aks_client.managed_clusters.get(RG, "aks1")
    assert again.oidc_issuer_profile.issuer_url == issuer and again.fqdn == cluster.fqdn
    status, discovery = get_json(conn, issuer + ".well-known/openid-configuration")
    assert status == 200 and discovery["issuer"] == issuer
    assert [c.name for c in aks_client.managed_clusters.list_by_resource_group(RG)] == ["aks1"]
    assert [c.name for c in aks_client.managed_clusters.list()] == ["aks1"]
    # The hub serves the cluster with the same issuer.
    hub = {c["id"].lower(): c for c in sandbox.kube_clusters()}[cluster.id.lower()]
    assert hub["oidc_issuer_url"] == issuer and hub["kubernetes_version"] == "1.33.2"


def test_create_answers_201_creating_with_azure_async_operation(sandbox, conn, rg, credential):
    token = credential.get_token(conn["arm_scope"]).token
    path = (f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.ContainerService/"
            f"managedClusters/aks-raw?api-version=2026-08-01")
    status, headers, body = raw_arm(conn, "PUT", path, token, cluster_body())
    assert status == 201 and json.loads(body)["properties"]["provisioningState"] == "Creating"
    assert "/operationStatuses/" in headers["Azure-AsyncOperation"] and int(headers["Retry-After"]) >= 1
    # A second PUT while the create runs is refused like AKS.
    status, _headers, body = raw_arm(conn, "PUT", path, token, cluster_body())
    error = json.loads(body)["error"]
    assert status == 409 and error["code"] == "OperationNotAllowed"
    assert "in progress create managed cluster operation" in error["message"]


# ---------------------------------------------------------------------- OIDC issuer and workload identity
def test_enable_oidc_later_then_refuse_disabling(sandbox, conn, rg, aks_client):
    cluster = create(aks_client, oidc=False, workload_identity=False)
    assert cluster.oidc_issuer_profile.enabled is False and cluster.oidc_issuer_profile.issuer_url is None

    def enable(body):
        body["properties"]["oidcIssuerProfile"]["enabled"] = True
        body["properties"]["securityProfile"] = {"workloadIdentity": {"enabled": True}}
    enabled = update(aks_client, "aks1", enable)
    issuer = enabled.oidc_issuer_profile.issuer_url
    assert issuer.startswith(conn["oidc_issuer_base"]) and issuer.endswith("/")
    assert enabled.security_profile.workload_identity.enabled is True
    hub = {c["id"].lower(): c for c in sandbox.kube_clusters()}[cluster.id.lower()]
    assert hub["oidc_issuer_url"] == issuer
    # Stable across later updates (tags only).
    assert update(aks_client, "aks1", lambda b: b["tags"].update(x="y")).oidc_issuer_profile.issuer_url == issuer

    def disable(body):
        body["properties"]["oidcIssuerProfile"]["enabled"] = False
        body["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = False
    with pytest.raises(HttpResponseError) as info:
        update(aks_client, "aks1", disable)
    assert info.value.status_code == 400
    assert arm_error(info) == ("OIDCIssuerFeatureCannotBeDisabled", "OIDC issuer feature cannot be disabled.")
    assert aks_client.managed_clusters.get(RG, "aks1").oidc_issuer_profile.issuer_url == issuer


def test_workload_identity_without_oidc_refused(rg, aks_client):
    with pytest.raises(HttpResponseError) as info:
        create(aks_client, oidc=False, workload_identity=True)
    assert info.value.status_code == 400 and "requires enabling OIDC issuer" in arm_error(info)[1]
    with pytest.raises(ResourceNotFoundError):
        aks_client.managed_clusters.get(RG, "aks1")


def test_too_old_kubernetes_versions_refused(rg, aks_client):
    with pytest.raises(HttpResponseError) as info:
        create(aks_client, version="1.21.9")
    assert info.value.status_code == 400
    assert "Workload identity is not supported in Kubernetes version 1.21.9" in arm_error(info)[1]
    with pytest.raises(HttpResponseError) as info:
        create(aks_client, version="1.19.0", workload_identity=False)
    code, message = arm_error(info)
    assert code == "K8sVersionNotSupported" and "is on version 1.19.0 which is not supported" in message
    # Without workload identity 1.21 is fine; a minor-only version resolves to a patch.
    cluster = create(aks_client, version="1.21", workload_identity=False)
    assert (cluster.kubernetes_version, cluster.current_kubernetes_version) == ("1.21", "1.21.0")


def test_min_workload_identity_version_is_configurable(sandbox, rg, aks_client):
    sandbox.configure(min_workload_identity_version="1.30.0")
    with pytest.raises(HttpResponseError, match="1.30.0 and higher"):
        create(aks_client, version="1.29.4")


# ---------------------------------------------------------------------- control-plane identity
def test_user_assigned_control_plane_identity_must_exist(sandbox, conn, rg, aks_client, msi_client):
    missing = (f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}/providers/"
               f"Microsoft.ManagedIdentity/userAssignedIdentities/id-missing")
    with pytest.raises(HttpResponseError) as info:
        create(aks_client, identity={"type": "UserAssigned", "userAssignedIdentities": {missing: {}}})
    code, message = arm_error(info)
    assert info.value.status_code == 400 and code == "FailedIdentityOperation" and "NotFound" in message
    ident = msi_client.user_assigned_identities.create_or_update(RG, "id-aks", {"location": LOCATION})
    cluster = create(aks_client, identity={"type": "UserAssigned", "userAssignedIdentities": {ident.id: {}}})
    served = cluster.identity.user_assigned_identities[ident.id]
    assert (served.principal_id, served.client_id) == (ident.principal_id, ident.client_id)


# ---------------------------------------------------------------------- blob CSI driver in the hub
def test_blob_driver_toggles_aks_csidriver_in_hub(sandbox, rg, aks_client, tmp_path):
    from kubernetes import client as kclient
    create(aks_client, blob=True)
    api, _config = kube_api(aks_client, "aks1", tmp_path)
    storage = kclient.StorageV1Api(api)
    driver = storage.read_csi_driver("blob.csi.azure.com")
    assert AKS_LABELS.items() <= driver.metadata.labels.items()
    assert not driver.spec.token_requests  # the managed driver has no workload identity token request
    assert driver.spec.attach_required is False and driver.spec.pod_info_on_mount is True

    off = update(aks_client, "aks1", lambda b: b["properties"]["storageProfile"]["blobCSIDriver"].update(
        enabled=False))
    assert off.storage_profile.blob_csi_driver.enabled is False
    assert "blob.csi.azure.com" not in [d.metadata.name for d in storage.list_csi_driver().items]

    # The open-source driver (Helm) is never removed by AKS; enabling the managed one replaces it.
    oss = kclient.V1CSIDriver(metadata=kclient.V1ObjectMeta(name="blob.csi.azure.com"),
                              spec=kclient.V1CSIDriverSpec(attach_required=False, token_requests=[
                                  kclient.StorageV1TokenRequest(audience="api://AzureADTokenExchange",
                                                                expiration_seconds=3600)]))
    storage.create_csi_driver(oss)
    update(aks_client, "aks1", lambda b: b["tags"].update(touched="yes"))
    assert storage.read_csi_driver("blob.csi.azure.com").spec.token_requests[0].audience == \
        "api://AzureADTokenExchange"
    update(aks_client, "aks1", lambda b: b["properties"]["storageProfile"]["blobCSIDriver"].update(enabled=True))
    replaced = storage.read_csi_driver("blob.csi.azure.com")
    assert not replaced.spec.token_requests and AKS_LABELS.items() <= replaced.metadata.labels.items()


# ---------------------------------------------------------------------- credentials
def test_user_credentials_reach_the_emulated_api_server(sandbox, conn, rg, aks_client, tmp_path):
    from kubernetes import client as kclient
    cluster = create(aks_client)
    api, config = kube_api(aks_client, "aks1", tmp_path)
    hub = {c["id"].lower(): c for c in sandbox.kube_clusters()}[cluster.id.lower()]
    assert config["clusters"][0]["cluster"]["server"] == hub["server"]
    assert hub["server"].startswith(conn["arm_url"].rstrip("/"))
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    with open(conn["ca_file"], encoding="ascii") as handle:
        assert ca.strip() == handle.read().strip()
    names = [n.metadata.name for n in kclient.CoreV1Api(api).list_namespace().items]
    assert {"default", "kube-system"} <= set(names)
    admin = aks_client.managed_clusters.list_cluster_admin_credentials(RG, "aks1")
    assert admin.kubeconfigs[0].name == "clusterAdmin"
    with pytest.raises(ResourceNotFoundError):
        aks_client.managed_clusters.list_cluster_user_credentials(RG, "nope")


def test_counters_put_is_a_write_credentials_a_read(sandbox, rg, aks_client):
    create(aks_client)
    before = sandbox.counters()
    aks_client.managed_clusters.list_cluster_user_credentials(RG, "aks1")
    delta = sandbox.counters_delta(before)
    assert delta["by_type"]["Microsoft.ContainerService/managedClusters"] == {"reads": 1, "writes": 0}
    assert (delta["reads"], delta["writes"], delta["list_keys"]) == (1, 0, 0)
    before = sandbox.counters()
    update(aks_client, "aks1", lambda b: b["tags"].update(a="b"))
    delta = sandbox.counters_delta(before)["by_type"]["Microsoft.ContainerService/managedClusters"]
    assert delta == {"reads": 2, "writes": 1}  # GET, PUT, final GET after the LRO


# ---------------------------------------------------------------------- federation with the cluster issuer
def test_service_account_token_of_cluster_issuer_federates(sandbox, conn, rg, aks_client, msi_client, tmp_path):
    from azure.identity import WorkloadIdentityCredential
    issuer = create(aks_client).oidc_issuer_profile.issuer_url
    ident = msi_client.user_assigned_identities.create_or_update(RG, "id-reader", {"location": LOCATION})
    token_file = tmp_path / "token"
    token_file.write_text(sandbox.mint_sa_token(SA_SUBJECT, issuer=issuer))

    def credential(client_id):
        return WorkloadIdentityCredential(tenant_id=conn["tenant_id"], client_id=client_id,
                                          token_file_path=str(token_file), authority=conn["authority_host"],
                                          connection_verify=conn["ca_file"])
    msi_client.federated_identity_credentials.create_or_update(
        RG, "id-reader", "fic-ok", {"issuer": issuer, "subject": SA_SUBJECT,
                                    "audiences": ["api://AzureADTokenExchange"]})
    assert credential(ident.client_id).get_token(conn["arm_scope"]).token

    other = msi_client.user_assigned_identities.create_or_update(RG, "id-slash", {"location": LOCATION})
    msi_client.federated_identity_credentials.create_or_update(
        RG, "id-slash", "fic-no-slash", {"issuer": issuer.rstrip("/"), "subject": SA_SUBJECT,
                                         "audiences": ["api://AzureADTokenExchange"]})
    with pytest.raises(ClientAuthenticationError, match="AADSTS700213") as info:
        credential(other.client_id).get_token(conn["arm_scope"])
    assert "trailing slash" in str(info.value)


# ---------------------------------------------------------------------- updates keep what is not sent
def test_partial_update_keeps_other_profiles(sandbox, conn, rg, aks_client, credential):
    created = create(aks_client)
    token = credential.get_token(conn["arm_scope"]).token
    path = (f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.ContainerService/"
            f"managedClusters/aks1?api-version=2026-08-01")
    status, headers, _b = raw_arm(conn, "PUT", path, token, {
        "location": LOCATION, "properties": {"storageProfile": {"blobCSIDriver": {"enabled": True}}}})
    assert status == 200
    wait_operation(conn, token, headers["Azure-AsyncOperation"])
    after = aks_client.managed_clusters.get(RG, "aks1")
    assert after.storage_profile.blob_csi_driver.enabled is True
    assert after.storage_profile.disk_csi_driver.enabled is True
    assert after.oidc_issuer_profile.issuer_url == created.oidc_issuer_profile.issuer_url
    assert [p.name for p in after.agent_pool_profiles] == ["system"]
    assert after.network_profile.network_plugin == created.network_profile.network_plugin
    assert after.identity.principal_id == created.identity.principal_id
    assert after.tags == {"env": "test"}
    status, _h, body = raw_arm(conn, "PUT", path, token, {"location": LOCATION,
                                                          "properties": {"dnsPrefix": "other"}})
    assert status == 400 and json.loads(body)["error"]["code"] == "PropertyChangeNotAllowed"


def test_dns_prefix_cannot_change(rg, aks_client):
    create(aks_client)
    with pytest.raises(HttpResponseError) as info:
        update(aks_client, "aks1", lambda b: b["properties"].update(dnsPrefix="other"))
    assert arm_error(info) == ("PropertyChangeNotAllowed", "Changing property 'dnsPrefix' is not allowed.")


# ---------------------------------------------------------------------- Failed state
def test_failed_state_is_observable_and_a_put_reconciles(sandbox, rg, aks_client):
    cluster = create(aks_client)
    sandbox.merge_resource(cluster.id, {"properties": {"provisioningState": "Failed"}})
    assert aks_client.managed_clusters.get(RG, "aks1").provisioning_state == "Failed"
    fixed = update(aks_client, "aks1", lambda b: None)
    assert fixed.provisioning_state == "Succeeded"


def test_failed_operation_leaves_cluster_failed(sandbox, rg, aks_client):
    sandbox.add_fault(method="PUT", path="managedclusters/aks1$", lro_fail=True, code="ReconcileVMSSAgentPoolFailed",
                      message="sandbox: agent pool provisioning failed", count=1)
    with pytest.raises(HttpResponseError, match="ReconcileVMSSAgentPoolFailed"):
        create(aks_client)
    assert aks_client.managed_clusters.get(RG, "aks1").provisioning_state == "Failed"
    assert create(aks_client).provisioning_state == "Succeeded"  # re-PUT reconciles


# ---------------------------------------------------------------------- agent pools
def test_agent_pools(rg, aks_client):
    create(aks_client)
    pools = list(aks_client.agent_pools.list(RG, "aks1"))
    assert [p.name for p in pools] == ["system"] and pools[0].mode == "System"
    assert aks_client.agent_pools.get(RG, "aks1", "system").count == 1
    added = aks_client.agent_pools.begin_create_or_update(
        RG, "aks1", "user1", {"properties": {"count": 2, "vmSize": "Standard_D4s_v5", "mode": "User"}}).result()
    assert (added.name, added.count, added.provisioning_state) == ("user1", 2, "Succeeded")
    cluster = aks_client.managed_clusters.get(RG, "aks1")
    assert [p.name for p in cluster.agent_pool_profiles] == ["system", "user1"]
    with pytest.raises(ResourceNotFoundError):
        aks_client.agent_pools.get(RG, "aks1", "nope")


# ---------------------------------------------------------------------- delete
def test_delete_removes_cluster_node_group_and_hub(sandbox, conn, rg, aks_client, rm_client):
    cluster = create(aks_client)
    node_rg = cluster.node_resource_group
    assert rm_client.resource_groups.get(node_rg).managed_by == cluster.id
    aks_client.managed_clusters.begin_delete(RG, "aks1").result()
    with pytest.raises(ResourceNotFoundError):
        aks_client.managed_clusters.get(RG, "aks1")
    assert not rm_client.resource_groups.check_existence(node_rg)
    assert cluster.id.lower() not in [c["id"].lower() for c in sandbox.kube_clusters()]
    aks_client.managed_clusters.begin_delete(RG, "aks1").result()  # deleting again is fine (204)


def test_unique_cluster_names_do_not_share_issuers(rg, aks_client):
    first = create(aks_client, "aks-a").oidc_issuer_profile.issuer_url
    second = create(aks_client, "aks-b").oidc_issuer_profile.issuer_url
    assert first != second and uuid.UUID(first.rstrip("/").rsplit("/", 1)[1])


def test_deleting_the_resource_group_deletes_cluster_node_group_and_hub(sandbox, rg, aks_client, rm_client):
    cluster = create(aks_client)
    rm_client.resource_groups.begin_delete(RG).result()
    assert not rm_client.resource_groups.check_existence(cluster.node_resource_group)
    assert cluster.id.lower() not in [c["id"].lower() for c in sandbox.kube_clusters()]
    # The same names again give a fresh cluster (no objects left over from the old one).
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    again = create(aks_client)
    assert again.identity_profile["kubeletidentity"].client_id != \
        cluster.identity_profile["kubeletidentity"].client_id
