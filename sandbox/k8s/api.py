"""HTTP front of the emulated API servers: `/k8s/<slug>/...` on the sandbox's port.

Request flow: find the cluster by slug -> authentication (authn.py: the cluster's static token, or on a
cluster with Microsoft Entra integration an Entra access token; else 401 Status) -> authorization of Entra
principals (authz.py: RBAC, then Azure RBAC with enableAzureRBAC; else 403 Status) -> discovery or a
resource path -> count (reads/writes per kind) -> operations.py under the store lock. A watch is a
bounded long poll (see watch.py), never an open-ended stream. Refused requests are counted only under
`unauthorized` (401) or `forbidden` (403).
"""

import json
import re
import urllib.parse

from ..server import Response
from . import (
    authn,
    authz,
    chunking,
    controllers,
    errors,
    kinds,
    operations,
    protection,
    protobuf,
    scale,
    tables,
    tokens,
    watch,
)
from .hub import PATH_PREFIX

JSON = "application/json"
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
NOT_FOUND_TEXT = "the server could not find the requested resource"
READ_METHODS = ("GET", "HEAD")


def _respond(status, body, content_type=JSON):
    # Compact JSON, serialised at once so later state changes cannot leak into a response.
    return Response(status, json.dumps(body, separators=(",", ":")), {"Content-Type": content_type})


def _error(exc: errors.KubeError):
    return _respond(exc.code, exc.status())


def _not_found():
    return _error(errors.KubeError(404, "NotFound", NOT_FOUND_TEXT, {}))


class ResourcePath:
    """A parsed resource URL: kind, namespace (None = all / cluster-scoped), name, subresource."""

    def __init__(self, kind, namespace, name, subresource):
        self.kind, self.namespace, self.name, self.subresource = kind, namespace, name, subresource


def parse_resource_path(group, version, rest):
    """rest: [watch,] [namespaces, ns,] plural[, name[, subresource]] -> (ResourcePath | None, legacy watch)."""
    legacy_watch = bool(rest) and rest[0] == "watch"  # deprecated /watch/ prefix paths
    if legacy_watch:
        rest = rest[1:]
    if not rest:
        return None, legacy_watch
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        nested = kinds.lookup(group, version, rest[2])
        if nested is not None and nested.namespaced:
            namespace, rest = rest[1], rest[2:]
        elif group:
            return None, legacy_watch
    kind = kinds.lookup(group, version, rest[0])
    if kind is None or len(rest) > 3 or (namespace is not None and not kind.namespaced):
        return None, legacy_watch
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else ""
    if subresource and not ((subresource == "status" and kind.status) or subresource in kind.extra):
        return None, legacy_watch
    return ResourcePath(kind, namespace, name, subresource), legacy_watch


