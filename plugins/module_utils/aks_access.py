# -*- coding: utf-8 -*-
# Copyright: keyless.aks_storage contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes access to an AKS cluster for the later Kubernetes steps: the kubeconfig this collection writes.

Clusters with local accounts get the user kubeconfig AKS returns (a static token or client certificate). Clusters
with Microsoft Entra ID integration (``aadProfile``) return a kubeconfig whose user is the ``kubelogin`` exec plugin,
interactive by default; this collection writes instead the same server and CA with a user that is an Entra access
token for the AKS server application, requested with the credential the Azure modules use (azure-identity; no
kubelogin, no device code). The file is 0600; its first line says which cluster it belongs to and, for a token, a
second line when the token expires, so a later task rewrites it before it does.
"""

from __future__ import annotations

import base64
import os
import time

from ansible_collections.keyless.aks_storage.plugins.module_utils import rbac
from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_auth import token_claims
from ansible_collections.keyless.aks_storage.plugins.module_utils.errors import ModuleError
from ansible_collections.keyless.aks_storage.plugins.module_utils.files import write_atomic

# The AKS-managed Microsoft Entra integration's server application, the same in every tenant (Microsoft Learn,
# "Use kubelogin to authenticate users in AKS": --server-id 6dae42f8-4368-4678-94ff-3960e28e3630).
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_SCOPE = AKS_SERVER_APP + "/.default"
AUTH_CHOICES = ("auto", "local", "entra")
# A token that expires sooner than this is replaced: a driver or workload stage (bounded waits of minutes) never
# outlives the token it starts with.
TOKEN_MARGIN = 20 * 60
TOKEN_LINE = "# keyless.aks_storage token expires_on %d\n"
# What the chain does in a cluster, as Azure RBAC for Kubernetes data actions (Microsoft.ContainerService/
# managedClusters/<group>/<resource>/<verb>, the core group omitted): the driver's Helm release (cluster roles,
# the CSIDriver, the node DaemonSet) and the workloads (namespaces, volumes, claims, service accounts, Jobs).
_K8S = "Microsoft.ContainerService/managedClusters/"
CHAIN_DATA_ACTIONS = tuple(_K8S + a for a in (
    "rbac.authorization.k8s.io/clusterroles/write", "rbac.authorization.k8s.io/clusterrolebindings/write",
    "storage.k8s.io/csidrivers/write", "apps/daemonsets/write", "apps/deployments/write", "namespaces/write",
    "persistentvolumes/write", "persistentvolumeclaims/write", "serviceaccounts/write", "batch/jobs/write",
    "pods/read", "events/read"))
CLUSTER_ADMIN_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"


def entra_integrated(cluster):
    return bool(((cluster or {}).get("properties") or {}).get("aadProfile"))


def resolve_auth(requested, cluster):
    """``auto`` -> ``entra`` for an Entra ID-integrated cluster, ``local`` otherwise; refuses what cannot work."""
    props = (cluster or {}).get("properties") or {}
    auth = requested
    if requested == "auto":
        auth = "entra" if entra_integrated(cluster) else "local"
    if auth == "entra" and not entra_integrated(cluster):
        raise ModuleError("kubeconfig_auth=entra needs a cluster with Microsoft Entra ID integration (aadProfile); "
                          "cluster %s has none: use kubeconfig_auth=local or auto" % cluster.get("name"))
    if auth == "local" and entra_integrated(cluster) and props.get("disableLocalAccounts"):
        raise ModuleError("kubeconfig_auth=local needs local accounts, which cluster %s disables "
                          "(disableLocalAccounts): use kubeconfig_auth=entra or auto" % cluster.get("name"))
    return auth


def marker(cluster):
    """First line of the kubeconfig we write: which cluster (and which incarnation of it) the file belongs to."""
    props = cluster.get("properties") or {}
    fqdn = props.get("fqdn") or props.get("privateFQDN") or ""
    # resourceUID tells apart clusters that reuse one ARM ID (create, delete, create): same name, new credentials
    uid = props.get("resourceUID") or "-"
    return ("# keyless.aks_storage: %s %s %s\n" % ((cluster.get("id") or "").lower(), uid, fqdn)).encode()


def current(path, first_line, now=None):
    """Whether ``path`` is a 0600 kubeconfig we wrote for this very cluster whose token (if any) is not about to
    expire."""
    try:
        with open(path, "rb") as existing:
            if existing.readline() != first_line or (os.stat(path).st_mode & 0o777) != 0o600:
                return False
            second = existing.readline().decode("utf-8", "replace")
    except (IOError, OSError):
        return False
    expires = token_expiry(second)
    return expires is None or expires > (now or time.time()) + TOKEN_MARGIN


def token_expiry(line):
    prefix = TOKEN_LINE.partition("%d")[0]
    if not line.startswith(prefix):
        return None
    try:
        return int(line[len(prefix):].strip())
    except ValueError:
        return None


def accepted(path):
    """Whether the API server still accepts the kubeconfig: one authenticated discovery read (GET /api/v1). A 401
    (rotated credentials) or a TLS failure (a new cluster CA) says to fetch it again; anything this cannot judge
    (no kubernetes library, an exec plugin such as kubelogin, the server unreachable) keeps the file."""
    try:
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
        from urllib3.exceptions import MaxRetryError, SSLError
    except ImportError:
        return True
    try:
        client.CoreV1Api(config.new_client_from_config(config_file=path)).get_api_resources(_request_timeout=15)
    except ApiException as exc:
        return exc.status != 401
    except (SSLError, MaxRetryError) as exc:
        tls = exc if isinstance(exc, SSLError) else getattr(exc, "reason", None)
        return not isinstance(tls, SSLError)
    except Exception:  # pylint: disable=broad-except
        return True
    return True


def fetch(module, clusters, cluster, auth):
    """The kubeconfig's bytes for ``auth`` (after the marker line): AKS's user kubeconfig for local accounts (the
    admin one on an Entra ID cluster, whose user kubeconfig needs kubelogin), or its server and CA with an Entra
    token user."""
    rg, name = cluster["id"].split("/")[4], cluster["name"]
    if auth == "local" and entra_integrated(cluster):
        action, call = "read the admin kubeconfig of %s" % name, clusters.list_cluster_admin_credentials
    else:
        action, call = "read the user kubeconfig of %s" % name, clusters.list_cluster_user_credentials
    from ansible_collections.keyless.aks_storage.plugins.module_utils.azure_module import as_rest
    result = as_rest(module.call(action, call, rg, name))
    kubeconfigs = (result or {}).get("kubeconfigs") or []
    if not kubeconfigs:
        raise ModuleError("cluster %s returned no kubeconfig" % name)
    content = base64.b64decode(kubeconfigs[0]["value"])
    return with_token(module, content) if auth == "entra" else content


def reader_from_arm(module, clusters, cluster, requested, context=None):
    """A read-only Kubernetes client with the credentials AKS gives for ``requested`` auth (kept in memory, never
    written to disk)."""
    import yaml  # here, not at import: only this read needs it (PyYAML comes with the kubernetes client)
    from ansible_collections.keyless.aks_storage.plugins.module_utils.kube import KubeReader

    content = fetch(module, clusters, cluster, resolve_auth(requested, cluster))
    return KubeReader(None, context, config_dict=yaml.safe_load(content))


def with_token(module, content):
    """``content`` (a kubeconfig, with or without our comment lines) with every user replaced by a new Entra access
    token for the AKS server app, behind a line saying when it expires."""
    import yaml
    document = yaml.safe_load(content)
    token = module.call("get a Microsoft Entra token for the AKS server application (%s)" % AKS_SCOPE,
                        module.credential.get_token, AKS_SCOPE)
    for user in document.get("users") or []:
        user["user"] = {"token": token.token}
    body = yaml.safe_dump(document, default_flow_style=False, sort_keys=False)
    return (TOKEN_LINE % int(token.expires_on)).encode() + body.encode()


def read_ours(path):
    """(first line, rest) of a 0600 kubeconfig this collection wrote with an Entra token; None otherwise."""
    try:
        if (os.stat(path).st_mode & 0o777) != 0o600:
            return None
        with open(path, "rb") as existing:
            first, rest = existing.readline(), existing.read()
    except (IOError, OSError):
        return None
    second = rest.split(b"\n", 1)[0].decode("utf-8", "replace")
    if not first.startswith(b"# keyless.aks_storage: ") or token_expiry(second) is None:
        return None
    return first, rest


def renew_token(module, path, first_line=None):
    """Put a new token into our Entra kubeconfig at ``path`` when its token expires within TOKEN_MARGIN (or is
    refused); only a token request, no ARM read. Returns whether the file was rewritten (never in check mode);
    None when ``path`` is not such a file (or, with ``first_line``, another cluster's)."""
    ours = read_ours(path)
    if ours is None or (first_line is not None and ours[0] != first_line):
        return None
    if current(path, ours[0]) and accepted(path):
        return False
    content = ours[0] + with_token(module, ours[1].split(b"\n", 1)[1])
    if not module.check_mode:
        write_atomic(path, content, 0o600, directory_mode=0o700)
    return True


def write(module, clusters, cluster, path, auth, refresh=False):
    """Write the kubeconfig for ``auth`` when it is missing, another cluster's, refused or about to expire.

    Returns None when nothing changed, ``"token"`` when only the Entra token was renewed (the cluster's credentials
    are the same: not a change of the cluster's access), ``"kubeconfig"`` otherwise. Nothing is written in check
    mode."""
    first_line = marker(cluster)
    if not refresh:
        if auth == "entra":
            renewed = renew_token(module, path, first_line)
            if renewed is not None:
                return "token" if renewed else None
        elif current(path, first_line) and accepted(path):
            return None  # no credential read on a re-run: the file is this cluster's and its API server accepts it
    content = first_line + fetch(module, clusters, cluster, auth)
    try:
        with open(path, "rb") as existing:
            if existing.read() == content and (os.stat(path).st_mode & 0o777) == 0o600:
                return None
    except (IOError, OSError):
        pass
    if not module.check_mode:
        write_atomic(path, content, 0o600, directory_mode=0o700)
    return "kubeconfig"


def token_principal(module):
    """The object ID of the automation identity: the ``oid`` of its ARM token (no directory read)."""
    token = module.call("get an ARM token", module.credential.get_token, module.cloud.scope)
    return token_claims(token.token).get("oid")


def azure_rbac_missing(module, cluster):
    """For a cluster that authorises Kubernetes requests with Azure RBAC: ``(missing, principal, reads)``, the data
    actions of CHAIN_DATA_ACTIONS the automation identity's role assignments at the cluster (or above; group
    memberships included through ``assignedTo``) do not allow, its object ID and the ARM reads made. ([], None, 0)
    for other clusters."""
    profile = (cluster.get("properties") or {}).get("aadProfile") or {}
    if not profile.get("enableAzureRBAC"):
        return [], None, 0
    principal = token_principal(module)
    api = module.client("authorization")
    assignments = module.call("list the role assignments of %s on cluster %s" % (principal, cluster["name"]),
                              lambda: list(api.role_assignments.list_for_scope(
                                  cluster["id"], filter="assignedTo('%s')" % principal)))
    definitions = {}
    for item in assignments:
        if rbac.scope_covers(item.scope, cluster["id"]) and item.role_definition_id not in definitions:
            # (an assignment below the cluster, at a namespace, does not cover cluster-scoped objects)
            definitions[item.role_definition_id] = module.call(
                "read role definition %s" % item.role_definition_id, api.role_definitions.get_by_id,
                item.role_definition_id)
    permissions = [{"dataActions": p.data_actions or [], "notDataActions": p.not_data_actions or []}
                   for role in definitions.values() for p in role.permissions or []]
    missing = [a for a in CHAIN_DATA_ACTIONS if not rbac.permits(permissions, data_action=a)]
    return missing, principal, 1 + len(definitions)


def azure_rbac_grant(cluster, principal):
    """What to grant, as a sentence with the command, for the chain's Kubernetes actions on an Azure RBAC cluster."""
    return ("\"%s\" on the cluster before the Kubernetes stages: az role assignment create --assignee-object-id %s "
            "--role \"%s\" --scope %s (the role takes a few minutes to reach the API server)"
            % (CLUSTER_ADMIN_ROLE, principal, CLUSTER_ADMIN_ROLE, cluster["id"]))


def azure_rbac_refusal(cluster, missing, principal):
    return ModuleError(
        "cluster %s authorises Kubernetes requests with Azure RBAC, and the automation identity (object ID %s) may "
        "not %s there. Grant it %s" % (cluster["name"], principal, ", ".join(a[len(_K8S):] for a in missing),
                                       azure_rbac_grant(cluster, principal)))
