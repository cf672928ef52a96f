"""Nodes: core/v1 Node objects built from the cluster's node pools and kept in line with them.

Pools come from an AKS cluster's ARM record (`properties.agentPoolProfiles`, read at every sync, so a
managedClusters or agentPools PUT shows up at once), or a standalone cluster's `node_pools` (control API),
else one default pool `nodepool1` of one node. A pool gives `count` nodes (none while its powerState is
Stopped), named like AKS's scale-set nodes: `aks-<pool>-<8 digits>-vmss<instance, 6 base-36 digits>`
(Windows pools: `aks<pool><instance>`), the 8 digits derived from the cluster id. Labels follow AKS's
reserved system labels (https://learn.microsoft.com/en-us/azure/aks/use-labels) plus the pool's
`nodeLabels`; taints are the pool's `nodeTaints` (`key=value:Effect` or `key:Effect`; nothing else is added);
status: a Ready condition, capacity from the VM size (approximate), nodeInfo with the cluster's version.

`sync(cluster)` writes only what changed (no-op syncs keep resourceVersions) and returns whether anything
did, so controllers can re-evaluate the workloads. Callers hold the store lock.
"""

import hashlib
import json

from . import kinds
from .meta import timestamp

NODE = kinds.BY_KEY["/nodes"]
MANAGED_CLUSTERS = "microsoft.containerservice/managedclusters"
DEFAULT_POOL = {"name": "nodepool1", "count": 1, "mode": "System", "vmSize": "Standard_DS2_v2", "osType": "Linux"}
MAX_NODES = 1000            # across all pools (AKS: 1000 nodes per pool, 5000 per cluster)
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# vCPUs and GiB of memory of a few VM sizes (others: 2 / 8).
VM_SIZES = {"standard_ds2_v2": (2, 7), "standard_d2s_v3": (2, 8), "standard_d2s_v5": (2, 8),
            "standard_d4s_v5": (4, 16), "standard_d8s_v5": (8, 32), "standard_b2s": (2, 4),
            "standard_d2ads_v5": (2, 8), "standard_d4ds_v5": (4, 16)}
CONDITIONS = (("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
              ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
              ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
              ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))


# ---------------------------------------------------------------------- pools
def pools_of(cluster) -> tuple:
    """-> (pools, context) for the cluster: its own node_pools, its ARM record's, or the default pool."""
    record = cluster.store.get(cluster.id) if cluster.store is not None else None
    if cluster.node_pools is None and record and str(record.get("type", "")).lower() == MANAGED_CLUSTERS:
        props = record.get("properties") or {}
        parts = cluster.id.split("/")
        context = {"cluster": record.get("name", ""), "location": record.get("location", ""),
                   "node_rg": props.get("nodeResourceGroup") or "",
                   "subscription": parts[2] if len(parts) > 2 else ""}
        return list(props.get("agentPoolProfiles") or []), context
    name = cluster.slug.rsplit("-", 1)[0]
    context = {"cluster": name, "location": "local", "node_rg": f"MC_sandbox_{name}_local",
               "subscription": "00000000-0000-0000-0000-000000000000"}
    return list(cluster.node_pools if cluster.node_pools is not None else [DEFAULT_POOL]), context


def parse_taint(text) -> dict | None:
    """AKS's nodeTaints string `key=value:Effect` (or `key:Effect`) -> a core/v1 Taint, None if malformed."""
    if not isinstance(text, str) or ":" not in text:
        return None
    pair, _sep, effect = text.rpartition(":")
    key, _eq, value = pair.partition("=")
    if not key or effect not in EFFECTS:
        return None
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def _base36(number: int, width: int = 6) -> str:
    digits = ""
    for _position in range(width):
        number, rest = divmod(number, 36)
        digits = BASE36[rest] + digits
    return digits


def scale_set_name(cluster_id: str, pool: str, windows: bool) -> str:
    """`aks-<pool>-<8 digits>-vmss` (the digits: stable per cluster), `aks<pool>` for Windows pools."""
    if windows:
        return f"aks{pool}"
    digits = int(hashlib.sha256(cluster_id.lower().encode()).hexdigest(), 16) % 10 ** 8
    return f"aks-{pool}-{digits:08d}-vmss"


def node_name(cluster_id: str, pool: str, index: int, windows: bool) -> str:
    return scale_set_name(cluster_id, pool, windows) + _base36(index)


# ---------------------------------------------------------------------- node objects
def _labels(pool, name, context, windows) -> dict:
    os_name = "windows" if windows else "linux"
    mode = str(pool.get("mode") or "User").lower()
    vm_size = pool.get("vmSize") or DEFAULT_POOL["vmSize"]
    zones = pool.get("availabilityZones") or []
    labels = {k: str(v) for k, v in (pool.get("nodeLabels") or {}).items() if isinstance(k, str)}
    labels.update({
        "agentpool": pool["name"], "kubernetes.azure.com/agentpool": pool["name"],
        "kubernetes.azure.com/mode": mode, "kubernetes.azure.com/role": "agent",
        "kubernetes.azure.com/cluster": context["node_rg"],
        "kubernetes.azure.com/os-sku": str(pool.get("osSKU") or ("Windows2022" if windows else "Ubuntu")),
        "kubernetes.azure.com/node-image-version": str(pool.get("nodeImageVersion") or "AKSUbuntu-2204gen2"),
        "beta.kubernetes.io/os": os_name, "beta.kubernetes.io/arch": "amd64",
        "kubernetes.io/os": os_name, "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": vm_size, "topology.kubernetes.io/region": context["location"],
        "topology.kubernetes.io/zone": f"{context['location']}-{zones[0]}" if zones else "0"})
    return labels


