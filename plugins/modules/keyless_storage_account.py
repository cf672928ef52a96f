#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: keyless_storage_account
short_description: A storage account that only accepts Entra tokens, with its blob containers and file shares
version_added: 0.1.0
description:
  - Ensures a storage account exists with shared key access B(off) and secure defaults, and that its blob
    containers exist. Pods reach it through Microsoft Entra Workload Identity with a data role, never with an
    account key or a SAS token.
  - 'Always enforced, not options: C(allowSharedKeyAccess=false), C(allowBlobPublicAccess=false), https only
    (C(supportsHttpsTrafficOnly=true)), C(defaultToOAuthAuthentication=true), C(allowCrossTenantReplication=false).
    An existing account that drifted (for example shared key access turned back on) is corrected and reported as
    changed, with the difference in the diff.'
  - Containers are created and updated through Azure Resource Manager (C(blobServices/default/containers)), never
    through the data plane, so the module needs no key and never calls C(listKeys). A container with public access is
    refused; a container found with public access is made private.
  - SMB file shares (O(file_shares)) are created and updated through Azure Resource Manager too
    (C(fileServices/default/shares)). Pods mount them keylessly with a workload identity token (the open-source
    Azure Files CSI driver from v1.35.0, C(mountWithWorkloadIdentityToken)), which needs SMB OAuth on the account
    (O(smb_oauth), on by default when the account has file shares) and no other identity source for Azure Files.
    NFS shares are refused, because an NFS mount carries no credentials and so has no keyless path.
  - O(state=absent) deletes the account with all its data.
  - 'One task can manage many accounts with O(accounts) (the bulk form) instead of O(name): one module run, one
    token, one client. Each item takes the per-account options of the single form; an option an item does not set
    takes the top-level value (for example O(resource_group), O(location), O(tags), O(sku) or O(containers)), and
    when that is not set either, the single form''s default.'
  - In the bulk form every account's options are checked first (names, duplicate names in the list, containers,
    file shares, soft delete days), then every account is read and its write planned (a location or kind that cannot
    be reached, SMB OAuth on an account with another identity source, a share that exists with NFS, fails here), all
    before any write; a failure names the item, for example
    C(accounts[1] (rg-keyless/stkeyless002)). Then the accounts are converged one after the other, each exactly as
    the single form does it. A write failing on one account fails the task; the accounts converged before it are
    returned in RV(accounts).
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  resource_group:
    description:
      - Resource group of the account. Required with O(name).
      - With O(accounts), the resource group of the items that do not set one.
    type: str
  name:
    description:
      - Globally unique account name, 3 to 24 lowercase letters and digits.
      - One of O(name) (single form) and O(accounts) (bulk form) is required; they are mutually exclusive.
    type: str
  location:
    description:
      - Azure region. Required to create the account; must match an existing account's location.
      - Like every per-account option below, with O(accounts) it is the value of the items that do not set it.
    type: str
  sku:
    description: Replication SKU.
    type: str
    default: Standard_LRS
    choices: [Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Standard_GZRS, Standard_RAGZRS, Premium_LRS,
              Premium_ZRS]
  kind:
    description:
      - Account kind. It cannot be changed on an existing account.
      - V(FileStorage) is a premium Azure Files account (O(sku) V(Premium_LRS) or V(Premium_ZRS)) without a blob
        service; V(BlockBlobStorage) has no file service.
    type: str
    default: StorageV2
    choices: [StorageV2, BlockBlobStorage, FileStorage]
  access_tier:
    description: Default access tier of blobs. Left unmanaged when omitted.
    type: str
    choices: [Hot, Cool, Cold]
  minimum_tls_version:
    description: Oldest TLS version clients may use.
    type: str
    default: TLS1_2
    choices: [TLS1_2, TLS1_3]
  public_network_access:
    description: Whether the public endpoint accepts traffic (subject to O(network_acls)). Unmanaged when omitted.
    type: str
    choices: [Enabled, Disabled, SecuredByPerimeter]
  network_acls:
    description: Network rules of the account. Unmanaged when omitted.
    type: dict
    suboptions:
      default_action:
        description: What happens to traffic no rule matches.
        type: str
        choices: [Allow, Deny]
        required: true
      bypass:
        description: Azure services allowed past the rules, for example V(AzureServices) or V(Logging, Metrics).
        type: str
        default: AzureServices
      ip_rules:
        description: Allowed public IP addresses or CIDR ranges.
        type: list
        elements: str
        default: []
      virtual_network_rules:
        description: Allowed subnets, as subnet resource IDs.
        type: list
        elements: str
        default: []
  containers:
    description:
      - Blob containers of the account, each a name or a dict with C(name), optional C(metadata) (a dict of strings)
        and optional C(state) (V(present) or V(absent)).
      - Containers that exist but are not listed are left alone.
      - C(public_access) other than V(None) is refused.
    type: list
    elements: raw
    default: []
  blob_soft_delete_days:
    description:
      - Days deleted blobs are kept (1-365); V(0) turns blob soft delete off. Unmanaged when omitted.
    type: int
  file_shares:
    description:
      - SMB file shares of the account, each a name or a dict with C(name), optional C(quota) (GiB, default 100),
        optional C(access_tier) and optional C(state) (V(present) or V(absent)).
      - C(quota) is 1-5120 GiB on a V(StorageV2) account, up to 102400 with O(large_file_shares); 100-102400 on a
        V(FileStorage) account (premium shares are provisioned at 100 GiB or more).
      - C(access_tier) is V(TransactionOptimized), V(Hot) or V(Cool) on a V(StorageV2) account and V(Premium) on a
        V(FileStorage) account; Azure's default (TransactionOptimized, or Premium) when omitted, and left as it is on
        an existing share.
      - C(protocol) may only be V(SMB). NFS is refused because an NFS mount does not use the workload identity.
      - A quota or access tier changed behind the module's back is set back. Shares that exist but are not listed are
        left alone.
    type: list
    elements: raw
    default: []
  smb_oauth:
    description:
      - SMB OAuth on the account (C(azureFilesIdentityBasedAuthentication.smbOAuthSettings.isSmbOAuthEnabled)), which
        token-only SMB mounts need. Turned back on when found off.
      - Defaults to V(true) when the account has O(file_shares); otherwise left as it is when omitted.
      - An account whose Azure Files identity source is another one (C(directoryServiceOptions) V(AD), V(AADDS) or
        V(AADKERB)) is refused before any write; SMB OAuth needs an account without another identity source.
    type: bool
  large_file_shares:
    description:
      - Large file shares on a V(StorageV2) account (C(largeFileSharesState)), for share quotas over 5120 GiB. Azure
        cannot turn it off once on, so V(false) on such an account is refused. Left as it is when omitted.
    type: bool
  accounts:
    description:
      - Many accounts in one task (the bulk form), converged in list order. Mutually exclusive with O(name).
      - Each item has the per-account options of the single form. An option an item leaves out takes the
        top-level value, else the single form's default; so items have no defaults of their own. A value an item
        sets replaces the top-level one as a whole (O(accounts[].tags) and O(accounts[].network_acls) are not
        merged with the top-level ones).
      - Account names must be unique in the list.
    type: list
    elements: dict
    suboptions:
      resource_group:
        description: Resource group of the account. Defaults to O(resource_group); one of them is required.
        type: str
      name:
        description: Globally unique account name, 3 to 24 lowercase letters and digits.
        type: str
        required: true
      location:
        description: Azure region. Defaults to O(location). Required to create the account.
        type: str
      sku:
        description: Replication SKU. Defaults to O(sku).
        type: str
        choices: [Standard_LRS, Standard_GRS, Standard_RAGRS, Standard_ZRS, Standard_GZRS, Standard_RAGZRS,
                  Premium_LRS, Premium_ZRS]
      kind:
        description: Account kind. Defaults to O(kind).
        type: str
        choices: [StorageV2, BlockBlobStorage, FileStorage]
      access_tier:
        description: Default access tier of blobs. Defaults to O(access_tier).
        type: str
        choices: [Hot, Cool, Cold]
      minimum_tls_version:
        description: Oldest TLS version clients may use. Defaults to O(minimum_tls_version).
        type: str
        choices: [TLS1_2, TLS1_3]
      public_network_access:
        description: Whether the public endpoint accepts traffic. Defaults to O(public_network_access).
        type: str
        choices: [Enabled, Disabled, SecuredByPerimeter]
      network_acls:
        description: Network rules of the account, as O(network_acls). Defaults to O(network_acls).
        type: dict
        suboptions:
          default_action:
            description: What happens to traffic no rule matches.
            type: str
            choices: [Allow, Deny]
            required: true
          bypass:
            description: Azure services allowed past the rules.
            type: str
            default: AzureServices
          ip_rules:
            description: Allowed public IP addresses or CIDR ranges.
            type: list
            elements: str
            default: []
          virtual_network_rules:
            description: Allowed subnets, as subnet resource IDs.
            type: list
            elements: str
            default: []
      tags:
        description: Tags of the account. Defaults to O(tags).
        type: dict
      append_tags:
        description: Keep tags not in O(accounts[].tags). Defaults to O(append_tags).
        type: bool
      containers:
        description: Blob containers of the account, as O(containers). Defaults to O(containers).
        type: list
        elements: raw
      blob_soft_delete_days:
        description: Days deleted blobs are kept, V(0) for off. Defaults to O(blob_soft_delete_days).
        type: int
      file_shares:
        description: SMB file shares of the account, as O(file_shares). Defaults to O(file_shares).
        type: list
        elements: raw
      smb_oauth:
        description: SMB OAuth on the account, as O(smb_oauth). Defaults to O(smb_oauth).
        type: bool
      large_file_shares:
        description: Large file shares on the account, as O(large_file_shares). Defaults to O(large_file_shares).
        type: bool
      state:
        description: Whether the account should exist. Defaults to O(state).
        type: str
        choices: [present, absent]
