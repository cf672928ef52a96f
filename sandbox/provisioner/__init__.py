"""The blob CSI driver's controller as dynamic provisioning sees it: external-provisioner (csi-provisioner v6.3.0
with sig-storage-lib-external-provisioner v13) in front of the driver's CreateVolume/DeleteVolume (driver.py),
calling ARM as the controller identity (arm.py). Registered as KubeHub claim, volume and request hooks:

- a claim of a `blob.csi.azure.com` StorageClass is provisioned only while the Deployment `csi-blob-controller`
  has an available replica; events Provisioning, then ProvisioningSucceeded (PV `pvc-<claim uid>` created and
  bound) or ProvisioningFailed (the gRPC error; InvalidArgument ones "infeasible", retried slowly);
- retries count requests to the cluster, never seconds: a failed claim is tried again once
  `provisioner_retry_requests` more requests have reached its cluster (`provisioner_slow_retry_requests` for an
  infeasible error, or at once when its StorageClass was recreated);
- a Released volume it provisioned with reclaimPolicy Delete: DeleteVolume, then the PV is deleted (its finalizers
  removed); a failure leaves it Released with a VolumeFailedDelete event, retried like a claim.
Counters under `provisioner` in GET /_sandbox/counters; decisions at GET /_sandbox/provisioner/decisions.
"""

import calendar
import collections
import hashlib
import time
import uuid

from ..entra import EntraError
from ..k8s import controllers, kinds, protection, workloads
from ..k8s.meta import timestamp
from ..kubelet import messages
from ..oidc import OidcError
from ..server import Response
from . import driver

COUNTERS = ("volumes_provisioned", "provisioning_failed", "volumes_deleted", "deletion_failed", "arm_writes",
            "key_fetches")
CONFIG_DEFAULTS = {"provisioner_retry_requests": 2, "provisioner_slow_retry_requests": 10}
DECISION_LIMIT = 1000
DEPLOYMENT = "csi-blob-controller"
K = kinds.BY_KEY
DEPLOYMENTS, SA, PV, PVC = K["apps/deployments"], K["/serviceaccounts"], K["/persistentvolumes"], \
    K["/persistentvolumeclaims"]
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
PV_FINALIZER = "external-provisioner.volume.kubernetes.io/finalizer"
DELETION_SECRETS = ("volume.kubernetes.io/provisioner-deletion-secret-name",
                    "volume.kubernetes.io/provisioner-deletion-secret-namespace")
CLIENT_ID = "azure.workload.identity/client-id"


def controller_deployment(cluster) -> dict | None:
    """The driver's controller Deployment with at least one available replica (any namespace: the chart's)."""
    for deployment in cluster.items(DEPLOYMENTS):
        if (deployment["metadata"]["name"] == DEPLOYMENT
                and int((deployment.get("status") or {}).get("availableReplicas") or 0) >= 1):
            return deployment
    return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def event_component(deployment) -> str:
    """external-provisioner's event source: <driver>_<hostname (the pod)>_<uuid>."""
    uid = deployment["metadata"].get("uid", "")
    template = (deployment.get("spec") or {}).get("template") or {}
    pod = f"{DEPLOYMENT}-{workloads.template_hash(template)}-{_digest(uid)[:5]}"
    return f"{messages.BLOB_DRIVER}_{pod}_{uuid.UUID(_digest(uid)[:32])}"


