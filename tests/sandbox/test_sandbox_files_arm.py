"""Azure Files in the sandbox's ARM: the file service, file shares, SMB OAuth on the account, the Files data roles
and the AKS-managed Azure Files CSI driver, driven by the real azure-mgmt-storage 25.3.0, azure-mgmt-authorization
and azure-mgmt-containerservice clients and the real kubernetes client against the emulated API server."""

import json

import pytest
import yaml
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.storage import models
from sandbox_test_helpers import raw_arm

from sandbox import sdk

RG = "rg-files"
LOCATION = "eastus"
STANDARD = {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": LOCATION,
            "properties": {"allowSharedKeyAccess": False}}
PREMIUM = {"sku": {"name": "Premium_LRS"}, "kind": "FileStorage", "location": LOCATION}
AKS_LABELS = {"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"}
MI_ADMIN = "a235d3ee-5935-4cfb-8cc5-a3303ad5995e"
FILES = "Microsoft.Storage/storageAccounts/fileServices"
SHARES = f"{FILES}/shares"


@pytest.fixture
def account(rm_client, storage_client):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    return storage_client.storage_accounts.begin_create(RG, "stfiles1", STANDARD).result()


@pytest.fixture
def premium(account, storage_client):
    return storage_client.storage_accounts.begin_create(RG, "stfilesprem1", PREMIUM).result()


def refused(call, *args, **kwargs):
    """(status, code, message) of the HttpResponseError a client call raises."""
    with pytest.raises(HttpResponseError) as info:
        call(*args, **kwargs)
    return info.value.status_code, info.value.error.code, info.value.error.message


def share(quota=None, tier=None, protocols=None, **extra):
    return models.FileShare(share_quota=quota, access_tier=tier, enabled_protocols=protocols, **extra)


# ---------------------------------------------------------------------- file service
def test_file_service_exists_with_the_account_and_merges_properties(account, storage_client):
    service = storage_client.file_services.get_service_properties(RG, "stfiles1")
    assert service.id == account.id + "/fileServices/default" and service.name == "default"
    assert service.type == FILES and service.sku.name == "Standard_LRS"
    assert service.share_delete_retention_policy.enabled is False
    assert [s.id for s in storage_client.file_services.list(RG, "stfiles1").value] == [service.id]

    wanted = models.FileServiceProperties(
        share_delete_retention_policy=models.DeleteRetentionPolicy(enabled=True, days=7),
        protocol_settings=models.ProtocolSettings(smb=models.SmbSetting(
            versions="SMB3.1.1", authentication_methods="Kerberos", channel_encryption="AES-256-GCM")))
    storage_client.file_services.set_service_properties(RG, "stfiles1", wanted)
    smb_only = models.FileServiceProperties(protocol_settings=models.ProtocolSettings(smb=models.SmbSetting(
        kerberos_ticket_encryption="AES-256")))
    storage_client.file_services.set_service_properties(RG, "stfiles1", smb_only)   # merged, not replaced
    got = storage_client.file_services.get_service_properties(RG, "stfiles1")
    assert (got.share_delete_retention_policy.enabled, got.share_delete_retention_policy.days) == (True, 7)
    smb = got.protocol_settings.smb
    assert (smb.versions, smb.authentication_methods, smb.channel_encryption, smb.kerberos_ticket_encryption) == (
        "SMB3.1.1", "Kerberos", "AES-256-GCM", "AES-256")


@pytest.mark.parametrize("props, fragment", [
    ({"shareDeleteRetentionPolicy": {"enabled": True, "days": 366}}, "'shareDeleteRetentionPolicy.days' is 366"),
    ({"protocolSettings": {"smb": {"versions": "SMB1.0;SMB3.0"}}}, "'protocolSettings.smb.versions'"),
    ({"protocolSettings": {"smb": {"channelEncryption": "AES-512"}}}, "'protocolSettings.smb.channelEncryption'"),
    ({"protocolSettings": {"smb": {"multichannel": {"enabled": True}}}}, "only supported on premium file accounts"),
])
def test_file_service_refusals(account, storage_client, props, fragment):
    status, code, message = refused(storage_client.file_services.set_service_properties, RG, "stfiles1",
                                    {"properties": props})
    assert (status, code) == (400, "InvalidRequestPropertyValue")
    assert message.startswith("sandbox: ") and fragment in message
    assert storage_client.file_services.get_service_properties(RG, "stfiles1").share_delete_retention_policy.days \
        is None   # nothing stored


