"""`POST /_sandbox/seed` (sandbox/seed.py): a large estate, the same for the same seed, made through the providers'
record functions and the emulated API server's own create path, read back through the real SDKs and the real
kubernetes client. Counts and shapes are asserted, never durations."""

import base64
import json

import pytest
from kubernetes import client as kclient
from kubernetes import config as kconfig

from sandbox.client import SandboxError
from sandbox.seed import LIST_KEYS_ROLES, OTHER_ROLES

LOCATION = "westeurope"
RG = "rg-seed-aks"
MAX_PAGES = 100
SMALL = {"storage_accounts": 12, "role_assignments": 30, "persistent_volumes": 16, "secrets": 40, "pods": 12}
BENCH = {"storage_accounts": 200, "role_assignments": 500, "persistent_volumes": 300, "secrets": 1000, "pods": 50}


def aks_cluster(rm_client, aks_client, name="aks-seed"):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    return aks_client.managed_clusters.begin_create_or_update(RG, name, {
        "location": LOCATION, "identity": {"type": "SystemAssigned"},
        "properties": {"dnsPrefix": name, "enableRBAC": True, "oidcIssuerProfile": {"enabled": True},
                       "securityProfile": {"workloadIdentity": {"enabled": True}},
                       "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5",
                                              "mode": "System", "osType": "Linux"}]}}).result()


def kube_client(aks_client, name, tmp_path):
    """The kubernetes ApiClient of listClusterUserCredential's kubeconfig."""
    text = aks_client.managed_clusters.list_cluster_user_credentials(RG, name).kubeconfigs[0].value
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(text.decode() if isinstance(text, bytes) else text)
    configuration = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(path), client_configuration=configuration)
    return kclient.ApiClient(configuration)


def list_all(fetch, **kwargs):
    """Every item of a list read 500 at a time, as the keyless audit reads (limit + continue)."""
    items, token = [], None
    for _page in range(MAX_PAGES):
        page = json.loads(fetch(limit=500, _preload_content=False, **({"_continue": token} if token else {}),
                                **kwargs).data)
        items += page["items"]
        token = page["metadata"].get("continue")
        if not token:
            return items
    raise AssertionError("paging did not end")


