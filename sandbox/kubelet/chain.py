"""The keyless chain for one blob volume, checked against the sandbox's Kubernetes and ARM state.

Order (each failure raises MountFailure with the message Azure/AKS would give, see messages.py):
  driver registered (CSIDriver + node DaemonSet) -> not the AKS-managed driver -> token audience requested
  (else, for a volume with a clientID or mountWithWorkloadIdentityToken "true", the driver skips the mount and
  the pod gets a node-local directory: `Mounted.fuse` False, driver 1.27.9 pkg/blob/nodeserver.go) ->
  token-only mode (else the pre-1.27 account-key path) -> pod opted in to workload identity -> cluster OIDC
  issuer -> token exchange with Entra (`Entra.exchange_assertion`, errors verbatim) -> storage account exists ->
  data role covers the container -> shared key access off (sandbox policy) -> container exists.
The account lookup comes before the role check because without the account there is no scope to check
(on Azure the blob endpoint would not even resolve). Call with the store lock held.
"""

from dataclasses import dataclass

from ..arm.providers.authorization import permits
from ..arm.providers.container_service.addons import is_aks_managed
from ..arm.providers.storage.common import ACCOUNTS
from ..blob import access
from ..entra import EntraError
from ..k8s import kinds
from ..oidc import MAX_TTL, OidcError
from . import messages
from .volumes import BlobVolume

CSIDRIVERS, DAEMONSETS = kinds.BY_KEY["storage.k8s.io/csidrivers"], kinds.BY_KEY["apps/daemonsets"]
NODE_DAEMONSET = "csi-blob-node"
DEFAULT_TOKEN_SECONDS = 3600   # TokenRequest's default expirationSeconds


class MountFailure(Exception):
    """The volume cannot be mounted: `event` is the kubelet's FailedMount message, `desc` the short cause."""

    def __init__(self, event: str, desc: str, step: str):
        super().__init__(event)
        self.event, self.desc, self.step = event, desc, step


@dataclass
class Mounted:
    volume: BlobVolume
    container_id: str | None    # None: a node-local directory (fuse False)
    writable: bool
    client_id: str
    object_id: str
    account: str = ""
    fuse: bool = True           # a blobfuse2 mount; False: the bind-mounted empty staging directory


