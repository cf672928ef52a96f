"""The kinds the emulated API server serves, one line each, and the discovery documents built from them.

Add a kind by adding a `_kind(...)` line. `names` selects the name validation (see meta.py);
`generation` marks kinds whose metadata.generation tracks spec changes; `status` adds a /status
subresource; `extra` lists other subresources (served by api.py: `log` for pods, `scale` for the
replicated workloads, answered as autoscaling/v1 Scale; `token` for serviceaccounts, tokens.py); `verbs`
narrows the verbs (default: all).
"""

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_VERBS = ("get", "list", "watch")
SUBRESOURCE_VERBS = ["get", "patch", "update"]
# The Scale kind the `scale` subresources answer with (k8s.io/api autoscaling/v1).
SCALE_KIND = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
# The kind the ServiceAccount `token` subresource answers with (create only, see tokens.py).
TOKEN_REQUEST_KIND = {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple = ()
    names: str = "subdomain"
    generation: bool = False
    status: bool = False
    extra: tuple = ()
    categories: tuple = ()
    singular: str = field(default="")
    verbs: tuple = ()

    @property
    def allowed_verbs(self) -> list:
        return list(self.verbs) if self.verbs else list(ALL_VERBS)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Storage key, independent of the served version."""
        return f"{self.group}/{self.plural}"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def resource_name(self) -> str:
        """Resource name for messages: 'configmaps' or 'jobs.batch' like the real API server."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _kind(group_version, kind, plural, namespaced, *short_names, **options):
    group, _sep, version = group_version.rpartition("/")
    return Kind(group, version, kind, plural, namespaced, tuple(short_names), **options)


KINDS = [
    _kind("v1", "Namespace", "namespaces", False, "ns", names="label", status=True),
    _kind("v1", "ServiceAccount", "serviceaccounts", True, "sa", extra=("token",)),
    _kind("v1", "ConfigMap", "configmaps", True, "cm"),
    _kind("v1", "Secret", "secrets", True),
    _kind("v1", "Service", "services", True, "svc", names="label1035", status=True, categories=("all",)),
    _kind("v1", "PersistentVolume", "persistentvolumes", False, "pv", status=True),
    _kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "pvc", status=True),
    _kind("v1", "Pod", "pods", True, "po", status=True, extra=("log",), categories=("all",)),
    _kind("v1", "Event", "events", True, "ev"),
    # Nodes come from the cluster's node pools (nodes.py): read-only here.
    _kind("v1", "Node", "nodes", False, "no", verbs=READ_VERBS),
    _kind("apps/v1", "Deployment", "deployments", True, "deploy", generation=True, status=True, extra=("scale",),
          categories=("all",)),
    _kind("apps/v1", "DaemonSet", "daemonsets", True, "ds", generation=True, status=True, categories=("all",)),
    _kind("apps/v1", "StatefulSet", "statefulsets", True, "sts", generation=True, status=True, extra=("scale",),
          categories=("all",)),
    _kind("apps/v1", "ReplicaSet", "replicasets", True, "rs", generation=True, status=True, extra=("scale",),
          categories=("all",)),
    _kind("batch/v1", "Job", "jobs", True, generation=True, status=True, categories=("all",)),
    _kind("batch/v1", "CronJob", "cronjobs", True, "cj", generation=True, status=True, categories=("all",)),
    _kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, "netpol", generation=True),
    _kind("storage.k8s.io/v1", "CSIDriver", "csidrivers", False),
    _kind("storage.k8s.io/v1", "StorageClass", "storageclasses", False, "sc"),
    _kind("rbac.authorization.k8s.io/v1", "Role", "roles", True, names="path"),
    _kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True, names="path"),
    _kind("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False, names="path"),
    _kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False, names="path"),
    _kind("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, "pc"),
]

BY_PATH = {(k.group, k.version, k.plural): k for k in KINDS}
BY_KEY = {k.key: k for k in KINDS}
BY_KIND = {(k.group, k.kind): k for k in KINDS}
NAMESPACES = BY_KEY["/namespaces"]


def lookup(group: str, version: str, plural: str):
    return BY_PATH.get((group, version, plural.lower()))


def by_kind(api_version: str, kind: str):
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    found = BY_KIND.get((group, kind))
    return found if found and found.api_version == api_version else None


