"""GET /subscriptions/{s}/providers[/{namespace}] through the real azure-mgmt-resource client, and the guarantee
that the listing is what the sandbox serves: every listed api-version is accepted, every other one refused."""

import json

import pytest
from azure.core.exceptions import ResourceNotFoundError
from sandbox_test_helpers import raw_arm as raw

from sandbox.arm import locations
from sandbox.arm.registry import Registry, ResourceType

EMULATED = {"Microsoft.Authorization", "Microsoft.ContainerService", "Microsoft.ManagedIdentity",
            "Microsoft.Resources", "Microsoft.Storage"}
API_VERSION_CODES = {"InvalidApiVersionParameter", "NoRegisteredProviderFound"}
# Microsoft.Resources types have no providers/{namespace} segment: where a GET of each one goes.
RESOURCES_PATHS = {"subscriptions": "subscriptions", "subscriptions/locations": "subscriptions/{s}/locations",
                   "resourceGroups": "subscriptions/{s}/resourcegroups",
                   "resourceGroups/resources": "subscriptions/{s}/resourcegroups/rg-prov/resources",
                   "providers": "subscriptions/{s}/providers"}


def read_path(conn, namespace, type_path):
    """A GET that reaches the api-version check of that type (a list, or a missing parent further on)."""
    sub = conn["subscription_id"]
    if namespace == "Microsoft.Resources":
        return RESOURCES_PATHS[type_path].format(s=sub)  # a new Microsoft.Resources type needs a path here
    first, *nested = type_path.split("/")
    return (f"subscriptions/{sub}/resourceGroups/rg-prov/providers/{namespace}/{first}"
            + "".join(f"/x/{t}" for t in nested))


def error_code(body):
    try:
        return json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def test_get_provider_is_case_insensitive_and_shaped_like_arm(sandbox, conn, rm_client, storage_client):
    before = sandbox.counters()
    provider = rm_client.providers.get("microsoft.storage")
    assert provider.namespace == "Microsoft.Storage"
    assert provider.id == f"/subscriptions/{conn['subscription_id']}/providers/Microsoft.Storage"
    assert (provider.registration_state, provider.registration_policy) == ("Registered", "RegistrationRequired")
    types = {t.resource_type: t for t in provider.resource_types}
    assert set(types) == {"storageAccounts", "checkNameAvailability", "storageAccounts/blobServices",
                          "storageAccounts/blobServices/containers", "storageAccounts/fileServices",
                          "storageAccounts/fileServices/shares"}
    for resource_type in types.values():
        assert resource_type.api_versions == sorted(resource_type.api_versions, reverse=True)  # newest first
        assert resource_type.locations == [display for _name, display, _geo in locations.REGIONS]
    assert storage_client._config.api_version in types["storageAccounts"].api_versions
    delta = sandbox.counters_delta(before)
    assert delta["reads"] == 1 and delta["writes"] == 0
    assert delta["by_type"]["Microsoft.Resources/providers"] == {"reads": 1, "writes": 0}


def test_unknown_namespace_is_404_invalid_resource_namespace(rm_client):
    with pytest.raises(ResourceNotFoundError) as info:
        rm_client.providers.get("Microsoft.Nope")
    assert info.value.status_code == 404 and info.value.error.code == "InvalidResourceNamespace"
    assert info.value.error.message == "The resource namespace 'Microsoft.Nope' is invalid."


def test_list_is_paged_and_holds_only_the_emulated_namespaces(sandbox, rm_client):
    sandbox.configure(page_size=2)
    providers = {p.namespace: p for p in rm_client.providers.list()}
    assert set(providers) == EMULATED
    assert providers["Microsoft.Resources"].registration_policy == "RegistrationFree"  # GetProviders.json
    assert "providers" in {t.resource_type for t in providers["Microsoft.Resources"].resource_types}
    pages = [r for r in sandbox.requests() if r["method"] == "GET" and r["path"].endswith("/providers")]
    assert len(pages) == 3 and all(r["status"] == 200 for r in pages)


def test_sdk_api_versions_are_listed(conn, credential, rm_client):
    """The clients the collection uses must find their api-versions served (and so listed)."""
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from azure.mgmt.resource.subscriptions import SubscriptionClient
    from azure.mgmt.storage import StorageManagementClient
    from sandbox.sdk import client_kwargs
    sub, kwargs = conn["subscription_id"], client_kwargs(conn)
    auth = AuthorizationManagementClient(credential, sub, **kwargs)
    msi = ManagedServiceIdentityClient(credential, sub, **kwargs)
    sent = {
        ("Microsoft.Resources", "resourceGroups"): rm_client._config.api_version,
        ("Microsoft.Resources", "providers"): rm_client._config.api_version,
        ("Microsoft.Resources", "subscriptions/locations"):
            SubscriptionClient(credential, **kwargs)._config.api_version,
        ("Microsoft.Storage", "storageAccounts/blobServices/containers"):
            StorageManagementClient(credential, sub, **kwargs)._config.api_version,
        ("Microsoft.ContainerService", "managedClusters"):
            ContainerServiceClient(credential, sub, **kwargs)._config.api_version,
        ("Microsoft.ManagedIdentity", "userAssignedIdentities/federatedIdentityCredentials"):
            msi._get_api_version("federated_identity_credentials"),
        ("Microsoft.Authorization", "roleAssignments"): auth._get_api_version("role_assignments"),
    }
    listed = {(p.namespace, t.resource_type): t.api_versions
              for p in rm_client.providers.list() for t in p.resource_types}
    for key, version in sent.items():
        assert version in listed[key], key


