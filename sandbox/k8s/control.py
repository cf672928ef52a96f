"""Control API for emulated clusters (under /_sandbox, no auth, never counted):

  POST   /_sandbox/k8s/clusters  {id, kubernetes_version?, oidc_issuer_url?, name?, node_pools?}
         -> {id, slug, server, token, ca_file, kubeconfig}  (idempotent for an existing id; node_pools, when
         given, replace the cluster's: [{name, count, mode?, vmSize?, osType?, nodeLabels?, nodeTaints?}])
  GET    /_sandbox/k8s/clusters  -> {clusters: [{id, slug, server, kubernetes_version, oidc_issuer_url}]}
  DELETE /_sandbox/k8s/clusters?id=...
"""

import re

from ..server import Response
from .hub import DEFAULT_VERSION
from .kubeconfig import kubeconfig
from .nodes import MAX_NODES, parse_taint

POOL_NAME = re.compile(r"[a-z][a-z0-9]{0,11}")


def _bad(message, status=400):
    return Response.json(status, {"error": {"code": "BadRequest" if status == 400 else "NotFound",
                                            "message": message}})


def _pool_problem(pool) -> str | None:
    if not isinstance(pool, dict) or not isinstance(pool.get("name"), str) or not POOL_NAME.fullmatch(pool["name"]):
        return "each node pool needs a 'name' of 1-12 lowercase letters and digits, starting with a letter"
    count = pool.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_NODES:
        return f"node pool {pool['name']}: 'count' must be an integer from 0 to {MAX_NODES}"
    labels = pool.get("nodeLabels") or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        return f"node pool {pool['name']}: 'nodeLabels' must map strings to strings"
    taints = pool.get("nodeTaints") or []
    if not isinstance(taints, list) or any(parse_taint(t) is None for t in taints):
        return f"node pool {pool['name']}: 'nodeTaints' must be strings like key=value:NoSchedule"
    if str(pool.get("mode", "User")).lower() not in ("system", "user"):
        return f"node pool {pool['name']}: 'mode' must be System or User"
    return None


def _node_pools(body):
    """-> (pools or None, problem or None)"""
    pools = body.get("node_pools")
    if pools is None:
        return None, None
    if not isinstance(pools, list):
        return None, "'node_pools' must be a list"
    problem = next((p for p in (_pool_problem(pool) for pool in pools) if p), None)
    return [dict(pool, count=pool.get("count", 1)) for pool in pools], problem


def register_routes(router, app):
    hub = app.kube

    def add_cluster(request, match):
        try:
            body = request.json()
        except ValueError as exc:
            return _bad(f"invalid JSON: {exc}")
        cluster_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(cluster_id, str) or not cluster_id.strip():
            return _bad("'id' (a string: an ARM id or any unique name) is required")
        version = body.get("kubernetes_version") or DEFAULT_VERSION
        if not isinstance(version, str) or not all(p.isdigit() for p in version.split(".")) or version.count(".") != 2:
            return _bad("'kubernetes_version' must look like 1.33.2")
        pools, problem = _node_pools(body)
        if problem:
            return _bad(problem)
        endpoint = hub.add_cluster(cluster_id, kubernetes_version=version,
                                   oidc_issuer_url=body.get("oidc_issuer_url"), node_pools=pools)
        app.store.flush()
        cluster = hub.cluster(cluster_id)
        name = body.get("name") or cluster.slug
        return Response.json(200, {"id": cluster.id, "slug": cluster.slug, "server": endpoint.server,
                                   "token": endpoint.token, "ca_file": endpoint.ca_file,
                                   "kubeconfig": kubeconfig(endpoint, name)})

    def list_clusters(request, match):
        clusters = [{"id": c.id, "slug": c.slug, "server": hub.endpoint(c.id).server,
                     "kubernetes_version": c.kubernetes_version, "oidc_issuer_url": c.oidc_issuer_url}
                    for c in hub.list_clusters()]
        return Response.json(200, {"clusters": clusters})

    def remove_cluster(request, match):
        cluster_id = request.query.get("id")
        if not cluster_id:
            return _bad("query parameter 'id' is required")
        existed = hub.cluster(cluster_id) is not None
        hub.remove_cluster(cluster_id)
        app.store.flush()
        return Response.json(200, {"deleted": existed})

    router.add(r"/_sandbox/k8s/clusters", add_cluster, ["POST"], "control")
    router.add(r"/_sandbox/k8s/clusters", list_clusters, ["GET"], "control")
    router.add(r"/_sandbox/k8s/clusters", remove_cluster, ["DELETE"], "control")
