"""Authorization of Microsoft Entra principals on an emulated AKS API server with Entra integration.

Only Entra principals are authorized here (see authn.py): the local account is `system:masters`, and
clusters without `aadProfile.managed` keep the sandbox's old behaviour (any authenticated request is
allowed). The chain follows kube-apiserver's union authorizer (k8s.io/apiserver v0.34.10
pkg/authorization/union/union.go: the first Allow or Deny wins, NoOpinion goes on):

1. The bootstrap policy every authenticated user has (kubernetes plugin/pkg/auth/authorizer/rbac/
   bootstrappolicy/policy.go, bound to `system:authenticated`): `system:discovery` and
   `system:public-info-viewer` (get on /livez, /readyz, /healthz, /version, /version/, /openapi[/*],
   /api[/*], /apis[/*]) and `system:basic-user` (create selfsubjectaccessreviews/selfsubjectrulesreviews in
   authorization.k8s.io, selfsubjectreviews in authentication.k8s.io). Implicit: no objects are stored.
2. Kubernetes RBAC from the cluster's ClusterRoleBindings and (for a namespaced request) the RoleBindings of
   that namespace, with the rules of the ClusterRole/Role they name; subjects `User` (the principal's name,
   for service principals its object id), `Group` (a `groups` claim value or system:authenticated) and
   `ServiceAccount`. Rules match like k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go: verbs,
   apiGroups, resources (`*`, `resource/subresource`, `*/subresource`), resourceNames (empty = any),
   nonResourceURLs (`*`, exact, `prefix*`). AggregationRules are not evaluated (an aggregated ClusterRole
   has the rules it stores). AKS binds `aadProfile.adminGroupObjectIDs` to `cluster-admin` with the
   ClusterRoleBinding `aks-cluster-admin-binding-aad` (written by the managed cluster provider).
3. With `aadProfile.enableAzureRBAC`: Azure RBAC through AKS's Guard authorization webhook (kubeguard/guard
   v0.16.28 authz/providers/azure/rbac/checkaccessreqhelper.go): the request becomes one data action
   `Microsoft.ContainerService/managedClusters[/<group>]/<resource>/<read|write|delete>` (core group left
   out; get/list/watch -> read, create/update/patch -> write, delete/deletecollection -> delete,
   bind/escalate/use/impersonate -> `<verb>/action`, `pods/exec` -> `pods/exec/action`, other subresources
   dropped), checked at the cluster's ARM id, or `<cluster id>/namespaces/<namespace>` for a namespaced
   request, against the role assignments at that scope or above of the principal's object id and groups,
   with the built-in roles' DataActions minus NotDataActions (`permits`). Not allowed: Deny with
   `AccessNotAllowedVerdict`.

A denied request answers kube-apiserver's 403 (k8s.io/apiserver v0.34.10 pkg/endpoints/handlers/
responsewriters/errors.go `ForbiddenStatusError`, k8s.io/apimachinery v0.34.10 pkg/api/errors `NewForbidden`):
`<resource>[.<group>] ["<name>"] is forbidden: User "<user>" cannot <verb> resource "<resource[/sub]>" in API
group "<group>" (in the namespace "<ns>" | at the cluster scope)[: <reason>]`, reason Forbidden, details
{name, group, kind: <resource>}.

Call with the store lock held.
"""

import re
from dataclasses import dataclass, field

from ..arm.providers.authorization import permits, role_definition
from ..arm.providers.authorization.role_assignments import TYPE as ROLE_ASSIGNMENTS
from ..arm.providers.authorization.role_assignments import is_above_or_at
from . import errors, kinds

CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters"
ACCESS_NOT_ALLOWED = "User does not have access to the resource in Azure. Update role assignment to allow access."
AUTHENTICATED = "system:authenticated"
NAMESPACE_SUBRESOURCES = ("status", "finalize")
DISCOVERY_URLS = ("/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*", "/api",
                  "/api/*", "/apis", "/apis/*")
BASIC_USER = (("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews"),
              ("authentication.k8s.io", "selfsubjectreviews"))
SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
VALID_NAME = re.compile(r"[^/%]+")   # path.IsValidPathSegmentName: no "/" or "%", not "." or ".."

CLUSTER_ROLES = kinds.BY_KEY["rbac.authorization.k8s.io/clusterroles"]
CLUSTER_ROLE_BINDINGS = kinds.BY_KEY["rbac.authorization.k8s.io/clusterrolebindings"]
ROLES = kinds.BY_KEY["rbac.authorization.k8s.io/roles"]
ROLE_BINDINGS = kinds.BY_KEY["rbac.authorization.k8s.io/rolebindings"]


