"""The words the scheduler, the kubelet, the blob and Azure Files CSI drivers and Azure Storage use, in one place.

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
- Azure Files driver v1.35.7 (docs/research/azure-files.md section 3; af = pkg/azurefile/azurefile.go,
  ns = pkg/azurefile/nodeserver.go): "clientID is empty for workload identity auth" (af:998),
  "setCredentialCache failed for %s with error: %v, output: %s" (ns:537, the host is <account>.file.<suffix>),
  "volume(%s) mount %s on %s failed with %v%s" plus the help link (ns:636-638); its node-local case logs
  "Skip NodeStageVolume ... service account token is empty" (ns:332);
- azfilesauthmanager (Azure/AzFilesAuthenticator src/azfilesauthmanager.py, the CLI setCredentialCache runs):
  "Error fetching Workload Identity token: <err>" and "[-] Error calling AzAuthenticatorLib: <rc>", exit status 1;
  the library's "Error getting Kerberos service ticket, check /var/log/syslog for more information." (quoted in the
  driver's master docs/workload-identity-static-pv-mount.md); the cause itself is only in the node's syslog, so
  the sandbox appends it as a "sandbox:" note;
- mount.cifs: "mount error(2): No such file or directory", "mount error(13): Permission denied" (cifs-utils) in
  k8s mount-utils' "mount failed: exit status 32 / Mounting command / Mounting arguments / Output" shape.
Messages that start with "sandbox" are this emulation's own (policy or approximation), never Azure's.
"""

BLOB_DRIVER = "blob.csi.azure.com"
FILE_DRIVER = "file.csi.azure.com"
TOKEN_AUDIENCE = "api://AzureADTokenExchange"
WI_LABEL = "azure.workload.identity/use"
READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
LIST_KEYS = "Microsoft.Storage/storageAccounts/listKeys/action"
FILE_SERVICES = "Microsoft.Storage/storageAccounts/fileServices"
RUN_AS_FILE_ADMIN = f"{FILE_SERVICES}/runAsBuiltInFileAdministrator/action"
FILE_READ, FILE_WRITE = f"{FILE_SERVICES}/fileshares/files/read", f"{FILE_SERVICES}/fileshares/files/write"
DRIVER_TERMS = {  # per driver: what the docs call it, how AKS turns its own off, the agent refreshing tokens
    BLOB_DRIVER: {"service": "blob", "managed": "blob driver", "disable": "--disable-blob-driver",
                  "agent": "blobfuse2"},
    FILE_DRIVER: {"service": "file", "managed": "Azure Files driver", "disable": "--disable-file-driver",
                  "agent": "azfilesrefresh"},
}


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


def driver_not_registered(volume: str, driver: str = BLOB_DRIVER) -> str:
    return (f'MountVolume.MountDevice failed for volume "{volume}" : kubernetes.io/csi: attacher.MountDevice failed '
            f"to create newCsiDriverClient: driver name {driver} not found in the list of registered CSI "
            f"drivers")


def setup_failed(volume: str, desc: str) -> str:
    return f'MountVolume.SetUp failed for volume "{volume}" : rpc error: code = Internal desc = {desc}'


def managed_driver(driver: str = BLOB_DRIVER) -> str:
    terms = DRIVER_TERMS[driver]
    if driver == FILE_DRIVER:  # AKS >= 1.35 documents token mounts with its own Files driver: not emulated
        why = ("); the sandbox does not emulate AKS's own node plugin, so it cannot judge a keyless mount through it; "
               "the keyless chain installs the open-source driver instead")
    else:
        why = (f", no tokenRequests for {TOKEN_AUDIENCE}); it cannot mount with a workload identity token, so a "
               f"keyless mount cannot work")
    return (f"sandbox: CSIDriver {driver} is the AKS-managed {terms['managed']} (label "
            f"kubernetes.azure.com/managedby=aks{why}. Disable it (az aks update {terms['disable']}) and install the "
            f"open-source driver by Helm")