def test_file_service_name_and_account_kind(sandbox, conn, account, storage_client):
    token = sdk.credential(conn).get_token(conn["arm_url"] + ".default").token
    base = f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts"
    status, _h, body = raw_arm(conn, "PUT", f"{base}/stfiles1/fileServices/other?api-version=2026-09-01", token,
                               {"properties": {}})
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidResourceName"
    block_blob = {**STANDARD, "kind": "BlockBlobStorage", "sku": {"name": "Premium_LRS"}}
    storage_client.storage_accounts.begin_create(RG, "stblockonly1", block_blob).result()
    status, code, message = refused(storage_client.file_shares.create, RG, "stblockonly1", "data", share())
    assert (status, code) == (400, "FeatureNotSupportedForAccount") and "BlockBlobStorage" in message
    status, code, _m = refused(storage_client.file_services.get_service_properties, RG, "stblockonly1")
    assert (status, code) == (400, "FeatureNotSupportedForAccount")
    # A premium multichannel setting is accepted on FileStorage.
    storage_client.storage_accounts.begin_create(RG, "stfilesprem1", PREMIUM).result()
    storage_client.file_services.set_service_properties(RG, "stfilesprem1", {"properties": {
        "protocolSettings": {"smb": {"multichannel": {"enabled": True}}}}})
    got = storage_client.file_services.get_service_properties(RG, "stfilesprem1")
    assert got.protocol_settings.smb.multichannel.enabled is True and got.sku.name == "Premium_LRS"


# ---------------------------------------------------------------------- shares
def test_share_create_get_list_update_delete(sandbox, account, storage_client):
    created = storage_client.file_shares.create(RG, "stfiles1", "reports", share(quota=100, tier="Hot"))
    assert created.id == account.id + "/fileServices/default/shares/reports"
    assert created.type == "Microsoft.Storage/storageAccounts/fileServices/shares"
    assert (created.share_quota, created.access_tier, created.enabled_protocols) == (100, "Hot", "SMB")
    puts = [r["status"] for r in sandbox.requests() if r["method"] == "PUT" and r["resource_type"] == SHARES]
    assert puts == [201]
    again = storage_client.file_shares.create(RG, "stfiles1", "reports", share(quota=200))
    assert (again.share_quota, again.access_tier) == (200, "Hot")     # 200: an update keeps what was not sent
    assert [r["status"] for r in sandbox.requests() if r["method"] == "PUT" and r["resource_type"] == SHARES][-1] \
        == 200
    plain = storage_client.file_shares.create(RG, "stfiles1", "plain", share())
    assert (plain.share_quota, plain.access_tier, plain.enabled_protocols) == (5120, "TransactionOptimized", "SMB")
    patched = storage_client.file_shares.update(RG, "stfiles1", "reports", share(tier="Cool",
                                                                                 metadata={"owner": "reports"}))
    assert (patched.share_quota, patched.access_tier, patched.metadata) == (200, "Cool", {"owner": "reports"})
    got = storage_client.file_shares.get(RG, "stfiles1", "reports")
    assert (got.share_quota, got.access_tier, got.etag) == (200, "Cool", patched.etag)
    assert sorted(s.name for s in storage_client.file_shares.list(RG, "stfiles1")) == ["plain", "reports"]

    storage_client.file_shares.delete(RG, "stfiles1", "plain")
    storage_client.file_shares.delete(RG, "stfiles1", "plain")     # absent: 204, which the SDK accepts
    deletes = [r["status"] for r in sandbox.requests() if r["method"] == "DELETE" and r["resource_type"] == SHARES]
    assert deletes == [200, 204]
    with pytest.raises(ResourceNotFoundError) as info:
        storage_client.file_shares.get(RG, "stfiles1", "plain")
    assert info.value.error.code == "ShareNotFound"
    assert info.value.error.message.startswith("The specified share does not exist.\nRequestId:")
    status, code, _m = refused(storage_client.file_shares.update, RG, "stfiles1", "plain", share(quota=10))
    assert (status, code) == (404, "ShareNotFound")


def test_share_list_pages_with_next_link(sandbox, account, storage_client):
    for name in ("s-1", "s-2", "s-3"):
        storage_client.file_shares.create(RG, "stfiles1", name, share(quota=1))
    names = [s.name for s in storage_client.file_shares.list(RG, "stfiles1", maxpagesize="2")]
    assert names == ["s-1", "s-2", "s-3"]
    lists = [r for r in sandbox.requests() if r["method"] == "GET" and r["resource_type"] == SHARES]
    assert len(lists) == 2      # two pages: the second through nextLink
    status, code, message = refused(lambda: list(storage_client.file_shares.list(RG, "stfiles1", maxpagesize="x")))
    assert (status, code) == (400, "InvalidRequestPropertyValue") and "$maxpagesize" in message


