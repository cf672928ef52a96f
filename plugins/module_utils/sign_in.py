# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One sign-in per play, shared by the play's module processes.

The ``keyless.aks_storage.sign_in`` lookup signs in once on the controller, with the credential a module would build
from the same options, and returns what every module would otherwise work out for itself: the cloud's endpoints,
the default subscription and one ARM access token. The playbooks keep it in a non-persistent fact (``no_log``) and
pass it to the action group ``azure`` through ``module_defaults`` as the ``sign_in`` option. A module uses it only
when it was made for the module's own authentication options (``sign_in_key``) and stays valid for longer than the
module may wait; otherwise, and for any other scope than ARM's (AKS, Storage), the module signs in itself.
"""

from __future__ import annotations

import shutil
import subprocess
import time

# The module option (and the lookup's result): access_token alone is secret.
SIGN_IN_OPTION = dict(type="dict", options=dict(
    access_token=dict(type="str", no_log=True),
    expires_on=dict(type="int"),
    made_for=dict(type="str"),
    subscription_id=dict(type="str"),
    cloud=dict(type="dict"),
))
# The options a sign-in is made for: a module whose own differ (another identity, tenant or cloud) signs in itself.
KEY_OPTIONS = ("auth_source", "tenant", "client_id", "cloud_environment")
# azure-core's bearer policy asks for a new token this many seconds before the current one expires.
REFRESH_MARGIN = 300
AZ_TIMEOUT = 60
CLOUD_FIELDS = ("name", "resource_manager", "login_endpoint", "audience", "well_known")


def sign_in_key(params):
    """What a sign-in was made for, from authentication options (defaults as in AUTH_ARGUMENT_SPEC)."""
    defaults = dict(auth_source="auto", cloud_environment="AzureCloud")
    return "|".join(str(params.get(name) or defaults.get(name, "")).strip().lower() for name in KEY_OPTIONS)


def usable_sign_in(params, min_validity, now=None):
    """The ``sign_in`` option of ``params`` when a module may use it: made for the same options, complete, and
    valid for at least ``min_validity`` more seconds; else None (the module signs in itself)."""
    shared = params.get("sign_in") or {}
    cloud = shared.get("cloud") or {}
    if not shared.get("access_token") or not shared.get("expires_on"):
        return None
    if shared.get("made_for") != sign_in_key(params) or any(cloud.get(f) is None for f in CLOUD_FIELDS):
        return None
    if shared["expires_on"] < (time.time() if now is None else now) + min_validity:
        return None
    return shared


def cloud_of(shared):
    """The Cloud a sign-in was made against."""
    from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_cloud import Cloud
    cloud = shared["cloud"]
    return Cloud(cloud["name"], cloud["resource_manager"], cloud["login_endpoint"], cloud["audience"],
                 well_known=bool(cloud["well_known"]))


def cloud_record(cloud):
    """A Cloud as the sign-in carries it (cloud_of's inverse)."""
    return dict(cloud.as_dict(), well_known=cloud.well_known)


class SharedTokenCredential:
    """An azure-core token credential serving the play's ARM token for ``scope`` while it is valid; any other scope,
    claims challenge or tenant, and a token about to expire, go to ``own()``, the module's own credential (built on
    first need)."""

    def __init__(self, token, expires_on, scope, own):
        self._token, self._expires_on, self._scope = token, int(expires_on), scope
        self._make_own, self._own = own, None

    def get_token(self, *scopes, **kwargs):
        if (scopes == (self._scope,) and not kwargs.get("claims") and not kwargs.get("tenant_id")
                and self._expires_on - time.time() > REFRESH_MARGIN):
            from azure.core.credentials import AccessToken
            return AccessToken(self._token, self._expires_on)
        if self._own is None:
            self._own = self._make_own()
        return self._own.get_token(*scopes, **kwargs)

    def close(self):
        if self._own is not None and hasattr(self._own, "close"):
            self._own.close()


def cli_subscription(auth_source):
    """The subscription of ``az account show`` for auth_source auto or cli when ``az`` is installed, else None."""
    if (auth_source or "auto") not in ("auto", "cli") or not shutil.which("az"):
        return None
    try:
        done = subprocess.run(["az", "account", "show", "--query", "id", "-o", "tsv"], capture_output=True,
                              text=True, timeout=AZ_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None
