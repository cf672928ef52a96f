# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authentication options shared by every Azure module, and the azure-identity credential they select."""

from __future__ import annotations

import base64
import json
import os

from ansible.module_utils.basic import env_fallback

AUTH_SOURCES = ("auto", "cli", "env", "msi", "workload_identity")

AUTH_ARGUMENT_SPEC = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES), default="auto",
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT", "AZURE_TENANT_ID"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET", "AZURE_CLIENT_SECRET"])),
    federated_token_file=dict(type="path", fallback=(env_fallback, ["AZURE_FEDERATED_TOKEN_FILE"])),
    cloud_environment=dict(type="str", default="AzureCloud",
                           fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
)

# Credentials DefaultAzureCredential would try that make no sense for unattended automation.
_INTERACTIVE_EXCLUDES = dict(
    exclude_interactive_browser_credential=True,
    exclude_visual_studio_code_credential=True,
    exclude_shared_token_cache_credential=True,
    exclude_powershell_credential=True,
    exclude_developer_cli_credential=True,
    exclude_broker_credential=True,
)


def plugin_auth_params(get):
    """The authentication options of a controller-side plugin (inventory, lookup), named as AUTH_ARGUMENT_SPEC's:
    ``get(name)`` for each, empty as None, and the token file's ``~`` and variables expanded as the modules' path
    options are."""
    params = {name: get(name) or None for name in AUTH_ARGUMENT_SPEC}
    if params["federated_token_file"]:
        params["federated_token_file"] = os.path.expanduser(os.path.expandvars(params["federated_token_file"]))
    return params


class AuthConfigError(Exception):
    """The authentication options are incomplete or contradictory; nothing was sent."""


def _require(params, names, source):
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise AuthConfigError(
            "auth_source=%s needs %s (options or their AZURE_* environment variables)"
            % (source, " and ".join(missing)))


def authority_options(cloud):
    """The keyword arguments every azure-identity credential needs for ``cloud``."""
    options = dict(authority=cloud.login_endpoint)
    if not cloud.well_known:
        # Otherwise MSAL first asks the public cloud whether the custom authority is valid.
        options["disable_instance_discovery"] = True
    return options


def build_credential(params, cloud):
    """Return an azure-identity credential for ``params`` against ``cloud`` (import only what is used)."""
    source = params.get("auth_source") or "auto"
    common = authority_options(cloud)
    tenant, client_id, secret = params.get("tenant"), params.get("client_id"), params.get("secret")
    token_file = params.get("federated_token_file")

    if source == "auto":
        if client_id and secret and tenant:
            source = "env"
        elif client_id and tenant and token_file:
            source = "workload_identity"
        else:
            from azure.identity import DefaultAzureCredential
            return DefaultAzureCredential(managed_identity_client_id=client_id, **dict(common, **_INTERACTIVE_EXCLUDES))

    if source == "env":
        if secret:
            _require(params, ("tenant", "client_id"), source)
            from azure.identity import ClientSecretCredential
            return ClientSecretCredential(tenant, client_id, secret, **common)
        # EnvironmentCredential also covers certificate credentials (AZURE_CLIENT_CERTIFICATE_PATH).
        from azure.identity import EnvironmentCredential
        return EnvironmentCredential(**common)
    if source == "workload_identity":
        _require(params, ("tenant", "client_id", "federated_token_file"), source)
        from azure.identity import WorkloadIdentityCredential
        return WorkloadIdentityCredential(tenant_id=tenant, client_id=client_id, token_file_path=token_file, **common)
    if source == "msi":
        from azure.identity import ManagedIdentityCredential
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    if source == "cli":
        from azure.identity import AzureCliCredential
        return AzureCliCredential(tenant_id=tenant) if tenant else AzureCliCredential()
    raise AuthConfigError("unknown auth_source %s" % source)


def token_claims(token):
    """The claims of a JWT (not verified: read for what they say, e.g. an
    identity's ``oid``; whoever receives the token verifies it)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
