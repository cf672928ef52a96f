#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: aks_kubeconfig
short_description: Renew the Microsoft Entra token of a kubeconfig aks_oidc_cluster wrote, before it expires
version_added: 0.1.0
description:
  - For a cluster with Microsoft Entra ID integration, C(keyless.aks_storage.aks_oidc_cluster) with
    C(kubeconfig_auth=entra) (or C(auto)) writes a kubeconfig whose user is an Entra access token for the AKS server
    application, valid about an hour. This module puts a new token into that file when the one it holds expires
    within 20 minutes or is refused, with the credential of O(auth_source), so a Kubernetes stage never starts with a
    token that would expire before it ends. The roles of this collection call it before their Kubernetes tasks.
  - Makes one token request when a renewal is due and nothing else (no Azure Resource Manager request); leaves any
    other kubeconfig (a local account's, or one this collection did not write) alone.
author:
  - keyless.aks_storage maintainers (@keyless-aks-storage)
options:
  path:
    description: The kubeconfig (mode 0600) that C(aks_oidc_cluster) wrote.
    type: path
    required: true
extends_documentation_fragment:
  - keyless.aks_storage.azure_auth
attributes:
  check_mode:
    support: full
    description: Says whether a renewal is due; writes nothing.
  diff_mode:
    support: none
    description: The file holds a credential; its content is never shown.
notes:
  - Renewing the token is not a change of the cluster or of its access, so the task reports C(changed=false) and
    C(renewed=true).
"""

EXAMPLES = r"""
- name: The kubeconfig's token outlives the next stage
  keyless.aks_storage.aks_kubeconfig:
    path: "{{ keyless_kubeconfig }}"
  when: keyless_cluster.kubeconfig_auth | default('local') == 'entra'
"""

RETURN = r"""
renewed:
  description: Whether a new token was put into the file (in check mode, whether one would be).
  returned: always
  type: bool
entra_token:
  description: Whether the file is a kubeconfig of this collection with an Entra token (else nothing was done).
  returned: always
  type: bool
expires_on:
  description: When the file's token expires (seconds since the epoch), after the renewal if any.
  returned: when O(path) holds an Entra token
  type: int
"""

from ansible_collections.keyless.aks_storage.plugins.module_utils import aks_access
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import AzureModule


def run(module):
    path = module.params["path"]
    renewed = aks_access.renew_token(module, path)
    result = dict(changed=False, renewed=bool(renewed), entra_token=renewed is not None)
    ours = aks_access.read_ours(path)
    if ours is not None:
        result["expires_on"] = aks_access.token_expiry(ours[1].split(b"\n", 1)[0].decode("utf-8", "replace"))
    return result


def main():
    module = AzureModule(argument_spec=dict(path=dict(type="path", required=True)), supports_check_mode=True)
    module.run(lambda: run(module))


if __name__ == "__main__":
    main()