def groups() -> dict:
    """group name -> [versions] in table order (core group under '')."""
    result = {}
    for k in KINDS:
        versions = result.setdefault(k.group, [])
        if k.version not in versions:
            versions.append(k.version)
    return result


# ---------------------------------------------------------------------- discovery documents
def _verbs(k: Kind) -> list:
    return [v for v in k.allowed_verbs if not (k is NAMESPACES and v == "deletecollection")]


def _resource_entries(k: Kind) -> list:
    entry = {"name": k.plural, "singularName": k.singular_name, "namespaced": k.namespaced, "kind": k.kind,
             "verbs": _verbs(k)}
    if k.short_names:
        entry["shortNames"] = list(k.short_names)
    if k.categories:
        entry["categories"] = list(k.categories)
    entries = [entry]
    if k.status:
        entries.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                        "kind": k.kind, "verbs": list(SUBRESOURCE_VERBS)})
    for sub in k.extra:
        if sub == "log":
            entries.append({"name": f"{k.plural}/log", "singularName": "", "namespaced": k.namespaced,
                            "kind": k.kind, "verbs": ["get"]})
        elif sub == "scale":  # another group's kind: the entry names it (group/version/kind)
            entries.append({"name": f"{k.plural}/scale", "singularName": "", "namespaced": k.namespaced,
                            "group": SCALE_KIND["group"], "version": SCALE_KIND["version"],
                            "kind": SCALE_KIND["kind"], "verbs": list(SUBRESOURCE_VERBS)})
        elif sub == "token":
            entries.append({"name": f"{k.plural}/token", "singularName": "", "namespaced": k.namespaced,
                            "group": TOKEN_REQUEST_KIND["group"], "version": TOKEN_REQUEST_KIND["version"],
                            "kind": TOKEN_REQUEST_KIND["kind"], "verbs": ["create"]})
    return entries


def resource_list(group: str, version: str) -> dict | None:
    kinds = [k for k in KINDS if k.group == group and k.version == version]
    if not kinds:
        return None
    group_version = f"{group}/{version}" if group else version
    resources = [entry for k in kinds for entry in _resource_entries(k)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(name: str) -> dict:
    versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in groups()[name]]
    return {"name": name, "versions": versions, "preferredVersion": dict(versions[0])}


def api_group_list() -> dict:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [api_group(name) for name in groups() if name]}


def _aggregated_subresources(k: Kind, group: str, version: str) -> list:
    subs = [{"subresource": "status", "responseKind": {"group": group, "version": version, "kind": k.kind},
             "verbs": list(SUBRESOURCE_VERBS)}] if k.status else []
    if "scale" in k.extra:
        subs.append({"subresource": "scale", "responseKind": dict(SCALE_KIND), "verbs": list(SUBRESOURCE_VERBS)})
    if "token" in k.extra:
        subs.append({"subresource": "token", "responseKind": dict(TOKEN_REQUEST_KIND), "verbs": ["create"]})
    if "log" in k.extra:
        subs.append({"subresource": "log", "responseKind": {"group": "", "version": "", "kind": ""},
                     "verbs": ["get"]})
    return subs


def aggregated_discovery(core: bool) -> dict:
    """apidiscovery.k8s.io/v2 APIGroupDiscoveryList for /api (core) or /apis (named groups)."""
    items = []
    for name, versions in groups().items():
        if bool(name) == core:
            continue
        version_items = []
        for version in versions:
            resources = []
            for k in (k for k in KINDS if k.group == name and k.version == version):
                entry = _resource_entries(k)[0]
                item = {"resource": k.plural, "responseKind": {"group": name, "version": version, "kind": k.kind},
                        "scope": "Namespaced" if k.namespaced else "Cluster", "singularResource": k.singular_name,
                        "verbs": entry["verbs"]}
                if k.short_names:
                    item["shortNames"] = list(k.short_names)
                if k.categories:
                    item["categories"] = list(k.categories)
                subs = _aggregated_subresources(k, name, version)
                if subs:
                    item["subresources"] = subs
                resources.append(item)
            version_items.append({"version": version, "resources": resources, "freshness": "Current"})
        items.append({"metadata": {"name": name, "creationTimestamp": None}, "versions": version_items})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