notes:
  - In check mode a resource group that does not exist yet is not an error. An earlier task of the play
    (M(keyless.aks_storage.resource_group)) would have created it, but check mode created nothing; so the account
    and its containers are reported as to be created (C(changed), RV(account), RV(containers), RV(changes), the
    diff, as for any check-mode create) and a warning says that the group was not found and that the result
    assumes an earlier task creates it. Outside check mode the account's creation fails on the missing group
    (C(ResourceGroupNotFound)).
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
  - keyless.aks_storage.tags
  - keyless.aks_storage.state
attributes:
  check_mode:
    support: full
    description:
      - Reports what would change; makes no write.
      - A resource group not created yet is no error, with a warning (see the notes).
  diff_mode:
    support: full
    description:
      - Shows the account's managed settings (SMB OAuth included) and containers before and after, and its file
        shares when O(file_shares) is set.
      - In the bulk form, C(before) and C(after) map C(<resource group>/<name>) of each account to what the single
        form shows for it.
"""

EXAMPLES = r"""
- name: Keyless account with two containers
  keyless.aks_storage.keyless_storage_account:
    resource_group: rg-keyless-dev
    name: stkeylessdev001
    location: westeurope
    containers:
      - reports
      - name: archive
        metadata:
          owner: finance
    blob_soft_delete_days: 7
  register: account

