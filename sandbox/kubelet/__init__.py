"""The Job "kubelet": decides, like Azure and AKS would, whether an emulated Job's pod can mount its blob and
Azure Files volumes keylessly, and completes or fails the Job accordingly (a `KubeHub.job_hooks` entry).

- No such volume: the Job completes. A claim that is missing or unbound: the pod stays Pending
  (FailedScheduling), the Job stays active.
- blob.csi.azure.com volumes: `chain.BlobChain`, file.csi.azure.com volumes: `files_chain.FilesChain` check the
  keyless chain against the Kubernetes and ARM state; the first broken link fails the pod (FailedMount event, Job
  BackoffLimitExceeded). A CSIDriver without tokenRequests gives a workload identity volume a node-local
  directory instead (the mount "succeeds", nothing reaches Azure).
- The container then runs its `sh -c` probe as probe.py reads it: a leading mountinfo check can fail it (exit
  code and message of the script); a read-write blobfuse2 volume gets the probe blob in the emulated container,
  a read-write cifs volume the probe file in the share; the pod log carries what the probe prints. A `sleep N`
  keeps the pod running until the kubelet clock (running.py, POST /_sandbox/kubelet/advance) reaches it; the
  next phase's access may need a new Entra token, from the node's token file, which is stale without
  requiresRepublish.
- It also tells the hub how many nodes an AKS cluster has (its Linux agent pools), for DaemonSet status.

Counters under `kubelet` in GET /_sandbox/counters; decisions at GET /_sandbox/kubelet/decisions, blobs
written by probes at GET /_sandbox/kubelet/blobs, files at GET /_sandbox/kubelet/files, the clock at
POST /_sandbox/kubelet/advance (control API, never counted).
"""

import collections
import time

from ..arm.providers.storage.common import SHARES
from ..arm.providers.storage.shares import share_files
from ..k8s import controllers
from ..server import Response
from . import messages, probe, running
from .chain import CSIDRIVERS, BlobChain, MountFailure, token_request
from .files_chain import FilesChain
from .volumes import Unschedulable, csi_volumes

DECISION_LIMIT = 1000
COUNTERS = ("jobs_complete", "jobs_failed", "jobs_pending", "key_fetches")
CHAINS = {messages.BLOB_DRIVER: BlobChain, messages.FILE_DRIVER: FilesChain}