def node_local(volume: str, driver: str = BLOB_DRIVER) -> str:
    """Decision message of a volume that "mounts" as a node-local directory (no token from the kubelet)."""
    where = ("driver 1.27.9 skipped NodeStageVolume", "pkg/blob/nodeserver.go", "blob storage")
    if driver == FILE_DRIVER:
        where = ("driver v1.35.7 logged \"Skip NodeStageVolume ... service account token is empty\"",
                 "pkg/azurefile/nodeserver.go:332", "the file share")
    return (f"sandbox: CSIDriver {driver} has no tokenRequests entry for {TOKEN_AUDIENCE}, so the kubelet "
            f'passed no service account token: for volume "{volume}" {where[0]} and '
            f"NodePublishVolume bind-mounted the empty staging directory ({where[1]}): the pod sees a "
            f"node-local directory, nothing reaches {where[2]}")


def io_error(command: str, path: str) -> str:
    """What a busybox command prints when blobfuse2 answers EIO (glibc strerror; ash's redirection wording)."""
    if command == ">":
        return f"sh: can't create {path}: Input/output error"
    return f"{command}: {path}: Input/output error"


def token_refresh_failed(node: str, volume: str, cause: str, age: int, lifetime: int | None,
                         driver: str = BLOB_DRIVER) -> str:
    """blobfuse2's (Files: azfilesrefresh's) failed token refresh; `lifetime` set when the token file held an
    expired, never republished service account token."""
    agent = DRIVER_TERMS[driver]["agent"]
    stale = (f"; the service account token in its token file was written {age} s ago and expired after "
             f"{lifetime} s: CSIDriver {driver} does not have requiresRepublish: true, so the kubelet never "
             f"republishes it" if lifetime is not None else "")
    return (f'sandbox: {agent} on node {node} (volume "{volume}") could not get a new storage token: '
            f"{cause}{stale} (on Azure this is in {agent}'s log on the node; the pod only sees EIO)")


CLIENT_ID_MISSING = "mountWithWorkloadIdentityToken is true but clientID is not specified"


def not_opted_in(pod: str) -> str:
    return (f'sandbox policy: pod "{pod}" is not opted in to workload identity (label {WI_LABEL}: "true" is '
            f"missing), so the workload identity webhook would not project its service account token")


def no_issuer(cluster: str) -> str:
    return (f"sandbox: cluster {cluster} has no OIDC issuer (oidcIssuerProfile not enabled): its service account "
            f"tokens cannot be exchanged with Microsoft Entra ID")


def account_missing(name: str, resource_group: str, service: str = "blob") -> str:
    return (f"sandbox: storage account {name} does not exist (looked in resource group {resource_group} and the "
            f"whole sandbox): lookup {name}.{service}.core.windows.net: no such host")


def attributes_missing(what: str, target: str = "container") -> str:
    return f"sandbox: the volume names no {what} (volumeAttributes or volumeHandle rg#account#{target})"


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


# ---------------------------------------------------------------------- Azure Files (driver v1.35.7)
FILE_CLIENT_ID_EMPTY = "clientID is empty for workload identity auth"
KERBEROS_TICKET_FAILED = ("Error getting Kerberos service ticket, check /var/log/syslog for more information.\n"
                          "[-] Error calling AzAuthenticatorLib: -1")


def file_host(account: str) -> str:
    return f"{account}.file.core.windows.net"


def credential_cache_failed(account: str, output: str, cause: str = "") -> str:
    """setCredentialCache's error (ns:537): azfilesauthmanager exited 1 with `output`; `cause` is what only the
    node's syslog would show (a sandbox note)."""
    note = f" (sandbox: the node's syslog would say why: {cause})" if cause else ""
    return (f"setCredentialCache failed for {file_host(account)} with error: exit status 1, output: "
            f"{output}\n{note}")


