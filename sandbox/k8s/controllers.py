"""The controllers the emulation needs, run synchronously after each committed write.

- namespaces: phase Active, a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap; deleting
  a namespace deletes its objects at once (no Terminating period).
- garbage collection: deleting an owner deletes (Background/Foreground) or orphans its dependents.
- PV/PVC binder: binds a claim to the volume it names (or an available matching one) when capacity,
  access modes, volume mode, storage class and claimRef fit; Released/Lost afterwards; FailedBinding
  events say why not. A claim of a StorageClass that no volume matches waits for its external
  provisioner (storage-provisioner annotations, ExternalProvisioning event) and is offered to
  `hub.claim_hooks`; Released volumes are offered to `hub.volume_hooks` (their reclaim policy).
- jobs: one pod per Job, then `hub.on_job_created(cluster, job)` asks the registered job hooks (the
  later "kubelet") for a decision; `apply_job_decision()` completes, fails or parks the Job.
- Deployments/DaemonSets/StatefulSets/ReplicaSets: readiness decided from the nodes and the template's
  ServiceAccount (workloads.py; no pods are created for them); a new ServiceAccount re-evaluates the
  workloads of its namespace.

Controllers write with `cluster.commit()` directly (no validation, no field ownership), and only when
something changed, so resourceVersions stay stable.
"""

import contextlib
import copy
import secrets

from . import kinds, protection, scheduling, workloads
from .meta import generated_name, timestamp
from .quantity import parse as quantity

K = kinds.BY_KEY
NS, SA, CM, POD, PV, PVC, EVENT = (K["/namespaces"], K["/serviceaccounts"], K["/configmaps"], K["/pods"],
                                   K["/persistentvolumes"], K["/persistentvolumeclaims"], K["/events"])
JOB = K["batch/jobs"]
SC = K["storage.k8s.io/storageclasses"]
NO_PROVISIONER = "kubernetes.io/no-provisioner"
PROVISIONER_ANNOTATIONS = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
PV_CONTROLLER = "persistentvolume-controller"
WORKLOADS = workloads.WORKLOADS
EVENT_LIMIT = 2000      # events kept per cluster (oldest dropped)
GC_DEPTH = 5
NODE_NAME = "aks-nodepool1-00000000-vmss000000"  # a pod's node when the cluster has no node at all
NODE = K["/nodes"]


# ---------------------------------------------------------------------- small write helpers
def put(cluster, kind, obj, old=None) -> dict:
    """Create (old None) or update an object on behalf of a controller."""
    if old is None:
        cluster.stamp(kind, obj)
    return cluster.commit(kind, obj, old)


def update(cluster, kind, obj, mutate) -> dict:
    new = copy.deepcopy(obj)
    mutate(new)
    return cluster.commit(kind, new, obj)


def record_event(cluster, involved: dict, reason: str, message: str, type_: str = "Normal",
                 component: str = "sandbox") -> dict | None:
    """Add a core/v1 Event about `involved`, or bump the count of an identical latest one."""
    meta = involved.get("metadata") or {}
    namespace = meta.get("namespace") or "default"
    if not cluster.namespace_exists(namespace):
        return None
    for event in reversed(cluster.items(EVENT, namespace)[-20:]):
        ref = event.get("involvedObject") or {}
        if (ref.get("uid") == meta.get("uid") and event.get("reason") == reason
                and event.get("message") == message):
            return update(cluster, EVENT, event, lambda e: e.update(count=e.get("count", 1) + 1,
                                                                    lastTimestamp=timestamp()))
    now = timestamp()
    event = {"metadata": {"name": f"{meta.get('name')}.{secrets.token_hex(8)}", "namespace": namespace},
             "involvedObject": {"kind": involved.get("kind"), "namespace": meta.get("namespace"),
                                "name": meta.get("name"), "uid": meta.get("uid"),
                                "apiVersion": involved.get("apiVersion"),
                                "resourceVersion": meta.get("resourceVersion")},
             "reason": reason, "message": message, "type": type_, "source": {"component": component},
             "firstTimestamp": now, "lastTimestamp": now, "count": 1, "eventTime": None,
             "reportingComponent": component, "reportingInstance": ""}
    if event["involvedObject"]["namespace"] is None:
        del event["involvedObject"]["namespace"]
    stored = put(cluster, EVENT, event)
    events = list(cluster.objects.get(EVENT.key, {}))
    for ns, name in events[:max(0, len(events) - EVENT_LIMIT)]:
        cluster.remove(EVENT, ns, name)
    return stored


