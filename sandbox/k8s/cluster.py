"""One emulated cluster: identity, token and the object store with its resourceVersion counter.

Every method here expects the caller to hold `store.lock` (the app-wide lock). `commit()` is the
one place objects are written: it bumps resourceVersion only when the object really changed, so
no-op writes keep their version, and it keeps a short tombstone list for the bounded watch.
"""

import collections
import copy
import secrets
import time
import uuid

from . import kinds
from .meta import timestamp

DELETED_LIMIT = 1000
LOG_LIMIT = 64 * 1024  # characters of pod log kept per container
BASE_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def comparable(obj: dict) -> dict:
    """The object without fields that change on every write (for no-op detection)."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items()
            if k not in ("resourceVersion", "managedFields", "generation")}
    return {**obj, "metadata": meta}


class KubeCluster:
    def __init__(self, cluster_id, slug, store, *, kubernetes_version, oidc_issuer_url=None, token=None,
                 created=None, hub=None):
        self.id = cluster_id
        self.slug = slug
        self.store = store   # the app Store: its lock guards this cluster too
        self.hub = hub
        self.kubernetes_version = kubernetes_version
        self.oidc_issuer_url = oidc_issuer_url
        self.token = token or secrets.token_urlsafe(32)
        self.created = created or time.time()
        self.objects = {}            # kind.key -> {(namespace, name): object}
        self.created_rv = {}         # (kind.key, namespace, name) -> resourceVersion at creation (watch)
        self.deleted = collections.deque(maxlen=DELETED_LIMIT)  # (rv, kind.key, object) tombstones
        self.pod_logs = {}           # (namespace, pod) -> {container: text}
        self.rv = 0
        self.history_floor = 0       # revisions before this one have no tombstone history (a restored cluster)
        self.list_snapshots = collections.OrderedDict()  # (kind.key, rv) -> [(key, object)] for list chunks
        self.node_pools = None       # standalone clusters: their node pools (None: the ARM record's, or one)
        self.node_key = None         # what the Node objects were last built from (nodes.sync), not persisted
        self.requests = 0            # requests served: the emulated kubelet's clock (protection.tick)
        self.terminating = {}        # (namespace, pod) -> request count at which its kubelet removes it
        self.releasing = False       # protection.release() is running
        self.binding_deferred = False  # controllers.binding_deferred(): the binder waits for the end of a batch

    # ------------------------------------------------------------------ reads
    def get(self, kind, namespace, name):
        return self.objects.get(kind.key, {}).get((namespace or "", name))

    def items(self, kind, namespace=None) -> list:
        bucket = self.objects.get(kind.key, {})
        return [obj for (ns, _name), obj in sorted(bucket.items()) if namespace is None or ns == namespace]

    def namespace_exists(self, name) -> bool:
        return self.get(kinds.NAMESPACES, "", name) is not None

    def default_storage_class(self) -> str | None:
        for sc in self.items(kinds.BY_KEY["storage.k8s.io/storageclasses"]):
            annotations = sc["metadata"].get("annotations") or {}
            if "true" in (annotations.get("storageclass.kubernetes.io/is-default-class"),
                          annotations.get("storageclass.beta.kubernetes.io/is-default-class")):
                return sc["metadata"]["name"]
        return None

    # ------------------------------------------------------------------ writes
    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def commit(self, kind, obj, old=None) -> dict:
        """Store `obj` (a complete object) and return it; no-op writes keep the old resourceVersion."""
        meta = obj["metadata"]
        key = (meta.get("namespace") or "", meta["name"])
        if (old is not None and comparable(old) == comparable(obj)
                and obj["metadata"].get("managedFields") == old["metadata"].get("managedFields")
                and obj["metadata"].get("generation") == old["metadata"].get("generation")):
            return old
        meta["resourceVersion"] = self.next_rv()
        if old is None:
            self.created_rv[(kind.key, *key)] = self.rv
        self.objects.setdefault(kind.key, {})[key] = obj
        self.store.dirty = True
        return obj

    def remove(self, kind, namespace, name):
        obj = self.objects.get(kind.key, {}).pop((namespace or "", name), None)
        if obj is not None:
            self.created_rv.pop((kind.key, namespace or "", name), None)
            gone = copy.deepcopy(obj)
            gone["metadata"]["resourceVersion"] = self.next_rv()
            self.deleted.append((self.rv, kind.key, gone))
            if kind.kind == "Pod":
                self.pod_logs.pop((namespace, name), None)
            self.store.dirty = True
        return obj

    def add_log(self, namespace, pod, container, text) -> None:
        logs = self.pod_logs.setdefault((namespace, pod), {})
        logs[container] = (logs.get(container, "") + text)[-LOG_LIMIT:]
        self.store.dirty = True

    # ------------------------------------------------------------------ persistence
    def dump(self) -> dict:
        return {"id": self.id, "slug": self.slug, "token": self.token, "created": self.created,
                "kubernetes_version": self.kubernetes_version, "oidc_issuer_url": self.oidc_issuer_url,
                "rv": self.rv, "objects": [obj for bucket in self.objects.values() for obj in bucket.values()],
                "node_pools": self.node_pools,
                "pod_logs": [[ns, pod, logs] for (ns, pod), logs in self.pod_logs.items()]}

    @classmethod
    def restore(cls, data: dict, store, hub=None) -> "KubeCluster":
        cluster = cls(data["id"], data["slug"], store, kubernetes_version=data["kubernetes_version"],
                      oidc_issuer_url=data.get("oidc_issuer_url"), token=data["token"],
                      created=data.get("created"), hub=hub)
        cluster.rv = int(data.get("rv", 0))
        cluster.history_floor = cluster.rv  # deletions before the restart are not known
        cluster.node_pools = data.get("node_pools")
        for obj in data.get("objects", []):
            kind = kinds.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if kind is None:
                continue  # a kind dropped from the table since the state was written
            meta = obj["metadata"]
            cluster.objects.setdefault(kind.key, {})[(meta.get("namespace") or "", meta["name"])] = obj
        for ns, pod, logs in data.get("pod_logs", []):
            cluster.pod_logs[(ns, pod)] = logs
        return cluster

    # ------------------------------------------------------------------ helpers for in-process callers
    def stamp(self, kind, obj) -> dict:
        """Fill apiVersion/kind and the server-set creation metadata of a new object."""
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", _uid())
        meta.setdefault("creationTimestamp", timestamp())
        if kind.generation:
            meta["generation"] = 1
        return obj


def _uid() -> str:
    return str(uuid.uuid4())