def wi_token_failed(entra_error: str) -> str:
    """azfilesauthmanager's get_workload_identity_token failing with Entra's answer (the azure-identity exception
    text around it is not reproduced)."""
    return f"Error fetching Workload Identity token: {entra_error}"


def smb_oauth_off(account: str) -> str:
    return (f"storage account {account} does not have SMB OAuth enabled (azureFilesIdentityBasedAuthentication."
            f"smbOAuthSettings.isSmbOAuthEnabled is not true), so the kerbticket endpoint issues no Kerberos ticket "
            f"for an Entra token")


def file_role_missing(object_id: str, account_id: str, actions) -> str:
    return (f"sandbox approximation of Azure Files' 403 AuthorizationPermissionMismatch (This request is not "
            f"authorized to perform this operation using this permission.): principal {object_id} has no role "
            f"assignment at {account_id} or above allowing {', '.join(actions)} (the ticket is requested at the "
            f"account endpoint, so a share-scope assignment does not count; Storage File Data SMB MI Admin does)")


def nfs_not_keyless(volume: str) -> str:
    return (f'sandbox policy: volume "{volume}" uses protocol nfs: the driver mounts NFS with sec=sys and no '
            f"identity (pkg/azurefile/azurefile.go:955-963 returns before the workload identity branch), so the "
            f"mount is not keyless; the real driver does not refuse it")


def version_unknown(image: str) -> str:
    return (f"sandbox: cannot tell the Azure Files driver version from the node plugin's azurefile image "
            f"{image!r} (expected a v<major>.<minor>.<patch> tag)")


def smb_option_refused(option: str) -> str:
    return (f"sandbox policy: mount option {option!r} would not be a token-only mount (the driver adds "
            f"sec=krb5,cruid=0,upcall_target=mount itself; a user name, password or other sec= means NTLM with a "
            f"key)")


def cifs_mount_failed(volume_id: str, account: str, share: str, target: str, options, error: str) -> str:
    """The driver's SMBMount failure (ns:636-638) around k8s mount-utils' wording and mount.cifs' output."""
    source = f"//{file_host(account)}/{share}"
    return (f"volume({volume_id}) mount {source} on {target} failed with mount failed: exit status 32\n"
            f"Mounting command: mount\nMounting arguments: -t cifs -o {','.join(options)},<masked> {source} "
            f"{target}\nOutput: {error}\nRefer to the mount.cifs(8) manual page (e.g. man mount.cifs) and kernel log "
            f"messages (dmesg)\n\nPlease refer to http://aka.ms/filemounterror for possible causes and solutions "
            f"for mount errors.")


SHARE_NOT_FOUND = "mount error(2): No such file or directory"


def unencrypted_smb(option: str) -> str:
    return (f"mount error(13): Permission denied (sandbox: {option} has no SMB 3.x encryption and the account "
            f"requires secure transfer, so Azure Files refuses the session; learn.microsoft.com Azure Files "
            f"\"Troubleshoot SMB file shares\", mount error(13), cause: unencrypted communication channel)")


# ---------------------------------------------------------------------- blob CSI external provisioner
# external-provisioner v6.3.0 (the chart's csi-provisioner) with sig-storage-lib-external-provisioner v13.0.0
# (controller/controller.go, volume_store.go) and blob-csi-driver v1.27.9 pkg/blob/controllerserver.go, blob.go;
# the Go SDK's azcore ResponseError text (sdk/azcore/internal/exported/response_error.go). See sandbox/README.md,
# "Blob CSI external provisioner".
CONTAINER_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
CONTAINER_DELETE = "Microsoft.Storage/storageAccounts/blobServices/containers/delete"
AZCORE_SEPARATOR = "-" * 80


def provisioning(namespace: str, claim: str) -> str:
    return f'External provisioner is provisioning volume for claim "{namespace}/{claim}"'


def provisioned(volume: str) -> str:
    return f"Successfully provisioned volume {volume}"