@pytest.mark.parametrize("name, code", [("ab", "OutOfRangeInput"), ("a" * 64, "OutOfRangeInput"),
                                        ("Upper", "InvalidResourceName"), ("a--b", "InvalidResourceName"),
                                        ("-ab", "InvalidResourceName"), ("ab_c", "InvalidResourceName")])
def test_share_name_rules(account, storage_client, name, code):
    status, got, _message = refused(storage_client.file_shares.create, RG, "stfiles1", name, share())
    assert (status, got) == (400, code)
    assert list(storage_client.file_shares.list(RG, "stfiles1")) == []


def test_share_quota_limits_follow_the_account(account, premium, storage_client):
    bad_quota = "The value for one of the HTTP headers is not in the correct format."
    for quota in (0, 5121):
        status, code, message = refused(storage_client.file_shares.create, RG, "stfiles1", "big", share(quota=quota))
        assert (status, code) == (400, "InvalidHeaderValue") and message.startswith(bad_quota)
    status, code, _m = refused(storage_client.file_shares.create, RG, "stfiles1", "big", {"properties": {
        "shareQuota": "lots"}})
    assert (status, code) == (400, "InvalidRequestContent")
    # Large file shares raise the ceiling to 100 TiB; they cannot be turned off again.
    storage_client.storage_accounts.update(RG, "stfiles1", {"properties": {"largeFileSharesState": "Enabled"}})
    assert storage_client.file_shares.create(RG, "stfiles1", "big", share(quota=102400)).share_quota == 102400
    assert storage_client.file_shares.create(RG, "stfiles1", "dflt", share()).share_quota == 102400
    status, code, message = refused(storage_client.storage_accounts.update, RG, "stfiles1",
                                    {"properties": {"largeFileSharesState": "Disabled"}})
    assert (status, code) == (400, "InvalidRequestPropertyValue") and "cannot be disabled" in message
    # Premium (FileStorage): at least 100 GiB, up to 102400, tier Premium by default.
    status, code, _m = refused(storage_client.file_shares.create, RG, "stfilesprem1", "small", share(quota=99))
    assert (status, code) == (400, "InvalidHeaderValue")
    premium_share = storage_client.file_shares.create(RG, "stfilesprem1", "small", share())
    assert (premium_share.share_quota, premium_share.access_tier) == (100, "Premium")
    status, code, _m = refused(storage_client.file_shares.update, RG, "stfilesprem1", "small", share(quota=102401))
    assert (status, code) == (400, "InvalidHeaderValue")


def test_share_tier_and_protocol_rules(account, premium, storage_client):
    cases = [("stfiles1", share(tier="Premium"), "access tier 'Premium' is not supported"),
             ("stfilesprem1", share(tier="Hot"), "access tier 'Hot' is not supported"),
             ("stfiles1", share(protocols="NFS"), "NFS protocol is only supported on premium"),
             ("stfilesprem1", share(root_squash="RootSquash"), "'rootSquash' applies only to NFS shares")]
    for account_name, body, fragment in cases:
        status, code, message = refused(storage_client.file_shares.create, RG, account_name, "x-share", body)
        assert (status, code) == (400, "InvalidRequestPropertyValue"), message
        assert message.startswith("sandbox: ") and fragment in message
    status, code, _m = refused(storage_client.file_shares.create, RG, "stfiles1", "x-share", share(tier="Frozen"))
    assert (status, code) == (400, "InvalidRequestContent")
    nfs = storage_client.file_shares.create(RG, "stfilesprem1", "nfs-share",
                                            share(protocols="NFS", root_squash="AllSquash"))
    assert (nfs.enabled_protocols, nfs.root_squash, nfs.access_tier) == ("NFS", "AllSquash", "Premium")
    # enabledProtocols is fixed once created: sending another value is refused, the same one is not.
    status, code, message = refused(storage_client.file_shares.update, RG, "stfilesprem1", "nfs-share",
                                    share(protocols="SMB"))
    assert (status, code) == (400, "InvalidRequestPropertyValue") and "only be specified when creating" in message
    status, code, _m = refused(storage_client.file_shares.create, RG, "stfilesprem1", "nfs-share",
                               share(protocols="SMB"))
    assert (status, code) == (400, "InvalidRequestPropertyValue")
    resized = storage_client.file_shares.update(RG, "stfilesprem1", "nfs-share", share(protocols="NFS", quota=200))
    assert resized.share_quota == 200
    assert storage_client.file_shares.get(RG, "stfilesprem1", "nfs-share").enabled_protocols == "NFS"