- name: Keyless SMB file shares (SMB OAuth is turned on with them)
  keyless.aks_storage.keyless_storage_account:
    resource_group: rg-keyless-dev
    name: stkeylessfiles001
    location: westeurope
    file_shares:
      - reports
      - name: media
        quota: 1024
        access_tier: Cool

- name: Locked down to one subnet
  keyless.aks_storage.keyless_storage_account:
    resource_group: rg-keyless-prod
    name: stkeylessprod001
    location: westeurope
    sku: Standard_ZRS
    network_acls:
      default_action: Deny
      virtual_network_rules:
        - /subscriptions/.../resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks

- name: Every workload's account in one task (one module run, one token)
  keyless.aks_storage.keyless_storage_account:
    resource_group: rg-keyless-dev      # default of the items that do not set one
    location: westeurope
    tags:
      env: dev
    blob_soft_delete_days: 7
    accounts:
      - name: streportsdev001
        containers: [reports, archive]
      - name: stmlfeaturesdev001
        sku: Standard_ZRS
        containers:
          - name: features
            metadata:
              owner: ml
      - name: stolddev001
        resource_group: rg-legacy-dev
        state: absent
  register: storage

- name: The accounts of an inventory list; items without resource_group, location or tags take the top-level ones
  keyless.aks_storage.keyless_storage_account:
    resource_group: "{{ keyless_resource_group }}"
    location: "{{ keyless_location }}"
    tags: "{{ keyless_tags | default(omit) }}"
    accounts: "{{ keyless_storage_accounts }}"
"""

RETURN = r"""
account:
  description: The account after the task (in check mode, as it would be). Empty when absent.
  returned: single form (O(name))
  type: dict
  contains:
    id:
      description: ARM ID (null when not created yet in check mode).
      type: str
    name:
      description: Account name.
      type: str
    location:
      description: Region.
      type: str
    sku:
      description: SKU name.
      type: str
    kind:
      description: Account kind.
      type: str
    primary_blob_endpoint:
      description: Blob endpoint.
      type: str
      sample: https://stkeylessdev001.blob.core.windows.net/
    allow_shared_key_access:
      description: Always false once the module ran.
      type: bool
    allow_blob_public_access:
      description: Always false.
      type: bool
    https_only:
      description: Always true.
      type: bool
    default_to_oauth_authentication:
      description: Always true.
      type: bool
    allow_cross_tenant_replication:
      description: Always false.
      type: bool
    primary_file_endpoint:
      description: Azure Files endpoint (null on a BlockBlobStorage account).
      type: str
    smb_oauth:
      description: Whether SMB OAuth is on (see O(smb_oauth)).
      type: bool
    large_file_shares:
      description: Whether large file shares are on.
      type: bool
    minimum_tls_version:
      description: Minimum TLS version.
      type: str
    public_network_access:
      description: Public network access setting.
      type: str
    network_acls:
      description: Network rules.
      type: dict
    tags:
      description: Tags.
      type: dict
changes:
  description: What was (or in check mode would be) changed, for example C(properties.allowSharedKeyAccess).
  returned: single form (O(name)) with O(state=present)
  type: list
  elements: str
  sample: [properties.allowSharedKeyAccess, container reports, file share media,
           properties.azureFilesIdentityBasedAuthentication.smbOAuthSettings.isSmbOAuthEnabled]
containers:
  description: The managed containers after the task.
  returned: single form (O(name))
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
    metadata:
      description: Container metadata.
      type: dict
    public_access:
      description: Always C(None).
      type: str