class Chain:
    """Checks one pod's blob volumes; `key_fetch` is called whenever the driver would call listKeys."""

    def __init__(self, app, cluster, pod, key_fetch):
        self.app, self.cluster, self.pod, self.key_fetch = app, cluster, pod, key_fetch
        self.store = app.store
        self.token_seconds = None   # expirationSeconds of the driver's token request (None: no request)

    def fail(self, volume, desc, step):
        raise MountFailure(messages.setup_failed(volume.name, desc), desc, step)

    def check(self, volume) -> Mounted:
        self.token_seconds = self._driver(volume)
        attrs = volume.attributes
        client_id = attrs.get("clientid", "")
        token_only = attrs.get("mountwithworkloadidentitytoken", "").lower() == "true"
        if self.token_seconds is None and (client_id or attrs.get("mountwithworkloadidentitytoken") == "true"):
            # useWorkloadIdentity() with an empty token: NodeStageVolume returns at once, NodePublishVolume
            # bind-mounts the (empty) staging directory. Nothing reaches Entra or the storage account.
            return Mounted(volume, None, volume.writable, client_id, "", fuse=False)
        if token_only and not client_id:
            self.fail(volume, messages.CLIENT_ID_MISSING, "mode")
        principal = self._exchange(volume, client_id) if client_id else None
        account, container = self._account(volume)
        if not token_only:
            self._account_key_mount(volume, account, principal)  # always raises: keys are never keyless
        container_id = f"{account['id']}/blobServices/default/containers/{container}"
        self._authorize(volume, principal["object_id"], container_id)
        if account["properties"].get("allowSharedKeyAccess") is not False:
            self.fail(volume, messages.shared_key_on(account["name"], key_mode=False), "shared-key")
        if self.store.get(container_id) is None:
            self.fail(volume, messages.CONTAINER_NOT_FOUND, "container")
        return Mounted(volume, container_id, volume.writable, principal["client_id"], principal["object_id"],
                       account["name"])

    # ------------------------------------------------------------------ steps
    def _driver(self, volume) -> int | None:
        """Checks the driver; returns the expirationSeconds of its token request (None: no token request)."""
        driver = self.cluster.get(CSIDRIVERS, "", messages.BLOB_DRIVER)
        if driver is not None and is_aks_managed(driver):  # AKS runs its own node plugin (not emulated)
            self.fail(volume, messages.managed_driver(), "driver")
        node_plugin = any(ds["metadata"]["name"] == NODE_DAEMONSET
                          or (ds["metadata"].get("labels") or {}).get("app") == NODE_DAEMONSET
                          for ds in self.cluster.items(DAEMONSETS))
        if driver is None or not node_plugin:
            event = messages.driver_not_registered(volume.name)
            raise MountFailure(event, event, "driver")
        requests = [r for r in (driver.get("spec") or {}).get("tokenRequests") or []
                    if r.get("audience") == messages.TOKEN_AUDIENCE]
        return int(requests[0].get("expirationSeconds") or DEFAULT_TOKEN_SECONDS) if requests else None

    def _exchange(self, volume, client_id) -> dict:
        meta = self.pod["metadata"]
        if (meta.get("labels") or {}).get(messages.WI_LABEL) != "true" and self._label_required():
            self.fail(volume, messages.not_opted_in(meta["name"]), "workload-identity")
        issuer = self.cluster.oidc_issuer_url
        if not issuer:
            self.fail(volume, messages.no_issuer(self.cluster.id), "issuer")
        try:
            return self._assert(client_id, self.token_seconds)
        except EntraError as exc:
            self.fail(volume, str(exc), "token-exchange")
        except OidcError as exc:
            self.fail(volume, f"sandbox: cannot mint a service account token for issuer {issuer}: {exc}", "issuer")

    def _assert(self, client_id, remaining) -> dict:
        """Exchange a service account token of the pod that has `remaining` seconds left (<= 0: expired)."""
        spec = self.pod.get("spec") or {}
        subject = (f"system:serviceaccount:{self.pod['metadata']['namespace']}:"
                   f"{spec.get('serviceAccountName') or 'default'}")
        ttl = max(-MAX_TTL, min(MAX_TTL, int(remaining)))
        token = self.app.oidc.mint(self.cluster.oidc_issuer_url, subject, messages.TOKEN_AUDIENCE, ttl=ttl)
        return self.app.entra.exchange_assertion(client_id, token)

    def refresh(self, client_id, remaining) -> str | None:
        """blobfuse2 asking Entra for a new storage token with the token file's assertion: the error or None."""
        if not self.cluster.oidc_issuer_url:
            return messages.no_issuer(self.cluster.id)
        try:
            self._assert(client_id, remaining)
        except (EntraError, OidcError) as exc:
            return str(exc)
        return None

    def _label_required(self) -> bool:
        return bool(self.store.config.get("kubelet_require_workload_identity_label", True))

    def _account(self, volume):
        attrs = volume.attributes
        handle = volume.volume_handle.split("#") if volume.volume_handle.count("#") >= 2 else ["", "", ""]
        group = attrs.get("resourcegroup") or handle[0]
        name = attrs.get("storageaccount") or attrs.get("storageaccountname") or handle[1]
        container = attrs.get("containername") or handle[2]
        if not name or not container:
            self.fail(volume, messages.attributes_missing("storage account" if not name else "container"),
                      "attributes")
        subscription = attrs.get("subscriptionid") or self.app.subscription_id
        account = self.store.get(f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{ACCOUNTS}/{name}")
        if account is None:  # account names are global: the driver's resource group hint may be wrong
            account = next((a for a in self.store.of_type(ACCOUNTS) if a["name"].lower() == name.lower()), None)
        if account is None:
            self.fail(volume, messages.account_missing(name, group or "(none)"), "account")
        return account, container

    def _authorize(self, volume, object_id, container_id):
        needed = [messages.READ] + ([messages.WRITE] if volume.writable else [])
        if not access.allows_all(self.store, object_id, container_id, needed):  # the Blob service's own check
            self.fail(volume, messages.PERMISSION_MISMATCH, "authorization")

    def _roles_at(self, object_id, scope) -> list:
        return access.roles_at(self.store, object_id, scope)

    def _account_key_mount(self, volume, account, principal):
        """Before driver 1.27 (or without mountWithWorkloadIdentityToken) the driver lists the account keys
        (with the federated token, or the cluster identity when no clientID is set) and mounts with a key."""
        self.key_fetch()
        if principal is not None:
            roles = self._roles_at(principal["object_id"], account["id"])
            if not any(permits(role, action=messages.LIST_KEYS) for role in roles):
                self.fail(volume, messages.list_keys_denied(principal["object_id"], account["id"]), "list-keys")
        if account["properties"].get("allowSharedKeyAccess") is False:
            self.fail(volume, messages.KEY_NOT_PERMITTED, "account-key")
        self.fail(volume, messages.shared_key_on(account["name"], key_mode=True), "account-key")