def test_shares_and_their_files_go_with_the_account(account, storage_client):
    storage_client.file_shares.create(RG, "stfiles1", "reports", share(quota=1))
    storage_client.storage_accounts.delete(RG, "stfiles1")
    storage_client.storage_accounts.begin_create(RG, "stfiles1", STANDARD).result()
    assert list(storage_client.file_shares.list(RG, "stfiles1")) == []
    with pytest.raises(ResourceNotFoundError):
        storage_client.file_shares.get(RG, "stfiles1", "reports")


def test_write_probe_file_records_the_file_under_the_share():
    from sandbox.arm.providers.storage import share_files, write_probe_file
    from sandbox.arm.providers.storage.common import share_id
    from sandbox.state import Store

    store = Store()
    account_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1"
    sid = share_id(account_id, "reports")
    store.put({"id": account_id, "name": "st1", "type": "Microsoft.Storage/storageAccounts"})
    store.put({"id": sid, "name": "reports", "type": SHARES, "properties": {}})
    with pytest.raises(LookupError):
        write_probe_file(store, share_id(account_id, "missing"), "probe.txt", "x")
    record = write_probe_file(store, sid.upper(), "probe.txt", "written by the job", writer="client-1")
    assert (record["content"], record["size"], record["written_by"]) == ("written by the job", 18, "client-1")
    assert share_files(store, sid)["probe.txt"]["content"] == "written by the job"
    assert store.get(sid) == {"id": sid, "name": "reports", "type": SHARES, "properties": {}}  # not in ARM's body
    store.delete_tree(account_id)
    assert share_files(store, sid) == {}


# ---------------------------------------------------------------------- SMB OAuth on the account
def smb_oauth(enabled, directory="None"):
    return models.StorageAccountUpdateParameters(
        azure_files_identity_based_authentication=models.AzureFilesIdentityBasedAuthentication(
            directory_service_options=directory, smb_o_auth_settings=models.SmbOAuthSettings(
                is_smb_o_auth_enabled=enabled)))


def test_smb_oauth_set_get_and_turn_off(account, storage_client):
    assert storage_client.storage_accounts.get_properties(RG, "stfiles1").azure_files_identity_based_authentication \
        is None     # absent until set, as Azure answers
    updated = storage_client.storage_accounts.update(RG, "stfiles1", smb_oauth(True))
    identity = updated.azure_files_identity_based_authentication
    assert (identity.directory_service_options, identity.smb_o_auth_settings.is_smb_o_auth_enabled) == ("None", True)
    read = storage_client.storage_accounts.get_properties(RG, "stfiles1")
    assert read.azure_files_identity_based_authentication.smb_o_auth_settings.is_smb_o_auth_enabled is True
    assert read.allow_shared_key_access is False       # untouched by the update
    off = storage_client.storage_accounts.update(RG, "stfiles1", smb_oauth(False))
    assert off.azure_files_identity_based_authentication.smb_o_auth_settings.is_smb_o_auth_enabled is False


def test_smb_oauth_is_unknown_to_api_versions_before_2025(conn, account, storage_client):
    storage_client.storage_accounts.update(RG, "stfiles1", smb_oauth(True))
    token = sdk.credential(conn).get_token(conn["arm_url"] + ".default").token
    path = (f"/subscriptions/{conn['subscription_id']}/resourceGroups/{RG}/providers/Microsoft.Storage/"
            f"storageAccounts/stfiles1")
    _s, _h, body = raw_arm(conn, "GET", f"{path}?api-version=2023-01-01", token)
    assert json.loads(body)["properties"]["azureFilesIdentityBasedAuthentication"] == {
        "directoryServiceOptions": "None"}
    status, _h, _b = raw_arm(conn, "PATCH", f"{path}?api-version=2023-01-01", token, {"properties": {
        "azureFilesIdentityBasedAuthentication": {"directoryServiceOptions": "None",
                                                  "smbOAuthSettings": {"isSmbOAuthEnabled": False}}}})
    assert status == 200
    assert storage_client.storage_accounts.get_properties(RG, "stfiles1").azure_files_identity_based_authentication \
        .smb_o_auth_settings.is_smb_o_auth_enabled is True   # the old api-version could not change it