def events_for(cluster, obj) -> list:
    uid = obj["metadata"].get("uid")
    return [e for e in cluster.items(EVENT) if (e.get("involvedObject") or {}).get("uid") == uid]


# ---------------------------------------------------------------------- bootstrap and dispatch
def bootstrap(cluster) -> None:
    """Objects every new cluster has."""
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        if not cluster.namespace_exists(name):
            namespace = {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
                         "spec": {"finalizers": ["kubernetes"]}}
            after_write(cluster, NS, put(cluster, NS, namespace), None)


def after_write(cluster, kind, obj, old) -> None:
    name = kind.kind
    if name == "Namespace" and old is None:
        _namespace_created(cluster, obj)
    elif name in ("PersistentVolume", "PersistentVolumeClaim"):
        if old is None and kind.status:
            obj = update(cluster, kind, obj, lambda o: o.setdefault("status", {}).update(
                phase="Pending" if name == "PersistentVolumeClaim" else "Available"))
        bind_volumes(cluster)
    elif name == "Job" and old is None:
        _job_created(cluster, obj)
    elif name == "Pod" and old is None:
        _pod_created(cluster, obj)
    elif name in WORKLOADS:
        workloads.reconcile(cluster, kind, obj)
    elif name == "ServiceAccount" and old is None:
        workloads.reconcile_namespace(cluster, obj["metadata"].get("namespace"))


def after_delete(cluster, kind, obj, policy="Background") -> None:
    if kind.kind == "Namespace":
        namespace = obj["metadata"]["name"]
        for other in kinds.KINDS:
            if other.namespaced:
                for item in list(cluster.items(other, namespace)):
                    cluster.remove(other, namespace, item["metadata"]["name"])
    _collect_dependents(cluster, obj["metadata"].get("uid"), policy, GC_DEPTH)
    if kind.kind in ("PersistentVolume", "PersistentVolumeClaim", "Namespace"):
        bind_volumes(cluster)  # claims may be gone: their volumes become Released
    protection.release(cluster, after_delete)  # a claim no pod holds any more, a volume no longer bound


def _collect_dependents(cluster, uid, policy, depth) -> None:
    if not uid or depth <= 0:
        return
    for kind in kinds.KINDS:
        for item in list(cluster.items(kind)):
            refs = item["metadata"].get("ownerReferences") or []
            if not any(r.get("uid") == uid for r in refs):
                continue
            if policy == "Orphan":
                kept = [r for r in refs if r.get("uid") != uid]
                update(cluster, kind, item, lambda o, kept=kept: o["metadata"].__setitem__("ownerReferences", kept))
            elif len(refs) == 1 and kind is POD and (grace := protection.grace_seconds(item, {})):
                protection.mark_terminating(cluster, item, grace, False)
            elif len(refs) == 1:
                cluster.remove(kind, item["metadata"].get("namespace"), item["metadata"]["name"])
                _collect_dependents(cluster, item["metadata"].get("uid"), "Background", depth - 1)


def _namespace_created(cluster, namespace) -> None:
    update(cluster, NS, namespace, lambda o: o.setdefault("status", {}).update(phase="Active"))
    name = namespace["metadata"]["name"]
    if cluster.get(SA, name, "default") is None:
        put(cluster, SA, {"metadata": {"name": "default", "namespace": name}})
    if cluster.get(CM, name, "kube-root-ca.crt") is None:
        ca = ""
        if cluster.hub is not None:
            try:
                with open(cluster.hub.ca_file, encoding="utf-8") as handle:
                    ca = handle.read()
            except OSError:
                pass
        put(cluster, CM, {"metadata": {"name": "kube-root-ca.crt", "namespace": name,
                                       "annotations": {"kubernetes.io/description": "Contains a CA bundle that "
                                                       "can be used to verify the kube-apiserver when using "
                                                       "internal endpoints such as the internal service IP or "
                                                       "kubernetes.default.svc. No other usage is guaranteed "
                                                       "across distributions of Kubernetes clusters."}},
                          "data": {"ca.crt": ca}})


