"""Azure built-in role definitions: real ids, names and permission lists.

Taken from the generated reference pages in MicrosoftDocs/azure-docs
(articles/role-based-access-control/built-in-roles/{privileged,general,storage,identity,containers}.md).
Only the roles this project reasons about; `permits()` in permissions.py evaluates them.
"""

STORAGE = "Microsoft.Storage/storageAccounts"
BLOBS = f"{STORAGE}/blobServices/containers/blobs"
FILE_SERVICES = f"{STORAGE}/fileServices"
FILES = f"{FILE_SERVICES}/fileshares/files"
AKS = "Microsoft.ContainerService/managedClusters"
# The Actions every "Azure Kubernetes Service RBAC ..." role carries besides its DataActions.
AKS_RBAC_READS = ["Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/operationresults/read",
                  "Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/resourceGroups/read"]
# "Azure Kubernetes Service RBAC Reader" DataActions, in the reference page's order.
AKS_RBAC_READER_DATA = [f"{AKS}/{a}" for a in (
    "apps/controllerrevisions/read", "apps/daemonsets/read", "apps/deployments/read", "apps/replicasets/read",
    "apps/statefulsets/read", "autoscaling/horizontalpodautoscalers/read", "batch/cronjobs/read", "batch/jobs/read",
    "configmaps/read", "discovery.k8s.io/endpointslices/read", "endpoints/read", "events.k8s.io/events/read",
    "events/read", "extensions/daemonsets/read", "extensions/deployments/read", "extensions/ingresses/read",
    "extensions/networkpolicies/read", "extensions/replicasets/read", "limitranges/read", "metrics.k8s.io/pods/read",
    "metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/read",
    "networking.k8s.io/networkpolicies/read", "persistentvolumeclaims/read", "pods/read",
    "policy/poddisruptionbudgets/read", "replicationcontrollers/read", "resourcequotas/read", "serviceaccounts/read",
    "services/read")]
# "Azure Kubernetes Service RBAC Writer" DataActions, in the reference page's order.
AKS_RBAC_WRITER_DATA = [f"{AKS}/{a}" for a in (
    "apps/controllerrevisions/read", "apps/daemonsets/*", "apps/deployments/*", "apps/replicasets/*",
    "apps/statefulsets/*", "autoscaling/horizontalpodautoscalers/*", "batch/cronjobs/*",
    "coordination.k8s.io/leases/read", "coordination.k8s.io/leases/write", "coordination.k8s.io/leases/delete",
    "discovery.k8s.io/endpointslices/read", "batch/jobs/*", "configmaps/*", "endpoints/*",
    "events.k8s.io/events/read", "events/*", "extensions/daemonsets/*", "extensions/deployments/*",
    "extensions/ingresses/*", "extensions/networkpolicies/*", "extensions/replicasets/*", "limitranges/read",
    "metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read", "networking.k8s.io/ingresses/*",
    "networking.k8s.io/networkpolicies/*", "persistentvolumeclaims/*", "pods/*", "policy/poddisruptionbudgets/*",
    "replicationcontrollers/*", "resourcequotas/read", "secrets/*", "serviceaccounts/*", "services/*")]


