"""Microsoft.Storage (accounts, blob service, containers) and the resource-group resource list,
driven by the real azure-mgmt-storage 25.3 (dict-like models) and azure-mgmt-resource clients."""


import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from sandbox_test_helpers import raw_arm as raw

from sandbox import sdk

ACCOUNT = {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "eastus"}


@pytest.fixture
def account(rm_client, storage_client):
    rm_client.resource_groups.create_or_update("rg-st", {"location": "eastus"})
    return storage_client.storage_accounts.begin_create("rg-st", "stkeyless1", ACCOUNT).result()


def test_create_is_a_fast_location_lro_with_azure_defaults(sandbox, conn, rm_client, storage_client):
    rm_client.resource_groups.create_or_update("rg-st", {"location": "eastus"})
    poller = storage_client.storage_accounts.begin_create(
        "rg-st", "stkeyless1", {**ACCOUNT, "tags": {"env": "t"}, "properties": {"allowSharedKeyAccess": False}})
    created = poller.result()   # "fast" is a count of polls (below), never a duration
    assert created.name == "stkeyless1" and created.kind == "StorageV2" and created.tags == {"env": "t"}
    assert created.sku.name == "Standard_LRS" and created.sku.tier == "Standard"
    assert created.properties.provisioning_state == "Succeeded"
    assert created.properties.allow_shared_key_access is False
    puts = [r for r in sandbox.requests() if r["resource_type"] == "Microsoft.Storage/storageAccounts"
            and r["method"] == "PUT"]
    assert [r["status"] for r in puts] == [202]
    polls = [r["status"] for r in sandbox.requests() if r["kind"] == "poll"]
    assert polls[-1] == 200 and set(polls[:-1]) == {202}

    props = storage_client.storage_accounts.get_properties("rg-st", "stkeyless1").properties
    assert props.primary_endpoints.blob == conn["arm_url"] + "_storage/stkeyless1/blob/"  # the sandbox itself
    assert (props.allow_blob_public_access, props.enable_https_traffic_only, props.minimum_tls_version,
            props.allow_cross_tenant_replication, props.access_tier) == (False, True, "TLS1_2", False, "Hot")
    assert props.network_rule_set.default_action == "Allow" and props.network_rule_set.ip_rules == []
    assert props.creation_time is not None and props.key_creation_time.key1 is not None


def test_blob_endpoint_is_the_sandbox_blob_data_plane(sandbox, conn, account):
    """A real data-plane client reaches 127.0.0.1 and gets one answer: the app has no data role -> 403, no retry."""
    from azure.storage.blob import BlobServiceClient
    endpoint = account.properties.primary_endpoints.blob
    assert endpoint == conn["arm_url"] + "_storage/stkeyless1/blob/"
    blob = BlobServiceClient(account_url=endpoint, credential=sdk.credential(conn), connection_verify=conn["ca_file"])
    before = len(sandbox.requests())
    with pytest.raises(HttpResponseError) as info:
        blob.get_container_client("data").get_container_properties()
    assert info.value.status_code == 403 and info.value.error_code == "AuthorizationPermissionMismatch"
    data_plane = [r for r in sandbox.requests()[before:] if r["path"].startswith("/_storage/")]
    assert [(r["method"], r["path"], r["status"], r["kind"]) for r in data_plane] == [
        ("GET", "/_storage/stkeyless1/blob/data", 403, "storage_data")]


def test_every_endpoint_follows_the_kind_and_answers_a_storage_error(conn, rm_client, storage_client):
    rm_client.resource_groups.create_or_update("rg-st", {"location": "eastus"})
    v1 = storage_client.storage_accounts.begin_create("rg-st", "stkeylessv1", {**ACCOUNT, "kind": "Storage"}).result()
    services = {"blob": "Blob", "queue": "Queue", "table": "Table", "file": "File"}
    assert {k: v for k, v in v1.properties.primary_endpoints.as_dict().items() if v} == {
        s: conn["arm_url"] + f"_storage/stkeylessv1/{s}/" for s in services}
    v2 = storage_client.storage_accounts.update("rg-st", "stkeylessv1", {"kind": "StorageV2"})
    endpoints = {k: v for k, v in v2.properties.primary_endpoints.as_dict().items() if v and k != "microsoft_endpoints"}
    assert set(endpoints) == {"blob", "dfs", "file", "queue", "table", "web"}  # the upgrade adds dfs and web
    for service, url in endpoints.items():
        assert url.startswith(conn["arm_url"] + "_storage/")  # 127.0.0.1 only
        status, headers, body = raw(conn, "PUT", url[len(conn["arm_url"]):] + "c?restype=container")
        assert status == 501 and headers["x-ms-error-code"] == "APINotImplemented", service
        assert headers["Content-Type"].startswith("application/xml")
        assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?><Error><Code>APINotImplemented</Code>')


