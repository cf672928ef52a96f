"""ARM stand-in driven by the real azure-mgmt-resource and azure-mgmt-msi clients."""

import json
import uuid

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient
from sandbox_test_helpers import StaticToken
from sandbox_test_helpers import raw_arm as raw

from sandbox.sdk import client_kwargs

ISSUER_AUDIENCE = ["api://AzureADTokenExchange"]


# ---------------------------------------------------------------- authentication and request checks
def test_invalid_token_is_401_and_surfaces_once(sandbox, conn):
    client = ResourceManagementClient(StaticToken("garbage"), conn["subscription_id"], **client_kwargs(conn))
    with pytest.raises(ClientAuthenticationError) as info:
        client.resource_groups.get("rg")
    assert info.value.error.code == "InvalidAuthenticationToken"
    assert info.value.response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    arm = [r for r in sandbox.requests() if r["path"].startswith("/subscriptions")]
    assert len(arm) == 1  # no challenge loop
    assert sandbox.counters()["unauthorized"] == 1 and sandbox.counters()["reads"] == 0


def allowed_audiences(conn):
    """ARM's list: each allowed audience with and without its trailing slash (the public cloud's reads
    'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/',
    'https://management.azure.com')."""
    return ",".join(f"'{v}'" for a in (conn["arm_audience"], conn["arm_url"]) for v in (a, a.rstrip("/")))


@pytest.mark.parametrize("resource", ["https://storage.azure.com/", "{arm_url}subscriptions/", "{arm_host}:1/"])
def test_token_for_another_audience_is_rejected(sandbox, conn, credential, resource):
    resource = resource.format(arm_url=conn["arm_url"], arm_host=conn["arm_url"].rsplit(":", 1)[0])
    if "storage.azure.com" not in resource:
        sandbox.configure(extra_audiences=[resource])  # Entra issues it; ARM must still refuse it
    token = credential.get_token(resource + ".default").token
    audience = resource.removesuffix("/")  # Entra's aud: the scope before "/.default"
    client = ResourceManagementClient(StaticToken(token), conn["subscription_id"], **client_kwargs(conn))
    with pytest.raises(ClientAuthenticationError) as info:
        client.resource_groups.get("rg")
    assert info.value.status_code == 401 and info.value.error.code == "InvalidAuthenticationTokenAudience"
    assert info.value.error.message == (
        f"The access token has been obtained for wrong audience or resource '{audience}'. It should exactly "
        f"match with one of the allowed audiences {allowed_audiences(conn)}.")
    assert info.value.response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    counters = sandbox.counters()
    assert counters["unauthorized"] == 1 and counters["reads"] == 0


@pytest.mark.parametrize("scope", ["{arm_url}.default", "{arm_url}/.default", "{arm_audience}.default"])
def test_arm_url_and_metadata_audience_are_both_accepted(sandbox, conn, credential, scope):
    """azure.azcollection and others ask for '<resourceManager URL>/.default'; ARM takes it like the metadata one."""
    scope = scope.format(**conn)
    kwargs = dict(client_kwargs(conn), credential_scopes=[scope])
    rm = ResourceManagementClient(credential, conn["subscription_id"], **kwargs)
    assert rm.resource_groups.create_or_update("rg-aud", {"location": "eastus"}).name == "rg-aud"
    msi = ManagedServiceIdentityClient(credential, conn["subscription_id"], **kwargs)
    assert msi.user_assigned_identities.create_or_update("rg-aud", "id-aud", {"location": "eastus"}).name == "id-aud"
    assert [g.name for g in rm.resource_groups.list()] == ["rg-aud"]
    assert sandbox.counters()["unauthorized"] == 0


def test_expired_token_is_rejected(sandbox, rm_client):
    rm_client.resource_groups.create_or_update("rg", {"location": "eastus"})
    sandbox.expire_tokens()
    with pytest.raises(ClientAuthenticationError) as info:
        rm_client.resource_groups.get("rg")
    assert info.value.error.code == "ExpiredAuthenticationToken"


def test_missing_header_and_api_version(conn, credential):
    status, _headers, body = raw(conn, "GET", f"subscriptions/{conn['subscription_id']}/resourcegroups?api-version=2025-04-01")
    assert status == 401 and json.loads(body)["error"]["code"] == "AuthenticationFailed"
    token = credential.get_token(conn["arm_scope"]).token
    status, _headers, body = raw(conn, "GET", f"subscriptions/{conn['subscription_id']}/resourcegroups", token)
    assert status == 400 and json.loads(body)["error"]["code"] == "MissingApiVersionParameter"
    path = f"subscriptions/{conn['subscription_id']}/resourcegroups?api-version=latest"
    status, _headers, body = raw(conn, "GET", path, token)
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidApiVersionParameter"