file_shares:
  description: The managed file shares after the task (in check mode, as they would be).
  returned: single form (O(name)) with O(file_shares) set
  type: list
  elements: dict
  contains:
    name:
      description: Share name.
      type: str
    quota:
      description: Quota in GiB.
      type: int
    access_tier:
      description: Access tier (null when left to Azure on a share still to be created).
      type: str
    protocol:
      description: Always C(SMB).
      type: str
accounts:
  description:
    - Bulk form, one entry per item of O(accounts) in its order, each with what the single form returns for that
      account. When a write fails, the accounts converged before it.
  returned: bulk form (O(accounts))
  type: list
  elements: dict
  contains:
    account:
      description: The account after the task, as RV(account). Empty when absent.
      type: dict
    containers:
      description: The managed containers after the task, as RV(containers).
      type: list
      elements: dict
    file_shares:
      description: The managed file shares after the task, as RV(file_shares), when the item has file shares.
      type: list
      elements: dict
    changes:
      description: What was (or would be) changed on this account, as RV(changes); V(deleted) when it was removed.
      type: list
      elements: str
      sample: [created, blob_soft_delete, container reports]
    changed:
      description: Whether this account was (or would be) changed.
      type: bool
written:
  description:
    - When a write failed mid-way, the labels of the items converged before it that needed a write (see
      C(docs/results.md)).
  returned: on a failure after the first item
  type: list
  elements: str
  sample: ["accounts[0] (rg-keyless-dev/example)"]
unchanged:
  description: When a write failed mid-way, the labels of the items converged before it that were already as asked.
  returned: on a failure after the first item
  type: list
  elements: str
failed_item:
  description: When a write failed mid-way, the label of the item that failed (the message starts with it).
  returned: on a failure after the first item
  type: str
  sample: "accounts[2] (rg-keyless-dev/example)"
failed_items:
  description:
    - When items failed, the labels of all of them; an item whose failure is its own (see C(docs/results.md)) does not
      stop the items after it.
  returned: on a failure
  type: list
  elements: str
not_attempted:
  description: When a write failed mid-way, the labels of the items after the failed one, not touched.
  returned: on a failure after the first item
  type: list
  elements: str
"""

import copy

from ansible_collections.keyless.aks_storage.plugins.module_utils import azure_files, bulk, rules
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule, as_rest
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError, refuse
from ansible_collections.keyless.aks_storage.plugins.module_utils.reconcile import (
    deep_merge, diff, differences, merge_tags, normalize_location)

# Microsoft.Storage networkRuleSet.bypass (azure-rest-api-specs storage.json): None or Logging, Metrics, AzureServices.
BYPASS_VALUES = ("None", "Logging", "Metrics", "AzureServices")
NAME_TAKEN = ("StorageAccountAlreadyTaken", "StorageAccountInAnotherResourceGroup")
# The keyless baseline; not options on purpose.
ENFORCED = {
    "allowSharedKeyAccess": False,
    "allowBlobPublicAccess": False,
    "supportsHttpsTrafficOnly": True,
    "defaultToOAuthAuthentication": True,
    "allowCrossTenantReplication": False,
}
# Azure reports null for settings never set; null shared key / public access mean "allowed".
NULL_MEANS = {"allowSharedKeyAccess": True, "allowBlobPublicAccess": True}
SKUS = ["Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Standard_GZRS", "Standard_RAGZRS",
        "Premium_LRS", "Premium_ZRS"]
# The single form's defaults. In the bulk form they apply only after the top-level value, so the items' spec has none.
SINGLE_FORM_DEFAULTS = dict(sku="Standard_LRS", kind="StorageV2", minimum_tls_version="TLS1_2", append_tags=True,
                            containers=[], file_shares=[], state="present")
KINDS = ["StorageV2", "BlockBlobStorage", "FileStorage"]
LARGE_FILE_SHARES = {True: "Enabled", False: "Disabled", None: None}


def account_spec(defaults):
    """The options of one account (the single form's, and each item's of ``accounts``) with ``defaults``."""
    spec = dict(
        resource_group=dict(type="str"),
        name=dict(type="str"),
        location=dict(type="str"),
        sku=dict(type="str", choices=SKUS),
        kind=dict(type="str", choices=KINDS),
        access_tier=dict(type="str", choices=["Hot", "Cool", "Cold"]),
        minimum_tls_version=dict(type="str", choices=["TLS1_2", "TLS1_3"]),
        public_network_access=dict(type="str", choices=["Enabled", "Disabled", "SecuredByPerimeter"]),
        network_acls=dict(type="dict", options=dict(
            default_action=dict(type="str", choices=["Allow", "Deny"], required=True),
            bypass=dict(type="str", default="AzureServices", no_log=False),
            ip_rules=dict(type="list", elements="str", default=[]),
            virtual_network_rules=dict(type="list", elements="str", default=[]),
        )),
        tags=dict(type="dict"),
        append_tags=dict(type="bool"),
        containers=dict(type="list", elements="raw"),
        blob_soft_delete_days=dict(type="int"),
        file_shares=dict(type="list", elements="raw"),
        smb_oauth=dict(type="bool"),
        large_file_shares=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    for key, value in defaults.items():
        spec[key]["default"] = copy.deepcopy(value)
    return spec


ACCOUNT_OPTIONS = tuple(account_spec({}))


def argument_spec():
    """Top level: the single form's options with its defaults, plus ``accounts`` whose items have no defaults (an
    item's unset option falls back to the top-level value)."""
    item = account_spec({})
    item["name"]["required"] = True
    spec = account_spec(SINGLE_FORM_DEFAULTS)
    spec["accounts"] = dict(type="list", elements="dict", options=item)
    return spec


