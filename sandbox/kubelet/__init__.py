"""The Job "kubelet": decides, like Azure and AKS would, whether an emulated Job's pod can mount its blob
volumes keylessly, and completes or fails the Job accordingly (a `KubeHub.job_hooks` entry).

- No blob volume: the Job completes. A claim that is missing or unbound: the pod stays Pending
  (FailedScheduling), the Job stays active.
- Blob volumes: `chain.Chain` checks the keyless chain against the Kubernetes and ARM state; the first broken
  link fails the pod (FailedMount event, Job BackoffLimitExceeded). On success a read-write volume gets the
  probe blob in the emulated container and the pod log carries what the probe prints.
- It also tells the hub how many nodes an AKS cluster has (its Linux agent pools), for DaemonSet status.

Counters under `kubelet` in GET /_sandbox/counters; decisions at GET /_sandbox/kubelet/decisions, blobs
written by probes at GET /_sandbox/kubelet/blobs (control API, never counted).
"""

import collections
import time

from ..k8s import controllers
from ..server import Response
from . import messages, probe
from .chain import Chain, MountFailure
from .volumes import Unschedulable, blob_volumes

MANAGED_CLUSTERS = "Microsoft.ContainerService/managedClusters"
DECISION_LIMIT = 1000
COUNTERS = ("jobs_complete", "jobs_failed", "jobs_pending", "key_fetches")


class Kubelet:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.store.add_config_defaults({"kubelet_require_workload_identity_label": True})
        self.store.register_section("kubelet", self)
        app.kube.job_hooks.append(self.decide)
        app.kube.node_count_hooks.append(self.node_count)

    # ------------------------------------------------------------------ Store section protocol
    def reset(self) -> None:
        with self.store.lock:
            self.counts = dict.fromkeys(COUNTERS, 0)
            self.decisions = collections.deque(maxlen=DECISION_LIMIT)

    def dump(self) -> dict:
        return {"counts": dict(self.counts)}

    def restore(self, data: dict) -> None:
        self.counts.update({k: int(v) for k, v in (data.get("counts") or {}).items() if k in COUNTERS})

    def counters(self) -> dict:
        return dict(self.counts)

    # ------------------------------------------------------------------ hooks (called with the store lock)
    def node_count(self, cluster) -> int | None:
        record = self.store.get(cluster.id)
        if not record or record.get("type", "").lower() != MANAGED_CLUSTERS.lower():
            return None
        pools = record.get("properties", {}).get("agentPoolProfiles") or []
        return sum(int(p.get("count") or 0) for p in pools if (p.get("osType") or "Linux") == "Linux") or None

    def decide(self, cluster, job) -> dict | None:
        pods = controllers.job_pods(cluster, job)
        if not pods:
            return None
        pod = pods[0]
        try:
            volumes = blob_volumes(cluster, pod, self.app.kube.node_count(cluster))
            checker = Chain(self.app, cluster, pod, key_fetch=self._count_key_fetch)
            mounted = [checker.check(volume) for volume in volumes]
        except Unschedulable as exc:
            pod = controllers.unschedule(cluster, pod, str(exc))
            return self._record(cluster, job, pod, {"outcome": "pending"}, "scheduling", str(exc))
        except MountFailure as exc:
            decision = {"outcome": "failed", "message": exc.desc, "exit_code": 1,
                        "events": [("FailedMount", exc.event, "Warning")],
                        "logs": f"sandbox kubelet: the container did not start: {exc.event}\n"}
            return self._record(cluster, job, pod, decision, exc.step, exc.event)
        blobs = []
        for m in (m for m in mounted if m.writable):
            name = probe.write_probe_blob(self.store, m.container_id, job["metadata"]["name"], m.client_id)
            blobs.append(f"{m.container_id}/{name}")
        decision = {"outcome": "succeeded", "exit_code": 0, "logs": probe.log_text(pod)}
        return self._record(cluster, job, pod, decision, "mounted" if mounted else "no-blob-volume", "", blobs)

    def _count_key_fetch(self) -> None:
        self.counts["key_fetches"] += 1

    def _record(self, cluster, job, pod, decision, step, message, blobs=()) -> dict:
        outcome = decision["outcome"]
        counter = {"succeeded": "jobs_complete", "failed": "jobs_failed"}.get(outcome, "jobs_pending")
        self.counts[counter] += 1
        meta = job["metadata"]
        entry = {"time": time.time(), "cluster": cluster.id, "namespace": meta["namespace"], "job": meta["name"],
                 "pod": pod["metadata"]["name"], "outcome": outcome, "step": step, "message": message,
                 "blobs": list(blobs)}
        self.decisions.append(entry)
        self.store.record({"time": entry["time"], "method": "KUBELET", "query": "", "status": outcome,
                           "path": f"/k8s/{cluster.slug}/apis/batch/v1/namespaces/{meta['namespace']}/jobs/"
                                   f"{meta['name']}", "resource_type": "jobs.batch", "kind": "kubelet",
                           "user_agent": "sandbox-kubelet", "duration_ms": 0.0, "fault": False, "step": step})
        return decision

    # ------------------------------------------------------------------ control API
    def register_routes(self, router):
        router.add(r"/_sandbox/kubelet/decisions", self._list_decisions, ["GET"], "control")
        router.add(r"/_sandbox/kubelet/blobs", self._list_blobs, ["GET"], "control")

    def _list_decisions(self, request, match):
        with self.store.lock:
            return Response.json(200, {"decisions": list(self.decisions), "counters": self.counters()})

    def _list_blobs(self, request, match):
        """{container id: {blob name: blob}} for every emulated container holding blobs."""
        with self.store.lock:
            found = {self.store.resources[key]["id"]: dict(data["blobs"]) for key, data in self.store.hidden.items()
                     if isinstance(data, dict) and data.get("blobs") and key in self.store.resources}
        return Response.json(200, {"containers": found})


__all__ = ["Kubelet", "messages"]