def key(item):
    meta = item["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def decoded(secret):
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def test_the_mix_is_complete_and_the_same_for_a_seed(sandbox, rm_client, aks_client):
    cluster = aks_cluster(rm_client, aks_client)
    before = sandbox.counters()
    first = sandbox.seed(seed=7, cluster=cluster.id, **SMALL)
    delta = sandbox.counters_delta(before)
    assert (delta["reads"], delta["writes"], delta["kubernetes"]["reads"], delta["kubernetes"]["writes"]) == (
        0, 0, 0, 0)   # the control route is not ARM or Kubernetes traffic
    counts = first["counts"]
    assert {k: counts[k] for k in SMALL} == SMALL and counts["persistent_volume_claims"] == 13
    assert counts["storage_classes"] == 5 and counts["namespaces"] == 1 and counts["identities"] == 1
    shapes = first["by_shape"]
    assert {"allow_shared_key_true", "allow_shared_key_false", "allow_shared_key_unset",
            "in_managed_group"} <= set(shapes["storage_accounts"])
    node_group = f"/subscriptions/{sandbox.conn['subscription_id']}/resourceGroups/{cluster.node_resource_group}"
    assert shapes["resource_groups"]["managed"] == [node_group]  # the AKS cluster's own node resource group
    roles = shapes["role_assignments"]
    assert {f"role:{r}" for r in LIST_KEYS_ROLES + OTHER_ROLES} <= set(roles)
    assert {"scope:subscription", "scope:resource_group", "scope:storage_account", "principal:User",
            "principal:ServicePrincipal"} <= set(roles)
    assert len(roles["lists_keys"]) == len(roles["no_list_keys"]) == 15
    assert set(shapes["secrets"]) == {"blob_key", "blob_sas", "blob_msi", "blob_spn", "files_key", "opaque_config",
                                      "opaque_settings", "tls", "dockerconfigjson", "basic_auth"}
    assert set(shapes["persistent_volumes"]) == {"blob_token", "files_token", "blob_node_stage_secret",
                                                 "blob_secret_attributes", "files_node_stage_secret",
                                                 "files_secret_attributes", "in_tree_azure_file"}
    assert set(shapes["pods"]) == {"key_claim", "token_claim", "inline_azure_file", "inline_csi_secret",
                                   "env_secret", "no_storage"}
    assert all(len(v) >= 20 and "\n" not in v for v in first["secret_values"])

    sandbox.reset()
    cluster = aks_cluster(rm_client, aks_client)
    assert sandbox.seed(seed=7, cluster=cluster.id, **SMALL) == first
    other = sandbox.seed(seed=8, cluster=cluster.id, **SMALL)
    assert other["prefix"] == "sd8" and not set(other["ids"]["storage_accounts"]) & set(first["ids"][
        "storage_accounts"])
    assert not set(other["secret_values"]) & set(first["secret_values"])


def test_seeded_objects_read_back_through_the_real_clients(sandbox, rm_client, aks_client, storage_client,
                                                           auth_client, tmp_path):
    cluster = aks_cluster(rm_client, aks_client)
    made = sandbox.seed(seed=3, cluster=cluster.id, **SMALL)
    values = set(made["secret_values"])
    accounts = {a.id: a for a in storage_client.storage_accounts.list()}
    assert set(made["ids"]["storage_accounts"]) == set(accounts)
    expected = {"allow_shared_key_true": True, "allow_shared_key_false": False, "allow_shared_key_unset": None}
    for shape, flag in expected.items():
        assert {accounts[i].allow_shared_key_access for i in made["by_shape"]["storage_accounts"][shape]} == {flag}
    assert {a.provisioning_state for a in accounts.values()} == {"Succeeded"}
    some = accounts[made["ids"]["storage_accounts"][0]]
    keys = storage_client.storage_accounts.list_keys(some.id.split("/")[4], some.name).as_dict()["keys"]
    assert {k["value"] for k in keys} <= values
    groups = {g.id.lower(): g for g in rm_client.resource_groups.list()}
    assert all(groups[i.lower()].managed_by == cluster.id for i in made["by_shape"]["resource_groups"]["managed"])
    assignments = {a.id: a for a in auth_client.role_assignments.list_for_subscription()}
    assert set(made["ids"]["role_assignments"]) <= set(assignments)
    users = made["by_shape"]["role_assignments"]["principal:User"]
    assert {assignments[i].principal_type for i in users} == {"User"}

    api = kube_client(aks_client, "aks-seed", tmp_path)
    core, storage = kclient.CoreV1Api(api), kclient.StorageV1Api(api)
    secrets = {key(s): s for s in list_all(core.list_secret_for_all_namespaces)}
    assert set(made["ids"]["secrets"]) <= set(secrets)
    for ident in made["by_shape"]["secrets"]["blob_key"] + made["by_shape"]["secrets"]["files_key"]:
        data = decoded(secrets[ident])
        assert ident.endswith(f"/azure-storage-account-{data['azurestorageaccountname']}-secret")
        assert data["azurestorageaccountkey"] in values
    sas = decoded(secrets[made["by_shape"]["secrets"]["blob_sas"][0]])["azurestorageaccountsastoken"]
    assert sas in values and "sig=" in sas
    volumes = {key(v): v for v in list_all(core.list_persistent_volume)}
    token = volumes[made["by_shape"]["persistent_volumes"]["blob_token"][0]]["spec"]["csi"]
    assert token["volumeAttributes"]["mountWithWorkloadIdentityToken"] == "true" and token["volumeAttributes"][
        "clientID"]
    staged = volumes[made["by_shape"]["persistent_volumes"]["files_node_stage_secret"][0]]["spec"]["csi"]
    assert staged["driver"] == "file.csi.azure.com" and staged["nodeStageSecretRef"]["name"].startswith(
        "azure-storage-account-")
    in_tree = volumes[made["by_shape"]["persistent_volumes"]["in_tree_azure_file"][0]]["spec"]["azureFile"]
    assert set(in_tree) == {"secretName", "shareName", "secretNamespace", "readOnly"}
    claims = list_all(core.list_persistent_volume_claim_for_all_namespaces)
    assert {key(c) for c in claims} == set(made["ids"]["persistent_volume_claims"])
    assert {c["status"]["phase"] for c in claims} == {"Bound"}
    pods = {key(p): p for p in list_all(core.list_pod_for_all_namespaces)}
    assert set(made["ids"]["pods"]) <= set(pods)
    inline = pods[made["by_shape"]["pods"]["inline_azure_file"][0]]["spec"]["volumes"][0]["azureFile"]
    assert set(inline) == {"secretName", "shareName", "readOnly"}
    classes = {c["metadata"]["name"]: c for c in list_all(storage.list_storage_class)}
    assert set(made["ids"]["storage_classes"]) <= set(classes)
    # The AKS-managed Azure Files driver is on by default (storageProfile.fileCSIDriver), the blob one is not.
    assert [d["metadata"]["name"] for d in list_all(storage.list_csi_driver)] == ["file.csi.azure.com"]


def test_a_bench_size_seed(sandbox, kube, storage_client, auth_client):
    made = sandbox.seed(seed=1, cluster="standalone-test", **BENCH)
    counts = made["counts"]
    assert {k: counts[k] for k in BENCH} == BENCH
    assert counts["persistent_volume_claims"] == 240 and counts["namespaces"] == 10
    assert len(list(storage_client.storage_accounts.list())) == 200
    assert len(list(auth_client.role_assignments.list_for_subscription())) == 500
    assert len(list_all(kube.core.list_secret_for_all_namespaces)) == 1000
    assert len(list_all(kube.core.list_persistent_volume)) == 300
    assert len(list_all(kube.core.list_pod_for_all_namespaces)) == 50
    assert len(made["secret_values"]) == len(set(made["secret_values"])) > 1000


@pytest.mark.parametrize("spec, message", [
    ({"seed": 1, "accounts": 3}, "unknown seed keys ['accounts']"),
    ({"seed": -1}, "'seed' must be an integer"),
    ({"seed": 1, "secrets": 5}, "'cluster' is required to seed Kubernetes objects"),
    ({"seed": 1, "secrets": 5, "cluster": "no-such-cluster"}, "no emulated cluster 'no-such-cluster'"),
    ({"seed": 1, "storage_accounts": True}, "'storage_accounts' must be an integer"),
    ({"seed": 1, "storage_accounts": 1, "location": "moon"}, "The provided location 'moon' is not available"),
])
def test_refusals(sandbox, spec, message):
    with pytest.raises(SandboxError) as info:
        sandbox.seed(**spec)
    assert info.value.status == 400 and message in info.value.body


def test_the_same_seed_twice_is_refused(sandbox, kube):
    sandbox.seed(seed=2, storage_accounts=3)
    sandbox.seed(seed=5, cluster="standalone-test", secrets=3)
    for spec in ({"seed": 2, "storage_accounts": 3}, {"seed": 5, "cluster": "standalone-test", "secrets": 3}):
        with pytest.raises(SandboxError) as info:
            sandbox.seed(**spec)
        assert info.value.status == 400 and "was already seeded here" in info.value.body


# ---------------------------------------------------------------------- the key-using shapes' validation
def causes(kube, method, path, body):
    status, _headers, answer = kube.raw(method, path, body)
    return status, sorted((c["field"], c["message"]) for c in (answer.get("details") or {}).get("causes") or []), \
        answer


def pv(**source):
    return {"metadata": {"name": "pv-check"}, "spec": {"capacity": {"storage": "1Gi"},
                                                       "accessModes": ["ReadWriteMany"], **source}}


def pod(*volumes, name="pod-check"):
    return {"metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": "busybox"}], "volumes": list(volumes)}}


SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def test_in_tree_azure_file_persistent_volume_fields(kube):
    assert causes(kube, "POST", "/api/v1/persistentvolumes", pv(azureFile={"secretNamespace": ""}))[:2] == (422, [
        ("spec.azureFile.secretName", "Required value"), ("spec.azureFile.secretNamespace", "Required value"),
        ("spec.azureFile.shareName", "Required value")])
    status, found, _answer = causes(kube, "POST", "/api/v1/persistentvolumes", pv(
        azureFile={"secretName": "s", "shareName": "x"}, csi={"driver": "blob.csi.azure.com", "volumeHandle": "h"}))
    assert (status, found) == (422, [("spec.csi", "Forbidden: may not specify more than 1 volume type")])
    status, _found, made = causes(kube, "POST", "/api/v1/persistentvolumes", pv(azureFile={
        "secretName": "azure-storage-account-acct-secret", "shareName": "share", "readOnly": True}))
    assert status == 201 and made["spec"]["azureFile"]["readOnly"] is True
    status, _headers, answer = kube.raw("POST", "/api/v1/persistentvolumes", {"metadata": {"name": "pv-none"},
                                        "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}})
    assert status == 422 and answer["message"].endswith("spec: Required value: must specify a volume type")


def test_csi_persistent_volume_driver_and_secret_references(kube):
    status, found, _answer = causes(kube, "POST", "/api/v1/persistentvolumes", pv(csi={
        "driver": "Blob_CSI", "volumeHandle": "h", "nodePublishSecretRef": {"name": "Bad_Name"},
        "nodeStageSecretRef": {"name": "not-checked"}}))
    assert status == 422 and found == [
        ("spec.csi.driver", f'Invalid value: "Blob_CSI": {SUBDOMAIN}'),
        ("spec.csi.nodePublishSecretRef.name", f'Invalid value: "Bad_Name": {SUBDOMAIN}'),
        ("spec.csi.nodePublishSecretRef.namespace", "Required value")]
    status, _found, made = causes(kube, "POST", "/api/v1/persistentvolumes", pv(csi={
        "driver": "Blob.CSI.Azure.com", "volumeHandle": "rg#acct#c", "nodeStageSecretRef": {"name": "x"},
        "volumeAttributes": {"containerName": "c"}}))
    assert status == 201 and made["spec"]["csi"]["nodeStageSecretRef"] == {"name": "x"}  # upstream checks no stage ref


def test_pod_inline_azure_file_and_csi_volumes(kube):
    path = "/api/v1/namespaces/default/pods"
    status, found, _answer = causes(kube, "POST", path, pod({"name": "files", "azureFile": {"secretName": "s"}},
                                                            {"name": "blob", "csi": {"nodePublishSecretRef": {
                                                                "name": "Bad"}}},
                                                            {"name": "nothing"}))
    assert status == 422 and found == [
        ("spec.volumes[0].azureFile.shareName", "Required value"),
        ("spec.volumes[1].csi.driver", f'Invalid value: "": {SUBDOMAIN}'),
        ("spec.volumes[1].csi.driver", "Required value"),
        ("spec.volumes[1].csi.name", f'Invalid value: "Bad": {SUBDOMAIN}'),   # the Go code's field name
        ("spec.volumes[2]", "Required value: must specify a volume type")]
    status, _found, made = causes(kube, "POST", path, pod(
        {"name": "files", "azureFile": {"secretName": "s", "shareName": "x", "secretNamespace": "other"}},
        {"name": "blob", "csi": {"driver": "blob.csi.azure.com", "nodePublishSecretRef": {"name": "s"}}}))
    assert status == 201 and made["spec"]["volumes"][0]["azureFile"] == {"secretName": "s", "shareName": "x"}
    status, found, _answer = causes(kube, "POST", path, pod({"name": "a", "emptyDir": {}, "secret": {
        "secretName": "s"}}, {"name": "a", "persistentVolumeClaim": {}}, name="pod-two"))
    assert status == 422 and found == [
        ("spec.volumes[0].secret", "Forbidden: may not specify more than 1 volume type"),
        ("spec.volumes[1].persistentVolumeClaim.claimName", "Required value")]


def test_secret_types_keys_and_data(kube):
    path = "/api/v1/namespaces/default/secrets"
    status, found, _answer = causes(kube, "POST", path, {"metadata": {"name": "t"}, "type": "kubernetes.io/tls",
                                                         "stringData": {"tls.crt": "c", "bad key": "v"}})
    assert status == 422 and found == [
        ("data[bad key]", 'Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '
                          "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                          "validation is '[-._a-zA-Z0-9]+')"),
        ("data[tls.key]", "Required value")]
    status, found, _answer = causes(kube, "POST", path, {"metadata": {"name": "d"},
                                                         "type": "kubernetes.io/dockerconfigjson",
                                                         "stringData": {".dockerconfigjson": "{auths"}})
    assert found == [("data[.dockerconfigjson]", 'Invalid value: "<secret contents redacted>": invalid character '
                                                 "'a' looking for beginning of object key string")]
    status, _headers, answer = kube.raw("POST", path, {"metadata": {"name": "b"}, "data": {"k": "not base64!"}})
    assert (status, answer["message"]) == (400, 'Secret in version "v1" cannot be handled as a Secret: illegal '
                                                'base64 data at input byte 3')
    status, _headers, made = kube.raw("POST", path, {"metadata": {"name": "keys"}, "type": "Opaque", "stringData": {
        "azurestorageaccountname": "acct", "azurestorageaccountkey": base64.b64encode(b"k" * 64).decode()}})
    assert status == 201
    status, found, _answer = causes(kube, "PUT", path + "/keys", {**made, "type": "kubernetes.io/tls"})
    assert ("type", 'Invalid value: "kubernetes.io/tls": field is immutable') in found
