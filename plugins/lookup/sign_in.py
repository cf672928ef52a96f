# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup plugin: sign in to Azure once on the controller, for every module of a play."""

from __future__ import annotations

DOCUMENTATION = r"""
name: sign_in
short_description: Sign in to Azure once, for all the modules of a play
version_added: 0.1.0
description:
  - Signs in on the controller, once, with the C(azure-identity) credential the collection's modules would build from
    the same options (O(auth_source) V(cli), V(env), V(msi), V(workload_identity) or V(auto)), and returns what every
    module would otherwise work out for itself in its own process; the cloud's endpoints (a custom cloud's metadata
    is read once), the default subscription (C(az account show) runs only when no O(subscription_id) is set) and one
    Azure Resource Manager access token.
  - Pass the result to the modules as their C(sign_in) option, for example through C(module_defaults) for the action
    group C(keyless.aks_storage.azure), as C(playbooks/site.yml), C(teardown.yml) and C(doctor.yml) do; keep it
    in a fact set with C(ansible.builtin.set_fact), C(run_once) and C(no_log) (a set_fact fact is never
    written to a facts cache).
  - "What is shared, and for how long: the ARM token lives as long as Entra ID issued it for (typically 60 to 90
    minutes; the Azure CLI may hand out a cached one that has less left). A module uses it only while it has more
    than 35 minutes left and only for ARM; it signs in itself for anything else (the AKS API server, Azure Storage)
    and when the token is too old, so a long play degrades to one sign-in per module, never to a failure."
  - The token is kept in memory only. This plugin writes no file and no cache; the modules' C(sign_in) option is
    C(no_log) for the token, so neither the task output, C(-vvv), callbacks nor registered results show it.
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth.plugin
options:
  subscription_id:
    description:
      - The subscription the modules work in unless they are given their own.
      - With O(auth_source=auto) or O(auth_source=cli) and none set, the subscription of C(az account show) (one
        more C(az) call per play; set E(AZURE_SUBSCRIPTION_ID) to spare it).
  environment:
    description:
      - Extra environment variables for the sign-in, the ones the play gives its tasks with C(environment) (for
        example C(REQUESTS_CA_BUNDLE), C(HTTPS_PROXY), C(AZURE_SUBSCRIPTION_ID)), so the controller signs in as the
        modules would. They apply to this lookup only and are restored afterwards.
    type: dict
    default: {}
  on_failure:
    description:
      - V(fail) fails the task with the sign-in's error (the play stops before any module ran).
      - V(warn) warns and returns an empty dictionary, so every module signs in itself and reports the error in its
        own way (C(playbooks/doctor.yml) does this, since the doctor explains a refused credential).
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - Transient Azure errors are retried with bounded backoff, as in the modules.
seealso:
  - name: Workload identity chain
    description: The keyless chain the collection's playbooks build.
    link: https://learn.microsoft.com/azure/aks/workload-identity-overview
"""

EXAMPLES = r"""
- name: A play of the collection's modules signing in once
  hosts: aks_clusters
  gather_facts: false
  module_defaults:
    group/keyless.aks_storage.azure:
      sign_in: "{{ keyless_sign_in | default(omit) }}"
  tasks:
    - name: Sign in to Azure once for this play
      ansible.builtin.set_fact:
        keyless_sign_in: "{{ lookup('keyless.aks_storage.sign_in', environment=keyless_environment | default({})) }}"
      run_once: true
      no_log: true

    - name: Every module of the play uses that sign-in
      keyless.aks_storage.resource_group:
        name: rg-keyless
        location: westeurope
"""

RETURN = r"""
_raw:
  description: The sign-in, for the modules' C(sign_in) option (an empty dictionary when O(on_failure=warn) hid a
    failure).
  type: list
  elements: dict
  contains:
    access_token:
      description: The ARM access token. Secret; pass it only to the modules' C(sign_in) option.
      type: str
    expires_on:
      description: When the token expires (seconds since the epoch).
      type: int
    made_for:
      description: The authentication options the sign-in was made for (auth source, tenant, client ID, cloud).
      type: str
    subscription_id:
      description: The default subscription, or V(null) when none was found.
      type: str
    cloud:
      description: The cloud's endpoints.
      type: dict
"""

import contextlib
import os

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_cloud, azure_transport
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import (
    AuthConfigError, build_credential, plugin_auth_params)
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_errors import format_failure
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import USER_AGENT, retry_policy
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.sign_in import (
    cli_subscription, cloud_record, sign_in_key)

display = Display()


@contextlib.contextmanager
def environment(extra):
    """os.environ with ``extra`` on top (values as strings), restored on exit."""
    saved = dict(os.environ)
    os.environ.update({str(k): str(v) for k, v in (extra or {}).items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def sign_in(params, warn):
    """Sign in with ``params`` (the modules' authentication options) and return the sign-in record. Raises
    SignInError with a message naming what failed."""
    try:
        cloud = azure_transport.fetch_cloud(params.get("cloud_environment"), USER_AGENT, retry_policy(warn))
        credential = build_credential(params, cloud)
    except (azure_cloud.CloudError, AuthConfigError) as exc:
        raise SignInError(to_native(exc)) from None
    except ModuleError as exc:
        raise SignInError(exc.msg) from None
    except ValueError as exc:  # azure-identity refuses a malformed tenant and the like
        raise SignInError("invalid authentication options: %s" % exc) from None
    try:
        token = credential.get_token(cloud.scope)
    except Exception as exc:  # pylint: disable=broad-except
        raise SignInError(format_failure("sign in to Azure (%s)" % cloud.scope, exc)[0]) from None
    finally:
        if hasattr(credential, "close"):
            credential.close()
    return dict(access_token=token.token, expires_on=int(token.expires_on), made_for=sign_in_key(params),
                subscription_id=params.get("subscription_id") or cli_subscription(params.get("auth_source")),
                cloud=cloud_record(cloud))


class SignInError(Exception):
    """The sign-in failed; the message says why (never with a secret)."""


class LookupModule(LookupBase):
    """Sign in once; see DOCUMENTATION."""

    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("keyless.aks_storage.sign_in takes no terms, only options")
        extra = kwargs.pop("environment", None) or {}
        if not isinstance(extra, dict):
            raise AnsibleLookupError("keyless.aks_storage.sign_in: environment must be a dictionary")
        azure_transport.quiet_azure_logger()  # the failure reaches the user once, in this plugin's message
        with environment(extra):
            self.set_options(var_options=variables, direct=kwargs)
            params = plugin_auth_params(self.get_option)
            try:
                return [sign_in(params, display.warning)]
            except SignInError as exc:
                message = "keyless.aks_storage.sign_in: %s" % exc
                if self.get_option("on_failure") == "warn":
                    display.warning(message + "; every module signs in itself")
                    return [{}]
                raise AnsibleLookupError(message) from None