def _status(pool, name, ip, version, windows) -> dict:
    cores, gib = VM_SIZES.get(str(pool.get("vmSize") or "").lower(), (2, 8))
    memory_ki = gib * 1024 * 1024
    disk_ki = int(pool.get("osDiskSizeGB") or 128) * 1024 * 1024
    pods = str(int(pool.get("maxPods") or (30 if windows else 110)))
    capacity = {"cpu": str(cores), "memory": f"{memory_ki}Ki", "pods": pods, "ephemeral-storage": f"{disk_ki}Ki"}
    allocatable = {"cpu": f"{cores * 1000 - 100}m", "memory": f"{memory_ki * 3 // 4}Ki", "pods": pods,
                   "ephemeral-storage": f"{disk_ki * 9 // 10}Ki"}
    digest = hashlib.sha256(name.encode()).hexdigest()
    node_info = {"machineID": digest[:32], "systemUUID": digest[32:64], "bootID": digest[:8] + digest[40:64],
                 "kernelVersion": "10.0.20348.3207" if windows else "5.15.0-1089-azure",
                 "osImage": "Windows Server 2022 Datacenter" if windows else "Ubuntu 22.04.5 LTS",
                 "containerRuntimeVersion": "containerd://1.7.27-1", "kubeletVersion": f"v{version}",
                 "kubeProxyVersion": "",  # no longer reported by the kubelet (DisableNodeKubeProxyVersion)
                 "operatingSystem": "windows" if windows else "linux", "architecture": "amd64"}
    return {"capacity": capacity, "allocatable": allocatable, "nodeInfo": node_info,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}


def _node(cluster, pool, index, number, context) -> dict:
    windows = str(pool.get("osType") or "Linux").lower() == "windows"
    scale_set = scale_set_name(cluster.id, pool["name"], windows)
    name = scale_set + _base36(index)
    spec = {"providerID": f"azure:///subscriptions/{context['subscription']}/resourceGroups/"
                          f"{context['node_rg'].lower()}/providers/Microsoft.Compute/virtualMachineScaleSets/"
                          f"{scale_set}/virtualMachines/{index}",
            "podCIDR": f"10.244.{number % 256}.0/24", "podCIDRs": [f"10.244.{number % 256}.0/24"]}
    taints = [t for t in (parse_taint(x) for x in pool.get("nodeTaints") or []) if t]
    if taints:
        spec["taints"] = taints
    ip = f"10.224.{number // 250}.{number % 250 + 4}"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": _labels(pool, name, context, windows),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec, "status": _status(pool, name, ip, cluster.kubernetes_version, windows)}


def desired_nodes(cluster) -> list:
    pools, context = pools_of(cluster)
    nodes = []
    for pool in pools:
        if not isinstance(pool, dict) or not isinstance(pool.get("name"), str):
            continue
        if ((pool.get("powerState") or {}).get("code") or "Running") == "Stopped":
            continue
        try:
            count = max(int(pool.get("count") or 0), 0)
        except (TypeError, ValueError):
            count = 0
        for index in range(min(count, MAX_NODES - len(nodes))):
            nodes.append(_node(cluster, pool, index, len(nodes), context))
    return nodes


# ---------------------------------------------------------------------- sync
def _conditions(old) -> list:
    if old is not None and (old.get("status") or {}).get("conditions"):
        return old["status"]["conditions"]
    now = timestamp()
    return [{"type": t, "status": s, "reason": r, "message": m, "lastHeartbeatTime": now,
             "lastTransitionTime": now} for t, s, r, m in CONDITIONS]


def sync(cluster) -> bool:
    """Create, update and delete Node objects to match the pools; True when something changed."""
    pools, context = pools_of(cluster)
    key = json.dumps([pools, context, cluster.kubernetes_version], sort_keys=True, default=str)
    if key == cluster.node_key:
        return False
    changed = False
    wanted = desired_nodes(cluster)
    for node in wanted:
        old = cluster.get(NODE, "", node["metadata"]["name"])
        node["status"]["conditions"] = _conditions(old)
        if old is None:
            cluster.commit(NODE, cluster.stamp(NODE, node))
            changed = True
            continue
        node["metadata"] = dict(old["metadata"], labels=node["metadata"]["labels"],
                                annotations=node["metadata"]["annotations"])
        stored = cluster.commit(NODE, node, old)
        changed = changed or stored is not old
    names = {n["metadata"]["name"] for n in wanted}
    for old in cluster.items(NODE):
        if old["metadata"]["name"] not in names:
            cluster.remove(NODE, "", old["metadata"]["name"])
            changed = True
    cluster.node_key = key
    return changed


def ready_nodes(cluster) -> list:
    return [n for n in cluster.items(NODE)
            if any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (n.get("status") or {}).get("conditions") or [])]
