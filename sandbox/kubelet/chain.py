"""The keyless chain for one volume, checked against the sandbox's Kubernetes and ARM state: the steps both
drivers share (`Chain`) and the blob order (`BlobChain`); the Azure Files order is in files_chain.py.

Blob order (each failure raises MountFailure with the message Azure/AKS would give, see messages.py):
  driver registered (CSIDriver + node DaemonSet) -> not the AKS-managed driver -> token audience requested
  (else, for a volume with a clientID or mountWithWorkloadIdentityToken "true", the driver skips the mount and
  the pod gets a node-local directory: `Mounted.remote` False, driver 1.27.9 pkg/blob/nodeserver.go) ->
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
from .running import DEFAULT_TOKEN_SECONDS
from .volumes import CsiVolume

CSIDRIVERS, DAEMONSETS = kinds.BY_KEY["storage.k8s.io/csidrivers"], kinds.BY_KEY["apps/daemonsets"]
NODE_DAEMONSETS = {messages.BLOB_DRIVER: "csi-blob-node", messages.FILE_DRIVER: "csi-azurefile-node"}


class MountFailure(Exception):
    """The volume cannot be mounted: `event` is the kubelet's FailedMount message, `desc` the short cause."""

    def __init__(self, event: str, desc: str, step: str):
        super().__init__(event)
        self.event, self.desc, self.step = event, desc, step


@dataclass
class Mounted:
    volume: CsiVolume
    target_id: str | None       # the container or share id; None: a node-local directory (remote False)
    writable: bool
    client_id: str
    object_id: str
    account: str = ""
    remote: bool = True         # blobfuse2 / cifs; False: the bind-mounted empty staging directory
    share: str = ""             # Azure Files: the share name (the cifs source //<account>.file.../<share>)


def token_request(driver) -> int | None:
    """expirationSeconds of a CSIDriver's token request for the workload identity audience (None: no request)."""
    requests = [r for r in ((driver or {}).get("spec") or {}).get("tokenRequests") or []
                if r.get("audience") == messages.TOKEN_AUDIENCE]
    return int(requests[0].get("expirationSeconds") or DEFAULT_TOKEN_SECONDS) if requests else None