# ---------------------------------------------------------------------- pods and jobs
def _node_for(cluster, pod_spec) -> str:
    """The node a (Job) pod is assigned to: the first that fits, else the first node (Job pods stay lenient)."""
    candidates = cluster.items(NODE)
    fitting, _reasons = scheduling.filter_nodes(pod_spec, candidates)
    chosen = (fitting or candidates or [None])[0]
    return chosen["metadata"]["name"] if chosen else NODE_NAME


def _pod_created(cluster, pod) -> None:
    node = pod["spec"].get("nodeName") or _node_for(cluster, pod["spec"])

    def pending(o):
        o["status"] = {"phase": "Pending", "qosClass": "BestEffort",
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": timestamp()}]}
        o["spec"].setdefault("nodeName", node)
    pod = update(cluster, POD, pod, pending)
    record_event(cluster, pod, "Scheduled", f"Successfully assigned {pod['metadata']['namespace']}/"
                 f"{pod['metadata']['name']} to {node}", component="default-scheduler")


def unschedule(cluster, pod, message) -> dict:
    """The scheduler could not place ``pod`` (a volume it needs is not ready): no node, PodScheduled False and
    a FailedScheduling event instead of the Scheduled one (an unscheduled pod holds no claim)."""
    def unscheduled(o):
        o["spec"].pop("nodeName", None)
        o["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": message, "lastTransitionTime": timestamp()}]
    for event in events_for(cluster, pod):
        if event.get("reason") == "Scheduled":
            cluster.remove(EVENT, event["metadata"]["namespace"], event["metadata"]["name"])
    pod = update(cluster, POD, pod, unscheduled)
    record_event(cluster, pod, "FailedScheduling", message, "Warning", "default-scheduler")
    return pod


def job_pods(cluster, job) -> list:
    uid = job["metadata"]["uid"]
    return [p for p in cluster.items(POD, job["metadata"]["namespace"])
            if any(r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]


def _job_created(cluster, job) -> None:
    spec, namespace = job.get("spec") or {}, job["metadata"]["namespace"]
    job = update(cluster, JOB, job, lambda o: o.__setitem__("status", {"startTime": timestamp(), "active": 0,
                                                                       "ready": 0, "terminating": 0,
                                                                       "uncountedTerminatedPods": {}}))
    if spec.get("suspend"):
        return
    template = copy.deepcopy(spec.get("template") or {})
    pod_spec = template.get("spec") or {}
    account = workloads.service_account(pod_spec)
    pod_name = generated_name(job["metadata"]["name"] + "-")
    if cluster.get(SA, namespace, account) is None:
        # The admission error names the pod by its generateName, as the API server does.
        record_event(cluster, job, "FailedCreate", workloads.failed_create_message(
            job["metadata"]["name"] + "-", namespace, account), "Warning", "job-controller")
        return
    pod_spec.setdefault("serviceAccountName", account)
    pod = {"metadata": {"name": pod_name, "namespace": namespace,
                        "labels": dict((template.get("metadata") or {}).get("labels") or {}),
                        "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                             "name": job["metadata"]["name"], "uid": job["metadata"]["uid"],
                                             "controller": True, "blockOwnerDeletion": True}]},
           "spec": pod_spec}
    if not pod["metadata"]["annotations"]:
        del pod["metadata"]["annotations"]
    pod = put(cluster, POD, pod)
    _pod_created(cluster, pod)
    job = update(cluster, JOB, cluster.get(JOB, namespace, job["metadata"]["name"]),
                 lambda o: o["status"].update(active=1))
    record_event(cluster, job, "SuccessfulCreate", f"Created pod: {pod_name}", component="job-controller")
    decision = cluster.hub.on_job_created(cluster, job) if cluster.hub is not None else None
    if decision:
        apply_job_decision(cluster, job, decision)


