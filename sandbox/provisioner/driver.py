"""CreateVolume and DeleteVolume of the blob CSI driver's controller (v1.27.9 pkg/blob/controllerserver.go), as the
sandbox emulates them for a pre-created account: the StorageClass parameters, the container through ARM as the
controller identity, and the refusals (InvalidArgument/Internal gRPC errors) in the driver's words. Paths the keyless
chain never takes (account search/creation, NFS subnet endpoints) are refused with "sandbox:" messages.
Call with the store lock held."""

import math
import re
from dataclasses import dataclass, field

from ..arm.providers.storage.common import ACCOUNTS
from ..kubelet import messages
from . import arm

PREFIX = "csi.storage.k8s.io/"
# external-provisioner v6.3.0 removePrefixedParameters: the csi.storage.k8s.io/ keys it strips (others refuse).
PREFIXED = {f"{PREFIX}{k}" for k in (
    "fstype", "provisioner-secret-name", "provisioner-secret-namespace", "controller-publish-secret-name",
    "controller-publish-secret-namespace", "node-stage-secret-name", "node-stage-secret-namespace",
    "node-publish-secret-name", "node-publish-secret-namespace", "controller-expand-secret-name",
    "controller-expand-secret-namespace", "secret-name", "secret-namespace", "node-expand-secret-name",
    "node-expand-secret-namespace", "controller-modify-secret-name", "controller-modify-secret-namespace")}
PVC_NAME, PVC_NAMESPACE, PV_NAME = f"{PREFIX}pvc/name", f"{PREFIX}pvc/namespace", f"{PREFIX}pv/name"
# Every key CreateVolume's switch accepts (lowercase; the driver compares case-insensitively).
KNOWN = frozenset((
    "skuname storageaccounttype location storageaccount subscriptionid resourcegroup containername "
    "containernameprefix protocol tags matchtags secretname secretnamespace ishnsenabled softdeleteblobs "
    "softdeletecontainers enableblobversioning storeaccountkey getlatestaccountkey allowblobpublicaccess "
    "publicnetworkaccess allowsharedkeyaccess requireinfraencryption server azurestorageauthtype "
    "azurestorageidentityclientid azurestorageidentityobjectid azurestorageidentityresourceid clientid "
    "mountwithworkloadidentitytoken tenantid msiendpoint azurestorageaadendpoint blobstorageaccounttype "
    "storageendpointsuffix vnetresourcegroup vnetname vnetlinkname subnetname accesstier networkendpointtype "
    "privatednszoneresourcegroup mountpermissions usedataplaneapi fsgroupchangepolicy tagvaluedelimiter").split()
) | {PVC_NAME, PVC_NAMESPACE, PV_NAME}
PROTOCOLS = ("fuse", "fuse2", "nfs", "aznfs")
GO_TRUE, GO_FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")
PREFIX_RULE = re.compile(r"[a-z0-9-]{0,20}")
MAX_CONTAINER = 63
GIB = 1024 ** 3


class CsiError(Exception):
    """A failed CSI call: gRPC `code` and `desc`; `grpc` False for an error external-provisioner makes itself."""

    def __init__(self, code: str, desc: str, grpc: bool = True):
        super().__init__(desc)
        self.code, self.desc, self.grpc = code, desc, grpc

    @property
    def text(self) -> str:
        return messages.rpc_error(self.code, self.desc) if self.grpc else self.desc


@dataclass
class Controller:
    """Who the controller is: its ARM principal (None: refuse with `refusal`) and the node resource group."""
    object_id: str | None
    cloud_group: str = ""
    refusal: str = ""
    key_fetch: object = None          # called for every listKeys the driver makes
    arm_writes: list = field(default_factory=list)   # the ARM write requests made (method, id)


@dataclass
class Volume:
    volume_id: str
    context: dict
    container_id: str


def _lower(params: dict) -> dict:
    return {k.lower(): v for k, v in params.items()}


def _go_bool(value: str, name: str) -> bool:
    if value in GO_TRUE or value in GO_FALSE:
        return value in GO_TRUE
    raise CsiError("InvalidArgument", f"invalid {name}: {value} in volume context")