@pytest.mark.parametrize("sent, status, code, fragment", [
    ({"smbOAuthSettings": {"isSmbOAuthEnabled": True}}, 400, "InvalidRequestPropertyValue",
     "directoryServiceOptions' is required"),
    ({"directoryServiceOptions": "AADKERB", "smbOAuthSettings": {"isSmbOAuthEnabled": True}}, 400,
     "InvalidRequestPropertyValue", "without another identity source"),
    ({"directoryServiceOptions": "AD"}, 400, "InvalidRequestPropertyValue", "'domainName' and 'domainGuid'"),
    ({"directoryServiceOptions": "AADDS"}, 409, "AadDsTenantNotFound", "Unable to locate active AAD DS"),
    ({"directoryServiceOptions": "Kerberos"}, 400, "InvalidRequestContent", "directoryServiceOptions"),
    ({"directoryServiceOptions": "None", "smbOAuthSettings": {"isSmbOAuthEnabled": "yes"}}, 400,
     "InvalidRequestPropertyValue", "boolean 'isSmbOAuthEnabled'"),
])
def test_smb_oauth_refusals(account, storage_client, sent, status, code, fragment):
    got = refused(storage_client.storage_accounts.update, RG, "stfiles1",
                  {"properties": {"azureFilesIdentityBasedAuthentication": sent}})
    assert got[:2] == (status, code) and fragment in got[2]
    if code == "InvalidRequestPropertyValue":
        assert got[2].startswith("sandbox: ")
    assert storage_client.storage_accounts.get_properties(RG, "stfiles1").azure_files_identity_based_authentication \
        is None     # nothing stored


def test_smb_oauth_on_create_and_with_entra_kerberos_off(rm_client, storage_client):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    body = {**STANDARD, "properties": {"azureFilesIdentityBasedAuthentication": {
        "directoryServiceOptions": "AADKERB", "defaultSharePermission": "storagefiledatasmbsharereader"}}}
    created = storage_client.storage_accounts.begin_create(RG, "stfiles2", body).result()
    identity = created.azure_files_identity_based_authentication
    assert (identity.directory_service_options, identity.default_share_permission) == (
        "AADKERB", "StorageFileDataSmbShareReader")
    # Another identity source must go (None) in the same request that turns SMB OAuth on.
    done = storage_client.storage_accounts.update(RG, "stfiles2", smb_oauth(True))
    assert done.azure_files_identity_based_authentication.directory_service_options == "None"


# ---------------------------------------------------------------------- roles
@pytest.mark.parametrize("name, guid, data_actions", [
    ("Storage File Data SMB MI Admin", MI_ADMIN, [
        f"{FILES}/readFileBackupSemantics/action", f"{FILES}/writeFileBackupSemantics/action",
        f"{FILES}/takeOwnership/action", f"{FILES}/runAsBuiltInFileAdministrator/action",
        f"{FILES}/fileshares/files/read", f"{FILES}/fileshares/files/write", f"{FILES}/fileshares/files/delete",
        f"{FILES}/fileshares/files/modifypermissions/action"]),
    ("Storage File Data SMB Share Contributor", "0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb", [
        f"{FILES}/fileshares/files/read", f"{FILES}/fileshares/files/write", f"{FILES}/fileshares/files/delete"]),
    ("Storage File Data SMB Share Reader", "aba4ae5f-2193-4029-9191-0cb91df5e314", [
        f"{FILES}/fileshares/files/read"]),
])
def test_files_data_roles(conn, auth_client, name, guid, data_actions):
    scope = f"/subscriptions/{conn['subscription_id']}"
    [role] = list(auth_client.role_definitions.list(scope, filter=f"roleName eq '{name}'"))
    assert role.name == guid and role.role_type == "BuiltInRole"
    assert role.permissions[0].data_actions == data_actions and role.permissions[0].actions == []
    assert auth_client.role_definitions.get(scope, guid).role_name == name


def test_only_the_mi_admin_role_runs_as_the_built_in_file_administrator():
    from sandbox.arm.providers.authorization.builtin_roles import BY_NAME
    from sandbox.arm.providers.authorization.permissions import permits
    action = f"{FILES}/runAsBuiltInFileAdministrator/action"
    holders = [name for name, role in BY_NAME.items() if permits(role, data_action=action)]
    assert holders == ["storage file data smb mi admin"]
    for name in ("storage file data smb admin", "storage file data smb share elevated contributor",
                 "storage file data privileged contributor", "storage file data privileged reader"):
        assert permits(BY_NAME[name], data_action=f"{FILES}/fileshares/files/read")