def _role(role_id, name, description, actions=(), not_actions=(), data_actions=(), not_data_actions=()):
    return {"id": role_id, "roleName": name, "description": description,
            "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                             "dataActions": list(data_actions), "notDataActions": list(not_data_actions)}]}


ROLES = [
    _role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner",
          "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
          ["*"]),
    _role("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor",
          "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage "
          "assignments in Azure Blueprints, or share image galleries.",
          ["*"],
          ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
           "Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
           "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
           "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
           "Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action",
           "Microsoft.Subscription/enable/action"]),
    _role("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader",
          "View all resources, but does not allow you to make any changes.", ["*/read"]),
    _role("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator",
          "Lets you manage user access to Azure resources.",
          ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"]),
    _role("f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator",
          "Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to "
          "manage access using other ways, such as Azure Policy.",
          ["Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete",
           "*/read", "Microsoft.Support/*"]),
    _role("17d1049b-9a84-46fb-8f53-869881c3d3ab", "Storage Account Contributor",
          "Lets you manage storage accounts, including accessing storage account keys which provide full access to "
          "storage account data.",
          ["Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
           "Microsoft.Insights/diagnosticSettings/*",
           "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
           "Microsoft.ResourceHealth/availabilityStatuses/read", "Microsoft.Resources/deployments/*",
           "Microsoft.Resources/subscriptions/resourceGroups/read", f"{STORAGE}/*", "Microsoft.Support/*"]),
    _role("81a9662b-bebf-436f-a333-f67b29880f12", "Storage Account Key Operator Service Role",
          "Storage Account Key Operators are allowed to list and regenerate keys on Storage Accounts",
          [f"{STORAGE}/listkeys/action", f"{STORAGE}/regeneratekey/action"]),
    _role("c12c1c16-33a1-487b-954d-41c89c60f349", "Reader and Data Access",
          "Lets you view everything but will not let you delete or create a storage account or contained resource. "
          "It will also allow read/write access to all data contained in a storage account via access to storage "
          "account keys.",
          [f"{STORAGE}/listKeys/action", f"{STORAGE}/ListAccountSas/action", f"{STORAGE}/read"]),
    _role("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Storage Blob Data Owner",
          "Allows for full access to Azure Storage blob containers and data, including assigning POSIX access "
          "control.",
          [f"{STORAGE}/blobServices/containers/*", f"{STORAGE}/blobServices/generateUserDelegationKey/action"],
          data_actions=[f"{BLOBS}/*"]),
    _role("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor",
          "Allows for read, write and delete access to Azure Storage blob containers and data",
          [f"{STORAGE}/blobServices/containers/delete", f"{STORAGE}/blobServices/containers/read",
           f"{STORAGE}/blobServices/containers/write", f"{STORAGE}/blobServices/generateUserDelegationKey/action"],
          data_actions=[f"{BLOBS}/delete", f"{BLOBS}/read", f"{BLOBS}/write", f"{BLOBS}/move/action",
                        f"{BLOBS}/add/action"]),
    _role("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader",
          "Allows for read access to Azure Storage blob containers and data",
          [f"{STORAGE}/blobServices/containers/read", f"{STORAGE}/blobServices/generateUserDelegationKey/action"],
          data_actions=[f"{BLOBS}/read"]),
    _role("db58b8e5-c6ad-4a2a-8342-4190687cbf4a", "Storage Blob Delegator",
          "Allows for generation of a user delegation key which can be used to sign SAS tokens",
          [f"{STORAGE}/blobServices/generateUserDelegationKey/action"]),
    _role("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Storage Queue Data Contributor",
          "Allows for read, write, and delete access to Azure Storage queues and queue messages",
          [f"{STORAGE}/queueServices/queues/delete", f"{STORAGE}/queueServices/queues/read",
           f"{STORAGE}/queueServices/queues/write"],
          data_actions=[f"{STORAGE}/queueServices/queues/messages/delete",
                        f"{STORAGE}/queueServices/queues/messages/read",
                        f"{STORAGE}/queueServices/queues/messages/write",
                        f"{STORAGE}/queueServices/queues/messages/process/action"]),
    # storage.md (MicrosoftDocs/azure-docs commit 1b4e136a, ms.date 07/01/2026): the Azure Files data roles,
    # description and dataActions as in each role's JSON block. Token-only SMB mounts need the MI Admin one
    # (runAsBuiltInFileAdministrator); the others are what a user is more likely to assign by mistake.
    _role("a235d3ee-5935-4cfb-8cc5-a3303ad5995e", "Storage File Data SMB MI Admin",
          "Allows for admin-level access for managed identities on files/directories in Azure file shares.",
          data_actions=[f"{FILE_SERVICES}/readFileBackupSemantics/action",
                        f"{FILE_SERVICES}/writeFileBackupSemantics/action", f"{FILE_SERVICES}/takeOwnership/action",
                        f"{FILE_SERVICES}/runAsBuiltInFileAdministrator/action", f"{FILES}/read", f"{FILES}/write",
                        f"{FILES}/delete", f"{FILES}/modifypermissions/action"]),
    _role("bbf004e3-0e4b-4f86-ae4f-1f8fb47b357b", "Storage File Data SMB Admin",
          "Allows for admin access equivalent to storage account key for end users over SMB.",
          data_actions=[f"{FILES}/read", f"{FILES}/write", f"{FILES}/delete", f"{FILES}/modifypermissions/action",
                        f"{FILE_SERVICES}/readFileBackupSemantics/action",
                        f"{FILE_SERVICES}/writeFileBackupSemantics/action",
                        f"{FILE_SERVICES}/takeOwnership/action"]),
    _role("0c867c2a-1d8c-454a-a3db-ab2ea1bdc8bb", "Storage File Data SMB Share Contributor",
          "Allows for read, write, and delete access in Azure Storage file shares over SMB",
          data_actions=[f"{FILES}/read", f"{FILES}/write", f"{FILES}/delete"]),
    _role("a7264617-510b-434b-a828-9731dc254ea7", "Storage File Data SMB Share Elevated Contributor",
          "Allows for read, write, delete and modify NTFS permission access in Azure Storage file shares over SMB",
          data_actions=[f"{FILES}/read", f"{FILES}/write", f"{FILES}/delete", f"{FILES}/modifypermissions/action"]),
    _role("aba4ae5f-2193-4029-9191-0cb91df5e314", "Storage File Data SMB Share Reader",
          "Allows for read access to Azure File Share over SMB", data_actions=[f"{FILES}/read"]),
    _role("69566ab7-960f-475b-8e7c-b3118f30c6bd", "Storage File Data Privileged Contributor",
          "Customer has read, write, delete and modify NTFS permission access on Azure Storage file shares.",
          data_actions=[f"{FILES}/read", f"{FILES}/write", f"{FILES}/delete", f"{FILES}/modifypermissions/action",
                        f"{FILE_SERVICES}/readFileBackupSemantics/action",
                        f"{FILE_SERVICES}/writeFileBackupSemantics/action"]),
    _role("b8eda974-7b85-4f76-af95-65846b26df6d", "Storage File Data Privileged Reader",
          "Customer has read access on Azure Storage file shares.",
          data_actions=[f"{FILES}/read", f"{FILE_SERVICES}/readFileBackupSemantics/action"]),
    _role("e40ec5ca-96e0-45a2-b4ff-59039f2c2b59", "Managed Identity Contributor",
          "Create, Read, Update, and Delete User Assigned Identity",
          ["Microsoft.ManagedIdentity/userAssignedIdentities/read",
           "Microsoft.ManagedIdentity/userAssignedIdentities/write",
           "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
           "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
           "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
           "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
           "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action", "Microsoft.Authorization/*/read",
           "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
           "Microsoft.Resources/deployments/*", "Microsoft.Support/*"]),
    _role("f1a07417-d97a-45cb-824c-7a7467783830", "Managed Identity Operator",
          "Read and Assign User Assigned Identity",
          ["Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
           "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Authorization/*/read",
           "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
           "Microsoft.Resources/deployments/*", "Microsoft.Support/*"]),
    _role("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", "Azure Kubernetes Service Cluster User Role",
          "List cluster user credential action.",
          ["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
           "Microsoft.ContainerService/managedClusters/read"]),
    # containers.md (MicrosoftDocs/azure-docs commit 0088bfa7, ms.date 06/30/2025): the AKS roles. The
    # "RBAC" ones are what Azure RBAC for Kubernetes authorization (Guard) evaluates (sandbox/k8s/authz.py).
    _role("0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8", "Azure Kubernetes Service Cluster Admin Role",
          "List cluster admin credential action.",
          [f"{AKS}/listClusterAdminCredential/action", f"{AKS}/accessProfiles/listCredential/action",
           f"{AKS}/read", f"{AKS}/runcommand/action"]),
    _role("ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8", "Azure Kubernetes Service Contributor Role",
          "Grants access to read and write Azure Kubernetes Service clusters",
          ["Microsoft.Authorization/*/read", "Microsoft.ContainerService/locations/*", f"{AKS}/*",
           "Microsoft.ContainerService/managedclustersnapshots/*", "Microsoft.ContainerService/snapshots/*",
           "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
           "Microsoft.Resources/subscriptions/resourceGroups/read"]),
    _role("3498e952-d568-435e-9b2c-8d77e338d7f7", "Azure Kubernetes Service RBAC Admin",
          "Lets you manage all resources under cluster/namespace, except update or delete resource quotas and "
          "namespaces.",
          [*AKS_RBAC_READS, f"{AKS}/listClusterUserCredential/action"],
          data_actions=[f"{AKS}/*"],
          not_data_actions=[f"{AKS}/resourcequotas/write", f"{AKS}/resourcequotas/delete",
                            f"{AKS}/namespaces/write", f"{AKS}/namespaces/delete"]),
    _role("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", "Azure Kubernetes Service RBAC Cluster Admin",
          "Lets you manage all resources in the cluster.",
          [*AKS_RBAC_READS, f"{AKS}/listClusterUserCredential/action"],
          data_actions=[f"{AKS}/*"]),
    _role("7f6c6a51-bcf8-42ba-9220-52d62157d7db", "Azure Kubernetes Service RBAC Reader",
          "Allows read-only access to see most objects in a namespace. It does not allow viewing roles or role "
          "bindings. This role does not allow viewing Secrets, since reading the contents of Secrets enables access "
          "to ServiceAccount credentials in the namespace, which would allow API access as any ServiceAccount in "
          "the namespace (a form of privilege escalation). Applying this role at cluster scope will give access "
          "across all namespaces.",
          AKS_RBAC_READS, data_actions=AKS_RBAC_READER_DATA),
    _role("a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", "Azure Kubernetes Service RBAC Writer",
          "Allows read/write access to most objects in a namespace.This role does not allow viewing or modifying "
          "roles or role bindings. However, this role allows accessing Secrets and running Pods as any "
          "ServiceAccount in the namespace, so it can be used to gain the API access levels of any ServiceAccount "
          "in the namespace. Applying this role at cluster scope will give access across all namespaces.",
          AKS_RBAC_READS, data_actions=AKS_RBAC_WRITER_DATA),
]

BY_ID = {role["id"]: role for role in ROLES}
BY_NAME = {role["roleName"].lower(): role for role in ROLES}