def apply_job_decision(cluster, job, decision: dict) -> None:
    """Act on a job hook's decision.

    decision: {"outcome": "succeeded" | "failed" | "pending", "reason": str, "message": str,
               "logs": str, "exit_code": int, "events": [(reason, message, type), ...]}
    `pending` leaves pod and Job running (e.g. a volume that never mounts: FailedMount events only).
    """
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    job = cluster.get(JOB, namespace, name)
    if job is None:
        return
    outcome = decision.get("outcome", "pending")
    pods = job_pods(cluster, job)
    for pod in pods:
        for reason, message, type_ in decision.get("events") or []:
            record_event(cluster, pod, reason, message, type_, "kubelet")
        if decision.get("logs"):
            container = ((pod["spec"].get("containers") or [{}])[0]).get("name", "main")
            cluster.add_log(namespace, pod["metadata"]["name"], container, decision["logs"])
        if outcome in ("succeeded", "failed"):
            _terminate_pod(cluster, pod, outcome == "succeeded", decision)
    if outcome not in ("succeeded", "failed"):
        return
    now = timestamp()

    def finish(o):
        status = o.setdefault("status", {})
        status.update(active=0, ready=0, terminating=0, uncountedTerminatedPods={})
        if outcome == "succeeded":
            status.update(succeeded=1, completionTime=now)
            status["conditions"] = [
                {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now,
                 "lastTransitionTime": now},
                {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods", "lastProbeTime": now,
                 "lastTransitionTime": now}]
        else:
            status.update(failed=1)
            message = "Job has reached the specified backoff limit"
            status["conditions"] = [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": message,
                 "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": message,
                 "lastProbeTime": now, "lastTransitionTime": now}]
    job = update(cluster, JOB, job, finish)
    if outcome == "succeeded":
        record_event(cluster, job, "Completed", "Job completed", component="job-controller")
    else:
        record_event(cluster, job, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                     "Warning", "job-controller")


def _terminate_pod(cluster, pod, succeeded, decision) -> None:
    now = timestamp()

    def terminate(o):
        containers = o["spec"].get("containers") or []
        o["status"] = {
            "phase": "Succeeded" if succeeded else "Failed", "startTime": now, "qosClass": "BestEffort",
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                           {"type": "Ready", "status": "False", "reason": "PodCompleted",
                            "lastTransitionTime": now}],
            "containerStatuses": [{
                "name": c.get("name"), "image": c.get("image"), "imageID": "", "ready": False, "restartCount": 0,
                "started": False,
                "state": {"terminated": {"exitCode": decision.get("exit_code", 0 if succeeded else 1),
                                         "reason": "Completed" if succeeded else "Error",
                                         "message": decision.get("message", ""), "startedAt": now,
                                         "finishedAt": now}}} for c in containers]}
    update(cluster, POD, pod, terminate)


# ---------------------------------------------------------------------- PV/PVC binder
def _class(obj) -> str:
    return (obj.get("spec") or {}).get("storageClassName") or ""


