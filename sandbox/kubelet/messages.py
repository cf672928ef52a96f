"""The words the scheduler, the kubelet, the blob CSI driver and Azure Storage use, in one place.

Sources (see sandbox/README.md, "Job kubelet"):
- scheduler: kube-scheduler VolumeBinding plugin reasons ("pod has unbound immediate PersistentVolumeClaims",
  "pvc(s) bound to non-existent pv(s)") and the `0/N nodes are available: ... preemption: ...` summary;
- kubelet: `MountVolume.SetUp failed for volume "<pv>" : <err>` (kubernetes-sigs/blob-csi-driver#1606) and
  `kubernetes.io/csi: attacher.MountDevice failed to create newCsiDriverClient: driver name ... not found in the
  list of registered CSI drivers` (pkg/volume/csi, quoted in many public troubleshooting pages);
- driver: `rpc error: code = Internal desc = <err>` (status.Errorf(codes.Internal, ...) in pkg/blob/nodeserver.go),
  "mountWithWorkloadIdentityToken is true but clientID is not specified" (pkg/blob/blob.go); without a token
  NodeStageVolume is skipped and NodePublishVolume bind-mounts the empty staging directory (node_local(), tag
  v1.27.9 pkg/blob/nodeserver.go);
- blobfuse2: a failed storage request answers the kernel EIO (Azure/azure-storage-fuse component/libfuse), which
  busybox reports as "Input/output error" (glibc strerror); its own log, with Entra's error, is on the node;
- Azure Storage error codes and messages: learn.microsoft.com "Blob service error codes"
  (AuthorizationPermissionMismatch, ContainerNotFound, KeyBasedAuthenticationNotPermitted) and ARM's
  AuthorizationFailed wording.
Messages that start with "sandbox" are this emulation's own (policy or approximation), never Azure's.
"""

BLOB_DRIVER = "blob.csi.azure.com"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
WI_LABEL = "azure.workload.identity/use"
READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
LIST_KEYS = "Microsoft.Storage/storageAccounts/listKeys/action"


def scheduling(nodes: int, reason: str) -> str:
    return (f"0/{nodes} nodes are available: {reason}. preemption: 0/{nodes} nodes are available: "
            f"{nodes} Preemption is not helpful for scheduling.")


def claim_not_found(claim: str) -> str:
    return f'persistentvolumeclaim "{claim}" not found'


def claim_being_deleted(claim: str) -> str:
    return f'persistentvolumeclaim "{claim}" is being deleted'


UNBOUND_CLAIM = "pod has unbound immediate PersistentVolumeClaims"


def pv_missing(nodes: int) -> str:
    return f"{nodes} node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"


def driver_not_registered(volume: str) -> str:
    return (f'MountVolume.MountDevice failed for volume "{volume}" : kubernetes.io/csi: attacher.MountDevice failed '
            f"to create newCsiDriverClient: driver name {BLOB_DRIVER} not found in the list of registered CSI "
            f"drivers")


def setup_failed(volume: str, desc: str) -> str:
    return f'MountVolume.SetUp failed for volume "{volume}" : rpc error: code = Internal desc = {desc}'


def managed_driver() -> str:
    return (f"sandbox: CSIDriver {BLOB_DRIVER} is the AKS-managed blob driver (label "
            f"kubernetes.azure.com/managedby=aks, no tokenRequests for {TOKEN_AUDIENCE}); it cannot mount with a "
            f"workload identity token, so a keyless mount cannot work. Disable it (az aks update "
            f"--disable-blob-driver) and install the open-source driver by Helm")


def node_local(volume: str) -> str:
    """Decision message of a volume that "mounts" as a node-local directory (no token from the kubelet)."""
    return (f"sandbox: CSIDriver {BLOB_DRIVER} has no tokenRequests entry for {TOKEN_AUDIENCE}, so the kubelet "
            f'passed no service account token: for volume "{volume}" driver 1.27.9 skipped NodeStageVolume and '
            f"NodePublishVolume bind-mounted the empty staging directory (pkg/blob/nodeserver.go): the pod sees a "
            f"node-local directory, nothing reaches blob storage")


def io_error(command: str, path: str) -> str:
    """What a busybox command prints when blobfuse2 answers EIO (glibc strerror; ash's redirection wording)."""
    if command == ">":
        return f"sh: can't create {path}: Input/output error"
    return f"{command}: {path}: Input/output error"


def token_refresh_failed(node: str, volume: str, cause: str, age: int, lifetime: int | None) -> str:
    """blobfuse2's failed token refresh; `lifetime` set when the token file held an expired, never republished
    service account token."""
    stale = (f"; the service account token in its token file was written {age} s ago and expired after "
             f"{lifetime} s: CSIDriver {BLOB_DRIVER} does not have requiresRepublish: true, so the kubelet never "
             f"republishes it" if lifetime is not None else "")
    return (f'sandbox: blobfuse2 on node {node} (volume "{volume}") could not get a new storage token: '
            f"{cause}{stale} (on Azure this is in blobfuse2's log on the node; the pod only sees EIO)")


CLIENT_ID_MISSING = "mountWithWorkloadIdentityToken is true but clientID is not specified"


def not_opted_in(pod: str) -> str:
    return (f'sandbox policy: pod "{pod}" is not opted in to workload identity (label {WI_LABEL}: "true" is '
            f"missing), so the workload identity webhook would not project its service account token")


def no_issuer(cluster: str) -> str:
    return (f"sandbox: cluster {cluster} has no OIDC issuer (oidcIssuerProfile not enabled): its service account "
            f"tokens cannot be exchanged with Microsoft Entra ID")


def account_missing(name: str, resource_group: str) -> str:
    return (f"sandbox: storage account {name} does not exist (looked in resource group {resource_group} and the "
            f"whole sandbox): lookup {name}.blob.core.windows.net: no such host")


def attributes_missing(what: str) -> str:
    return f"sandbox: the volume names no {what} (volumeAttributes or volumeHandle rg#account#container)"


PERMISSION_MISMATCH = ("AuthorizationPermissionMismatch: This request is not authorized to perform this operation "
                       "using this permission.")
CONTAINER_NOT_FOUND = "ContainerNotFound: The specified container does not exist."
KEY_NOT_PERMITTED = ("KeyBasedAuthenticationNotPermitted: Key based authentication is not permitted on this storage "
                     "account.")


def list_keys_denied(object_id: str, scope: str) -> str:
    return (f"AuthorizationFailed: The client '{object_id}' with object id '{object_id}' does not have authorization "
            f"to perform action '{LIST_KEYS}' over scope '{scope}' or the scope is invalid. If access was recently "
            f"granted, please refresh your credentials.")


def shared_key_on(name: str, key_mode: bool) -> str:
    how = "mounted with the account key (account-key mode)" if key_mode else "mounted"
    return (f"sandbox policy: the volume {how}, but storage account {name} allows shared key access "
            f"(allowSharedKeyAccess is not false), so the account is not keyless; the keyless chain requires "
            f"shared key access off")
