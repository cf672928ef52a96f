"""The keyless chain for one Azure Files volume (file.csi.azure.com), the shared steps from chain.py.

Order (driver v1.35.7, docs/research/azure-files.md section 3; messages.py has the wording and sources):
  driver registered (CSIDriver + node DaemonSet csi-azurefile-node; not the AKS-managed one) -> the driver version
  from the node plugin's azurefile image tag -> token audience requested (else, for a volume with a clientID or a
  token-only flag, NodeStageVolume is skipped (ns:331-333) and the pod gets a node-local directory) -> not NFS
  (sandbox policy: NFS mounts with sec=sys, no identity) -> token-only mode: driver >= v1.35.0 and
  mountWithWorkloadIdentityToken exactly "true" (ns:1204-1212), else the account-key path (ARM listKeys with the
  pod's token, always refused) -> clientID set (af:998) -> pod opted in, OIDC issuer, Entra exchange (shared with
  blob; azfilesauthmanager runs it, so Entra's error comes inside setCredentialCache's) -> the account's file
  endpoint resolves -> SMB OAuth on -> data role at the account scope or above (the Kerberos ticket is requested
  at the account endpoint; stricter than the docs, which only ever assign at the account) -> shared key access off
  (sandbox policy) -> user mount options keep the mount token-only and encrypted -> the share exists
  (mount error(2)). Call with the store lock held.
"""

import functools
import re

from ..arm.providers.storage.common import share_id
from ..arm.providers.storage.files_identity import smb_oauth_enabled
from ..blob import access
from . import messages
from .chain import Chain, Mounted

TOKEN_ONLY_SINCE = (1, 35, 0)   # PR #2902, first tag v1.35.0
IMAGE_TAG = re.compile(r":v(\d+)\.(\d+)\.(\d+)(?:[-+][\w.-]*)?$")
DRIVER_CONTAINER = "azurefile"
UNENCRYPTED = ("1.0", "2.0", "2.1")   # SMB dialects without SMB 3.x encryption
CREDENTIAL_OPTIONS = ("username", "user", "password", "pass", "credentials", "cred")
DEFAULT_OPTIONS = ("file_mode=0777", "dir_mode=0777", "actimeo=30", "mfsymlinks", "nosharesock")  # af:679-719


class FilesChain(Chain):
    DRIVER = messages.FILE_DRIVER

    def check(self, volume) -> Mounted:
        self.token_seconds = self._driver(volume)
        version = self._version(volume)
        attrs = volume.attributes
        client_id = attrs.get("clientid", "")
        token_only = version >= TOKEN_ONLY_SINCE and attrs.get("mountwithworkloadidentitytoken") == "true"
        if self.token_seconds is None and (client_id or token_only):
            return Mounted(volume, None, volume.writable, client_id, "", remote=False)
        if attrs.get("protocol", "").lower() == "nfs":
            self.fail(volume, messages.nfs_not_keyless(volume.name), "protocol")
        if not token_only:
            self._account_key_path(volume, client_id)  # always raises
        if not client_id:
            self.fail(volume, messages.FILE_CLIENT_ID_EMPTY, "mode")
        account, name, group, share = self._account(volume, "share", "sharename")
        principal = self._exchange(volume, client_id, describe=functools.partial(self._entra_failed, name))
        if account is None:
            self._no_ticket(volume, name, messages.account_missing(name, group or "(none)", "file"), "account")
        if not smb_oauth_enabled(account.get("properties") or {}):
            self._no_ticket(volume, name, messages.smb_oauth_off(name), "smb-oauth")
        needed = [messages.RUN_AS_FILE_ADMIN, messages.FILE_READ] + ([messages.FILE_WRITE] if volume.writable else [])
        if not access.allows_all(self.store, principal["object_id"], account["id"], needed):
            cause = messages.file_role_missing(principal["object_id"], account["id"], needed)
            self._no_ticket(volume, name, cause, "authorization")
        self._shared_key_off(volume, account)
        self._mount_options(volume, account, share)
        target_id = share_id(account["id"], share)
        if self.store.get(target_id) is None:
            self._mount_failed(volume, name, share, messages.SHARE_NOT_FOUND, "share")
        return Mounted(volume, target_id, volume.writable, principal["client_id"], principal["object_id"], name,
                       share=share)

    # ------------------------------------------------------------------ steps
    def _version(self, volume) -> tuple:
        """The driver version: the tag of the node plugin's azurefile image (the chart's image.azurefile.tag)."""
        containers = ((self.node_plugin.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers")
        image = next((c.get("image") or "" for c in containers or [] if c.get("name") == DRIVER_CONTAINER), "")
        found = IMAGE_TAG.search(image)
        if not found:
            self.fail(volume, messages.version_unknown(image), "driver-version")
        return tuple(int(part) for part in found.groups())

    def _account_key_path(self, volume, client_id):
        """Before v1.35.0, or without mountWithWorkloadIdentityToken "true": GetAccountInfo lists the account keys
        with the pod's token (a clientID) or the driver's own identity, then mounts with NTLM and the key."""
        principal = self._exchange(volume, client_id) if client_id else None
        account, name, group, _share = self._account(volume, "share", "sharename")
        if account is None:
            self.fail(volume, messages.account_missing(name, group or "(none)", "file"), "account")
        self._account_key_mount(volume, account, principal)

    @staticmethod
    def _entra_failed(account, entra_error) -> str:
        return messages.credential_cache_failed(account, messages.wi_token_failed(entra_error))

    def _no_ticket(self, volume, account, cause, step):
        """azfilesauthmanager got an Entra token but no Kerberos ticket from the account's kerbticket endpoint."""
        self.fail(volume, messages.credential_cache_failed(account, messages.KERBEROS_TICKET_FAILED, cause), step)

    def _mount_options(self, volume, account, share):
        secure = (account.get("properties") or {}).get("supportsHttpsTrafficOnly") is not False
        for option in volume.mount_options:
            key, _sep, value = option.partition("=")
            key, value = key.strip().lower(), value.strip()
            if key in CREDENTIAL_OPTIONS or (key == "sec" and value.lower() != "krb5"):
                self.fail(volume, messages.smb_option_refused(option), "mount-options")
            if key == "vers" and value in UNENCRYPTED and (secure or value == "1.0"):
                self._mount_failed(volume, account["name"], share, messages.unencrypted_smb(option), "smb-version")

    def _mount_failed(self, volume, account, share, error, step):
        given = {m.split("=", maxsplit=1)[0] for m in volume.mount_options}
        options = list(volume.mount_options) + [o for o in DEFAULT_OPTIONS if o.split("=", maxsplit=1)[0] not in given]
        target = (f"/var/lib/kubelet/pods/{self.pod['metadata'].get('uid', '')}/volumes/kubernetes.io~csi/"
                  f"{volume.name}/mount")
        desc = messages.cifs_mount_failed(volume.volume_handle, account, share, target, options, error)
        self.fail(volume, desc, step)


def cifs_options(mounted, writable: bool) -> str:
    """The super options a token-only cifs mount shows in mountinfo (as in the driver's docs example)."""
    vers = next((o.split("=", 1)[1] for o in mounted.volume.mount_options if o.lower().startswith("vers=")), "3.1.1")
    return (f"{'rw' if writable else 'ro'},vers={vers},sec=krb5,cruid=0,cache=strict,upcall_target=mount,"
            f"username=root,uid=0,noforceuid,gid=0,noforcegid,file_mode=0777,dir_mode=0777,soft,persistenthandles,"
            f"nounix,serverino,mapposix,mfsymlinks,nosharesock,actimeo=30")