def _mismatch(pv, pvc) -> str | None:
    """Why `pvc` cannot bind to `pv` (None when it can), in the PV controller's words."""
    pv_spec, pvc_spec = pv.get("spec") or {}, pvc.get("spec") or {}
    ref = pv_spec.get("claimRef")
    if ref and (ref.get("name") != pvc["metadata"]["name"] or ref.get("namespace") != pvc["metadata"]["namespace"]
                or (ref.get("uid") and ref["uid"] != pvc["metadata"].get("uid"))):
        return "volume already bound to a different claim."
    if _class(pv) != _class(pvc):
        return "storageClassName does not match"
    if pv_spec.get("volumeMode", "Filesystem") != pvc_spec.get("volumeMode", "Filesystem"):
        return "incompatible volumeMode"
    if not set(pvc_spec.get("accessModes") or []) <= set(pv_spec.get("accessModes") or []):
        return "incompatible accessMode"
    have = quantity((pv_spec.get("capacity") or {}).get("storage"))
    want = quantity(((pvc_spec.get("resources") or {}).get("requests") or {}).get("storage"))
    if have is None or want is None or have < want:
        return "requested PV is too small"
    selector = (pvc_spec.get("selector") or {}).get("matchLabels") or {}
    labels = pv["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return "volume labels do not match the claim's selector"
    return None


@contextlib.contextmanager
def binding_deferred(cluster):
    """Run the PV/PVC binder once after a batch of writes instead of after each one (bulk seeding, sandbox/seed.py):
    the same bindings as one write at a time, in one pass over the volumes instead of one per write."""
    cluster.binding_deferred = True
    try:
        yield
    finally:
        cluster.binding_deferred = False
        bind_volumes(cluster)


def bind_volumes(cluster, rounds: int = 2) -> None:
    if cluster.binding_deferred:
        return
    # Volume phases first: a volume whose claimRef was just removed is Available to the claims of this pass (the
    # PV controller's next sync would bind them; the sandbox compresses that wait into this pass).
    _volume_phases(cluster)
    waiting = []
    for pvc in cluster.items(PVC):
        spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
        wanted = spec.get("volumeName")
        if status.get("phase") in ("Bound", "Lost"):
            pv = cluster.get(PV, "", wanted) if wanted else None
            if status.get("phase") == "Bound" and pv is None:
                update(cluster, PVC, pvc, lambda o: o["status"].update(phase="Lost"))
                record_event(cluster, pvc, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the "
                             "volume is lost!", "Warning", "persistentvolume-controller")
            continue
        if wanted:
            pv = cluster.get(PV, "", wanted)
            why = f'volume "{wanted}" not found' if pv is None else _mismatch(pv, pvc)
            if why is None and (pv.get("status") or {}).get("phase") == "Released":
                why = "volume is Released (its claimRef names a deleted claim)"
            if why:
                if pv is not None or not any(e.get("reason") == "FailedBinding" for e in events_for(cluster, pvc)):
                    record_event(cluster, pvc, "FailedBinding", f"Cannot bind to requested volume \"{wanted}\": "
                                 f"{why}" if pv is not None else why, "Warning", "persistentvolume-controller")
                continue
        else:
            candidates = [pv for pv in cluster.items(PV)
                          if (pv.get("status") or {}).get("phase") == "Available" and _mismatch(pv, pvc) is None]
            if not candidates:
                if not _class(pvc):
                    record_event(cluster, pvc, "FailedBinding", "no persistent volumes available for this claim "
                                 "and no storage class is set", "Normal", PV_CONTROLLER)
                else:
                    waiting.append(pvc)
                continue
            pv = min(candidates, key=lambda v: quantity(v["spec"]["capacity"]["storage"]))
        _bind(cluster, pv, pvc)
    _volume_phases(cluster)
    # Claims are offered to the provisioners after the pass (a hook's new volume is bound by one more pass).
    if _provision(cluster, waiting) and rounds > 1:
        bind_volumes(cluster, rounds - 1)
    _reclaim(cluster)
    if rounds > 1:  # the outermost pass only: a re-decided Job cannot start another round of rescheduling
        _reschedule_waiting_pods(cluster)


def _reschedule_waiting_pods(cluster) -> None:
    """The scheduler retries an unschedulable pod when the claims it waits for change (kube-scheduler requeues pods
    on PersistentVolumeClaim and PersistentVolume events): a Job pod left Unschedulable for an unbound claim is
    placed once every claim it mounts is Bound, and the job hooks decide it again."""
    for pod in list(cluster.items(POD)):
        conditions = (pod.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions):
            continue
        claims = [v["persistentVolumeClaim"].get("claimName") for v in (pod.get("spec") or {}).get("volumes") or []
                  if v.get("persistentVolumeClaim")]
        namespace = pod["metadata"]["namespace"]
        if not claims or any(((cluster.get(PVC, namespace, c) or {}).get("status") or {}).get("phase") != "Bound"
                             for c in claims):
            continue
        owner = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("kind") == "Job"), None)
        job = cluster.get(JOB, namespace, owner["name"]) if owner else None
        if job is None or cluster.hub is None:
            continue
        _pod_created(cluster, pod)   # the pod changes, not its Job
        decision = cluster.hub.on_job_created(cluster, job)
        if decision:
            apply_job_decision(cluster, job, decision)


