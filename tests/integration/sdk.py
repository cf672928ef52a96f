"""Real Azure SDK clients pointed at the sandbox, for test setup and for checking state independently."""

from sandbox import sdk as sandbox_sdk


def client(conn, client_class):
    return client_class(sandbox_sdk.credential(conn), conn["subscription_id"], **sandbox_sdk.client_kwargs(conn))


def resource_client(conn):
    from azure.mgmt.resource.resources import ResourceManagementClient
    return client(conn, ResourceManagementClient)


def msi_client(conn):
    from azure.mgmt.msi import ManagedServiceIdentityClient
    return client(conn, ManagedServiceIdentityClient)


def create_resource_group(conn, name, location="westeurope"):
    return resource_client(conn).resource_groups.create_or_update(name, {"location": location})


def authorization_client(conn):
    from azure.mgmt.authorization import AuthorizationManagementClient
    return client(conn, AuthorizationManagementClient)


def storage_client(conn):
    from azure.mgmt.storage import StorageManagementClient
    return client(conn, StorageManagementClient)


def create_identity(conn, resource_group, name, location="westeurope"):
    return msi_client(conn).user_assigned_identities.create_or_update(resource_group, name, {"location": location})


def create_keyless_account(conn, resource_group, name, containers=(), location="westeurope"):
    """A storage account with shared key off, created directly with the SDK (test setup)."""
    storage = storage_client(conn)
    account = storage.storage_accounts.begin_create(resource_group, name, {
        "location": location, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2",
        "properties": {"allowSharedKeyAccess": False, "allowBlobPublicAccess": False}}).result()
    for container in containers:
        storage.blob_containers.create(resource_group, name, container, {"properties": {}})
    return account


def containerservice_client(conn):
    from azure.mgmt.containerservice import ContainerServiceClient
    return client(conn, ContainerServiceClient)


def create_cluster(conn, resource_group, name, oidc=False, workload_identity=False, blob_driver=False,
                   kubernetes_version="1.33.2", location="westeurope", aad_profile=None, disable_local_accounts=False):
    """An AKS cluster as a team might already have it (test setup, straight through the SDK); ``aad_profile`` makes
    it Microsoft Entra ID-integrated."""
    extra = {"aadProfile": aad_profile, "disableLocalAccounts": disable_local_accounts} if aad_profile else {}
    properties = {
        **extra, "dnsPrefix": name, "kubernetesVersion": kubernetes_version,
        "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_D2s_v5", "mode": "System",
                               "osType": "Linux", "type": "VirtualMachineScaleSets"}],
        "oidcIssuerProfile": {"enabled": oidc},
        "securityProfile": {"workloadIdentity": {"enabled": workload_identity}},
        "storageProfile": {"blobCSIDriver": {"enabled": blob_driver}}}
    body = {"location": location, "identity": {"type": "SystemAssigned"}, "properties": properties}
    return containerservice_client(conn).managed_clusters.begin_create_or_update(resource_group, name, body).result()