def normalize_bypass(value):
    return ", ".join(sorted(t.strip() for t in (value or "").split(",") if t.strip())) or None


def acls_view(acls):
    """Comparable network rules from the REST shape."""
    if acls is None:
        return None
    return {"defaultAction": acls.get("defaultAction"), "bypass": normalize_bypass(acls.get("bypass")),
            "ipRules": sorted(r.get("value") for r in acls.get("ipRules") or []),
            "virtualNetworkRules": sorted((r.get("id") or "").lower() for r in acls.get("virtualNetworkRules") or [])}


def acls_body(option):
    return {"defaultAction": option["default_action"], "bypass": option["bypass"],
            "ipRules": [{"value": ip, "action": "Allow"} for ip in option["ip_rules"]],
            "virtualNetworkRules": [{"id": vnet, "action": "Allow"} for vnet in option["virtual_network_rules"]]}


def account_view(account):
    """The managed, comparable settings of a REST account (None when absent)."""
    if account is None:
        return None
    props = account.get("properties") or {}
    settings = {k: props.get(k, None) for k in ENFORCED}
    for key, meaning in NULL_MEANS.items():
        if settings[key] is None:
            settings[key] = meaning
    settings.update(minimumTlsVersion=props.get("minimumTlsVersion"), accessTier=props.get("accessTier"),
                    publicNetworkAccess=props.get("publicNetworkAccess"),
                    networkAcls=acls_view(props.get("networkAcls")),
                    # null: never enabled (SDK LargeFileSharesState: it cannot be disabled once enabled)
                    largeFileSharesState=props.get("largeFileSharesState") or "Disabled",
                    **{azure_files.FILES_AUTH: azure_files.auth_view(props)})
    return {"location": normalize_location(account.get("location")), "sku": (account.get("sku") or {}).get("name"),
            "kind": account.get("kind"), "tags": dict(account.get("tags") or {}), "properties": settings}


def desired_settings(p):
    settings = dict(ENFORCED, minimumTlsVersion=p["minimum_tls_version"], accessTier=p["access_tier"],
                    publicNetworkAccess=p["public_network_access"],
                    largeFileSharesState=LARGE_FILE_SHARES[p["large_file_shares"]],
                    **{azure_files.FILES_AUTH: azure_files.auth_setting(smb_oauth_wanted(p))})
    if p["network_acls"] is not None:
        settings["networkAcls"] = acls_body(p["network_acls"])
    return settings


def smb_oauth_wanted(p):
    """SMB OAuth to enforce (None: not managed): the option, else on for an account with file shares."""
    return azure_files.wanted_smb_oauth(p["smb_oauth"], p["file_shares"])


def returned_account(account, view):
    """What the module returns for the account (REST account or None, plus its comparable view)."""
    if view is None:
        return {}
    props = (account or {}).get("properties") or {}
    s = view["properties"]
    return dict(id=(account or {}).get("id"), name=(account or {}).get("name"), location=view["location"],
                sku=view["sku"], kind=view["kind"], tags=view["tags"],
                primary_blob_endpoint=(props.get("primaryEndpoints") or {}).get("blob"),
                primary_file_endpoint=(props.get("primaryEndpoints") or {}).get("file"),
                smb_oauth=s[azure_files.FILES_AUTH]["smbOAuthSettings"]["isSmbOAuthEnabled"],
                large_file_shares=s["largeFileSharesState"] == "Enabled",
                allow_shared_key_access=s["allowSharedKeyAccess"], allow_blob_public_access=s["allowBlobPublicAccess"],
                https_only=s["supportsHttpsTrafficOnly"],
                default_to_oauth_authentication=s["defaultToOAuthAuthentication"],
                allow_cross_tenant_replication=s["allowCrossTenantReplication"],
                minimum_tls_version=s["minimumTlsVersion"], public_network_access=s["publicNetworkAccess"],
                access_tier=s["accessTier"], network_acls=s["networkAcls"],
                provisioning_state=props.get("provisioningState"))