def provisioner_identity(deployment) -> str:
    """csi-provisioner's identity: <start time in ms>-<random 0..9999>-<driver> (the pod starts with the Deployment)."""
    meta = deployment["metadata"]
    try:
        started = calendar.timegm(time.strptime(meta.get("creationTimestamp", ""), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        started = 0
    return f"{started * 1000}-{int(_digest(meta.get('uid', '')), 16) % 10000}-{messages.BLOB_DRIVER}"


def _requested(claim) -> str:
    return (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or "0"


class BlobProvisioner:
    def __init__(self, app):
        self.app = app
        self.store = app.store
        self.store.add_config_defaults(CONFIG_DEFAULTS)
        self.store.register_section("provisioner", self)
        app.kube.claim_hooks.append(self.provision)
        app.kube.volume_hooks.append(self.reclaim)
        app.kube.request_hooks.append(self.retry)

    # ------------------------------------------------------------------ Store section protocol
    def reset(self) -> None:
        with self.store.lock:
            self.counts = dict.fromkeys(COUNTERS, 0)
            self.decisions = collections.deque(maxlen=DECISION_LIMIT)
            self.retries = {}   # claim or volume uid -> {"cluster", "due", "slow", "class_uid"}

    def dump(self) -> dict:
        return {"counts": dict(self.counts), "retries": dict(self.retries)}

    def restore(self, data: dict) -> None:
        self.counts.update({k: int(v) for k, v in (data.get("counts") or {}).items() if k in COUNTERS})
        self.retries.update(data.get("retries") or {})

    def counters(self) -> dict:
        return dict(self.counts)

    # ------------------------------------------------------------------ retries (request hook)
    def _config(self, key) -> int:
        return max(int(self.store.config.get(key, CONFIG_DEFAULTS[key]) or 0), 1)

    def _due(self, cluster, uid, class_uid="") -> bool:
        entry = self.retries.get(uid)
        if entry is None:
            return True
        return cluster.requests >= entry["due"] or bool(entry["slow"] and class_uid and class_uid != entry["class_uid"])

    def _postpone(self, cluster, uid, slow=False, class_uid="") -> None:
        wait = self._config("provisioner_slow_retry_requests" if slow else "provisioner_retry_requests")
        self.retries[uid] = {"cluster": cluster.id, "due": cluster.requests + wait, "slow": slow,
                             "class_uid": class_uid}

    def retry(self, cluster) -> None:
        """One more request to the cluster: run the PV controller again when a claim or volume is due."""
        if controller_deployment(cluster) is None:
            return
        live = {obj["metadata"].get("uid") for kind in (PV, PVC) for obj in cluster.items(kind)}
        for uid in [u for u, e in self.retries.items() if e["cluster"] == cluster.id and u not in live]:
            del self.retries[uid]
        waiting = [c for c in cluster.items(PVC) if (c.get("status") or {}).get("phase") == "Pending"
                   and not (c.get("spec") or {}).get("volumeName") and (c["metadata"].get("annotations") or {})
                   .get(controllers.PROVISIONER_ANNOTATIONS[0]) == messages.BLOB_DRIVER]
        released = [v for v in cluster.items(PV) if self._deletable(v)]
        if any(self._due(cluster, o["metadata"]["uid"]) for o in waiting + released):
            controllers.bind_volumes(cluster)

    # ------------------------------------------------------------------ provisioning (claim hook)
    def provision(self, cluster, claim, storage_class) -> bool:
        if storage_class.get("provisioner") != messages.BLOB_DRIVER:
            return False
        deployment = controller_deployment(cluster)
        uid = claim["metadata"]["uid"]
        pv_name = f"pvc-{uid}"
        if deployment is None or cluster.get(PV, "", pv_name) is not None:
            return False   # no controller: the claim waits; an existing volume: the binder's business
        if not self._due(cluster, uid, storage_class["metadata"].get("uid", "")):
            return False
        component = event_component(deployment)
        meta = claim["metadata"]
        controllers.record_event(cluster, claim, "Provisioning", messages.provisioning(meta["namespace"], meta["name"]),
                                 component=component)
        ctl = self._controller(cluster, deployment)
        try:
            volume = driver.create_volume(self.app, ctl, storage_class, claim, pv_name, self._bytes(claim))
        except driver.CsiError as exc:
            self._provision_failed(cluster, claim, storage_class, exc, component)
            return False
        finally:
            self.counts["arm_writes"] += len(ctl.arm_writes)
        self._create_volume(cluster, claim, storage_class, pv_name, volume, deployment)
        controllers.record_event(cluster, claim, "ProvisioningSucceeded", messages.provisioned(pv_name),
                                 component=component)
        self.retries.pop(uid, None)
        self.counts["volumes_provisioned"] += 1
        self._decide(cluster, "provision", claim, "succeeded", pv_name)
        return True

    @staticmethod
    def _bytes(claim) -> int:
        value = controllers.quantity(_requested(claim))
        return int(value or 0)

    def _provision_failed(self, cluster, claim, storage_class, exc, component) -> None:
        slow = exc.grpc and exc.code == "InvalidArgument"
        message = messages.infeasible(exc.text) if slow else exc.text
        controllers.record_event(cluster, claim, "ProvisioningFailed", message, "Warning", component)
        self._postpone(cluster, claim["metadata"]["uid"], slow, storage_class["metadata"].get("uid", ""))
        self.counts["provisioning_failed"] += 1
        self._decide(cluster, "provision", claim, "failed", message)

    def _create_volume(self, cluster, claim, storage_class, pv_name, volume, deployment) -> None:
        """The PV external-provisioner stores (createVolumeOperation + the lib's claimRef and annotations), written
        like an API create (protection finalizer), Available for the binder's next pass."""
        policy = storage_class.get("reclaimPolicy") or "Delete"
        attributes = {"storage.kubernetes.io/csiProvisionerIdentity": provisioner_identity(deployment),
                      **volume.context}
        spec = {"accessModes": list(claim["spec"].get("accessModes") or []),
                "capacity": {"storage": _requested(claim)},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": claim["metadata"]["namespace"],
                             "name": claim["metadata"]["name"], "uid": claim["metadata"]["uid"], "apiVersion": "v1",
                             "resourceVersion": claim["metadata"].get("resourceVersion")},
                "persistentVolumeReclaimPolicy": policy, "storageClassName": storage_class["metadata"]["name"],
                "volumeMode": claim["spec"].get("volumeMode") or "Filesystem",
                "csi": {"driver": messages.BLOB_DRIVER, "volumeHandle": volume.volume_id,
                        "volumeAttributes": attributes}}
        if storage_class.get("mountOptions"):
            spec["mountOptions"] = list(storage_class["mountOptions"])
        pv = {"metadata": {"name": pv_name, "annotations": {PROVISIONED_BY: messages.BLOB_DRIVER,
                                                            **dict.fromkeys(DELETION_SECRETS, "")},
                           "finalizers": [PV_FINALIZER] if policy == "Delete" else []},
              "spec": spec, "status": {"phase": "Available"}}
        protection.add_finalizer(PV, pv)
        controllers.put(cluster, PV, pv)

    def _controller(self, cluster, deployment) -> driver.Controller:
        """The controller's ARM identity: its own workload identity (the chart's workloadIdentity.clientID: the
        ServiceAccount annotation and the pod label), else the node's cloud config (AKS: the kubelet identity)."""
        managed = self.store.get(cluster.id) or {}
        props = managed.get("properties") or {}
        group = props.get("nodeResourceGroup", "")
        template = (deployment.get("spec") or {}).get("template") or {}
        namespace = deployment["metadata"]["namespace"]
        sa_name = (template.get("spec") or {}).get("serviceAccountName") or "default"
        account = cluster.get(SA, namespace, sa_name) or {"metadata": {}}
        client_id = (account["metadata"].get("annotations") or {}).get(CLIENT_ID)
        labelled = ((template.get("metadata") or {}).get("labels") or {}).get(messages.WI_LABEL) == "true"
        if client_id and labelled:
            return self._workload_identity(cluster, namespace, sa_name, client_id, group)
        kubelet = (props.get("identityProfile") or {}).get("kubeletidentity") or {}
        if kubelet.get("objectId"):
            return driver.Controller(kubelet["objectId"], group, key_fetch=self._count_key_fetch)
        return driver.Controller(None, group, messages.no_cloud_config(cluster.id), key_fetch=self._count_key_fetch)

    def _workload_identity(self, cluster, namespace, sa_name, client_id, group) -> driver.Controller:
        def refused(text):
            return driver.Controller(None, group, text, key_fetch=self._count_key_fetch)
        if not cluster.oidc_issuer_url:
            return refused(messages.no_issuer(cluster.id))
        subject = f"system:serviceaccount:{namespace}:{sa_name}"
        try:
            token = self.app.oidc.mint(cluster.oidc_issuer_url, subject, messages.TOKEN_AUDIENCE)
            principal = self.app.entra.exchange_assertion(client_id, token)
        except EntraError as exc:
            return refused(messages.controller_token_failed(str(exc)))
        except OidcError as exc:
            return refused(f"sandbox: cannot mint a service account token for {subject}: {exc}")
        return driver.Controller(principal["object_id"], group, key_fetch=self._count_key_fetch)

    def _count_key_fetch(self) -> None:
        self.counts["key_fetches"] += 1

    # ------------------------------------------------------------------ deletion (volume hook)
    @staticmethod
    def _deletable(volume) -> bool:
        """The lib's shouldDelete: a Released volume this driver provisioned whose reclaim policy is Delete."""
        spec = volume.get("spec") or {}
        return ((volume["metadata"].get("annotations") or {}).get(PROVISIONED_BY) == messages.BLOB_DRIVER
                and (volume.get("status") or {}).get("phase") == "Released"
                and spec.get("persistentVolumeReclaimPolicy") == "Delete"
                and (spec.get("csi") or {}).get("driver") == messages.BLOB_DRIVER)

    def reclaim(self, cluster, volume) -> None:
        deployment = controller_deployment(cluster)
        uid = volume["metadata"]["uid"]
        if deployment is None or not self._deletable(volume) or not self._due(cluster, uid):
            return
        ctl = self._controller(cluster, deployment)
        try:
            driver.delete_volume(self.app, ctl, volume["spec"]["csi"].get("volumeHandle", ""))
        except driver.CsiError as exc:
            controllers.record_event(cluster, volume, "VolumeFailedDelete", exc.text, "Warning",
                                     event_component(deployment))
            self._postpone(cluster, uid)
            self.counts["deletion_failed"] += 1
            self._decide(cluster, "delete", volume, "failed", exc.text)
            return
        finally:
            self.counts["arm_writes"] += len(ctl.arm_writes)
        self.retries.pop(uid, None)
        self.counts["volumes_deleted"] += 1
        self._decide(cluster, "delete", volume, "succeeded", "")
        self._delete_object(cluster, volume)

    @staticmethod
    def _delete_object(cluster, volume) -> None:
        """The lib deletes the PV object and drops its own finalizer; pv-protection lets it go (not Bound)."""
        def mark(o):
            o["metadata"].setdefault("deletionTimestamp", timestamp())
            o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers") or [] if f != PV_FINALIZER]
        marked = controllers.update(cluster, PV, volume, mark)
        if not marked["metadata"]["finalizers"]:
            cluster.remove(PV, "", marked["metadata"]["name"])
            controllers.after_delete(cluster, PV, marked)
            return
        protection.release(cluster, controllers.after_delete)

    # ------------------------------------------------------------------ decisions and control API
    def _decide(self, cluster, operation, obj, outcome, detail) -> None:
        meta = obj["metadata"]
        self.decisions.append({"time": time.time(), "cluster": cluster.id, "operation": operation,
                               "namespace": meta.get("namespace", ""), "name": meta["name"], "outcome": outcome,
                               "detail": detail, "request": cluster.requests})

    def register_routes(self, router):
        router.add(r"/_sandbox/provisioner/decisions", self._list_decisions, ["GET"], "control")

    def _list_decisions(self, request, match):
        with self.store.lock:
            return Response.json(200, {"decisions": list(self.decisions), "counters": self.counters()})


__all__ = ["BlobProvisioner"]
