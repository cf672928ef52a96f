"""Microsoft.ContainerService/managedClusters/agentPools: a view of the cluster's agentPoolProfiles.

GET and list read the pools out of the stored cluster (the pool body is the profile without its
"name", inside "properties", as in the AgentPoolsGet example); PUT merges the pool into the cluster's
profiles and is an Azure-AsyncOperation LRO (201 new / 200 existing with provisioningState
Creating/Updating, then Succeeded). DELETE is not emulated (405).
"""

import copy

from ....server import Response
from ...errors import invalid_request_content, resource_not_found
from ...registry import ResourceType
from . import cluster_body, common

POOL_TYPE_AS_SERVED = f"{common.CLUSTERS}/agentPools"


def _cluster_id(call) -> str:
    return call.id[:call.id.lower().rindex("/agentpools/")] if call.id else call.container_id


def _render(cluster_id: str, pool: dict) -> dict:
    props = {k: copy.deepcopy(v) for k, v in pool.items() if k != "name"}
    return {"id": f"{cluster_id}/agentPools/{pool['name']}", "name": pool["name"], "type": POOL_TYPE_AS_SERVED,
            "properties": props}


def _find(cluster: dict, name: str):
    for pool in cluster["properties"].get("agentPoolProfiles") or []:
        if str(pool.get("name", "")).lower() == name.lower():
            return pool
    return None


class AgentPools(ResourceType):
    type_name = common.AGENT_POOLS
    api_versions = common.API_VERSIONS

    def parent_not_found(self, call, parent_type, parent_name):
        return resource_not_found(common.CLUSTERS, parent_name, call.resource_group)

    def _cluster(self, call):
        cluster = call.store.get(_cluster_id(call))
        if cluster is None:  # the framework checks the parent first; kept for safety
            raise common.cluster_not_found(call)
        return cluster

    def get(self, call):
        cluster = self._cluster(call)
        pool = _find(cluster, call.name)
        if pool is None:
            raise resource_not_found(self.type_name, call.name, call.resource_group)
        return Response.json(200, _render(cluster["id"], pool))

    def list(self, call):
        cluster = self._cluster(call)
        return call.list_response([_render(cluster["id"], p) for p in cluster["properties"].get(
            "agentPoolProfiles") or []])

    def put(self, call):
        cluster = self._cluster(call)
        body = call.body()
        requested = body.get("properties") or {}
        if not isinstance(requested, dict):
            raise invalid_request_content("The 'properties' member must be an object.")
        running = common.in_progress_operation(call.store, cluster["id"])
        if running:
            raise common.operation_in_progress(running, "update", cluster["name"])
        existing = _find(cluster, call.name)
        props = cluster["properties"]
        version = props.get("kubernetesVersion") or props.get("currentKubernetesVersion") or "1.33.2"
        state = "Updating" if existing else "Creating"
        pool = cluster_body.normalize_pool(dict(requested, name=existing["name"] if existing else call.name),
                                           existing, version, state)
        pools = props.setdefault("agentPoolProfiles", [])
        if existing is not None:
            pools[pools.index(existing)] = pool
        else:
            pools.append(pool)
        call.store.dirty = True
        store, cluster_id, pool_name = call.store, cluster["id"], pool["name"]

        def _set_state(value):
            current = store.get(cluster_id)
            found = _find(current, pool_name) if current else None
            if found is not None:
                found["provisioningState"] = value
                store.dirty = True
            return current, found

        def complete():
            _current, found = _set_state("Succeeded")
            return 200, _render(cluster_id, found or pool)

        return call.begin_lro(style="azure-async", complete=complete, on_fail=lambda _e: _set_state("Failed"),
                              namespace=common.NAMESPACE, location=cluster["location"],
                              running_body=_render(cluster_id, pool), running_status=200 if existing else 201)