def desired_containers(containers):
    """Validate the containers option before any request; return a list of {name, metadata, state}."""
    result, seen = [], set()
    for index, item in enumerate(containers):
        spec = {"name": item} if isinstance(item, str) else item
        where = "containers[%d]" % index
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise ModuleError("%s must be a container name or a dict with a name" % where)
        unknown = set(spec) - {"name", "metadata", "state", "public_access"}
        if unknown:
            raise ModuleError("%s: unknown keys %s (allowed: name, metadata, state)" % (where, sorted(unknown)))
        name = spec["name"]
        if not rules.CONTAINER.match(name):
            raise ModuleError("%s: container name '%s' is invalid; use 3-63 lowercase letters, digits and single "
                              "hyphens, starting and ending with a letter or digit" % (where, name))
        if str(spec.get("public_access", "None")) not in ("None", "none"):
            raise ModuleError("%s: container %s asks for public access '%s'; a keyless account never serves "
                              "anonymous reads (allowBlobPublicAccess is always false)"
                              % (where, name, spec["public_access"]))
        metadata = spec.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict)
                                     or not all(isinstance(v, str) for v in metadata.values())):
            raise ModuleError("%s: metadata of container %s must be a dict of strings" % (where, name))
        state = spec.get("state", "present")
        if state not in ("present", "absent"):
            raise ModuleError("%s: state must be present or absent" % where)
        if name in seen:
            raise ModuleError("%s: container %s is listed more than once" % (where, name))
        seen.add(name)
        result.append(dict(name=name, metadata=metadata, state=state))
    return result


def container_view(container):
    props = container.get("properties") or {}
    return dict(name=container.get("name"), metadata=dict(props.get("metadata") or {}),
                public_access=props.get("publicAccess") or "None")


def validate(p, warn):
    """Check one account's options before any request; return its desired containers."""
    if not p["resource_group"]:
        raise ModuleError("resource_group is required for storage account %s (set it on the account or at the top "
                          "level)" % p["name"])
    refuse([rules.name_problem("storage account", p["name"], "name")])
    days = p["blob_soft_delete_days"]
    if days is not None and not 0 <= days <= 365:
        raise ModuleError("blob_soft_delete_days must be between 0 (off) and 365, not %s" % days)
    refuse([rules.name_problem("resource group", p["resource_group"], "resource_group")]
           + rules.tag_problems(p["tags"], name_limit=128) + acl_problems(p["network_acls"]))
    acls = p["network_acls"]
    if acls and acls["default_action"] == "Allow" and (acls["ip_rules"] or acls["virtual_network_rules"]):
        warn("network_acls has rules but default_action Allow, so the rules restrict nothing")
    refuse(azure_files.kind_problems(p))
    return desired_containers(p["containers"])


def validated(p, warn):
    """One account's validated containers and file shares (before any request)."""
    containers = validate(p, warn)
    return dict(containers=containers, shares=azure_files.desired_shares(p["file_shares"], p["kind"]))


def acl_problems(acls):
    """Every malformed network rule (IPv4 addresses or ranges, subnet IDs)."""
    if not acls:
        return []
    bypass = [t.strip() for t in (acls["bypass"] or "").split(",") if t.strip()]
    unknown = [t for t in bypass if t not in BYPASS_VALUES]
    bypass_problems = ["network_acls.bypass '%s': use None or a comma-separated list of %s"
                       % (acls["bypass"], ", ".join(BYPASS_VALUES[1:]))] if unknown else []
    return (bypass_problems
            + [rules.ip_rule_problem(ip, "network_acls.ip_rules[%d]" % i) for i, ip in enumerate(acls["ip_rules"])]
            + [rules.subnet_problem(v, "network_acls.virtual_network_rules[%d]" % i)
               for i, v in enumerate(acls["virtual_network_rules"])])


def plan_account(p, current):
    """Decide the account write (no request): dict(write=None|create|update|delete, body, view, changes).

    Fails, before any write, when the account cannot be converged (no location to create it, another location or
    kind than the existing account's).
    """
    name = p["name"]
    if p["state"] == "absent":
        return dict(write="delete" if current is not None else None, body=None, view=None,
                    changes=["deleted"] if current is not None else [])
    settings = desired_settings(p)
    location = normalize_location(p["location"])
    if current is None:
        if not location:
            raise ModuleError("location is required to create storage account %s" % name)
        properties = {k: v for k, v in settings.items() if v is not None}
        if properties.get(azure_files.FILES_AUTH):
            properties[azure_files.FILES_AUTH] = azure_files.auth_body(properties[azure_files.FILES_AUTH], None)
        body = {"location": location, "sku": {"name": p["sku"]}, "kind": p["kind"], "tags": dict(p["tags"] or {}),
                "properties": properties}
        return dict(write="create", body=body, view=account_view(body), changes=["created"])

    view = account_view(current)
    check_existing(p, view)
    desired_view = {"sku": p["sku"], "properties": dict(settings, networkAcls=acls_view(settings.get("networkAcls")))}
    changes = differences(desired_view, view)
    tags, tags_changed = merge_tags(view["tags"], p["tags"], p["append_tags"])
    patch = {}
    if "sku" in changes:
        patch["sku"] = {"name": p["sku"]}
    changed_props = {c.split(".")[1] for c in changes if c.startswith("properties.")}
    if changed_props:
        patch["properties"] = {k: settings[k] for k in changed_props}
    if azure_files.FILES_AUTH in changed_props:
        patch["properties"][azure_files.FILES_AUTH] = azure_files.auth_body(
            settings[azure_files.FILES_AUTH], view["properties"][azure_files.FILES_AUTH])
    if tags_changed:
        patch["tags"] = tags
        changes.append("tags")
    if not patch:
        return dict(write=None, body=None, view=view, changes=[])
    planned = deep_merge(view, {"sku": p["sku"], "tags": tags, "properties": {
        k: (acls_view(settings[k]) if k == "networkAcls" else settings[k]) for k in changed_props}})
    planned["tags"] = tags
    return dict(write="update", body=patch, view=planned, changes=changes)