def record_once(cluster, obj, reason, message, type_="Normal", component=PV_CONTROLLER) -> None:
    """An event recorded only once per distinct reason and message (a repeated sync adds nothing)."""
    if not any(e.get("reason") == reason and e.get("message") == message for e in events_for(cluster, obj)):
        record_event(cluster, obj, reason, message, type_, component)


def _provision(cluster, claims) -> bool:
    """The PV controller's part of dynamic provisioning (pkg/controller/volume/persistentvolume): True when a
    claim hook created a volume."""
    created = False
    for pvc in claims:
        name = _class(pvc)
        storage_class = cluster.get(SC, "", name)
        if storage_class is None:
            record_once(cluster, pvc, "ProvisioningFailed", f'storageclass.storage.k8s.io "{name}" not found',
                        "Warning")
            continue
        provisioner = storage_class.get("provisioner") or ""
        if provisioner == NO_PROVISIONER:
            continue
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            record_once(cluster, pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before "
                                                              "binding")
            continue
        pvc = _annotate_provisioner(cluster, pvc, provisioner)
        record_once(cluster, pvc, "ExternalProvisioning", f"Waiting for a volume to be created either by the "
                    f"external provisioner '{provisioner}' or manually by the system administrator. If volume "
                    f"creation is delayed, please verify that the provisioner is running and correctly registered.")
        for hook in (cluster.hub.claim_hooks if cluster.hub is not None else ()):
            if hook(cluster, pvc, storage_class):
                created = True
                break
    return created


def _annotate_provisioner(cluster, pvc, provisioner) -> dict:
    annotations = pvc["metadata"].get("annotations") or {}
    if all(annotations.get(key) == provisioner for key in PROVISIONER_ANNOTATIONS):
        return pvc
    return update(cluster, PVC, pvc, lambda o: o["metadata"].setdefault("annotations", {}).update(
        dict.fromkeys(PROVISIONER_ANNOTATIONS, provisioner)))


def _reclaim(cluster) -> None:
    """Released volumes (not being deleted) are offered to the volume hooks."""
    hooks = cluster.hub.volume_hooks if cluster.hub is not None else ()
    if not hooks:
        return
    for pv in cluster.items(PV):
        if (pv.get("status") or {}).get("phase") == "Released" and not pv["metadata"].get("deletionTimestamp"):
            for hook in hooks:
                hook(cluster, pv)


def _volume_phases(cluster) -> None:
    """Bound volumes whose claim is gone become Released; volumes without a claimRef become Available."""
    for pv in cluster.items(PV):
        ref = (pv.get("spec") or {}).get("claimRef")
        phase = (pv.get("status") or {}).get("phase")
        if ref and phase == "Bound":
            claim = cluster.get(PVC, ref.get("namespace"), ref.get("name"))
            if claim is None or (ref.get("uid") and claim["metadata"]["uid"] != ref["uid"]):
                update(cluster, PV, pv, lambda o: o.setdefault("status", {}).update(phase="Released"))
        elif not ref and phase not in ("Available", None):
            update(cluster, PV, pv, lambda o: o.setdefault("status", {}).update(phase="Available"))


def _bind(cluster, pv, pvc) -> None:
    by_controller = not (pv.get("spec") or {}).get("claimRef")

    def bind_pv(o):
        o["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": pvc["metadata"]["namespace"],
                                 "name": pvc["metadata"]["name"], "uid": pvc["metadata"]["uid"], "apiVersion": "v1",
                                 "resourceVersion": pvc["metadata"]["resourceVersion"]}
        if by_controller:
            o["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
        o.setdefault("status", {})["phase"] = "Bound"
    pv = update(cluster, PV, pv, bind_pv)

    def bind_pvc(o):
        annotations = o["metadata"].setdefault("annotations", {})
        if not o["spec"].get("volumeName"):
            o["spec"]["volumeName"] = pv["metadata"]["name"]
            annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
        annotations["pv.kubernetes.io/bind-completed"] = "yes"
        o["status"] = {"phase": "Bound", "accessModes": list(pv["spec"].get("accessModes") or []),
                       "capacity": dict(pv["spec"].get("capacity") or {})}
    update(cluster, PVC, pvc, bind_pvc)
