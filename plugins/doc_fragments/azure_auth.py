# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Authentication options shared by every Azure module of keyless.aks_storage."""

    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the Azure credential comes from. Only C(azure-identity) credentials are used.
      - V(auto) uses O(client_id), O(secret) and O(tenant) when all three are set, workload identity when
        O(client_id), O(tenant) and O(federated_token_file) are set, and otherwise the C(azure-identity) default
        chain (environment, workload identity, managed identity, Azure CLI; interactive credentials are excluded).
      - V(env) uses a service principal secret from O(client_id), O(secret) and O(tenant), or a certificate
        configured with the C(AZURE_CLIENT_CERTIFICATE_PATH) environment variable.
      - V(cli) uses the account of C(az login).
      - V(msi) uses the managed identity of the machine or container the task runs on (user-assigned when
        O(client_id) is set).
      - V(workload_identity) exchanges a Kubernetes service account token (O(federated_token_file)) for an Entra
        token, so automation running in AKS or a CI system with OIDC needs no secret either.
      - Falls back to the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable.
    type: str
    choices: [auto, cli, env, msi, workload_identity]
    default: auto
  subscription_id:
    description:
      - The Azure subscription to work in.
      - Falls back to E(AZURE_SUBSCRIPTION_ID); with O(auth_source=cli) also to the subscription of C(az account show).
    type: str
  tenant:
    description:
      - The Microsoft Entra tenant ID.
      - Falls back to E(AZURE_TENANT), then E(AZURE_TENANT_ID).
    type: str
  client_id:
    description:
      - Application (client) ID of the service principal, of the user-assigned managed identity (O(auth_source=msi)),
        or of the identity trusted by the federated token (O(auth_source=workload_identity)).
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Client secret of the service principal. Never logged.
      - Falls back to E(AZURE_SECRET), then E(AZURE_CLIENT_SECRET).
    type: str
  federated_token_file:
    description:
      - Path of the OIDC token file used by O(auth_source=workload_identity).
      - Falls back to E(AZURE_FEDERATED_TOKEN_FILE), which the AKS workload identity webhook sets in pods.
    type: path
  cloud_environment:
    description:
      - The Azure cloud. One of V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment), or an https URL for a custom
        cloud (Azure Stack Hub, a sovereign cloud, a test stand-in), given either as the Azure Resource Manager root
        (V(https://management.example.com/)) or as its full metadata URL
        (V(https://management.example.com/metadata/endpoints?api-version=2022-09-01)).
      - For a custom cloud the metadata document supplies the Resource Manager endpoint, the Entra authority and the
        token audience, and Entra instance discovery is disabled.
      - TLS certificates are always verified; trust a private CA with the E(REQUESTS_CA_BUNDLE) environment variable.
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT).
    type: str
    default: AzureCloud
  sign_in:
    description:
      - The play's one sign-in, as returned by the P(keyless.aks_storage.sign_in#lookup) lookup. The collection's
        playbooks set it for every module of the action group C(keyless.aks_storage.azure) through
        C(module_defaults); you do not set it by hand.
      - It carries the cloud's endpoints, the default subscription and one Azure Resource Manager access token, so
        the module neither reads the cloud metadata, nor runs C(az), nor asks Entra ID for a token.
      - Used only when it was made for this module's own O(auth_source), O(tenant), O(client_id) and
        O(cloud_environment), and when its token stays valid for more than 35 minutes (the longest wait of a module,
        30 minutes, plus azure-core's 5-minute early refresh). Otherwise, and for tokens of other audiences (the AKS
        API server, Azure Storage), the module signs in itself with the credential of O(auth_source).
      - O(subscription_id) (or E(AZURE_SUBSCRIPTION_ID)) still wins over the sign-in's subscription.
      - The access token is never logged or returned.
    type: dict
    suboptions:
      access_token:
        description: The ARM access token (secret).
        type: str
      expires_on:
        description: When the token expires (seconds since the epoch).
        type: int
      made_for:
        description: The authentication options the sign-in was made for.
        type: str
      subscription_id:
        description: The default subscription found at sign-in.
        type: str
      cloud:
        description: The cloud's endpoints (name, resource_manager, login_endpoint, audience, well_known).
        type: dict
requirements:
  - python >= 3.11
  - azure-identity >= 1.16.0
  - azure-core >= 1.30.0
notes:
  - Transient Azure errors (HTTP 408, 429 and 5xx) are retried up to 5 times with exponential backoff, honouring
    C(Retry-After); an error that remains fails the task with the ARM error code and a hint.
"""

    # The same options for the controller-side plugins (the aks inventory, the sign_in lookup), where Ansible's
    # configuration reads the environment variables. A plugin may restate an option's description; the type, choices,
    # default and variables stay here.
    PLUGIN = r"""
options:
  auth_source:
    description:
      - Where the Azure credential comes from, as for the collection's modules. Only C(azure-identity) credentials
        are used.
      - V(auto) uses O(client_id), O(secret) and O(tenant) when all three are set, workload identity when
        O(client_id), O(tenant) and O(federated_token_file) are set, and otherwise the C(azure-identity) default
        chain (environment, workload identity, managed identity, Azure CLI; interactive credentials are excluded).
      - V(env) uses a service principal secret from O(client_id), O(secret) and O(tenant), or a certificate
        configured with the C(AZURE_CLIENT_CERTIFICATE_PATH) environment variable.
      - V(cli) uses the account of C(az login).
      - V(msi) uses the managed identity of the machine or container Ansible runs on (user-assigned when
        O(client_id) is set).
      - V(workload_identity) exchanges a Kubernetes service account token (O(federated_token_file)) for an Entra
        token.
    type: str
    choices: [auto, cli, env, msi, workload_identity]
    default: auto
    env:
      - name: ANSIBLE_AZURE_AUTH_SOURCE
  subscription_id:
    description:
      - The Azure subscription.
      - With O(auth_source=auto) or O(auth_source=cli) and none set, the subscription of C(az account show).
    type: str
    env:
      - name: AZURE_SUBSCRIPTION_ID
  tenant:
    description:
      - The Microsoft Entra tenant ID.
      - Falls back to E(AZURE_TENANT), then E(AZURE_TENANT_ID) (the first one set wins, as for the modules).
    type: str
    # Ansible's configuration takes the last variable listed that is set, hence the reverse order.
    env:
      - name: AZURE_TENANT_ID
      - name: AZURE_TENANT
  client_id:
    description:
      - Application (client) ID of the service principal, of the user-assigned managed identity (O(auth_source=msi)),
        or of the identity trusted by the federated token (O(auth_source=workload_identity)).
    type: str
    env:
      - name: AZURE_CLIENT_ID
  secret:
    description:
      - Client secret of the service principal. Never displayed, logged or cached; prefer the environment variables
        (or a vaulted value) to writing it into a file.
      - Falls back to E(AZURE_SECRET), then E(AZURE_CLIENT_SECRET) (the first one set wins, as for the modules).
    type: str
    env:
      - name: AZURE_CLIENT_SECRET
      - name: AZURE_SECRET
  federated_token_file:
    description:
      - Path of the OIDC token file used by O(auth_source=workload_identity) (C(~) and environment variables are
        expanded, as for the modules' C(path) options; an empty value is no file).
    # str, not path: Ansible's configuration turns an empty path into the current directory
    type: str
    env:
      - name: AZURE_FEDERATED_TOKEN_FILE
  cloud_environment:
    description:
      - The Azure cloud. One of V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment), or an https URL for a
        custom cloud given either as the Azure Resource Manager root (V(https://management.example.com/)) or as its
        full metadata URL (V(https://management.example.com/metadata/endpoints?api-version=2022-09-01)).
      - TLS certificates are always verified; trust a private CA with the E(REQUESTS_CA_BUNDLE) environment variable.
    type: str
    default: AzureCloud
    env:
      - name: AZURE_CLOUD_ENVIRONMENT
"""