def test_omitted_shared_key_access_is_null_and_patch_deep_merges(account, storage_client):
    assert account.properties.allow_shared_key_access is None  # null means shared key allowed
    ops = storage_client.storage_accounts
    off = ops.update("rg-st", "stkeyless1", {"properties": {"allowSharedKeyAccess": False,
                                                            "networkAcls": {"defaultAction": "Deny",
                                                                            "ipRules": [{"value": "203.0.113.7"}]}}})
    assert off.properties.allow_shared_key_access is False
    assert off.properties.network_rule_set.ip_rules[0].action == "Allow"
    back_on = ops.update("rg-st", "stkeyless1", {"properties": {"allowSharedKeyAccess": True}, "tags": {"a": "b"}})
    props = back_on.properties
    assert props.allow_shared_key_access is True and back_on.tags == {"a": "b"}
    assert props.network_rule_set.default_action == "Deny" and props.minimum_tls_version == "TLS1_2"
    with pytest.raises(HttpResponseError) as info:
        ops.update("rg-st", "stkeyless1", {"kind": "BlobStorage"})
    assert info.value.status_code == 400 and info.value.error.code == "AccountPropertyCannotBeUpdated"
    again = ops.begin_create("rg-st", "stkeyless1", {**ACCOUNT, "properties": {"minimumTlsVersion": "TLS1_2"}})
    assert again.result().properties.allow_shared_key_access is True  # PUT on an existing account updates it


def test_account_names_are_validated_and_global(sandbox, account, rm_client, storage_client):
    ops = storage_client.storage_accounts
    for bad in ("ab", "UpperCase1", "has-dash", "x" * 25):
        with pytest.raises(HttpResponseError) as info:
            ops.begin_create("rg-st", bad, ACCOUNT)
        assert info.value.status_code == 400 and info.value.error.code == "AccountNameInvalid"
        assert info.value.error.message == (f"{bad} is not a valid storage account name. Storage account name must "
                                            f"be between 3 and 24 characters in length and use numbers and "
                                            f"lower-case letters only.")
    rm_client.resource_groups.create_or_update("rg-other", {"location": "eastus"})
    with pytest.raises(ResourceExistsError) as info:
        ops.begin_create("rg-other", "stkeyless1", ACCOUNT)
    assert info.value.error.code == "StorageAccountInAnotherResourceGroup"
    assert "stkeyless1 is already in another resource group in this subscription" in info.value.error.message
    sandbox.configure(storage_names_taken_elsewhere=["sttakenbyothers"])
    with pytest.raises(ResourceExistsError) as info:
        ops.begin_create("rg-other", "sttakenbyothers", ACCOUNT)
    assert info.value.error.code == "StorageAccountAlreadyTaken"
    assert info.value.error.message == "The storage account named sttakenbyothers is already taken."

    check = ops.check_name_availability
    kind = "Microsoft.Storage/storageAccounts"
    assert check({"name": "stfree123", "type": kind}).name_available is True
    taken = check({"name": "stkeyless1", "type": kind})
    assert (taken.name_available, taken.reason) == (False, "AlreadyExists")
    assert taken.message == "The storage account named stkeyless1 is already taken."
    assert check({"name": "sttakenbyothers", "type": kind}).reason == "AlreadyExists"
    invalid = check({"name": "Bad_Name", "type": kind})
    assert (invalid.name_available, invalid.reason) == (False, "AccountNameInvalid")
    assert sandbox.counters()["by_type"]["Microsoft.Storage/checkNameAvailability"] == {"reads": 4, "writes": 0}


def test_list_keys_is_counted_and_lists_work(sandbox, account, storage_client):
    before = sandbox.counters()
    keys = storage_client.storage_accounts.list_keys("rg-st", "stkeyless1")["keys"]
    assert [k["keyName"] for k in keys] == ["key1", "key2"] and all(len(k["value"]) > 40 for k in keys)
    assert sandbox.counters_delta(before)["list_keys"] == 1
    assert [a.name for a in storage_client.storage_accounts.list_by_resource_group("rg-st")] == ["stkeyless1"]
    assert [a.name for a in storage_client.storage_accounts.list()] == ["stkeyless1"]
    with pytest.raises(ResourceNotFoundError) as info:
        storage_client.storage_accounts.list_keys("rg-st", "stmissing1")
    assert info.value.error.code == "ResourceNotFound"
    assert sandbox.counters()["list_keys"] == 2  # counted whatever the answer


