"""KubeHub: the emulated Kubernetes API servers, one per (AKS or standalone) cluster.

Every cluster is served on the sandbox's own port under a path prefix, `{base_url}/k8s/{slug}`, and
has its own random bearer token. Cluster state lives in the app's Store (section "kubernetes") so
it shares the one lock, is cleared by `POST /_sandbox/reset` and persists with `--state-file`.
"""

import hashlib
import os
import re
from dataclasses import dataclass

from . import chunking, controllers, nodes, protection, workloads
from .cluster import KubeCluster

DEFAULT_VERSION = "1.33.2"
PATH_PREFIX = "/k8s/"


@dataclass
class KubeEndpoint:
    server: str     # https://127.0.0.1:PORT/k8s/<slug>
    token: str      # bearer token of that cluster
    ca_file: str    # sandbox CA (PEM) that signs the server certificate


def slug_for(cluster_id: str) -> str:
    """URL-safe, stable and unique: the last id segment (readable) plus a hash of the whole id."""
    key = cluster_id.lower()
    tail = re.sub(r"[^a-z0-9-]+", "-", key.rstrip("/").rsplit("/", 1)[-1]).strip("-")[:40] or "cluster"
    return f"{tail}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


class KubeHub:
    """All emulated clusters. Hooks run under the store lock, so they may read ARM state directly:
    - `job_hooks`: `hook(cluster, job) -> decision | None`; the first decision wins (see
      controllers.apply_job_decision for its shape).
    - `claim_hooks`: `hook(cluster, claim, storage_class) -> bool`, for a claim waiting for an external
      provisioner (the PV controller's ExternalProvisioning); True when the hook created a volume for it.
    - `volume_hooks`: `hook(cluster, volume)`, for a Released volume (its reclaim policy is the hook's business).
    - `request_hooks`: `hook(cluster)`, once per request count of a cluster (the count-based clock of retries)."""

    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.clusters = {}   # lower cluster id -> KubeCluster
        self.by_slug = {}    # slug -> KubeCluster
        self.counts = {}
        self.job_hooks = []
        self.claim_hooks = []
        self.volume_hooks = []
        self.request_hooks = []
        self._request_seen = {}   # cluster slug -> the request count request_hooks last ran at
        self._in_request_hooks = False
        self.store.register_section("kubernetes", self)
        self.store.add_config_defaults(protection.CONFIG_DEFAULTS)
        self.store.add_config_defaults(chunking.CONFIG_DEFAULTS)

    def on_job_created(self, cluster, job) -> dict | None:
        for hook in self.job_hooks:
            decision = hook(cluster, job)
            if decision:
                return decision
        return None  # undecided: the Job stays active

    def node_count(self, cluster) -> int:
        """How many nodes the cluster has (its node pools' counts, see nodes.py)."""
        with self.store.lock:
            self.sync_nodes(cluster)
            return len(cluster.items(nodes.NODE))

    def sync_nodes(self, cluster) -> None:
        """Bring the Node objects in line with the node pools; workloads are re-decided when nodes changed."""
        with self.store.lock:
            if nodes.sync(cluster):
                workloads.reconcile_all(cluster)

    def on_request(self, cluster) -> None:
        """Run the request hooks once per value of the cluster's request counter (protection.tick), never
        re-entrantly: a hook's own writes cannot start another round."""
        if self._in_request_hooks or self._request_seen.get(cluster.slug) == cluster.requests:
            return
        self._request_seen[cluster.slug] = cluster.requests
        self._in_request_hooks = True
        try:
            for hook in self.request_hooks:
                hook(cluster)
        finally:
            self._in_request_hooks = False

    # ------------------------------------------------------------------ Store section protocol
    def reset(self) -> None:
        with self.store.lock:
            self.clusters, self.by_slug = {}, {}
            self._request_seen = {}
            self.counts = {"reads": 0, "writes": 0, "unauthorized": 0, "forbidden": 0, "token_requests": 0,
                           "tokens_issued": 0, "by_kind": {}}

    def dump(self) -> dict:
        return {"clusters": [c.dump() for c in self.clusters.values()]}

    def restore(self, data: dict) -> None:
        for item in data.get("clusters", []):
            self._index(KubeCluster.restore(item, self.store, hub=self))

    def counters(self) -> dict:
        return {k: ({kind: dict(v) for kind, v in val.items()} if isinstance(val, dict) else val)
                for k, val in self.counts.items()}

    def count(self, kind: str, write: bool) -> None:
        key = "writes" if write else "reads"
        self.counts[key] += 1
        entry = self.counts["by_kind"].setdefault(kind, {"reads": 0, "writes": 0})
        entry[key] += 1

    def count_token_request(self, issued: bool) -> None:
        """TokenRequests persist nothing: counted on their own, never in `writes` or `by_kind`."""
        self.counts["token_requests"] += 1
        self.counts["tokens_issued"] += int(issued)

    # ------------------------------------------------------------------ public interface
    @property
    def ca_file(self) -> str:
        return os.path.join(self.app.workdir, "ca.pem")

    def add_cluster(self, cluster_id: str, *, kubernetes_version: str = DEFAULT_VERSION,
                    oidc_issuer_url: str | None = None, node_pools: list | None = None) -> KubeEndpoint:
        """Create the cluster's API server; for an existing id only version/issuer/node pools are updated.
        node_pools (standalone clusters): [{name, count, mode, vmSize, osType, nodeLabels, nodeTaints}];
        without them an AKS cluster's nodes follow its ARM agent pools, any other cluster has one node."""
        with self.store.lock:
            cluster = self.clusters.get(cluster_id.lower())
            if cluster is None:
                cluster = KubeCluster(cluster_id, slug_for(cluster_id), self.store, hub=self,
                                      kubernetes_version=kubernetes_version, oidc_issuer_url=oidc_issuer_url)
                self._index(cluster)
                controllers.bootstrap(cluster)
            else:
                cluster.kubernetes_version = kubernetes_version or cluster.kubernetes_version
                if oidc_issuer_url is not None:
                    cluster.oidc_issuer_url = oidc_issuer_url
            if node_pools is not None:
                cluster.node_pools = [dict(p) for p in node_pools]
            self.sync_nodes(cluster)
            self.store.dirty = True
            return self._endpoint(cluster)

    def remove_cluster(self, cluster_id: str) -> None:
        with self.store.lock:
            cluster = self.clusters.pop(cluster_id.lower(), None)
            if cluster is not None:
                self.by_slug.pop(cluster.slug, None)
                self.store.dirty = True

    def endpoint(self, cluster_id: str) -> KubeEndpoint | None:
        with self.store.lock:
            cluster = self.clusters.get(cluster_id.lower())
            return self._endpoint(cluster) if cluster else None

    def cluster(self, cluster_id: str) -> KubeCluster | None:
        with self.store.lock:
            cluster = self.clusters.get(cluster_id.lower())
            if cluster is not None:
                self.sync_nodes(cluster)
            return cluster

    def list_clusters(self) -> list:
        with self.store.lock:
            return list(self.clusters.values())

    # ------------------------------------------------------------------ internals
    def _index(self, cluster: KubeCluster) -> None:
        self.clusters[cluster.id.lower()] = cluster
        self.by_slug[cluster.slug] = cluster

    def _endpoint(self, cluster: KubeCluster) -> KubeEndpoint:
        # base_url is only known once the server is bound; build the URL on demand.
        return KubeEndpoint(server=f"{self.app.base_url}{PATH_PREFIX}{cluster.slug}", token=cluster.token,
                            ca_file=self.ca_file)
