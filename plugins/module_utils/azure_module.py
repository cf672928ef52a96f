# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every Azure module in this collection is built on.

It owns the shared authentication options, resolves the cloud, builds the azure-identity credential once, creates
only the SDK clients a module asks for (each imported on first use), bounds retries and long-running operations,
and turns every SDK error into one ``AzureError`` (ARM code, HTTP status, action, hint). A module's driver is
``AzureModule.run(body)``: it is the only place that fails the task (see ``errors.py``).
"""

from __future__ import annotations

import difflib
import importlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_cloud, azure_transport
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import (
    AUTH_ARGUMENT_SPEC, AuthConfigError, build_credential)
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import AzureError, ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import normalize_location
from ansible_collections.keyless.aks_storage.plugins.module_utils.sign_in import (
    SIGN_IN_OPTION, SharedTokenCredential, cli_subscription, cloud_of, usable_sign_in)

COLLECTION_VERSION = "0.1.0"
USER_AGENT = "keyless.aks_storage/%s" % COLLECTION_VERSION

# name -> (Python module, client class, PyPI distribution for the "missing library" message)
CLIENTS = {
    "msi": ("azure.mgmt.msi", "ManagedServiceIdentityClient", "azure-mgmt-msi"),
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient", "azure-mgmt-resource"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient", "azure-mgmt-storage"),
    "authorization": ("azure.mgmt.authorization", "AuthorizationManagementClient", "azure-mgmt-authorization"),
    "containerservice": ("azure.mgmt.containerservice", "ContainerServiceClient", "azure-mgmt-containerservice"),
    # tenant-level client: no subscription in its constructor
    "subscriptions": ("azure.mgmt.resource.subscriptions", "SubscriptionClient", "azure-mgmt-resource-subscriptions"),
}
TENANT_CLIENTS = ("subscriptions",)

# azure-core's retry policy handles 408/429/5xx and honours Retry-After; these bound it.
RETRY_SETTINGS = dict(retry_total=5, retry_backoff_factor=0.8, retry_backoff_max=30)
# The longest Retry-After honoured (seconds); a longer one is cut to this, and the task says so. azure-core would
# otherwise sleep whatever the service asks, in every retry.
RETRY_AFTER_MAX_ENV = "KEYLESS_AZURE_RETRY_AFTER_MAX"
RETRY_AFTER_MAX = 30
# Used by pollers only when the service sends no Retry-After.
POLLING_INTERVAL = 5
LRO_TIMEOUT = 1800
# The play's shared sign-in (option sign_in) is used only while its token outlives the longest wait, with a
# margin for azure-core's early refresh; a shorter-lived one is left alone and the module signs in itself.
SIGN_IN_MIN_VALIDITY = LRO_TIMEOUT + 300
# The warning of a parent that check mode found missing (see AzureModule.parent_missing).
ASSUMED_PARENT = "%s was not found: this check-mode result assumes an earlier task creates it (check mode created nothing)"


def retry_policy(warn):
    """azure-core's retry policy with RETRY_SETTINGS, Retry-After capped at RETRY_AFTER_MAX (``warn(message)`` says
    when the service asked for longer): for the modules and the controller-side plugins alike."""
    return azure_transport.capped_retry_policy(RETRY_SETTINGS, RETRY_AFTER_MAX, warn, RETRY_AFTER_MAX_ENV)


def group_parent(resource_group):
    """How a resource group is named as a missing parent."""
    return "resource group %s" % resource_group


def is_not_found(error):
    """Whether an AzureError is a 404 saying the resource (or its resource group, or its parent) does not exist; a
    subscription that does not exist is a configuration error, not a missing resource."""
    from azure.core.exceptions import ResourceNotFoundError
    return isinstance(error.cause, ResourceNotFoundError) and error.error_code != "SubscriptionNotFound"


def as_rest(model):
    """REST-shaped dict of an SDK model: the new dict-like models and classic msrest models alike (None stays None)."""
    if model is None:
        return None
    if hasattr(model, "serialize"):
        return model.serialize(keep_readonly=True)
    return model.as_dict() if hasattr(model, "as_dict") else dict(model)


class AzureModule(AnsibleModule):
    """AnsibleModule plus lazily created, shared Azure plumbing."""

    def __init__(self, argument_spec, **kwargs):
        # sign_in: the play's one sign-in (lookup keyless.aks_storage.sign_in through module_defaults; sign_in.py)
        spec = dict(AUTH_ARGUMENT_SPEC, sign_in=SIGN_IN_OPTION)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        self._cloud = None
        self._credential = None
        self._shared = usable_sign_in(self.params, SIGN_IN_MIN_VALIDITY)
        self._subscription_id = None
        self._clients = {}
        self._locations = None
        self._assumed_parents = set()  # parents check mode found missing and warned about (lowered)
        self.writes = 0  # Azure writes made by this run (a failed bulk task is changed when any was made)

    def run(self, body):
        """The module's driver: ``body()`` returns the result to exit with; a ModuleError fails the task, here only."""
        try:
            result = body()
        except ModuleError as exc:
            failure = exc.result()
            failure.setdefault("changed", self.writes > 0)  # a failed task that wrote something changed something
            self.fail_json(**failure)
        self.exit_json(**result)

    # ---- endpoints and credentials -------------------------------------------------------------------------
    @property
    def cloud(self):
        if self._cloud is None and self._shared:
            self._cloud = cloud_of(self._shared)
        if self._cloud is None:
            try:
                self._cloud = azure_transport.resolve_cloud(self.params.get("cloud_environment"),
                                                            lambda url: self._get_json(url, "read cloud metadata"))
            except azure_cloud.CloudError as exc:
                raise ModuleError(str(exc)) from exc
        return self._cloud

    def _get_json(self, url, action):
        """GET a JSON document through azure-core (TLS verification, retries and proxies as for ARM)."""
        self._import("azure.core", "azure-core")
        from azure.core.pipeline.policies import UserAgentPolicy
        return azure_transport.get_json(url, action, [UserAgentPolicy(user_agent=USER_AGENT), self.retry_policy()])

    @property
    def credential(self):
        if self._credential is None:
            if self._shared:
                self._credential = SharedTokenCredential(self._shared["access_token"], self._shared["expires_on"],
                                                         self.cloud.scope, self._own_credential)
            else:
                self._credential = self._own_credential()
        return self._credential

    def _own_credential(self):
        """The credential this module's options select (what it signs in with when no sign-in is shared)."""
        self._import("azure.identity", "azure-identity")
        try:
            return build_credential(self.params, self.cloud)
        except AuthConfigError as exc:
            raise ModuleError(str(exc)) from exc
        except ValueError as exc:  # azure-identity rejects malformed tenant ids and the like
            raise ModuleError("Invalid authentication options: %s" % exc, cause=exc) from exc

    @property
    def subscription_id(self):
        if self._subscription_id is None:
            sub = (self.params.get("subscription_id") or (self._shared or {}).get("subscription_id")
                   or cli_subscription(self.params.get("auth_source")))
            if not sub:
                raise ModuleError("subscription_id is required (option subscription_id or AZURE_SUBSCRIPTION_ID)")
            self._subscription_id = sub
        return self._subscription_id

    def client(self, name):
        """The SDK client ``name`` (see CLIENTS), created once per module run."""
        if name not in self._clients:
            module_name, class_name, dist = CLIENTS[name]
            client_class = getattr(self._import(module_name, dist), class_name)
            cloud = self.cloud
            scope = () if name in TENANT_CLIENTS else (self.subscription_id,)
            self._clients[name] = client_class(self.credential, *scope, **azure_transport.arm_client_kwargs(
                cloud, USER_AGENT, self.retry_policy(), POLLING_INTERVAL))
        return self._clients[name]

    def retry_policy(self):
        """azure-core's retry policy with RETRY_SETTINGS, and Retry-After capped at RETRY_AFTER_MAX (a warning says
        when the service asked for longer)."""
        return retry_policy(self.warn)

    def _import(self, module_name, dist):
        try:
            return importlib.import_module(module_name)
        except ImportError as exc:
            raise ModuleError(missing_required_lib(dist), cause=exc) from exc

    # ---- calling Azure: every helper raises AzureError ------------------------------------------------------
    def call(self, action, fn, *args, **kwargs):
        """Run one SDK call that reads (or whose writes are counted by the caller)."""
        try:
            return fn(*args, **kwargs)
        except ModuleError:
            raise
        except Exception as exc:  # pylint: disable=broad-except
            raise AzureError.from_exception(action, exc) from exc

    def write(self, action, fn, *args, **kwargs):
        """Run one SDK call that writes (it starts a long-running operation or changes a resource); counted."""
        result = self.call(action, fn, *args, **kwargs)
        self.writes += 1
        return result

    def get_or_none(self, action, fn, *args, **kwargs):
        """Like call(), but a 404 (the resource, or its resource group, does not exist) returns None."""
        return self.get_in_group(None, action, fn, *args, **kwargs)

    def get_in_group(self, resource_group, action, fn, *args, **kwargs):
        """get_or_none() of a resource in ``resource_group``. In check mode a missing group (ResourceGroupNotFound)
        is also a parent_missing() warning; outside check mode the result is None all the same (the write that
        follows fails on the missing group, as ever). No ``resource_group`` (an item to remove) warns of nothing."""
        try:
            return self.call(action, fn, *args, **kwargs)
        except AzureError as exc:
            if not is_not_found(exc):
                raise
            if resource_group and exc.error_code == "ResourceGroupNotFound" and self.check_mode:
                self.parent_missing(group_parent(resource_group), exc)
            return None

    def call_under(self, parent, action, fn, *args, **kwargs):
        """call() of a read that needs ``parent`` (named as for parent_missing) to exist: a 404 is
        parent_missing(parent, that error), so None in check mode and the error outside it."""
        try:
            return self.call(action, fn, *args, **kwargs)
        except AzureError as exc:
            if not is_not_found(exc):
                raise
            self.parent_missing(parent, exc)
            return None

    def parent_missing(self, parent, error):
        """``parent`` (what the task needs to exist, named for the user: "resource group rg-dev", "managed identity
        id-reports in resource group rg-dev", "scope <ARM ID>") does not exist.

        Outside check mode that is ``error`` (a ModuleError), raised. In check mode it is what an earlier task of
        the play would have created (check mode created nothing): a warning, once per parent, says that the result
        assumes so, and the caller goes on as if the parent existed and held nothing, reporting what it would
        write."""
        if not self.check_mode:
            raise error
        if parent.lower() not in self._assumed_parents:
            self._assumed_parents.add(parent.lower())
            self.warn(ASSUMED_PARENT % parent)

    def check_location(self, location, field="location"):
        """Refuse, before any write, a location the subscription does not have (one listing per module run)."""
        if self._locations is None:
            listing = self.call("list the locations of subscription %s" % self.subscription_id,
                                lambda: list(self.client("subscriptions").subscriptions.list_locations(
                                    self.subscription_id)))
            self._locations = {loc.name.lower(): loc.display_name for loc in listing}
        wanted = normalize_location(str(location))
        if wanted not in self._locations:
            close = difflib.get_close_matches(wanted, list(self._locations), n=3)
            raise ModuleError("%s '%s' is not a location of subscription %s%s; see az account list-locations -o table"
                              % (field, location, self.subscription_id,
                                 " (did you mean %s?)" % ", ".join(close) if close else ""))
        return wanted

    def wait(self, action, poller, timeout=LRO_TIMEOUT):
        """Wait (bounded) for a long-running operation and return its result."""
        result = self.call(action, poller.result, timeout=timeout)
        if not poller.done():
            raise ModuleError("Timed out after %ss waiting to %s; the operation continues in Azure, re-run the task "
                              "later to converge" % (timeout, action), action=action)
        return result
