"""The kubelet clock, the driver's token files on each node and the probe pods that are still running.

- Clock: the kubelet's own seconds (starts at 0; only POST /_sandbox/kubelet/advance moves it), so tests age
  service account tokens without waiting. Entra still checks expiry against the wall clock: a token that is
  `age` kubelet-seconds old is minted with `expirationSeconds - age` seconds left.
- Token files: driver 1.27.9 (pkg/blob/blob.go, GetAuthEnv with mountWithWorkloadIdentityToken) writes the
  token the kubelet passes in NodePublishVolume to `/var/lib/kubelet/plugins/blob.csi.azure.com/<clientID>-
  <account>` and hands blobfuse2 AZURE_OAUTH_TOKEN_FILE: one file per node, clientID and account, shared by
  every mount of that pair. It is rewritten by every NodePublishVolume with a token: a new pod's mount, and a
  republish (CSIDriver `requiresRepublish: true`: the kubelet calls NodePublishVolume again on its pod syncs,
  and `canSkipRepublishNodeStage` never skips a mountWithWorkloadIdentityToken volume). Each pod has its own
  blobfuse2 mount (NodePublishVolume calls NodeStageVolume on the pod's target path when it has a token).
- Azure Files driver v1.35.7 (pkg/azurefile/azurefile.go, GetAccountInfo) writes the token to
  `/var/lib/kubelet/plugins/file.csi.azure.com/<clientID>-<account>-<sha256(volumeID)[:8]>`: one file per
  volume; every NodePublishVolume with a token rewrites it (`canSkipRepublishNodeStage` is false for token
  mounts, ns:1222-1228), and azfilesrefresh renews the Kerberos ticket from it.
- blobfuse2 (Files: azfilesrefresh) keeps the Entra token it got at mount and, when a later access finds it
  within REFRESH_MARGIN of its expiry (config `token_lifetime`, the sandbox Entra's lifetime), exchanges the
  file's token again.
"""

import hashlib


from ..k8s import controllers, kinds
from ..k8s.meta import timestamp

POD, JOB = kinds.BY_KEY["/pods"], kinds.BY_KEY["batch/jobs"]
DEFAULT_TOKEN_SECONDS = 3600   # TokenRequest's default expirationSeconds (a token request without one)
REFRESH_MARGIN = 300   # seconds before expiry at which an Azure SDK credential gets a new token (azcore)
MAX_ADVANCE = 10 * 365 * 86400


class Runtime:
    """State under the store lock; `dump()`/`load()` keep it across a sandbox restart."""

    def __init__(self):
        self.now = 0
        self.files = {}   # "cluster|node|clientID-account" (lower case) -> kubelet time it was written
        self.held = []    # running probe pods, see hold()

    def dump(self) -> dict:
        return {"now": self.now, "files": dict(self.files), "held": [dict(h) for h in self.held]}

    def load(self, data: dict) -> None:
        self.now = int(data.get("now") or 0)
        self.files = {str(k): int(v) for k, v in (data.get("files") or {}).items()}
        self.held = [h for h in data.get("held") or [] if isinstance(h, dict)]

    @staticmethod
    def file_key(cluster, pod, mounted) -> str:
        node = (pod.get("spec") or {}).get("nodeName") or ""
        name = f"{mounted.client_id}-{mounted.account}"
        if mounted.share:   # the Files driver's token file is per volume
            name += "-" + hashlib.sha256(mounted.volume.volume_handle.encode()).hexdigest()[:8]
        return f"{cluster.id}|{node}|{name}".lower()

    def published(self, cluster, pod, mounted, token_lifetime) -> list:
        """NodePublishVolume with a token for every blobfuse2 / cifs mount: the token files are (re)written now.
        Returns the mount records a held pod keeps."""
        records = []
        for m in mounted:
            if not m.remote or not m.client_id:
                continue
            key = self.file_key(cluster, pod, m)
            self.files[key] = self.now
            records.append({"volume": m.volume.name, "pod_volume": m.volume.pod_volume, "client_id": m.client_id,
                            "file": key, "mounted_at": self.now, "entra_expires": self.now + token_lifetime,
                            "driver": m.volume.driver})
        return records

    def hold(self, cluster, job, pod, script, records, step) -> None:
        """The pod runs on: its next phase is due `script.sleeps[0]` seconds from now; `step` is the decision
        step its completion will have."""
        self.held.append({"cluster": cluster.id, "namespace": job["metadata"]["namespace"],
                          "job": job["metadata"]["name"], "pod": pod["metadata"]["name"],
                          "pod_uid": pod["metadata"].get("uid", ""), "phase": 1,
                          "resume_at": self.now + script.sleeps[0], "mounts": records, "step": step})
        run_pod(cluster, job, pod)

    def next_due(self, until: int) -> dict | None:
        due = [h for h in self.held if h["resume_at"] <= until]
        return min(due, key=lambda h: h["resume_at"]) if due else None


def run_pod(cluster, job, pod) -> None:
    """Pod Running and Ready, its container running; the Job counts it as ready."""
    now = timestamp()

    def running(o):
        o["status"] = {
            "phase": "Running", "startTime": now, "qosClass": (o.get("status") or {}).get("qosClass", "BestEffort"),
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                           for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
            "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": True,
                                   "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}
                                  for c in o["spec"].get("containers") or []]}
    controllers.update(cluster, POD, pod, running)
    current = cluster.get(JOB, job["metadata"]["namespace"], job["metadata"]["name"])
    if current is not None:
        controllers.update(cluster, JOB, current, lambda o: o.setdefault("status", {}).update(ready=1))


def live(cluster, entry) -> tuple:
    """(job, pod) of a held entry, or (None, None) when either is gone (deleted, or replaced)."""
    if cluster is None:
        return None, None
    job = cluster.get(JOB, entry["namespace"], entry["job"])
    pod = cluster.get(POD, entry["namespace"], entry["pod"])
    if job is None or pod is None or pod["metadata"].get("uid", "") != entry["pod_uid"]:
        return None, None
    return job, pod