def request_parameters(storage_class, claim, pv_name) -> dict:
    """external-provisioner: strip the reserved csi.storage.k8s.io/ keys, then add the claim's metadata
    (--extra-create-metadata, set by the chart)."""
    params = {}
    for key, value in (storage_class.get("parameters") or {}).items():
        if key.lower().startswith(PREFIX):
            if key.lower() not in PREFIXED:
                raise CsiError("", "failed to strip CSI Parameters of prefixed keys: "
                                   + messages.reserved_parameter(key), grpc=False)
            continue
        params[key] = value
    meta = claim["metadata"]
    params.update({PVC_NAME: meta["name"], PVC_NAMESPACE: meta["namespace"], PV_NAME: pv_name})
    return params


def _check_parameters(params: dict) -> dict:
    """CreateVolume's parameter switch and the checks right after it; returns the lowercase view."""
    for key in params:
        if key.lower() not in KNOWN:
            raise CsiError("InvalidArgument", messages.unknown_parameter(key))
    low = _lower(params)
    for name in ("getlatestaccountkey", "allowsharedkeyaccess"):
        if name in low:
            _go_bool(low[name], name)
    protocol = low.get("protocol") or "fuse"
    if protocol not in PROTOCOLS:
        raise CsiError("InvalidArgument", f"protocol({protocol}) is not supported, supported protocol list: "
                                          f"[{' '.join(PROTOCOLS)}]")
    name, prefix = low.get("containername", ""), low.get("containernameprefix", "")
    if name and prefix:
        raise CsiError("InvalidArgument", f"containerName({name}) and containerNamePrefix({prefix}) could not be "
                                          f"specified together")
    if not PREFIX_RULE.fullmatch(prefix):
        raise CsiError("InvalidArgument", f"containerNamePrefix({prefix}) can only contain lowercase letters, "
                                          f"numbers, hyphens, and length should be less than 21")
    return low


def stores_key(low: dict) -> bool:
    """storeAccountKey stays on unless a parameter turns it off (NFS, MSI auth type, token-only mounts)."""
    return not (low.get("storeaccountkey", "").lower() == "false" or low.get("mountwithworkloadidentitytoken",
                "").lower() == "true" or low.get("azurestorageauthtype", "").lower() == "msi"
                or (low.get("protocol") or "fuse") in ("nfs", "aznfs"))


def container_name(low: dict, claim, pv_name) -> tuple:
    """(name, generated): containerName with its ${pvc.metadata.*} / ${pv.metadata.name} placeholders, or the
    volume name (with containerNamePrefix) made valid (getValidContainerName)."""
    given = low.get("containername", "")
    for placeholder, value in (("${pvc.metadata.namespace}", claim["metadata"]["namespace"]),
                               ("${pvc.metadata.name}", claim["metadata"]["name"]), ("${pv.metadata.name}", pv_name)):
        given = given.replace(placeholder, value)
    if given:
        return given, False
    prefix = low.get("containernameprefix", "")
    name = (f"{prefix}-{pv_name}" if prefix else pv_name).lower()[:MAX_CONTAINER]
    return name.replace("--", "-"), True


def _set_ci(params: dict, key: str, value: str) -> None:
    """setKeyValueInMap: overwrite the key in whatever case it has, else add it."""
    existing = next((k for k in params if k.lower() == key.lower()), key)
    params[existing] = value