def check_existing(p, view):
    """Refuse, before any write, what the existing account cannot become."""
    name, location = p["name"], normalize_location(p["location"])
    if location and location != view["location"]:
        raise ModuleError("storage account %s is in %s and cannot move to %s" % (name, view["location"], location))
    if p["kind"] != view["kind"]:
        raise ModuleError("storage account %s is of kind %s; its kind cannot change to %s (create a new account)"
                          % (name, view["kind"], p["kind"]))
    refusal = azure_files.auth_refusal(name, smb_oauth_wanted(p), view["properties"][azure_files.FILES_AUTH])
    if refusal:
        raise refusal
    if p["large_file_shares"] is False and view["properties"]["largeFileSharesState"] == "Enabled":
        raise ModuleError("large_file_shares: storage account %s has large file shares enabled, which cannot be "
                          "turned off (SDK LargeFileSharesState); set large_file_shares: true or leave it unset" % name)


def sdk_body(body):
    """The account write's body, the Azure Files identity setting as its SDK model."""
    if azure_files.FILES_AUTH not in (body.get("properties") or {}):
        return body
    from azure.mgmt.storage import models
    properties = dict(body["properties"])
    properties[azure_files.FILES_AUTH] = azure_files.auth_model(models, properties[azure_files.FILES_AUTH])
    return dict(body, properties=properties)


def write_account(module, accounts, p, current, plan):
    """Make the planned account write; return (rest account or None in check mode / when absent, view)."""
    rg, name = p["resource_group"], p["name"]
    if plan["write"] is None:
        return current, plan["view"]
    if module.check_mode:
        return (None if plan["write"] in ("create", "delete") else current), plan["view"]
    if plan["write"] == "delete":
        module.write("delete storage account %s" % name, accounts.delete, rg, name)
        return None, None
    if plan["write"] == "create":
        created = module.wait("create storage account %s" % name,
                              module.write("create storage account %s" % name, accounts.begin_create, rg, name,
                                           sdk_body(plan["body"])))
        created = as_rest(created)
        return created, account_view(created)
    updated = as_rest(module.write("update storage account %s" % name, accounts.update, rg, name,
                                   sdk_body(plan["body"])))
    return updated, account_view(updated)


def converge_soft_delete(module, blob_services, p, exists):
    """Return (before, after) of the blob soft delete policy when managed."""
    days = p["blob_soft_delete_days"]
    if days is None:
        return None, None
    want = {"enabled": True, "days": days} if days else {"enabled": False}
    have = None
    if exists:
        service = as_rest(module.call("read blob service of %s" % p["name"], blob_services.get_service_properties,
                                      p["resource_group"], p["name"]))
        policy = ((service or {}).get("properties") or {}).get("deleteRetentionPolicy") or {}
        have = {"enabled": bool(policy.get("enabled"))}
        if have["enabled"]:
            have["days"] = policy.get("days")
    if have != want and not module.check_mode:
        module.write("set blob soft delete of %s" % p["name"], blob_services.set_service_properties,
                     p["resource_group"], p["name"], {"properties": {"deleteRetentionPolicy": want}})
    return have, want


def converge_containers(module, containers_api, p, desired, exists):
    """Create/update/delete the listed containers; return (before, after, changed names)."""
    rg, account = p["resource_group"], p["name"]
    current = {}
    if exists and desired:
        current = {c["name"]: c for c in (container_view(as_rest(x)) for x in module.call(
            "list containers of %s" % account, lambda: list(containers_api.list(rg, account))))}
    before, after, changed = [], [], []
    for want in desired:
        have = current.get(want["name"])
        if have:
            before.append(have)
        if want["state"] == "absent":
            if have:
                changed.append(want["name"])
                if not module.check_mode:
                    module.write("delete container %s" % want["name"], containers_api.delete, rg, account, want["name"])
            continue
        target = dict(name=want["name"], public_access="None",
                      metadata=want["metadata"] if want["metadata"] is not None else (have or {}).get("metadata", {}))
        if have == target:
            after.append(have)
            continue
        changed.append(want["name"])
        body = {"properties": {"metadata": target["metadata"], "publicAccess": "None"}}
        if not module.check_mode:
            write = containers_api.update if have else containers_api.create
            target = container_view(as_rest(module.write("write container %s" % want["name"], write, rg, account,
                                                         want["name"], body)))
        after.append(target)
    return before, after, changed