class Chain:
    """The steps both drivers share; `key_fetch` is called whenever a driver would call listKeys."""
    DRIVER = messages.BLOB_DRIVER

    def __init__(self, app, cluster, pod, key_fetch):
        self.app, self.cluster, self.pod, self.key_fetch = app, cluster, pod, key_fetch
        self.store = app.store
        self.token_seconds = None   # expirationSeconds of the driver's token request (None: no request)
        self.node_plugin = None     # the driver's node DaemonSet

    def fail(self, volume, desc, step):
        raise MountFailure(messages.setup_failed(volume.name, desc), desc, step)

    # ------------------------------------------------------------------ shared steps
    def _driver(self, volume) -> int | None:
        """Checks the driver; returns the expirationSeconds of its token request (None: no token request)."""
        driver = self.cluster.get(CSIDRIVERS, "", self.DRIVER)
        if driver is not None and is_aks_managed(driver):  # AKS runs its own node plugin (not emulated)
            self.fail(volume, messages.managed_driver(self.DRIVER), "driver")
        name = NODE_DAEMONSETS[self.DRIVER]
        self.node_plugin = next((ds for ds in self.cluster.items(DAEMONSETS) if ds["metadata"]["name"] == name
                                 or (ds["metadata"].get("labels") or {}).get("app") == name), None)
        if driver is None or self.node_plugin is None:
            event = messages.driver_not_registered(volume.name, self.DRIVER)
            raise MountFailure(event, event, "driver")
        return token_request(driver)

    def _exchange(self, volume, client_id, describe=str) -> dict:
        """Opt-in policy, issuer, Entra exchange; `describe` turns Entra's error into the driver's wording."""
        meta = self.pod["metadata"]
        if (meta.get("labels") or {}).get(messages.WI_LABEL) != "true" and self._label_required():
            self.fail(volume, messages.not_opted_in(meta["name"]), "workload-identity")
        issuer = self.cluster.oidc_issuer_url
        if not issuer:
            self.fail(volume, messages.no_issuer(self.cluster.id), "issuer")
        try:
            return self._assert(client_id, self.token_seconds)
        except EntraError as exc:
            self.fail(volume, describe(str(exc)), "token-exchange")
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
        """The mount's agent asking Entra for a new storage token with the token file's assertion: error or None."""
        if not self.cluster.oidc_issuer_url:
            return messages.no_issuer(self.cluster.id)
        try:
            self._assert(client_id, remaining)
        except (EntraError, OidcError) as exc:
            return str(exc)
        return None

    def _label_required(self) -> bool:
        return bool(self.store.config.get("kubelet_require_workload_identity_label", True))

    def _account(self, volume, what: str, attribute: str):
        """(account, container or share name) from the attributes or the volumeHandle rg#account#<what>#..."""
        attrs = volume.attributes
        handle = volume.volume_handle.split("#") if volume.volume_handle.count("#") >= 2 else ["", "", ""]
        group = attrs.get("resourcegroup") or handle[0]
        name = attrs.get("storageaccount") or attrs.get("storageaccountname") or handle[1]
        target = attrs.get(attribute) or handle[2]
        if not name or not target:
            self.fail(volume, messages.attributes_missing("storage account" if not name else what, what),
                      "attributes")
        subscription = attrs.get("subscriptionid") or self.app.subscription_id
        account = self.store.get(f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{ACCOUNTS}/{name}")
        if account is None:  # account names are global: the driver's resource group hint may be wrong
            account = next((a for a in self.store.of_type(ACCOUNTS) if a["name"].lower() == name.lower()), None)
        return account, name, group, target

    def _account_key_mount(self, volume, account, principal):
        """The account-key path: the driver lists the account keys (with the federated token, or the cluster
        identity when no clientID is set) and mounts with a key. Always fails: keys are never keyless."""
        self.key_fetch()
        if principal is not None:
            roles = access.roles_at(self.store, principal["object_id"], account["id"])
            if not any(permits(role, action=messages.LIST_KEYS) for role in roles):
                self.fail(volume, messages.list_keys_denied(principal["object_id"], account["id"]), "list-keys")
        if account["properties"].get("allowSharedKeyAccess") is False:
            self.fail(volume, messages.KEY_NOT_PERMITTED, "account-key")
        self.fail(volume, messages.shared_key_on(account["name"], key_mode=True), "account-key")

    def _shared_key_off(self, volume, account):
        if account["properties"].get("allowSharedKeyAccess") is not False:
            self.fail(volume, messages.shared_key_on(account["name"], key_mode=False), "shared-key")


class BlobChain(Chain):
    """One pod's blob.csi.azure.com volumes."""

    def check(self, volume) -> Mounted:
        self.token_seconds = self._driver(volume)
        attrs = volume.attributes
        client_id = attrs.get("clientid", "")
        token_only = attrs.get("mountwithworkloadidentitytoken", "").lower() == "true"
        if self.token_seconds is None and (client_id or attrs.get("mountwithworkloadidentitytoken") == "true"):
            # useWorkloadIdentity() with an empty token: NodeStageVolume returns at once, NodePublishVolume
            # bind-mounts the (empty) staging directory. Nothing reaches Entra or the storage account.
            return Mounted(volume, None, volume.writable, client_id, "", remote=False)
        if token_only and not client_id:
            self.fail(volume, messages.CLIENT_ID_MISSING, "mode")
        principal = self._exchange(volume, client_id) if client_id else None
        account, name, group, container = self._account(volume, "container", "containername")
        if account is None:
            self.fail(volume, messages.account_missing(name, group or "(none)"), "account")
        if not token_only:
            self._account_key_mount(volume, account, principal)  # always raises: keys are never keyless
        container_id = f"{account['id']}/blobServices/default/containers/{container}"
        needed = [messages.READ] + ([messages.WRITE] if volume.writable else [])
        if not access.allows_all(self.store, principal["object_id"], container_id, needed):  # the Blob service's
            self.fail(volume, messages.PERMISSION_MISMATCH, "authorization")                 # own check
        self._shared_key_off(volume, account)
        if self.store.get(container_id) is None:
            self.fail(volume, messages.CONTAINER_NOT_FOUND, "container")
        return Mounted(volume, container_id, volume.writable, principal["client_id"], principal["object_id"],
                       account["name"])