class KubeApi:
    def __init__(self, app, hub):
        self.app = app
        self.hub = hub
        self.tokens = tokens.TokenRequests(app)

    def register_routes(self, router):
        router.add(re.escape(PATH_PREFIX) + r"(?P<slug>[a-z0-9-]+)(?P<rest>/.*)?", self.handle,
                   ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], "kubernetes")

    # ------------------------------------------------------------------ entry point
    def handle(self, request, match):
        store = self.app.store
        with store.lock:
            cluster = self.hub.by_slug.get(match.group("slug"))
        if cluster is None:
            return _not_found()
        auth = request.header("Authorization", "") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        rest = urllib.parse.unquote(match.group("rest") or "/")
        with store.lock:
            profile = authn.profile_of(store, cluster)
            principal = authn.authenticate(store, cluster, token, profile)
            if principal is None:
                self.hub.counts["unauthorized"] += 1
                return _error(errors.unauthorized())
            if not principal.local and profile.aad:
                attrs = authz.request_attributes(request.method, rest, request.query, principal)
                allowed, reason = authz.authorize(store, cluster, profile, attrs)
                if not allowed:
                    self.hub.counts["forbidden"] += 1
                    return _error(authz.forbidden(attrs, reason))
            self.hub.sync_nodes(cluster)  # node pools may have changed through ARM since the last request
        segments = [s for s in rest.split("/") if s]
        try:
            if not segments or segments[0] not in ("api", "apis"):
                return self._misc(request, cluster, segments)
            return self._api(request, cluster, segments)
        except errors.KubeError as exc:
            return _error(exc)

    # ------------------------------------------------------------------ discovery and friends
    def _count(self, kind_name, write):
        with self.app.store.lock:
            self.hub.count(kind_name, write)

    def _misc(self, request, cluster, segments):
        if request.method not in READ_METHODS:
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        self._count("discovery", False)
        path = "/".join(segments)
        if path == "version":
            return _respond(200, self._version(cluster))
        if path in ("healthz", "livez", "readyz"):
            return Response(200, "ok", {"Content-Type": "text/plain; charset=utf-8"})
        # /openapi/v2 and /openapi/v3 are not served: kubectl then skips client-side validation
        # (with --validate=false) and uses its compiled-in schemas for strategic merge.
        return _not_found()

    def _version(self, cluster):
        version = cluster.kubernetes_version
        major, minor = (version.split(".") + ["0", "0"])[:2]
        return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
                "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
                "gitVersion": f"v{version}", "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2025-06-17T18:32:36Z", "goVersion": "go1.24.4",
                "compiler": "gc", "platform": "linux/amd64"}

    def _wants_aggregated(self, request):
        accept = (request.header("Accept", "") or "").replace(" ", "")
        return any(part.startswith("application/json") and "as=APIGroupDiscoveryList" in part
                   and "v=v2" in part.split(";") for part in accept.split(","))

    def _discovery(self, request, cluster, segments):
        self._count("discovery", False)
        if segments == ["api"]:
            if self._wants_aggregated(request):
                return _respond(200, kinds.aggregated_discovery(core=True), AGGREGATED_V2)
            return _respond(200, kinds.api_versions(request.header("Host", "127.0.0.1")))
        if segments == ["apis"]:
            if self._wants_aggregated(request):
                return _respond(200, kinds.aggregated_discovery(core=False), AGGREGATED_V2)
            return _respond(200, kinds.api_group_list())
        if segments == ["api", "v1"]:
            return _respond(200, kinds.resource_list("", "v1"))
        if segments[0] == "apis" and len(segments) == 2 and segments[1] in kinds.groups():
            return _respond(200, {"kind": "APIGroup", "apiVersion": "v1", **kinds.api_group(segments[1])})
        if segments[0] == "apis" and len(segments) == 3:
            found = kinds.resource_list(segments[1], segments[2])
            if found and segments[1]:
                return _respond(200, found)
        return _not_found()

    # ------------------------------------------------------------------ resources
    def _api(self, request, cluster, segments):
        is_discovery = (len(segments) <= 2 if segments[0] == "api" else len(segments) <= 3)
        if is_discovery:
            if request.method not in READ_METHODS:
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            return self._discovery(request, cluster, segments)
        if segments[0] == "api":
            path, legacy_watch = parse_resource_path("", segments[1], segments[2:])
        else:
            path, legacy_watch = parse_resource_path(segments[1], segments[2], segments[3:])
        if path is None:
            self._count("unknown", request.method not in READ_METHODS)
            return _not_found()
        request.meta["resource_type"] = path.kind.resource_name  # "configmaps", "jobs.batch"
        with self.app.store.lock:
            protection.tick(cluster, controllers.after_delete)   # the emulated kubelets' clock: one per request
            self.hub.on_request(cluster)                        # count-based retries (e.g. the CSI provisioner)
        if path.subresource == "token":
            return self._token_request(request, cluster, path)
        write = request.method not in READ_METHODS
        self._count(path.kind.kind + (f"/{path.subresource}" if path.subresource else ""), write)
        query = request.query
        if request.method in READ_METHODS:
            if legacy_watch or query.get("watch") in ("true", "1"):
                return watch.serve(self.app.store, cluster, path, query)
            return self._read(request, cluster, path)
        options = operations.WriteOptions(dry_run=self._dry_run(query), manager=self._manager(request),
                                          force=query.get("force") in ("true", "1"),
                                          explicit_manager=bool(query.get("fieldManager")),
                                          force_given="force" in query)
        with self.app.store.lock:
            response = self._write(request, cluster, path, options)
            if write and not options.dry_run:
                self.app.store.flush()
        return response

    def _token_request(self, request, cluster, path):
        """ServiceAccount `token` (tokens.py): create only. Every request to it is counted in
        `token_requests` (201s also in `tokens_issued`), never in `reads`, `writes` or `by_kind`."""
        issued = False
        try:
            if request.method != "POST":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            if path.namespace is None:
                raise errors.KubeError(404, "NotFound", NOT_FOUND_TEXT, {})
            self._dry_run(request.query)
            body = tokens.parse(request)
            with self.app.store.lock:
                if not cluster.namespace_exists(path.namespace):
                    raise errors.not_found(path.kind, path.name)
                server = f"{self.app.base_url}{PATH_PREFIX}{cluster.slug}"
                out, warning = self.tokens.create(cluster, path.namespace, path.name, body, server)
            issued = True
        finally:
            with self.app.store.lock:
                self.hub.count_token_request(issued)
        response = _respond(201, out)
        if warning:
            response.headers["Warning"] = f'299 - "{warning}"'
        return response

    @staticmethod
    def _dry_run(query):
        value = query.get("dryRun")
        if value in (None, ""):
            return False
        if value != "All":
            raise errors.invalid_dry_run(value)
        return True

    @staticmethod
    def _manager(request):
        manager = request.query.get("fieldManager")
        if manager:
            return manager
        agent = request.header("User-Agent", "") or ""
        return agent.split("/", 1)[0] or "unknown"

    def _read(self, request, cluster, path):
        store = self.app.store
        with store.lock:
            if path.namespace is not None and not cluster.namespace_exists(path.namespace) and path.name:
                raise errors.not_found(path.kind, path.name)
            if path.name is None:
                body = self._list(request, cluster, path)
                if tables.wanted(request):
                    return _respond(200, tables.table(path.kind, body), tables.TABLE_TYPE)
                return _respond(200, body)
            obj = cluster.get(path.kind, path.namespace, path.name)
            if obj is None:
                raise errors.not_found(path.kind, path.name)
            if path.subresource == "log":
                return self._log(request, cluster, obj)
            if path.subresource == "scale":
                return _respond(200, scale.scale_of(obj))
            if tables.wanted(request):
                return _respond(200, tables.table(path.kind, {"items": [obj], "metadata": {}}), tables.TABLE_TYPE)
            return _respond(200, obj)

    def _list(self, request, cluster, path):
        """One page of a list (chunking.py: limit, continue, selectors, the API server's order)."""
        query = chunking.ListQuery(request.query, path.kind)
        items, meta = chunking.list_page(cluster, path.kind, path.namespace, query)
        return {"kind": f"{path.kind.kind}List", "apiVersion": path.kind.api_version, "metadata": meta,
                "items": [_as_item(obj) for obj in items]}

    def _all_matching(self, request, cluster, path):
        """Every object the request's selectors match (deletecollection), in the API server's order."""
        query = chunking.ListQuery(request.query, path.kind)
        return [_as_item(obj) for obj in cluster.items(path.kind, path.namespace) if query.matches(obj)]

    def _log(self, request, cluster, pod):
        containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        container = request.query.get("container") or (containers[0] if len(containers) == 1 else None)
        name = pod["metadata"]["name"]
        if container is None:
            raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                                     f"[{' '.join(containers)}]")
        if container not in containers:
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        if (pod.get("status") or {}).get("phase", "Pending") == "Pending":
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start: '
                                     f'ContainerCreating')
        text = cluster.pod_logs.get((pod["metadata"]["namespace"], name), {}).get(container, "")
        tail = request.query.get("tailLines")
        if tail and tail.isdigit():
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(tail):]) if int(tail) else ""
        return Response(200, text.encode(), {"Content-Type": "text/plain"})

    def _body(self, request, kind=None):
        content_type = (request.header("Content-Type", "") or "").split(";")[0].strip().lower()
        if content_type == "application/vnd.kubernetes.protobuf" and kind is not None:
            return protobuf.decode(request.body, kind)  # kubectl's typed create commands
        if content_type and "protobuf" in content_type or "cbor" in content_type:
            raise errors.unsupported_media_type(content_type)
        try:
            return request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}")

    def _write(self, request, cluster, path, options):
        kind, method = path.kind, request.method
        if _verb(method, path) not in kind.allowed_verbs:
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if path.subresource == "scale" and path.name is not None:
            if method not in ("PUT", "PATCH"):
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            content_type = (request.header("Content-Type", "") or "").split(";")[0].strip().lower()
            return _respond(200, scale.write(cluster, kind, path.namespace, path.name, method, content_type,
                                             request.body, options))
        if method == "POST":
            if path.name is not None:
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            namespace = path.namespace if kind.namespaced else None
            if kind.namespaced and namespace is None:
                raise errors.not_found(kind, "")
            return _respond(201, operations.create(cluster, kind, namespace, self._body(request, kind), options))
        if path.subresource == "log":
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if method == "DELETE" and path.name is None:
            return self._delete_collection(request, cluster, path, options)
        if path.name is None or (kind.namespaced and path.namespace is None):
            raise errors.method_not_allowed("the server does not allow this method on the requested resource")
        if method == "PUT":
            return _respond(200, operations.replace(cluster, kind, path.namespace, path.name, self._body(request, kind),
                                                    options, path.subresource))
        if method == "PATCH":
            content_type = (request.header("Content-Type", "") or "").split(";")[0].strip().lower()
            status, obj = operations.patch(cluster, kind, path.namespace, path.name, content_type, request.body,
                                           options, path.subresource)
            return _respond(status, obj)
        delete_options = self._delete_options(request)
        options.dry_run = options.dry_run or delete_options.get("dryRun") == ["All"]
        status, body = operations.delete(cluster, kind, path.namespace, path.name, options, delete_options)
        return _respond(status, body)

    def _delete_options(self, request):
        options = {}
        if request.body.strip():
            body = self._body(request)
            if isinstance(body, dict):
                options.update(body)
        if request.query.get("propagationPolicy"):
            options["propagationPolicy"] = request.query["propagationPolicy"]
        if request.query.get("gracePeriodSeconds"):
            try:
                options["gracePeriodSeconds"] = int(request.query["gracePeriodSeconds"])
            except ValueError:
                raise errors.bad_request(f'invalid value for gracePeriodSeconds: '
                                         f'"{request.query["gracePeriodSeconds"]}"') from None
        if "dryRun" in options and options["dryRun"] not in ([], ["All"]):
            raise errors.invalid_dry_run(options["dryRun"])
        return options

    def _delete_collection(self, request, cluster, path, options):
        delete_options = self._delete_options(request)
        options.dry_run = options.dry_run or delete_options.get("dryRun") == ["All"]
        deleted = []
        for item in self._all_matching(request, cluster, path):
            meta = item["metadata"]
            operations.delete(cluster, path.kind, meta.get("namespace"), meta["name"], options, delete_options)
            deleted.append(item)
        return _respond(200, {"kind": f"{path.kind.kind}List", "apiVersion": path.kind.api_version,
                              "metadata": {"resourceVersion": str(cluster.rv)}, "items": deleted})


def _verb(method, path) -> str:
    if method == "DELETE":
        return "delete" if path.name is not None else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "get")


def _as_item(obj):
    """List items carry no apiVersion/kind (clients fill them in from the list)."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