@dataclass
class Attributes:
    """authorizer.Attributes of one request (k8s.io/apiserver pkg/endpoints/request/requestinfo.go)."""
    user: str
    groups: list = field(default_factory=list)
    oid: str | None = None
    verb: str = ""
    path: str = "/"
    is_resource: bool = False
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""


def _split_path(path: str) -> list:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _verb_for(method: str) -> str:
    return {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method, "")


def _name_from_field_selector(selector: str | None) -> str:
    """fields.Selector.RequiresExactMatch("metadata.name") of a field selector, if any."""
    for term in (selector or "").split(","):
        key, op, value = re.match(r"\s*([^=!]*?)\s*(==|=|!=|$)\s*(.*?)\s*$", term).groups()
        if key == "metadata.name" and op in ("=", "=="):
            return value if VALID_NAME.fullmatch(value or "") and value not in (".", "..") else ""
    return ""


def request_attributes(method: str, path: str, query: dict, principal) -> Attributes:
    """RequestInfoFactory.NewRequestInfo for a path relative to the cluster (e.g. "/api/v1/pods")."""
    attrs = Attributes(user=principal.name, groups=list(principal.groups), oid=principal.oid,
                       verb=method.lower(), path=path or "/")
    parts = _split_path(path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return attrs
    prefix, current = parts[0], parts[1:]
    if prefix == "apis":
        if len(current) < 3:
            return attrs
        attrs.api_group, current = current[0], current[1:]
    attrs.is_resource = True
    attrs.api_version, current = current[0], current[1:]
    if current[0] in ("proxy", "watch"):
        attrs.verb = current[0]
        current = current[1:]
        if not current:
            return attrs
    else:
        attrs.verb = _verb_for(method)
    if current[0] == "namespaces" and len(current) > 1:
        attrs.namespace = current[1]
        if len(current) > 2 and current[2] not in NAMESPACE_SUBRESOURCES:
            current = current[2:]
    if len(current) >= 3 and attrs.verb != "proxy":
        attrs.subresource = current[2]
    if len(current) >= 2:
        attrs.name = current[1]
    attrs.resource = current[0]
    if not attrs.name and attrs.verb == "get":
        attrs.verb = "watch" if query.get("watch") in ("true", "1") else "list"
        attrs.name = _name_from_field_selector(query.get("fieldSelector"))
    if not attrs.name and attrs.verb == "delete":
        attrs.verb = "deletecollection"
    return attrs


# ---------------------------------------------------------------------- Kubernetes RBAC
def _rule_allows(attrs: Attributes, rule: dict) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.is_resource:
        for url in rule.get("nonResourceURLs") or []:
            if url == "*" or url == attrs.path or (url.endswith("*") and attrs.path.startswith(url.rstrip("*"))):
                return True
        return False
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.api_group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    resources = rule.get("resources") or []
    if not any(r == "*" or r == combined
               or (attrs.subresource and len(r) == len(attrs.subresource) + 2 and r.startswith("*/")
                   and r.endswith(attrs.subresource)) for r in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _subject_applies(subject: dict, attrs: Attributes) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == attrs.user
    if kind == "Group":
        return name in attrs.groups
    if kind == "ServiceAccount":
        return f"system:serviceaccount:{subject.get('namespace')}:{name}" == attrs.user
    return False


def _bootstrap_allows(attrs: Attributes) -> bool:
    if AUTHENTICATED not in attrs.groups:
        return False
    if not attrs.is_resource:
        return attrs.verb == "get" and _rule_allows(attrs, {"verbs": ["get"], "nonResourceURLs": list(DISCOVERY_URLS)})
    return attrs.verb == "create" and not attrs.subresource and (attrs.api_group, attrs.resource) in BASIC_USER


def rbac_decision(cluster, attrs: Attributes) -> tuple:
    """(allowed, reason) of the RBAC authorizer: reason names missing roles, as `RBAC: ...`."""
    problems = []

    def rules_of(ref: dict, namespace: str):
        kind, name = (ref or {}).get("kind"), (ref or {}).get("name")
        if kind == "ClusterRole":
            role = cluster.get(CLUSTER_ROLES, "", name)
            if role is None:
                problems.append(f'clusterrole.rbac.authorization.k8s.io "{name}" not found')
            return (role or {}).get("rules") or []
        if kind == "Role" and namespace:
            role = cluster.get(ROLES, namespace, name)
            if role is None:
                problems.append(f'role.rbac.authorization.k8s.io "{name}" not found')
            return (role or {}).get("rules") or []
        return []

    for binding in cluster.items(CLUSTER_ROLE_BINDINGS):
        if any(_subject_applies(s, attrs) for s in binding.get("subjects") or []):
            if any(_rule_allows(attrs, r) for r in rules_of(binding.get("roleRef"), "")):
                return True, ""
    if attrs.namespace:
        for binding in cluster.items(ROLE_BINDINGS, attrs.namespace):
            if any(_subject_applies(s, attrs) for s in binding.get("subjects") or []):
                if any(_rule_allows(attrs, r) for r in rules_of(binding.get("roleRef"), attrs.namespace)):
                    return True, ""
    if not problems:
        return False, ""
    text = problems[0] if len(problems) == 1 else "[" + ", ".join(dict.fromkeys(problems)) + "]"
    return False, f"RBAC: {text}"


# ---------------------------------------------------------------------- Azure RBAC (Guard)
def _action_name(verb: str) -> str:
    if verb in ("get", "list", "watch"):
        return "read"
    if verb in ("create", "update", "patch"):
        return "write"
    if verb in ("delete", "deletecollection"):
        return "delete"
    if verb in ("bind", "escalate", "use", "impersonate"):
        return f"{verb}/action"
    return "*" if verb == "*" else ""


def _join(*parts) -> str:
    """path.Join: empty elements dropped, slashes collapsed."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def data_action(attrs: Attributes) -> str:
    """The Azure data action Guard checks for a request."""
    if not attrs.is_resource:
        return _join(CLUSTER_TYPE, attrs.path, _action_name(attrs.verb))
    if attrs.resource == "pods" and attrs.subresource == "exec":
        action = "pods/exec/action"
    else:
        action = _join(attrs.resource, _action_name(attrs.verb))
    return _join(CLUSTER_TYPE, attrs.api_group, action)


def azure_scope(cluster_id: str, attrs: Attributes) -> str:
    return f"{cluster_id}/namespaces/{attrs.namespace}" if attrs.is_resource and attrs.namespace else cluster_id


def azure_allows(store, cluster_id: str, attrs: Attributes) -> bool:
    """Whether a role assignment of the principal (or one of its groups) at the request's scope or above
    grants the request's data action."""
    principals = {p.lower() for p in [attrs.oid, *attrs.groups] if p}
    scope, action = azure_scope(cluster_id, attrs), data_action(attrs)
    for assignment in store.of_type(ROLE_ASSIGNMENTS):
        props = assignment["properties"]
        if props["principalId"].lower() not in principals or not is_above_or_at(props["scope"], scope):
            continue
        role = role_definition(store, props["roleDefinitionId"].rsplit("/", 1)[-1])  # built-in or custom
        if role and permits(role, data_action=action):
            return True
    return False


# ---------------------------------------------------------------------- the chain
def authorize(store, cluster, profile, attrs: Attributes) -> tuple:
    """(allowed, reason) for an Entra principal's request."""
    if _bootstrap_allows(attrs):
        return True, ""
    allowed, reason = rbac_decision(cluster, attrs)
    if allowed:
        return True, ""
    if profile.azure_rbac and attrs.oid:
        if azure_allows(store, profile.cluster_id, attrs):
            return True, ""
        return False, ACCESS_NOT_ALLOWED
    return False, reason


def forbidden(attrs: Attributes, reason: str) -> errors.KubeError:
    """kube-apiserver's 403 Status for a denied request."""
    if not attrs.is_resource:
        message = f'User "{attrs.user}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        where = (f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope")
        message = (f'User "{attrs.user}" cannot {attrs.verb} resource "{resource}" in API group '
                   f'"{attrs.api_group}" {where}')
    message = message.translate(SANITIZE)
    if reason:
        message = f"{message}: {reason}"
    qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
    details = {}
    if attrs.name:
        details["name"] = attrs.name
    if attrs.api_group:
        details["group"] = attrs.api_group
    if attrs.resource:
        details["kind"] = attrs.resource
    if not qualified:
        text = f"forbidden: {message}"
    elif attrs.name:
        text = f'{qualified} "{attrs.name}" is forbidden: {message}'
    else:
        text = f"{qualified} is forbidden: {message}"
    return errors.KubeError(403, "Forbidden", text, details)