class Kubelet:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.store.add_config_defaults({"kubelet_require_workload_identity_label": True})
        self.store.register_section("kubelet", self)
        app.kube.job_hooks.append(self.decide)

    # ------------------------------------------------------------------ Store section protocol
    def reset(self) -> None:
        with self.store.lock:
            self.counts = dict.fromkeys(COUNTERS, 0)
            self.decisions = collections.deque(maxlen=DECISION_LIMIT)
            self.runtime = running.Runtime()

    def dump(self) -> dict:
        return {"counts": dict(self.counts), "runtime": self.runtime.dump()}

    def restore(self, data: dict) -> None:
        self.counts.update({k: int(v) for k, v in (data.get("counts") or {}).items() if k in COUNTERS})
        self.runtime.load(data.get("runtime") or {})

    def counters(self) -> dict:
        return dict(self.counts)

    # ------------------------------------------------------------------ hooks (called with the store lock)
    def decide(self, cluster, job) -> dict | None:
        pods = controllers.job_pods(cluster, job)
        if not pods:
            return None
        pod = pods[0]
        try:
            volumes = csi_volumes(cluster, pod, self.app.kube.node_count(cluster))
            mounted = [self._chain(volume.driver, cluster, pod).check(volume) for volume in volumes]
        except Unschedulable as exc:
            pod = controllers.unschedule(cluster, pod, str(exc))
            return self._record(cluster, job, pod, {"outcome": "pending"}, "scheduling", str(exc))
        except MountFailure as exc:
            decision = {"outcome": "failed", "message": exc.desc, "exit_code": 1,
                        "events": [("FailedMount", exc.event, "Warning")],
                        "logs": f"sandbox kubelet: the container did not start: {exc.event}\n"}
            return self._record(cluster, job, pod, decision, exc.step, exc.event)
        records = self.runtime.published(cluster, pod, mounted, self._token_lifetime())
        return self._start(cluster, job, pod, mounted, records)

    def _start(self, cluster, job, pod, mounted, records) -> dict:
        """The container runs the first phase of its probe script (see probe.py)."""
        script = probe.parse(pod)
        if script.guard and not probe.guard_passes(script.guard[0], probe.mountinfo(pod, mounted)):
            _pattern, message, code = script.guard
            decision = {"outcome": "failed", "exit_code": code, "logs": message + "\n"}
            return self._record(cluster, job, pod, decision, "probe", message)
        blobs = [probe.write_probe(self.store, m, job["metadata"]["name"]) for m in mounted if m.writable and m.remote]
        local = [m for m in mounted if not m.remote]
        step = "node-local" if local else "mounted" if mounted else "no-blob-volume"
        message = messages.node_local(local[0].volume.name, local[0].volume.driver) if local else ""
        logs = probe.echo_lines(script.phases[0])
        if script.sleeps:
            self.runtime.hold(cluster, job, pod, script, records, step)
            return self._record(cluster, job, pod, {"outcome": "pending", "logs": logs}, "running", message, blobs)
        decision = {"outcome": "succeeded", "exit_code": 0, "logs": logs}
        return self._record(cluster, job, pod, decision, step, message, blobs)

    def _chain(self, driver, cluster, pod):
        return CHAINS[driver](self.app, cluster, pod, key_fetch=self._count_key_fetch)

    def _token_lifetime(self) -> int:
        return int(self.store.config.get("token_lifetime", 3599))

    # ------------------------------------------------------------------ the kubelet clock
    def advance(self, seconds: int) -> list:
        """Move the kubelet clock; held probe pods whose sleep ends run their next phase, in time order, each at
        its own due time. Returns the decisions taken. Call with the store lock held."""
        target = self.runtime.now + seconds
        decided = []
        while (entry := self.runtime.next_due(target)) is not None:
            self.runtime.now = entry["resume_at"]
            if self._resume(entry):
                decided.append(self.decisions[-1])
        self.runtime.now = target
        return decided

    def _resume(self, entry) -> bool:
        """Run a held pod's next phase; True when that decided the Job (a decision was recorded)."""
        cluster = self.app.kube.clusters.get(entry["cluster"].lower())
        job, pod = running.live(cluster, entry)
        if job is None:
            self.runtime.held.remove(entry)
            return False
        script = probe.parse(pod)
        segments = script.phases[entry["phase"]]
        failure = self._access(cluster, pod, entry, segments, script)
        if failure:
            self.runtime.held.remove(entry)
            text, code, cause = failure
            decision = {"outcome": "failed", "exit_code": code, "logs": text}
            controllers.apply_job_decision(cluster, job, decision)
            self._record(cluster, job, pod, decision, "token-refresh", cause)
            return True
        logs = probe.echo_lines(segments)
        if entry["phase"] + 1 < len(script.phases):
            entry["resume_at"] += script.sleeps[entry["phase"]]
            entry["phase"] += 1
            controllers.apply_job_decision(cluster, job, {"outcome": "pending", "logs": logs})
            return False
        self.runtime.held.remove(entry)
        decision = {"outcome": "succeeded", "exit_code": 0, "logs": logs}
        controllers.apply_job_decision(cluster, job, decision)
        self._record(cluster, job, pod, decision, entry.get("step", "mounted"), "")
        return True

    def _access(self, cluster, pod, entry, segments, script) -> tuple | None:
        """A later phase's first access to each mount: blobfuse2 (Files: azfilesrefresh, for the Kerberos ticket)
        refreshes its Entra token when due, with the driver's CSIDriver republish and token expiry.
        Returns (log text, exit code, cause) of the first failure."""
        paths, now = probe.mount_paths(pod), self.runtime.now
        for mount in entry["mounts"]:
            hit = probe.first_access(segments, paths.get(mount["pod_volume"], []), script.variables)
            if hit is None or now < mount["entra_expires"] - running.REFRESH_MARGIN:
                continue
            name = mount.get("driver", messages.BLOB_DRIVER)
            driver = cluster.get(CSIDRIVERS, "", name) or {}
            republish = (driver.get("spec") or {}).get("requiresRepublish") is True
            lifetime = token_request(driver) or running.DEFAULT_TOKEN_SECONDS
            if republish:
                self.runtime.files[mount["file"]] = now
            age = now - self.runtime.files.get(mount["file"], mount["mounted_at"])
            error = self._chain(name, cluster, pod).refresh(mount["client_id"], lifetime - age)
            if error is None:
                mount["entra_expires"] = now + self._token_lifetime()
                continue
            stale = not republish and age > lifetime
            cause = messages.token_refresh_failed(pod["spec"].get("nodeName", ""), mount["volume"], error, age,
                                                  lifetime if stale else None, name)
            return f"{messages.io_error(*hit)}\n{cause}\n", probe.exit_code(hit[0]), cause
        return None

    def _count_key_fetch(self) -> None:
        self.counts["key_fetches"] += 1

    def _record(self, cluster, job, pod, decision, step, message, blobs=()) -> dict:
        outcome = decision["outcome"]
        counter = {"succeeded": "jobs_complete", "failed": "jobs_failed"}.get(outcome, "jobs_pending")
        self.counts[counter] += 1
        meta = job["metadata"]
        entry = {"time": time.time(), "cluster": cluster.id, "namespace": meta["namespace"], "job": meta["name"],
                 "pod": pod["metadata"]["name"], "outcome": outcome, "step": step, "message": message,
                 "blobs": list(blobs), "clock": self.runtime.now}
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
        router.add(r"/_sandbox/kubelet/files", self._list_files, ["GET"], "control")
        router.add(r"/_sandbox/kubelet/advance", self._advance, ["POST"], "control")

    def _list_decisions(self, request, match):
        with self.store.lock:
            return Response.json(200, {"decisions": list(self.decisions), "counters": self.counters(),
                                       "clock": self.runtime.now})

    def _advance(self, request, match):
        """POST {"seconds": N}: move the kubelet clock N seconds; -> {"now", "decisions"} (those it took)."""
        try:
            body = request.json()
        except ValueError:
            body = None
        seconds = body.get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= running.MAX_ADVANCE:
            return Response.json(400, {"error": {"code": "BadRequest", "message": f"seconds must be an integer "
                                                 f"from 0 to {running.MAX_ADVANCE}"}})
        with self.store.lock:
            decided = self.advance(seconds)
            return Response.json(200, {"now": self.runtime.now, "decisions": decided})

    def _list_blobs(self, request, match):
        """{container id: {blob name: blob}} for every emulated container holding blobs."""
        with self.store.lock:
            found = {self.store.resources[key]["id"]: dict(data["blobs"]) for key, data in self.store.hidden.items()
                     if isinstance(data, dict) and data.get("blobs") and key in self.store.resources}
        return Response.json(200, {"containers": found})

    def _list_files(self, request, match):
        """{share id: {file name: record}} for every share holding files written through a mount."""
        with self.store.lock:
            found = {share["id"]: share_files(self.store, share["id"]) for share in self.store.of_type(SHARES)}
        return Response.json(200, {"shares": {k: v for k, v in found.items() if v}})


__all__ = ["Kubelet", "messages"]