def converge(module, storage, target):
    """Converge one planned account: the account write, blob soft delete, containers. Returns its result.

    ``target`` holds the account's options (``params``), its validated ``containers``, the account as read
    (``current``) and its ``plan``.
    """
    p, current, plan = target["params"], target["current"], target["plan"]
    account, view = write_account(module, storage.storage_accounts, p, current, plan)
    changes = list(plan["changes"])
    if p["state"] == "absent":
        return dict(account={}, containers=[], changes=changes, changed=bool(changes),
                    diff=diff({"account": account_view(current)}, {}))
    exists = account is not None
    soft_before, soft_after = converge_soft_delete(module, storage.blob_services, p, exists)
    if soft_before != soft_after:
        changes.append("blob_soft_delete")
    before_c, after_c, changed_c = converge_containers(module, storage.blob_containers, p, target["containers"],
                                                       exists and current is not None)
    changes += ["container %s" % c for c in changed_c]
    before = {"account": account_view(current), "containers": before_c}
    after = {"account": view, "containers": after_c}
    if soft_after is not None:
        before["blob_soft_delete"], after["blob_soft_delete"] = soft_before, soft_after
    result = dict(account=returned_account(account, view), containers=after_c, changes=changes)
    if p["file_shares"]:
        before["file_shares"], after["file_shares"], changed_s = converge_files(module, storage, p, target["shares"])
        changes += ["file share %s" % s for s in changed_s]
        result["file_shares"] = after["file_shares"]
    return dict(result, changed=bool(changes), diff=diff(before, after))


def plan_files(module, storage, p, current, planned, shares):
    """The writes of the listed file shares (one listing of the account's shares; none for a new account)."""
    if not shares or p["state"] == "absent":
        return []
    have = {}
    if current is not None:
        listing = module.call("list file shares of %s" % p["name"],
                              lambda: list(storage.file_shares.list(p["resource_group"], p["name"])))
        have = {s["name"]: s for s in (azure_files.share_view(as_rest(x)) for x in listing)}
    large = planned["view"]["properties"]["largeFileSharesState"] == "Enabled"
    return azure_files.plan_shares(p["name"], shares, have, p["kind"], large)


def converge_files(module, storage, p, share_plans):
    from azure.mgmt.storage import models
    return azure_files.converge_shares(module, storage.file_shares, models, p["resource_group"], p["name"],
                                       share_plans)


def targets_of(params):
    """The accounts of this task (bulk.Item): the single form's one account, or the bulk form's items."""
    return bulk.items_from_params(params, "accounts", ACCOUNT_OPTIONS)


def prepare(module, targets):
    """Every account's options, before any request; then each account read and its write planned. An account that
    cannot converge fails the task before any write."""
    wanted = bulk.plan_all(targets, lambda target: validated(target.options, labelled_warn(module, target.label)))
    for target, earlier in bulk.duplicates(targets, lambda t: t["name"]):
        raise ModuleError("storage account %s is listed more than once (also %s); account names are globally unique"
                          % (target["name"], earlier.label)).labelled(target.label)
    storage = module.client("storage")

    def read_and_plan(target, wanted_items):
        p = target.options
        # in check mode a resource group not created yet warns (an earlier task creates it): all is to be created
        current = as_rest(module.get_in_group(p["resource_group"] if p["state"] == "present" else None,
                                              "read storage account %s" % p["name"],
                                              storage.storage_accounts.get_properties, p["resource_group"], p["name"]))
        planned = plan_account(p, current)
        if planned["write"] == "create":
            module.check_location(planned["body"]["location"])
        shares = plan_files(module, storage, p, current, planned, wanted_items["shares"])
        return dict(params=p, containers=wanted_items["containers"], shares=shares, current=current, plan=planned)
    return storage, bulk.plan_all(targets, read_and_plan, wanted)


def labelled_warn(module, label):
    return lambda msg: module.warn("%s: %s" % (label, msg) if label else msg)


def run(module):
    bulk_form = module.params["accounts"] is not None
    targets = targets_of(module.params)
    storage, plans = prepare(module, targets)
    # a name taken elsewhere in Azure is that account's own failure: the other accounts still converge
    results = bulk.apply_all(module, targets, plans, lambda _t, planned: converge(module, storage, planned),
                             "accounts" if bulk_form else None, entry=bulk.without_diff,
                             own_failure=lambda error: error.error_code in NAME_TAKEN)
    if bulk_form:
        return bulk.bulk_result(targets, results, "accounts")
    result = results[0]
    if targets[0]["state"] == "absent":
        return dict(changed=result["changed"], account={}, containers=[], diff=result["diff"])
    return result


def main():
    module = AzureModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[("name", "accounts")],
        required_one_of=[("name", "accounts")],
        required_by={"name": ("resource_group",)},
        supports_check_mode=True,
    )
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