def test_unknown_subscription(conn, credential):
    client = ResourceManagementClient(credential, str(uuid.uuid4()), **client_kwargs(conn))
    with pytest.raises(ResourceNotFoundError) as info:
        client.resource_groups.get("rg")
    assert info.value.error.code == "SubscriptionNotFound"


def test_unknown_namespace_and_type(conn, credential):
    token = credential.get_token(conn["arm_scope"]).token
    base = f"subscriptions/{conn['subscription_id']}/providers"
    status, _headers, body = raw(conn, "GET", f"{base}/Microsoft.Nope/things?api-version=2024-01-01", token)
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidResourceNamespace"
    status, _headers, body = raw(conn, "GET", f"{base}/Microsoft.ManagedIdentity/things?api-version=2024-01-01", token)
    assert status == 400 and json.loads(body)["error"]["code"] == "InvalidResourceType"


# ---------------------------------------------------------------- resource groups
def test_resource_group_lifecycle(sandbox, rm_client):
    created = rm_client.resource_groups.create_or_update("rg-life", {"location": "West Europe", "tags": {"a": "1"}})
    assert created.location == "westeurope" and created.properties.provisioning_state == "Succeeded"
    assert created.type == "Microsoft.Resources/resourceGroups"
    assert rm_client.resource_groups.check_existence("rg-life") is True
    assert rm_client.resource_groups.check_existence("rg-none") is False
    updated = rm_client.resource_groups.update("rg-life", {"tags": {"b": "2"}})
    assert updated.tags == {"b": "2"}
    assert rm_client.resource_groups.get("RG-LIFE").tags == {"b": "2"}  # paths are case-insensitive
    assert [g.name for g in rm_client.resource_groups.list()] == ["rg-life"]
    with pytest.raises(HttpResponseError) as info:
        rm_client.resource_groups.create_or_update("rg-life", {"location": "eastus"})
    assert info.value.status_code == 409 and info.value.error.code == "InvalidResourceGroupLocation"
    rm_client.resource_groups.begin_delete("rg-life").result()
    with pytest.raises(ResourceNotFoundError) as info:
        rm_client.resource_groups.get("rg-life")
    assert info.value.error.code == "ResourceGroupNotFound"
    assert "Resource group 'rg-life' could not be found." in info.value.error.message