def create_volume(app, controller: Controller, storage_class, claim, pv_name: str, required_bytes: int) -> Volume:
    params = request_parameters(storage_class, claim, pv_name)
    low = _check_parameters(params)
    store_key = stores_key(low)
    if store_key and low.get("allowsharedkeyaccess") and not _go_bool(low["allowsharedkeyaccess"], ""):
        raise CsiError("InvalidArgument", messages.STORE_KEY_SHARED_KEY_OFF)
    if (low.get("protocol") or "fuse") in ("nfs", "aznfs"):
        raise CsiError("Internal", "sandbox: NFS provisioning (subnet service endpoints, HNS accounts) is not "
                                   "emulated, and NFS has no identity at mount: the keyless chain refuses it")
    account = low.get("storageaccount", "")
    if not account:
        raise CsiError("Internal", f"ensure storage account failed with {messages.ACCOUNT_SEARCH_REFUSED}")
    if controller.object_id is None:
        raise CsiError("Internal", controller.refusal)
    group = low.get("resourcegroup") or controller.cloud_group
    subscription = low.get("subscriptionid", "")
    name, generated = container_name(low, claim, pv_name)
    account_id = f"/subscriptions/{subscription or app.subscription_id}/resourceGroups/{group}/providers/" \
                 f"{ACCOUNTS}/{account}"
    container_id = f"{account_id}/blobServices/default/containers/{name}"
    size = math.ceil(required_bytes / GIB)

    def failed(error):
        return CsiError("Internal", messages.create_container_failed(
            name, account, low.get("skuname") or low.get("storageaccounttype", ""), group, low.get("location", ""),
            size, error))

    if low.get("usedataplaneapi", "").lower() == "true":
        _data_plane_key(app, controller, account_id, lambda e: CsiError("Internal", messages.get_key_failed(
            account, group, e)), failed)   # always raises
    _create_container(app, controller, group, container_id, failed)
    secret_namespace = low.get("secretnamespace") or claim["metadata"]["namespace"] or "default"
    if store_key:
        _list_keys(app, controller, account_id, lambda e: CsiError("Internal", messages.get_key_failed(
            account, group, e)))
        raise CsiError("Internal", messages.key_would_be_stored(account, secret_namespace))
    if generated:
        _set_ci(params, "containername", name)
    _set_ci(params, "secretnamespace", secret_namespace)
    volume_id = f"{group}#{account}#{name}#{'' if generated else pv_name}#{secret_namespace}#{subscription}"
    return Volume(volume_id, params, container_id)


def _create_container(app, controller, group, container_id, failed) -> None:
    if not group:   # the generated armstorage client refuses before sending anything
        raise failed("parameter resourceGroupName cannot be empty")
    body = {"properties": {"publicAccess": "None", "metadata": {"createdBy": messages.BLOB_DRIVER}}}
    try:
        arm.authorize(app, controller.object_id, messages.CONTAINER_WRITE, container_id, "PUT", container_id)
        controller.arm_writes.append(("PUT", container_id))
        arm.call(app, "PUT", container_id, body)
    except arm.ArmFailure as exc:
        raise failed(exc.text)


def _list_keys(app, controller, account_id, failed) -> None:
    """GetStorageAccesskey with the cluster identity: POST .../listKeys (a key fetch, whatever answers it)."""
    controller.key_fetch()
    url = f"{account_id}/listKeys"
    try:
        arm.authorize(app, controller.object_id, messages.LIST_KEYS, account_id, "POST", url)
        arm.call(app, "POST", url)
    except arm.ArmFailure as exc:
        raise failed(exc.text)


def _data_plane_key(app, controller, account_id, key_failed, failed) -> None:
    """useDataPlaneAPI: the account key, then the container through the Blob service with that key."""
    _list_keys(app, controller, account_id, key_failed)
    props = (app.store.get(account_id) or {}).get("properties") or {}
    if props.get("allowSharedKeyAccess") is False:
        raise failed(messages.key_auth_refused(account_id.rsplit("/", 1)[-1]))
    raise CsiError("Internal", messages.shared_key_data_plane(account_id.rsplit("/", 1)[-1]))


def parse_volume_id(volume_id: str):
    """GetContainerInfo: (rg, account, container, secret namespace, subscription) or None (< 3 segments)."""
    segments = volume_id.split("#")
    if len(segments) < 3:
        return None
    subscription = segments[5] if len(segments) > 5 and re.fullmatch(r"[0-9a-fA-F-]{36}", segments[5]) else ""
    return segments[0], segments[1], segments[2], segments[4] if len(segments) > 4 else "", subscription


def delete_volume(app, controller: Controller, volume_id: str) -> None:
    info = parse_volume_id(volume_id)
    if info is None:
        return   # the CSI sanity rule: an invalid volume id deletes nothing and succeeds
    group, account, name, _namespace, subscription = info
    group = group or controller.cloud_group
    if controller.object_id is None:
        raise CsiError("Internal", controller.refusal)
    container_id = (f"/subscriptions/{subscription or app.subscription_id}/resourceGroups/{group}/providers/"
                    f"{ACCOUNTS}/{account}/blobServices/default/containers/{name}")
    try:
        arm.authorize(app, controller.object_id, messages.CONTAINER_DELETE, container_id, "DELETE", container_id)
        controller.arm_writes.append(("DELETE", container_id))
        arm.call(app, "DELETE", container_id)
    except arm.ArmFailure as exc:
        raise CsiError("Internal", messages.delete_container_failed(name, group, account, volume_id, exc.text))