def rpc_error(code: str, desc: str) -> str:
    """A gRPC status error as Go prints it (google.golang.org/grpc/status)."""
    return f"rpc error: code = {code} desc = {desc}"


def infeasible(error: str) -> str:
    """lib v13: an InvalidArgument CreateVolume error is retried slowly, and says so."""
    return f"Volume provisioning failed with infeasible error. Retries will be delayed. {error}"


def azcore_error(method: str, url: str, status: int, reason: str, code: str, body: str) -> str:
    """azcore's ResponseError.Error(): request line, status, error code and the indented JSON body."""
    return (f"{method} {url}\n{AZCORE_SEPARATOR}\nRESPONSE {status}: {status} {reason}\nERROR CODE: {code}\n"
            f"{AZCORE_SEPARATOR}\n{body}\n{AZCORE_SEPARATOR}\n")


def authorization_failed(object_id: str, action: str, scope: str) -> str:
    """ARM's AuthorizationFailed message (the same wording as list_keys_denied, for any action)."""
    return (f"The client '{object_id}' with object id '{object_id}' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh "
            f"your credentials.")


def unknown_parameter(key: str) -> str:
    return f'invalid parameter "{key}" in storage class'


STORE_KEY_SHARED_KEY_OFF = "storeAccountKey is not supported for account with shared access key disabled"


def reserved_parameter(key: str) -> str:
    """external-provisioner: a csi.storage.k8s.io/ key it does not know (removePrefixedParameters)."""
    return f'found unknown parameter key "{key}" with reserved namespace csi.storage.k8s.io/'


def create_container_failed(container, account, sku, group, location, size_gib, error) -> str:
    return (f"failed to create container({container}) on account({account}) type({sku}) rg({group}) "
            f"location({location}) size({size_gib}), error: {error}")


def get_key_failed(account: str, group: str, error: str) -> str:
    return f"failed to GetStorageAccesskey on account({account}) rg({group}), error: {error}"


def delete_container_failed(container, group, account, volume_id, error) -> str:
    inner = f"failed to delete container({container}) on account({account}), error: {error}"
    return (f"failed to delete container({container}) under rg({group}) account({account}) volumeID({volume_id}), "
            f"error: {inner}")


def key_auth_refused(account: str) -> str:
    """The legacy azure-sdk-for-go storage client's error for the Blob service's 403 (useDataPlaneAPI)."""
    return (f"storage: service returned error: StatusCode=403, ErrorCode=KeyBasedAuthenticationNotPermitted, "
            f"ErrorMessage=Key based authentication is not permitted on this storage account. (sandbox: the "
            f"container request with the key of account {account})")


def key_would_be_stored(account: str, namespace: str) -> str:
    return (f"sandbox policy: the driver listed the keys of storage account {account} and would store one in Secret "
            f"{namespace}/azure-storage-account-{account}-secret (storeAccountKey is on: set "
            f"mountWithWorkloadIdentityToken: \"true\" in the StorageClass); the keyless chain never stores a key")


def shared_key_data_plane(account: str) -> str:
    return (f"sandbox policy: useDataPlaneAPI creates the container with the key of storage account {account}, "
            f"which allows shared key access; the keyless chain never uses a key")


ACCOUNT_SEARCH_REFUSED = ("sandbox: the StorageClass names no storageAccount, so the driver would search for or create "
                          "an account (EnsureStorageAccount, with shared key access on); the sandbox does not emulate "
                          "that path and the keyless chain never uses it: set storageAccount and resourceGroup")


def no_cloud_config(cluster: str) -> str:
    return (f"sandbox: cluster {cluster} is not an AKS cluster, so the driver's controller has no cloud config "
            f"(azure.json with the kubelet identity) and no workload identity (workloadIdentity.clientID): it "
            f"cannot authenticate to ARM")


def controller_token_failed(entra_error: str) -> str:
    return (f"sandbox: the controller's workload identity token request failed (azidentity's wrapper text is not "
            f"emulated): {entra_error}")