def test_resource_group_delete_removes_contents(sandbox, rm_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-gone", {"location": "eastus"})
    msi_client.user_assigned_identities.create_or_update("rg-gone", "id-1", {"location": "eastus"})
    msi_client.federated_identity_credentials.create_or_update(
        "rg-gone", "id-1", "fic-1", {"issuer": sandbox.issuer_url(), "subject": "s", "audiences": ISSUER_AUDIENCE})
    rm_client.resource_groups.begin_delete("rg-gone").result()
    assert sandbox.state()["resources"] == []
    with pytest.raises(ResourceNotFoundError):
        rm_client.resource_groups.begin_delete("rg-gone").result()


def test_resource_in_missing_group(msi_client):
    with pytest.raises(ResourceNotFoundError) as info:
        msi_client.user_assigned_identities.create_or_update("rg-missing", "id-1", {"location": "eastus"})
    assert info.value.error.code == "ResourceGroupNotFound"


# ---------------------------------------------------------------- user-assigned identities
def test_identity_crud(sandbox, conn, rm_client, msi_client):
    rm_client.resource_groups.create_or_update("RG-Mixed", {"location": "eastus"})
    ops = msi_client.user_assigned_identities
    created = ops.create_or_update("RG-Mixed", "Id-Mixed", {"location": "East US", "tags": {"env": "test"}})
    for value in (created.client_id, created.principal_id):
        uuid.UUID(value)
    assert created.tenant_id == conn["tenant_id"] and created.location == "eastus"
    assert created.type == "Microsoft.ManagedIdentity/userAssignedIdentities"
    fetched = ops.get("rg-mixed", "id-mixed")
    assert fetched.id == created.id and "/resourceGroups/RG-Mixed/" in fetched.id and fetched.id.endswith("/Id-Mixed")
    again = ops.create_or_update("RG-Mixed", "Id-Mixed", {"location": "eastus", "tags": {"env": "prod"}})
    assert (again.client_id, again.principal_id, again.tags) == (created.client_id, created.principal_id,
                                                                 {"env": "prod"})
    patched = ops.update("RG-Mixed", "Id-Mixed", {"tags": {"team": "x"}})
    assert patched.tags == {"team": "x"} and patched.client_id == created.client_id
    assert [i.name for i in ops.list_by_resource_group("RG-Mixed")] == ["Id-Mixed"]
    assert [i.name for i in ops.list_by_subscription()] == ["Id-Mixed"]
    ops.delete("RG-Mixed", "Id-Mixed")
    with pytest.raises(ResourceNotFoundError) as info:
        ops.get("RG-Mixed", "Id-Mixed")
    assert info.value.error.code == "ResourceNotFound"
    ops.delete("RG-Mixed", "Id-Mixed")  # 204 when absent: no error


def test_identity_validation(rm_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-v", {"location": "eastus"})
    ops = msi_client.user_assigned_identities
    ops.create_or_update("rg-v", "id-v", {"location": "eastus"})
    with pytest.raises(HttpResponseError) as info:
        ops.create_or_update("rg-v", "id-v", {"location": "westus"})
    assert info.value.status_code == 400 and info.value.error.code == "InvalidResourceLocation"
    assert "already exists in location 'eastus'" in info.value.error.message
    for bad in ("ab", "-starts-with-dash", "has.dot", "x" * 129):
        with pytest.raises(HttpResponseError) as info:
            ops.create_or_update("rg-v", bad, {"location": "eastus"})
        assert info.value.error.code == "InvalidResourceName", bad
    with pytest.raises(HttpResponseError) as info:
        ops.create_or_update("rg-v", "no-location", {"tags": {}})
    assert info.value.error.code == "LocationRequired"


def test_paging_follows_next_link(sandbox, rm_client, msi_client):
    sandbox.configure(page_size=2)
    rm_client.resource_groups.create_or_update("rg-p", {"location": "eastus"})
    for index in range(5):
        msi_client.user_assigned_identities.create_or_update("rg-p", f"id-{index}", {"location": "eastus"})
    assert len(list(msi_client.user_assigned_identities.list_by_resource_group("rg-p"))) == 5
    lists = [r for r in sandbox.requests() if r["method"] == "GET" and r["path"].endswith("userAssignedIdentities")]
    assert len(lists) == 3


# ---------------------------------------------------------------- federated identity credentials
def test_federated_credential_crud(sandbox, rm_client, msi_client):
    rm_client.resource_groups.create_or_update("rg-f", {"location": "eastus"})
    msi_client.user_assigned_identities.create_or_update("rg-f", "id-f", {"location": "eastus"})
    ops = msi_client.federated_identity_credentials
    issuer = sandbox.issuer_url("aks1")
    created = ops.create_or_update("rg-f", "id-f", "fic-one",
                                   {"issuer": issuer, "subject": "system:serviceaccount:a:b", "audiences": ISSUER_AUDIENCE})
    assert created.type == "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
    assert (created.issuer, created.subject, created.audiences) == (issuer, "system:serviceaccount:a:b",
                                                                    ISSUER_AUDIENCE)
    updated = ops.create_or_update("rg-f", "id-f", "fic-one",
                                   {"issuer": issuer, "subject": "system:serviceaccount:a:c", "audiences": ISSUER_AUDIENCE})
    assert ops.get("rg-f", "id-f", "fic-one").subject == updated.subject == "system:serviceaccount:a:c"
    assert [f.name for f in ops.list("rg-f", "id-f")] == ["fic-one"]
    with pytest.raises(HttpResponseError) as info:
        ops.create_or_update("rg-f", "id-f", "fic-two", {"issuer": "http://insecure/", "subject": "s",
                                                         "audiences": ISSUER_AUDIENCE})
    assert info.value.status_code == 400
    with pytest.raises(ResourceNotFoundError) as info:
        ops.create_or_update("rg-f", "id-missing", "fic-one", {"issuer": issuer, "subject": "s",
                                                               "audiences": ISSUER_AUDIENCE})
    assert info.value.error.code == "ParentResourceNotFound"
    ops.delete("rg-f", "id-f", "fic-one")
    with pytest.raises(ResourceNotFoundError):
        ops.get("rg-f", "id-f", "fic-one")
    assert list(ops.list("rg-f", "id-f")) == []