def test_blob_service_properties_round_trip(account, storage_client):
    ops = storage_client.blob_services
    fresh = ops.get_service_properties("rg-st", "stkeyless1")
    assert fresh.name == "default" and fresh.delete_retention_policy.enabled is False
    ops.set_service_properties("rg-st", "stkeyless1", {"properties": {
        "deleteRetentionPolicy": {"enabled": True, "days": 14},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 7}, "isVersioningEnabled": True}})
    got = ops.get_service_properties("rg-st", "stkeyless1")
    assert (got.delete_retention_policy.enabled, got.delete_retention_policy.days) == (True, 14)
    assert got.container_delete_retention_policy.days == 7 and got.is_versioning_enabled is True
    assert got.sku.name == "Standard_LRS"
    assert [s.name for s in ops.list("rg-st", "stkeyless1")] == ["default"]


def test_container_lifecycle_and_rules(sandbox, account, storage_client):
    ops = storage_client.blob_containers
    created = ops.create("rg-st", "stkeyless1", "data", {"properties": {"metadata": {"team": "a"}}})
    assert created.type == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert created.public_access == "None" and created.metadata == {"team": "a"}
    got = ops.get("rg-st", "stkeyless1", "data")
    assert (got.lease_state, got.has_immutability_policy, got.has_legal_hold, got.deleted,
            got.default_encryption_scope) == ("Available", False, False, False, "$account-encryption-key")
    assert got.last_modified_time is not None and got.etag
    updated = ops.update("rg-st", "stkeyless1", "data", {"properties": {"metadata": {"team": "b"}}})
    assert updated.metadata == {"team": "b"} and updated.public_access == "None"
    replaced = ops.create("rg-st", "stkeyless1", "data", {"properties": {"metadata": {}}})
    assert replaced.metadata == {}
    statuses = [r["status"] for r in sandbox.requests() if r["method"] == "PUT" and r["path"].endswith("/data")]
    assert statuses == [201, 200]
    assert [c.name for c in ops.list("rg-st", "stkeyless1")] == ["data"]

    with pytest.raises(ResourceExistsError) as info:
        ops.create("rg-st", "stkeyless1", "public", {"properties": {"publicAccess": "Blob"}})
    assert info.value.error.code == "PublicAccessNotPermitted"
    assert info.value.error.message.startswith("Public access is not permitted on this storage account.\nRequestId:")
    for bad, code in (("Upper", "InvalidResourceName"), ("a--b", "InvalidResourceName"), ("-ab", "InvalidResourceName"),
                      ("ab", "OutOfRangeInput"), ("x" * 64, "OutOfRangeInput")):
        with pytest.raises(HttpResponseError) as info:
            ops.create("rg-st", "stkeyless1", bad, {})
        assert info.value.status_code == 400 and info.value.error.code == code, bad
    with pytest.raises(ResourceNotFoundError) as info:
        ops.create("rg-st", "stmissing1", "data", {})
    assert info.value.error.code == "ResourceNotFound" and "storageAccounts/stmissing1" in info.value.error.message

    storage_client.storage_accounts.update("rg-st", "stkeyless1", {"properties": {"allowBlobPublicAccess": True}})
    assert ops.create("rg-st", "stkeyless1", "public", {"properties": {"publicAccess": "Container"}}).public_access \
        == "Container"
    ops.delete("rg-st", "stkeyless1", "data")
    ops.delete("rg-st", "stkeyless1", "data")  # 204 when absent
    with pytest.raises(ResourceNotFoundError):
        ops.get("rg-st", "stkeyless1", "data")


def test_account_delete_removes_children(sandbox, account, storage_client):
    storage_client.blob_containers.create("rg-st", "stkeyless1", "data", {})
    storage_client.storage_accounts.delete("rg-st", "stkeyless1")
    storage_client.storage_accounts.delete("rg-st", "stkeyless1")  # 204 when absent
    assert [r["id"] for r in sandbox.state()["resources"] if "Microsoft.Storage" in r["id"]] == []


def test_resource_group_resources_lists_top_level_tracked_resources(
        sandbox, account, rm_client, msi_client, storage_client):
    msi_client.user_assigned_identities.create_or_update("rg-st", "id-app", {"location": "eastus"})
    storage_client.blob_containers.create("rg-st", "stkeyless1", "data", {})
    listed = list(rm_client.resources.list_by_resource_group("rg-st", top=1))
    assert sorted((r.name, r.type) for r in listed) == [
        ("id-app", "Microsoft.ManagedIdentity/userAssignedIdentities"),
        ("stkeyless1", "Microsoft.Storage/storageAccounts")]
    assert all(r.location == "eastus" for r in listed)
    pages = [r for r in sandbox.requests() if r["path"].lower().endswith("/resources")]
    assert len(pages) == 2  # $top=1 pages through nextLink
    rm_client.resource_groups.create_or_update("rg-empty", {"location": "eastus"})
    assert list(rm_client.resources.list_by_resource_group("rg-empty")) == []
    with pytest.raises(ResourceNotFoundError) as info:
        list(rm_client.resources.list_by_resource_group("rg-none"))
    assert info.value.error.code == "ResourceGroupNotFound"
