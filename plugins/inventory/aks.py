# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory plugin: the AKS managed clusters of one or more subscriptions as hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
name: aks
short_description: AKS managed clusters of Azure subscriptions as inventory hosts
version_added: 0.1.0
description:
  - Lists the Azure Kubernetes Service managed clusters of one or more subscriptions (optionally of some resource
    groups only) and makes every cluster a host of the group C(aks_clusters), the group C(playbooks/site.yml) and
    C(playbooks/doctor.yml) run on. Host variables describe the cluster (see the C(keyless_cluster_*) variables
    below); the chain's own inventory (C(keyless_workloads), C(keyless_storage_accounts), ...) stays in C(group_vars).
  - Requires a YAML configuration file whose name ends with C(aks.yml) or C(aks.yaml), for example
    C(inventories/dev-aks/aks.yml) or C(fleet.aks.yml).
  - Reads only, with the C(azure-identity) credential and the options the collection's modules use
    (O(auth_source), O(subscription_id), O(tenant), O(client_id), O(secret), O(federated_token_file),
    O(cloud_environment)) and the same C(AZURE_*) environment variables. One C(managedClusters) listing per
    subscription (or per resource group with O(resource_groups)), each page of it one read.
  - "Host variables, set on every host:
    C(keyless_cluster_name) (the cluster's name, also when the host name differs, see O(hostnames)),
    C(keyless_cluster_resource_group), C(keyless_cluster_id) (ARM resource ID), C(keyless_cluster_subscription_id),
    C(keyless_cluster_location), C(keyless_cluster_kubernetes_version) (the current version),
    C(keyless_cluster_provisioning_state), C(keyless_cluster_power_state) (V(Running), V(Stopped)),
    C(keyless_cluster_fqdn), C(keyless_cluster_node_resource_group), C(keyless_cluster_oidc_issuer_enabled),
    C(keyless_oidc_issuer_url) (the exact issuer URL, trailing slash included, or V(null) when the issuer is off),
    C(keyless_cluster_workload_identity_enabled), C(keyless_cluster_blob_driver_enabled) (the AKS-managed blob CSI
    driver, which the keyless chain needs off), C(keyless_cluster_auth) (V(entra) for AKS-managed Microsoft Entra
    integration, else V(local)), C(keyless_cluster_azure_rbac) (Azure RBAC for Kubernetes authorization),
    C(keyless_cluster_local_accounts_disabled) and C(keyless_cluster_tags) (the cluster's Azure tags)."
  - C(keyless_cluster_name), C(keyless_cluster_resource_group) and C(keyless_oidc_issuer_url) are the variables
    C(site.yml) reads, with the same meaning. The plugin sets no C(keyless_location), C(keyless_subscription_id) or
    C(keyless_tags). Those say where the chain creates storage and identities, in which subscription the volumes
    find their storage account, and which tags the chain writes; they stay in C(group_vars). Use O(compose) to
    derive them from the cluster when that is what you want (see the examples).
  - Inventory host variables take precedence over C(group_vars), so the cluster variables above replace the same
    names in C(group_vars/aks_clusters.yml) (for example C(keyless_cluster_resource_group)).
  - Values read from Azure (tags included) are never templated.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
requirements:
  - python >= 3.11
  - azure-identity >= 1.16.0
  - azure-core >= 1.30.0
  - azure-mgmt-containerservice >= 30.0.0
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth.plugin
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    type: str
    required: true
    choices: [keyless.aks_storage.aks]
  subscription_id:
    description:
      - The subscription listed when O(subscriptions) is empty.
      - With O(auth_source=auto) or O(auth_source=cli) and neither set, the subscription of C(az account show).
  subscriptions:
    description:
      - The subscriptions (IDs) whose clusters are listed, in this order. Empty means the one O(subscription_id).
      - Every subscription must exist and be readable by the credential; see O(strict_permissions).
    type: list
    elements: str
    default: []
  resource_groups:
    description:
      - Only clusters in these resource groups (names compare case-insensitively, as in Azure). Empty means every
        resource group.
      - Names only (no wildcard) list each group by itself, so a credential with C(Reader) on those groups alone is
        enough; a group that does not exist or is not readable is handled as O(strict_permissions) says.
      - An entry with a shell-style wildcard (V(rg-aks-*), V(rg-??-prod)) lists each subscription once and keeps
        the clusters whose group matches any entry.
    type: list
    elements: str
    default: []
  include_tags:
    description:
      - Only clusters whose Azure tags match. A dict of tag name to value matches a cluster that has every tag of
        the dict with one of the values; a list of such dicts matches a cluster that any of them matches.
      - A value may be a list of accepted values, or V(null) for "the tag is set, whatever its value".
      - Tag names compare case-insensitively (as in Azure), values exactly; values compare as strings, so quote
        values YAML would read as booleans or numbers.
      - Empty means every cluster.
    type: raw
  exclude_tags:
    description:
      - Clusters whose tags match are left out, even if O(include_tags) matches them.
      - The same form as O(include_tags), a dict (every tag of it must match) or a list of dicts (any of them).
    type: raw
  hostnames:
    description:
      - The inventory host name of a cluster.
      - V(name) is the cluster's name. Clusters with the same name (in other resource groups or subscriptions) are
        never merged into one host. Each gets V(<name>_<resource group>) instead, or
        V(<name>_<resource group>_<subscription ID>) when that is still not unique. A warning names the clusters
        and their host names. Those host names change when a cluster of the same name appears or goes, so choose
        V(name_resource_group) for stable names in a fleet.
      - V(name_resource_group) is V(<name>_<resource group>) for every cluster (V(_<subscription ID>) is added
        when two subscriptions hold the same group and cluster names).
      - V(id) is the cluster's ARM resource ID.
      - C(keyless_cluster_name) is always the cluster's own name, which is what C(site.yml) manages.
      - Names compare case-insensitively, as Azure compares them.
    type: str
    choices: [name, name_resource_group, id]
    default: name
  strict_permissions:
    description:
      - What to do when a subscription or resource group cannot be listed because it does not exist
        (C(SubscriptionNotFound), C(ResourceGroupNotFound)), the credential may not read it (HTTP 403, for example
        C(AuthorizationFailed)), it belongs to another tenant (C(InvalidAuthenticationTokenTenant)) or it has not
        registered C(Microsoft.ContainerService) (C(MissingSubscriptionRegistration)).
      - V(true) fails the inventory source with a message naming the subscription or group and the Azure error.
      - V(false) warns with the same message and lists the other subscriptions and groups. A scope that failed is
        not cached, so the next run asks Azure again.
      - Any other failure (the credential is refused, Azure stays unavailable after the bounded retries, the
        network) always fails the inventory source.
    type: bool
    default: true
  local_connection:
    description:
      - Set C(ansible_connection=local) and C(ansible_python_interpreter={{ ansible_playbook_python }}) on every
        host, as the static inventories of this collection do. A cluster is not a machine to log in to; the
        modules run on the control node, in the Python that runs Ansible (which has the Azure libraries).
      - V(false) sets neither; set them yourself (O(compose), C(group_vars)).
    type: bool
    default: true
notes:
  - When the inventory source cannot be parsed (a failure described above), Ansible shows the plugin's message as a
    warning and goes on without these hosts, as for every inventory plugin; set E(ANSIBLE_INVENTORY_UNPARSED_FAILED)
    (or C(unparsed_is_failed) in C([inventory]) of C(ansible.cfg)) to make it fatal.
  - "With O(cache) on and a persistent cache plugin (for example O(cache_plugin=ansible.builtin.jsonfile) with
    O(cache_connection)), a run within O(cache_timeout) seconds of the last listing makes no Azure request at all (no
    token, no metadata, no ARM read). The cache holds the host variables of the listed clusters (never a credential),
    per subscription or resource group, so O(include_tags), O(exclude_tags), O(hostnames), O(compose), O(groups) and
    O(keyed_groups) can change without a new listing, and a subscription or group added to the file is listed alone.
    C(ansible-inventory --flush-cache) (or C(meta: refresh_inventory)) lists again."
  - Transient Azure errors (HTTP 408, 429 and 5xx) are retried up to 5 times with exponential backoff, honouring
    C(Retry-After).
seealso:
  - name: AKS managed clusters - List
    description: The ARM operation the plugin calls for a subscription.
    link: https://learn.microsoft.com/rest/api/aks/managed-clusters/list
"""

EXAMPLES = r"""
# fleet.aks.yml -- every AKS cluster of one subscription is a host of aks_clusters (see inventories/dev-aks for a
# directory that adds the chain's group_vars):  ansible-playbook -i inventories/dev-aks playbooks/site.yml
---
plugin: keyless.aks_storage.aks
auth_source: cli
subscriptions:
  - 00000000-0000-0000-0000-000000000000

# Two subscriptions, two resource groups, only clusters tagged for the keyless chain, not the sandboxes.
---
plugin: keyless.aks_storage.aks
subscriptions:
  - 00000000-0000-0000-0000-000000000000
  - 11111111-1111-1111-1111-111111111111
resource_groups: [rg-aks-dev, rg-aks-prod]
include_tags:
  keyless: "true"
  environment: [dev, prod]
exclude_tags:
  lifecycle: sandbox
# stable host names even if two groups hold clusters of the same name
hostnames: name_resource_group
# a subscription being migrated may be unreadable for a while: warn and list the others
strict_permissions: false

# Groups by location, Kubernetes minor version, resource group and tag; variables derived from the cluster.
---
plugin: keyless.aks_storage.aks
keyed_groups:
  - prefix: location
    key: keyless_cluster_location
  - prefix: k8s
    key: keyless_cluster_kubernetes_version.split('.')[:2] | join('_')
  - prefix: rg
    key: keyless_cluster_resource_group
  - prefix: tag
    key: keyless_cluster_tags
groups:
  # clusters site.yml still has to turn the OIDC issuer and workload identity on for
  needs_oidc: not keyless_cluster_oidc_issuer_enabled or not keyless_cluster_workload_identity_enabled
  entra_only: keyless_cluster_auth == 'entra' and keyless_cluster_local_accounts_disabled
compose:
  # storage and identities in each cluster's region and subscription (instead of what group_vars say; this
  # keyless_environment replaces one of group_vars)
  keyless_location: keyless_cluster_location
  keyless_environment: "{'AZURE_SUBSCRIPTION_ID': keyless_cluster_subscription_id}"
  keyless_kubeconfig_path: "'~/.kube/keyless-' ~ inventory_hostname ~ '.yaml'"

# A custom cloud with a service principal from the environment (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT), and
# the listing cached for ten minutes in files, so repeated runs make no Azure request.
---
plugin: keyless.aks_storage.aks
cloud_environment: https://management.azure-stack.example.com/
subscriptions: ["{{ lookup('ansible.builtin.env', 'FLEET_SUBSCRIPTION_ID') }}"]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/keyless-aks-inventory
cache_timeout: 600
"""

import fnmatch
import re
import sys
import time

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import trust_as_template

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_cloud, azure_transport
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import (
    AuthConfigError, build_credential, plugin_auth_params)
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_errors import describe, format_failure
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import (
    USER_AGENT, as_rest, retry_policy)
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.sign_in import cli_subscription

GROUP = "aks_clusters"
CACHE_FORMAT = 1
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
GLOB = re.compile(r"[*?\[]")
# A scope that answers one of these was not listed: it does not exist, or this credential may not read it.
UNREADABLE_CODES = frozenset(("SubscriptionNotFound", "ResourceGroupNotFound", "AuthorizationFailed",
                              "InvalidAuthenticationTokenTenant", "MissingSubscriptionRegistration"))


class UnreadableScope(Exception):
    """A subscription or resource group that does not exist or cannot be read (see strict_permissions)."""


# The errors below are raised "from None": their message already quotes the Azure error, which Ansible would
# otherwise append once more for every exception of the chain.


# ---- options ------------------------------------------------------------------------------------------------------
def option_error(option, message):
    return AnsibleParserError("keyless.aks_storage.aks: option %s: %s" % (option, message))


def tag_filters(value, option):
    """``include_tags``/``exclude_tags`` as a list of {lowercased tag name: None (any value) or [values]}."""
    if value in (None, "", {}, []):
        return []
    entries = [value] if isinstance(value, dict) else value
    if not isinstance(entries, list):
        raise option_error(option, "must be a dict of tag: value (or a list of such dicts), got %s"
                           % type(value).__name__)
    filters = []
    for index, entry in enumerate(entries):
        where = "%s[%d]" % (option, index) if isinstance(value, list) else option
        if not isinstance(entry, dict) or not entry:
            raise option_error(where, "must be a non-empty dict of tag: value, got %r" % (entry,))
        wanted = {}
        for tag, values in entry.items():
            if not isinstance(tag, str) or not tag:
                raise option_error(where, "tag names must be non-empty strings, got %r" % (tag,))
            if values is None:
                wanted[tag.lower()] = None
                continue
            values = values if isinstance(values, list) else [values]
            bad = [v for v in values if v is None or isinstance(v, (dict, list))]
            if bad:
                raise option_error("%s.%s" % (where, tag), "values must be strings (or a list of strings), got %r"
                                   % (bad[0],))
            wanted[tag.lower()] = [tag_text(v) for v in values]
        filters.append(wanted)
    return filters


def tag_text(value):
    """A filter value as Azure stores tag values: text (YAML's true is "true", not "True")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tags_match(tags, filters):
    """Whether ``tags`` (a cluster's) match any of ``filters`` (every tag of that filter, one of its values)."""
    lowered = {str(k).lower(): v for k, v in (tags or {}).items()}
    return any(all(tag in lowered and (values is None or lowered[tag] in values) for tag, values in f.items())
               for f in filters)


def subscription_list(values, default):
    """The subscriptions to list (deduplicated, in order): ``values`` (option subscriptions), else ``default``
    (subscription_id). Each must be a GUID."""
    option = "subscriptions"
    if not values:
        values, option = ([default] if default else []), "subscription_id"
    seen, out = set(), []
    for index, value in enumerate(values):
        text = str(value or "").strip()
        if not GUID.match(text):
            where = "%s[%d]" % (option, index) if option == "subscriptions" else option
            raise option_error(where, "%r is not a subscription ID (a GUID)" % (value,))
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


def resource_group_list(values):
    """(names, patterns): ``resource_groups`` split into exact names (listed one by one) or, when any entry has a
    wildcard, every entry as a lowercased pattern (the subscription is listed once and filtered)."""
    entries = []
    for index, value in enumerate(values or []):
        if not isinstance(value, str) or not value.strip():
            raise option_error("resource_groups[%d]" % index, "must be a resource group name or pattern, got %r"
                               % (value,))
        entries.append(value.strip())
    if any(GLOB.search(e) for e in entries):
        return [], sorted({e.lower() for e in entries})
    names, seen = [], set()
    for entry in entries:
        if entry.lower() not in seen:
            seen.add(entry.lower())
            names.append(entry)
    return names, []


def scopes(subscriptions, group_names):
    """The ARM scopes to list: (cache key, subscription, resource group or None)."""
    out = []
    for sub in subscriptions:
        if group_names:
            out += [(("/subscriptions/%s/resourceGroups/%s" % (sub, rg)).lower(), sub, rg) for rg in group_names]
        else:
            out.append((("/subscriptions/%s" % sub).lower(), sub, None))
    return out


# ---- clusters -----------------------------------------------------------------------------------------------------
def id_parts(resource_id):
    """(subscription, resource group) of an ARM resource ID (None where absent)."""
    segments = [s for s in (resource_id or "").split("/") if s]
    found = {}
    for key, value in zip(segments[0::2], segments[1::2]):
        found.setdefault(key.lower(), value)
    return found.get("subscriptions"), found.get("resourcegroups")


def cluster_vars(body, subscription_id=None):
    """The host variables of one cluster from its REST body (what the cache holds)."""
    props = body.get("properties") or {}
    aad = props.get("aadProfile") or {}
    oidc = props.get("oidcIssuerProfile") or {}
    identity = (props.get("securityProfile") or {}).get("workloadIdentity") or {}
    blob = (props.get("storageProfile") or {}).get("blobCSIDriver") or {}
    sub, group = id_parts(body.get("id"))
    return {
        "keyless_cluster_name": body.get("name"),
        "keyless_cluster_resource_group": group,
        "keyless_cluster_id": body.get("id"),
        "keyless_cluster_subscription_id": sub or subscription_id,
        "keyless_cluster_location": body.get("location"),
        "keyless_cluster_kubernetes_version": props.get("currentKubernetesVersion") or props.get("kubernetesVersion"),
        "keyless_cluster_provisioning_state": props.get("provisioningState"),
        "keyless_cluster_power_state": (props.get("powerState") or {}).get("code"),
        "keyless_cluster_fqdn": props.get("fqdn") or props.get("privateFQDN"),
        "keyless_cluster_node_resource_group": props.get("nodeResourceGroup"),
        "keyless_cluster_oidc_issuer_enabled": bool(oidc.get("enabled")),
        "keyless_oidc_issuer_url": (oidc.get("issuerURL") or None) if oidc.get("enabled") else None,
        "keyless_cluster_workload_identity_enabled": bool(identity.get("enabled")),
        "keyless_cluster_blob_driver_enabled": bool(blob.get("enabled")),
        "keyless_cluster_auth": "entra" if aad.get("managed") else "local",
        "keyless_cluster_azure_rbac": bool(aad.get("enableAzureRBAC")),
        "keyless_cluster_local_accounts_disabled": bool(props.get("disableLocalAccounts")),
        "keyless_cluster_tags": dict(body.get("tags") or {}),
    }


def _plain_name(cluster):
    return cluster["keyless_cluster_name"]


def _group_name(cluster):
    return "%s_%s" % (cluster["keyless_cluster_name"], cluster["keyless_cluster_resource_group"])


def _full_name(cluster):
    return "%s_%s" % (_group_name(cluster), cluster["keyless_cluster_subscription_id"])


def _id_name(cluster):
    return cluster["keyless_cluster_id"]


# The host name candidates of a cluster, from the chosen form to the always unique resource ID.
NAME_LEVELS = {"name": (_plain_name, _group_name, _full_name, _id_name),
               "name_resource_group": (_group_name, _full_name, _id_name),
               "id": (_id_name,)}


def host_names(clusters, hostnames="name"):
    """Unique host names for ``clusters`` (a list of cluster_vars, unique by ID): {lowercased ID: host name}, and
    the clusters whose name had to be qualified, as (cluster, host name) pairs. A name shared case-insensitively by
    several clusters moves each of them one qualification further, until no two clusters share one."""
    levels = NAME_LEVELS[hostnames]
    level = {c["keyless_cluster_id"].lower(): 0 for c in clusters}
    while True:
        names = {c["keyless_cluster_id"].lower(): levels[level[c["keyless_cluster_id"].lower()]](c)
                 for c in clusters}
        shared = {}
        for key, name in names.items():
            shared.setdefault(name.lower(), []).append(key)
        clashes = [keys for keys in shared.values() if len(keys) > 1]
        if not clashes:
            break
        moved = False
        for key in (k for keys in clashes for k in keys):
            if level[key] < len(levels) - 1:
                level[key] += 1
                moved = True
        if not moved:  # only two IDs differing in case, which the listing deduplicated already
            raise AnsibleError("keyless.aks_storage.aks: cannot give clusters %s distinct host names"
                               % ", ".join(sorted(k for keys in clashes for k in keys)))
    renamed = [(c, names[c["keyless_cluster_id"].lower()]) for c in clusters if level[c["keyless_cluster_id"].lower()]]
    return names, renamed


def renamed_warning(renamed, hostnames):
    clusters = "; ".join("%s in resource group %s of subscription %s is host %s" % (
        c["keyless_cluster_name"], c["keyless_cluster_resource_group"], c["keyless_cluster_subscription_id"], host)
        for c, host in renamed)
    return ("keyless.aks_storage.aks: clusters share a host name (hostnames=%s), so each got a distinct one: %s. "
            "Set hostnames: name_resource_group (or id) for host names that do not change when a cluster of the "
            "same name appears elsewhere." % (hostnames, clusters))


# ---- Azure --------------------------------------------------------------------------------------------------------
def _import(module_name, dist):
    import importlib
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise AnsibleError("keyless.aks_storage.aks needs the Python package %s in the Python that runs Ansible "
                           "(%s): pip install %s" % (dist, sys.executable, dist)) from exc


class ArmSession:
    """The cloud, the credential and one ContainerServiceClient per subscription, all made on first use (a run
    answered from the cache makes none of them)."""

    def __init__(self, params, warn):
        self.params = params
        self.warn = warn
        azure_transport.quiet_azure_logger()  # the failure reaches the user once, in the plugin's error
        self._cloud = None
        self._credential = None
        self._clients = []

    @property
    def cloud(self):
        if self._cloud is None:
            _import("azure.core", "azure-core")
            try:
                self._cloud = azure_transport.fetch_cloud(self.params.get("cloud_environment"), USER_AGENT,
                                                          retry_policy(self.warn))
            except azure_cloud.CloudError as exc:
                raise option_error("cloud_environment", to_native(exc)) from None
            except ModuleError as exc:
                raise AnsibleError("keyless.aks_storage.aks: %s" % exc.msg) from None
        return self._cloud

    @property
    def credential(self):
        if self._credential is None:
            _import("azure.identity", "azure-identity")
            try:
                self._credential = build_credential(self.params, self.cloud)
            except AuthConfigError as exc:
                raise AnsibleParserError("keyless.aks_storage.aks: %s" % exc) from None
            except ValueError as exc:  # azure-identity refuses a malformed tenant and the like
                raise AnsibleParserError("keyless.aks_storage.aks: invalid authentication options: %s"
                                         % exc) from None
        return self._credential

    def list_clusters(self, subscription_id, resource_group=None):
        """The cluster_vars of every cluster in the subscription (or resource group), every page of the listing.
        Raises UnreadableScope for a scope that does not exist or may not be read, AnsibleError otherwise."""
        module = _import("azure.mgmt.containerservice", "azure-mgmt-containerservice")
        client = module.ContainerServiceClient(self.credential, subscription_id, **azure_transport.arm_client_kwargs(
            self.cloud, USER_AGENT, retry_policy(self.warn)))
        self._clients.append(client)
        if resource_group:
            action = "list the AKS clusters of resource group %s in subscription %s" % (
                resource_group, subscription_id)
            pager = client.managed_clusters.list_by_resource_group(resource_group)
        else:
            action = "list the AKS clusters of subscription %s" % subscription_id
            pager = client.managed_clusters.list()
        try:
            return [cluster_vars(as_rest(cluster), subscription_id) for cluster in pager]
        except Exception as exc:  # pylint: disable=broad-except
            code, status, _message = describe(exc)
            text, _fields = format_failure(action, exc)
            if code in UNREADABLE_CODES or status == 403:
                raise UnreadableScope(text) from None
            raise AnsibleError("keyless.aks_storage.aks: %s" % text) from None

    def close(self):
        for item in self._clients + [self._credential]:
            if item is not None and hasattr(item, "close"):
                try:
                    item.close()
                except Exception:  # pylint: disable=broad-except
                    pass


# ---- the plugin ---------------------------------------------------------------------------------------------------
class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """AKS managed clusters as hosts of the group aks_clusters."""

    NAME = "keyless.aks_storage.aks"

    def verify_file(self, path):
        return super().verify_file(path) and str(path).endswith(("aks.yml", "aks.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path)
        self._read_config_data(path)
        settings = self._settings()
        listings = self._listings(path, cache, settings)
        self._populate(listings, settings)

    # ---- options ------------------------------------------------------------------------------------------------
    def _rendered(self, option):
        """An option's value, templated when the configuration file wrote it as a template (lookups work)."""
        value = self.get_option(option)
        try:
            if isinstance(value, list):
                rendered = []
                for item in value:  # an item templated into a list (a lookup's split) counts as its items
                    item = self.templar.template(item) if self.templar.is_template(item) else item
                    rendered.extend(item if isinstance(item, list) else [item])
                return rendered
            if isinstance(value, str) and self.templar.is_template(value):
                return self.templar.template(value)
        except Exception as exc:  # pylint: disable=broad-except
            raise option_error(option, "could not be templated: %s" % to_native(exc)) from None
        return value

    def _settings(self):
        params = plugin_auth_params(self._rendered)
        group_names, group_patterns = resource_group_list(self._rendered("resource_groups"))
        default = params.get("subscription_id")
        if not self._rendered("subscriptions") and not default:
            default = cli_subscription(params.get("auth_source"))
        subscriptions = subscription_list(self._rendered("subscriptions"), default)
        if not subscriptions:
            raise option_error("subscriptions", "no subscription to list: set subscriptions, or subscription_id "
                                                "(or AZURE_SUBSCRIPTION_ID)")
        return dict(params=params, subscriptions=subscriptions, group_names=group_names,
                    subscription_option="subscriptions" if self._rendered("subscriptions") else "subscription_id",
                    group_patterns=group_patterns, scopes=scopes(subscriptions, group_names),
                    include=tag_filters(self.get_option("include_tags"), "include_tags"),
                    exclude=tag_filters(self.get_option("exclude_tags"), "exclude_tags"),
                    hostnames=self.get_option("hostnames"), strict_permissions=self.get_option("strict_permissions"))

    # ---- listing, through the cache -----------------------------------------------------------------------------
    def _listings(self, path, cache, settings):
        """[(scope key, [cluster_vars])] for every scope that could be listed: from the cache when it is on, holds the
        scope and the scope is younger than cache_timeout (and ``cache`` is not False, as with --flush-cache), else
        from Azure; what Azure answered is cached."""
        use_cache = self.get_option("cache")
        cache_key = self.get_cache_key(path)
        cached = self._cached_scopes(cache_key) if use_cache and cache else {}
        wanted = [s for s in settings["scopes"] if s[0] not in cached]
        fetched = self._fetch(wanted, settings) if wanted else {}
        if use_cache and fetched:
            now = time.time()
            listings = dict(cached)
            listings.update((key, {"listed_at": now, "clusters": clusters}) for key, clusters in fetched.items())
            self._cache[cache_key] = {"format": CACHE_FORMAT, "listings": listings}
        self.display.vvv("keyless.aks_storage.aks: %d scope(s) from the cache, %d listed in Azure"
                         % (len(settings["scopes"]) - len(wanted), len(wanted)))
        merged = {key: entry["clusters"] for key, entry in cached.items()}
        merged.update(fetched)
        return [(key, merged[key]) for key, _sub, _group in settings["scopes"] if key in merged]

    def _cached_scopes(self, cache_key):
        """The cached listings still within cache_timeout (0: no expiry, as for Ansible's cache plugins)."""
        try:
            stored = self._cache[cache_key]
        except KeyError:
            return {}
        if not isinstance(stored, dict) or stored.get("format") != CACHE_FORMAT:
            return {}
        timeout = self.get_option("cache_timeout") or 0
        now = time.time()
        return {key: entry for key, entry in (stored.get("listings") or {}).items()
                if isinstance(entry, dict) and isinstance(entry.get("clusters"), list)
                and (timeout <= 0 or now - float(entry.get("listed_at") or 0) < timeout)}

    def _fetch(self, wanted, settings):
        session = ArmSession(settings["params"], self.display.warning)
        fetched = {}
        try:
            for key, subscription, group in wanted:
                try:
                    fetched[key] = session.list_clusters(subscription, group)
                except UnreadableScope as exc:
                    message = "keyless.aks_storage.aks: option %s: %s" % (
                        "resource_groups" if group else settings["subscription_option"], exc)
                    if settings["strict_permissions"]:
                        raise AnsibleError(message + " (set strict_permissions: false to warn and list the others)"
                                           ) from None
                    self.display.warning(message + " (skipped: strict_permissions is false)")
        finally:
            session.close()
        return fetched

    # ---- hosts --------------------------------------------------------------------------------------------------
    def _selected(self, listings, settings):
        """The clusters of every listing, once each, that the resource group and tag filters keep, in a stable
        order (subscription, resource group, name)."""
        seen, clusters = set(), []
        for _key, listing in listings:
            for cluster in listing:
                key = str(cluster.get("keyless_cluster_id") or "").lower()
                if not key or key in seen:
                    continue
                seen.add(key)
                group = str(cluster.get("keyless_cluster_resource_group") or "").lower()
                if settings["group_patterns"] and not any(fnmatch.fnmatchcase(group, p)
                                                          for p in settings["group_patterns"]):
                    continue
                tags = cluster.get("keyless_cluster_tags")
                if settings["include"] and not tags_match(tags, settings["include"]):
                    continue
                if settings["exclude"] and tags_match(tags, settings["exclude"]):
                    continue
                clusters.append(cluster)
        return sorted(clusters, key=lambda c: (str(c["keyless_cluster_subscription_id"]).lower(),
                                               str(c["keyless_cluster_resource_group"]).lower(),
                                               str(c["keyless_cluster_name"]).lower()))

    def _populate(self, listings, settings):
        clusters = self._selected(listings, settings)
        names, renamed = host_names(clusters, settings["hostnames"])
        if renamed:
            self.display.warning(renamed_warning(renamed, settings["hostnames"]))
        self.inventory.add_group(GROUP)
        strict = self.get_option("strict")
        for cluster in clusters:
            host = names[cluster["keyless_cluster_id"].lower()]
            self.inventory.add_host(host, group=GROUP)
            variables = dict(cluster)
            if self.get_option("local_connection"):
                variables["ansible_connection"] = "local"
                # the same template the static inventories write, resolved when a play runs
                variables["ansible_python_interpreter"] = trust_as_template("{{ ansible_playbook_python }}")
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
            # with inventory_hostname and group_names, as the constructed plugin templates them
            self._set_composite_vars(self.get_option("compose"), self.inventory.get_host(host).get_vars(), host,
                                     strict=strict)
            host_vars = self.inventory.get_host(host).get_vars()
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)