# ---------------------------------------------------------------------- the AKS-managed Azure Files driver
def cluster(aks_client, name, version=None, file_driver=None):
    props = {"dnsPrefix": name, "agentPoolProfiles": [{"name": "system", "count": 1, "mode": "System"}],
             "oidcIssuerProfile": {"enabled": True}}
    if version:
        props["kubernetesVersion"] = version
    if file_driver is not None:
        props["storageProfile"] = {"fileCSIDriver": {"enabled": file_driver}}
    return aks_client.managed_clusters.begin_create_or_update(RG, name, {"location": LOCATION,
                                                                         "properties": props}).result()


def storage_api(aks_client, name, tmp_path):
    from kubernetes import client as kclient
    from kubernetes import config as kconfig
    text = aks_client.managed_clusters.list_cluster_user_credentials(RG, name).kubeconfigs[0].value
    path = tmp_path / f"{name}.kubeconfig"
    path.write_text(text.decode() if isinstance(text, bytes) else text)
    configuration = kclient.Configuration()
    kconfig.load_kube_config(config_file=str(path), client_configuration=configuration)
    assert yaml.safe_load(path.read_text())["clusters"]
    return kclient.StorageV1Api(kclient.ApiClient(configuration))


def file_drivers(storage):
    return [d for d in storage.list_csi_driver().items if d.metadata.name == "file.csi.azure.com"]


def test_managed_file_driver_follows_file_csi_driver(rm_client, aks_client, tmp_path):
    from kubernetes import client as kclient
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    created = cluster(aks_client, "aks-files", version="1.35.1")
    assert created.storage_profile.file_csi_driver.enabled is True      # AKS's default
    storage = storage_api(aks_client, "aks-files", tmp_path)
    [driver] = file_drivers(storage)
    assert AKS_LABELS.items() <= driver.metadata.labels.items()
    spec = driver.spec
    assert (spec.attach_required, spec.pod_info_on_mount, spec.fs_group_policy, spec.volume_lifecycle_modes) == (
        False, True, "ReadWriteOnceWithFSType", ["Persistent", "Ephemeral"])
    assert [(t.audience, t.expiration_seconds) for t in spec.token_requests] == [("api://AzureADTokenExchange", 3600)]
    assert spec.requires_republish is True

    body = json.loads(json.dumps(aks_client.managed_clusters.get(RG, "aks-files").as_dict()))
    body["properties"]["storageProfile"]["fileCSIDriver"]["enabled"] = False   # the SDK's full-body PUT
    off = aks_client.managed_clusters.begin_create_or_update(RG, "aks-files", body).result()
    assert off.storage_profile.file_csi_driver.enabled is False
    assert aks_client.managed_clusters.get(RG, "aks-files").storage_profile.file_csi_driver.enabled is False
    assert file_drivers(storage) == []
    assert [d.metadata.name for d in storage.list_csi_driver().items] == []   # the blob driver was never on

    # The open-source driver's CSIDriver (no AKS label) survives an update with the managed driver off.
    storage.create_csi_driver(kclient.V1CSIDriver(metadata=kclient.V1ObjectMeta(name="file.csi.azure.com"),
                                                  spec=kclient.V1CSIDriverSpec(attach_required=False)))
    body["tags"] = {"touched": "yes"}
    aks_client.managed_clusters.begin_create_or_update(RG, "aks-files", body).result()
    [kept] = file_drivers(storage)
    assert "kubernetes.azure.com/managedby" not in (kept.metadata.labels or {})


def test_managed_file_driver_spec_follows_the_cluster_version(rm_client, aks_client, tmp_path):
    rm_client.resource_groups.create_or_update(RG, {"location": LOCATION})
    cluster(aks_client, "aks-old", version="1.33.2")
    [driver] = file_drivers(storage_api(aks_client, "aks-old", tmp_path))
    assert [(t.audience, t.expiration_seconds) for t in driver.spec.token_requests] == [
        ("api://AzureADTokenExchange", None)]
    assert driver.spec.requires_republish is False      # the API server's default: no republish before 1.35
    cluster(aks_client, "aks-off", file_driver=False)
    assert file_drivers(storage_api(aks_client, "aks-off", tmp_path)) == []
    assert aks_client.managed_clusters.get(RG, "aks-off").storage_profile.file_csi_driver.enabled is False
