# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talking to Azure without an AnsibleModule: the bounded retry policy, a JSON GET through azure-core (custom-cloud
metadata), ``cloud_environment`` resolved into a Cloud, and the keyword arguments of an ARM client.

Shared by the modules' base (``azure_module.py``) and by controller-side plugins such as the ``aks`` inventory
plugin, which run in ``ansible-inventory`` / ``ansible-playbook`` and have no module to warn or fail through: every
function takes what it needs (a ``warn`` callable, the settings) and raises instead of failing a task.
Azure libraries are imported on first use, so importing this file costs nothing.
"""

from __future__ import annotations

import logging
import os

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_cloud
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError


def quiet_azure_logger():
    """Give the ``azure`` logger a NullHandler (once): azure-identity logs a failed token request as a warning that
    Python would print to stderr when nothing handles it, as in ansible-playbook and ansible-inventory; a
    controller-side plugin reports the failure itself, once."""
    azure_logger = logging.getLogger("azure")
    if not any(isinstance(h, logging.NullHandler) for h in azure_logger.handlers):
        azure_logger.addHandler(logging.NullHandler())


def capped_retry_policy(settings, cap, warn, cap_env=None):
    """azure-core's RetryPolicy with ``settings`` (retry_total, backoff, ...) whose Retry-After is cut to ``cap``
    seconds; ``warn(message)`` says so each time the service asked for longer. ``cap_env``, the environment
    variable that overrides ``cap``, is read here and named in the warning."""
    from azure.core.pipeline.policies import RetryPolicy
    if cap_env and os.environ.get(cap_env):
        cap = float(os.environ[cap_env])
    cap = float(cap)

    class CappedRetryPolicy(RetryPolicy):
        def get_retry_after(self, response):
            asked = super().get_retry_after(response)
            if asked and asked > cap:
                warn("Azure asked to wait %gs (Retry-After) before retrying %s %s; waited %gs, the most this "
                     "collection waits%s" % (asked, response.http_request.method,
                                             response.http_request.url.split("?")[0], cap,
                                             " (set %s to change it)" % cap_env if cap_env else ""))
                return cap
            return asked
    return CappedRetryPolicy(**settings)


def get_json(url, action, policies):
    """GET ``url`` through azure-core (TLS verification and proxies as for ARM; ``policies`` such as the user agent
    and the retry policy) and return its JSON document. Raises AzureError("Failed to <action> from <url>: ...")."""
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest
    client = PipelineClient(url, policies=list(policies))
    try:
        with client:
            response = client.send_request(HttpRequest("GET", url))
            response.raise_for_status()
            return response.json()
    except Exception as exc:  # pylint: disable=broad-except
        raise AzureError.from_exception(action + " from " + url, exc) from exc


def resolve_cloud(value, fetch_json):
    """The Cloud of a ``cloud_environment`` value: a known cloud name, or an https ARM root / metadata URL whose
    metadata document ``fetch_json(url)`` returns (it is called only for a URL). Raises azure_cloud.CloudError for
    a value that names no cloud, and whatever ``fetch_json`` raises."""
    value = value or "AzureCloud"
    if azure_cloud.is_url(value):
        url = azure_cloud.metadata_url_for(value)
        return azure_cloud.cloud_from_metadata(url, fetch_json(url))
    return azure_cloud.known_cloud(value)


def fetch_cloud(value, user_agent, retry_policy):
    """resolve_cloud() reading a custom cloud's metadata through azure-core with ``user_agent`` and
    ``retry_policy`` (for controller-side plugins; a module reads it through its own helper)."""
    from azure.core.pipeline.policies import UserAgentPolicy
    policies = [UserAgentPolicy(user_agent=user_agent), retry_policy]
    return resolve_cloud(value, lambda url: get_json(url, "read cloud metadata", policies))


def arm_client_kwargs(cloud, user_agent, retry_policy, polling_interval=None):
    """Keyword arguments of any azure-mgmt-* client for ``cloud`` (after the credential and subscription)."""
    kwargs = dict(base_url=cloud.resource_manager.rstrip("/"), credential_scopes=[cloud.scope],
                  user_agent=user_agent, retry_policy=retry_policy)
    if polling_interval is not None:
        kwargs["polling_interval"] = polling_interval
    return kwargs
