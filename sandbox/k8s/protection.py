"""Deletions that wait, as on a real cluster: storage-object-in-use protection and graceful pod termination.

Facts (Kubernetes v1.34):
- StorageObjectInUseProtection admission (plugin/pkg/admission/storage/storageobjectinuseprotection) adds the
  finalizer `kubernetes.io/pvc-protection` to every new PersistentVolumeClaim and `kubernetes.io/pv-protection` to
  every new PersistentVolume. A deleted object keeps existing (deletionTimestamp set, `Terminating`) until the
  finalizer is removed.
- The pvc-protection controller (pkg/controller/volume/pvcprotection) removes it once no pod that is *scheduled*
  (spec.nodeName set) references the claim in spec.volumes, whatever the pod's phase: a completed Job's pod holds
  the claim until the pod itself is deleted.
- The pv-protection controller (pkg/controller/volume/pvprotection) removes it once the volume is not Bound.
- Pods (pkg/registry/core/pod/strategy.go CheckGracefulDelete): a pod that is not scheduled, or has Succeeded or
  Failed, is deleted at once; any other waits for its kubelet, `gracePeriodSeconds` of the DeleteOptions or else
  `spec.terminationGracePeriodSeconds` (default 30); 0 deletes at once.
Time is counted in requests, never in seconds: the emulated kubelet removes a terminating pod when the
`pod_termination_requests`-th request to its cluster after the deletion arrives (default 2: the next request
still sees it `Terminating`).
"""

import copy
import time

from . import kinds
from .meta import timestamp

PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
FINALIZER_OF = {"PersistentVolumeClaim": PVC_PROTECTION, "PersistentVolume": PV_PROTECTION}
CONFIG_DEFAULTS = {"pod_termination_requests": 2}
RELEASE_ROUNDS = 10   # a claim, then its volume: a few rounds always settle
POD, PV, PVC = kinds.BY_KEY["/pods"], kinds.BY_KEY["/persistentvolumes"], kinds.BY_KEY["/persistentvolumeclaims"]


def add_finalizer(kind, obj) -> None:
    """Admission on create: the protection finalizer of a claim or a volume."""
    finalizer = FINALIZER_OF.get(kind.kind)
    if finalizer:
        finalizers = obj["metadata"].setdefault("finalizers", [])
        if finalizer not in finalizers:
            finalizers.append(finalizer)


# ---------------------------------------------------------------------- pods
def grace_seconds(pod, options) -> int:
    """How long a pod's deletion waits for its kubelet (0: deleted at once)."""
    spec, phase = pod.get("spec") or {}, (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        return 0
    given = options.get("gracePeriodSeconds")
    if given is not None:
        return max(int(given), 0)
    pending = pod["metadata"].get("deletionGracePeriodSeconds")
    if pending is not None:
        return int(pending)  # already terminating: a repeated delete changes nothing
    return int(spec.get("terminationGracePeriodSeconds", 30))


def mark_terminating(cluster, pod, grace, dry_run) -> dict:
    """The pod as it is while its kubelet stops it; the countdown starts with this request."""
    marked = copy.deepcopy(pod)
    meta = marked["metadata"]
    meta.setdefault("deletionTimestamp", timestamp(time.time() + grace))
    meta["deletionGracePeriodSeconds"] = grace
    if dry_run:
        return marked
    key = (meta["namespace"], meta["name"])
    cluster.terminating.setdefault(key, cluster.requests + _countdown(cluster))
    return cluster.commit(POD, marked, pod)


def _countdown(cluster) -> int:
    return max(int(cluster.store.config.get("pod_termination_requests", 2) or 0), 1)


def tick(cluster, after_delete) -> None:
    """One more request to the cluster: remove the terminating pods whose countdown ended."""
    cluster.requests += 1
    for key, due in list(cluster.terminating.items()):
        if cluster.requests < due:
            continue
        del cluster.terminating[key]
        pod = cluster.get(POD, *key)
        if pod is not None and pod["metadata"].get("deletionTimestamp") and not pod["metadata"].get("finalizers"):
            cluster.remove(POD, *key)
            after_delete(cluster, POD, pod)
    for pod in cluster.items(POD):   # Terminating pods restored from a state file get a countdown again
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if pod["metadata"].get("deletionGracePeriodSeconds") and key not in cluster.terminating:
            cluster.terminating[key] = cluster.requests + _countdown(cluster)


# ---------------------------------------------------------------------- claims and volumes
def claim_users(cluster, claim) -> list:
    """Names of the scheduled pods that reference ``claim`` (what keeps it from being deleted)."""
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    return [pod["metadata"]["name"] for pod in cluster.items(POD, namespace)
            if (pod.get("spec") or {}).get("nodeName") and any(
                ((volume or {}).get("persistentVolumeClaim") or {}).get("claimName") == name
                for volume in (pod.get("spec") or {}).get("volumes") or [])]


def _releasable(cluster, kind, obj) -> bool:
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or FINALIZER_OF[kind.kind] not in (meta.get("finalizers") or []):
        return False
    if kind is PVC:
        return not claim_users(cluster, obj)
    return (obj.get("status") or {}).get("phase") != "Bound"


def release(cluster, after_delete) -> None:
    """The pvc-protection and pv-protection controllers: drop the finalizer of every deleted claim no scheduled pod
    uses and of every deleted volume that is no longer Bound; an object left without finalizers is removed."""
    if cluster.releasing:
        return  # called again from a removal below: the loop here picks the consequences up
    cluster.releasing = True
    try:
        for _round in range(RELEASE_ROUNDS):
            due = [(kind, obj) for kind in (PVC, PV) for obj in cluster.items(kind) if _releasable(cluster, kind, obj)]
            if not due:
                return
            for kind, obj in due:
                _drop_finalizer(cluster, kind, obj, after_delete)
    finally:
        cluster.releasing = False


def _drop_finalizer(cluster, kind, obj, after_delete) -> None:
    new = copy.deepcopy(obj)
    new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != FINALIZER_OF[kind.kind]]
    if new["metadata"]["finalizers"]:
        cluster.commit(kind, new, obj)
        return
    cluster.remove(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"])
    after_delete(cluster, kind, obj)