def test_every_listed_api_version_is_served_and_no_other(sandbox, conn, credential, rm_client):
    rm_client.resource_groups.create_or_update("rg-prov", {"location": "eastus"})
    token = credential.get_token(conn["arm_scope"]).token
    checked = 0
    for provider in rm_client.providers.list():
        for resource_type in provider.resource_types:
            path = read_path(conn, provider.namespace, resource_type.resource_type)
            assert resource_type.api_versions, path
            for version in resource_type.api_versions:
                status, _headers, body = raw(conn, "GET", f"{path}?api-version={version}", token)
                assert status in (200, 404, 405) and error_code(body) not in API_VERSION_CODES, (path, version, body)
                checked += 1
            for version in ("2019-01-01", "2099-12-31"):  # well-formed, not listed
                status, _headers, body = raw(conn, "GET", f"{path}?api-version={version}", token)
                expected = ("InvalidApiVersionParameter" if provider.namespace == "Microsoft.Resources"
                            else "NoRegisteredProviderFound")
                assert status == 400 and error_code(body) == expected, (path, version, body)
                message = json.loads(body)["error"]["message"]
                assert all(v in message for v in resource_type.api_versions), message
    assert checked >= 15


# What the oldest SDKs requirements.txt allows send, per type the modules call (read from the real wheels: the
# client's DEFAULT_API_VERSION / LATEST_PROFILE, none of these groups overridden, and that version's
# _configuration.py and operations default). Real ARM serves them, so the sandbox must not refuse them.
FLOOR_API_VERSIONS = [
    # azure-mgmt-storage 21.1.0: azure/mgmt/storage/_storage_management_client.py DEFAULT_API_VERSION,
    # v2023_01_01/operations/_{storage_accounts,blob_services,blob_containers}_operations.py
    ("Microsoft.Storage", "storageAccounts", "2023-01-01"),
    ("Microsoft.Storage", "storageAccounts/blobServices", "2023-01-01"),
    ("Microsoft.Storage", "storageAccounts/blobServices/containers", "2023-01-01"),
    # azure-mgmt-msi 7.0.0: azure/mgmt/msi/_managed_service_identity_client.py DEFAULT_API_VERSION,
    # v2023_01_31/operations/_{user_assigned_identities,federated_identity_credentials}_operations.py
    ("Microsoft.ManagedIdentity", "userAssignedIdentities", "2023-01-31"),
    ("Microsoft.ManagedIdentity", "userAssignedIdentities/federatedIdentityCredentials", "2023-01-31"),
    # azure-mgmt-authorization 4.0.0: azure/mgmt/authorization/_authorization_management_client.py
    # DEFAULT_API_VERSION, v2022_04_01/operations/_role_{assignments,definitions}_operations.py
    ("Microsoft.Authorization", "roleAssignments", "2022-04-01"),
    ("Microsoft.Authorization", "roleDefinitions", "2022-04-01"),
    # azure-mgmt-containerservice 30.0.0: azure/mgmt/containerservice/_container_service_client.py
    # DEFAULT_API_VERSION, v2024_02_01/operations/_{managed_clusters,agent_pools}_operations.py
    ("Microsoft.ContainerService", "managedClusters", "2024-02-01"),
    ("Microsoft.ContainerService", "managedClusters/agentPools", "2024-02-01"),
    # azure-mgmt-resource 23.0.0: azure/mgmt/resource/resources/_resource_management_client.py DEFAULT_API_VERSION,
    # resources/v2022_09_01/operations/_operations.py (resource_groups, resources, providers)
    ("Microsoft.Resources", "resourceGroups", "2022-09-01"),
    ("Microsoft.Resources", "resourceGroups/resources", "2022-09-01"),
    ("Microsoft.Resources", "providers", "2022-09-01"),
    # azure-mgmt-resource 23.0.0 ships azure.mgmt.resource.subscriptions too (the package directory that
    # azure-mgmt-resource-subscriptions installs): subscriptions/_subscription_client.py DEFAULT_API_VERSION,
    # subscriptions/v2021_01_01/operations/_operations.py (subscriptions.list_locations)
    ("Microsoft.Resources", "subscriptions/locations", "2021-01-01"),
    # azure-mgmt-resource-subscriptions 1.0.0: azure/mgmt/resource/subscriptions/_configuration.py,
    # operations/_operations.py (subscriptions.list_locations)
    ("Microsoft.Resources", "subscriptions/locations", "2022-12-01"),
]


def test_the_requirement_floors_api_versions_are_served(sandbox, conn, credential, rm_client):
    rm_client.resource_groups.create_or_update("rg-prov", {"location": "eastus"})
    token = credential.get_token(conn["arm_scope"]).token
    listed = {(p.namespace, t.resource_type): t.api_versions
              for p in rm_client.providers.list() for t in p.resource_types}
    for namespace, type_path, version in FLOOR_API_VERSIONS:
        assert version in listed[(namespace, type_path)], (namespace, type_path, version)
        path = read_path(conn, namespace, type_path)
        status, _headers, body = raw(conn, "GET", f"{path}?api-version={version}", token)
        assert status in (200, 404, 405) and error_code(body) not in API_VERSION_CODES, (path, version, body)


@pytest.mark.parametrize("versions", [(), None, "2024-01-01"])
def test_a_type_must_declare_the_api_versions_it_serves(versions):
    class Undeclared(ResourceType):
        type_name = "Microsoft.SandboxTest/things"
        api_versions = versions
    with pytest.raises(ValueError, match="declares no api_versions"):
        Registry().register(Undeclared())
