"""Workload controllers: Deployment, ReplicaSet, StatefulSet and DaemonSet readiness, decided from the cluster.

No pods are created for workloads; this module decides what their pods would do and writes the status the
Kubernetes v1.34 controllers would (pkg/controller/{deployment,replicaset,statefulset,daemon}; status fields
with `omitempty` are left out when zero, as the API serializes them):

- Pods need the template's ServiceAccount (`serviceAccountName`, default `default`) in the namespace (the
  ServiceAccount admission plugin): without it no pod is created, a `FailedCreate` Warning event says why
  (`failed_create_message`, the Job controller's wording too), the counts stay at 0 and a Deployment is
  `Available: False` with a `ReplicaFailure` condition. The controllers react to the ServiceAccount's creation
  (`reconcile_namespace`).
- Deployment, ReplicaSet and StatefulSet pods need a node the scheduler would pick (scheduling.filter_nodes):
  otherwise they are Pending (created, 0 ready; a StatefulSet with OrderedReady creates only its first pod)
  and a `FailedScheduling` event is recorded on the workload itself (there are no pod objects to carry it).
- DaemonSet: desired = the nodes `scheduling.daemon_fits`; ready = desired when its pods can be created.
- Node changes re-evaluate every workload (`reconcile_all`). Time-based conditions (ProgressDeadlineExceeded,
  minReadySeconds) are not emulated.
"""

import json
import math
from dataclasses import dataclass

from . import controllers, kinds, nodes, scheduling
from .meta import GENERATE_ALPHABET, timestamp

SA = kinds.BY_KEY["/serviceaccounts"]
WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet")
COMPONENTS = {"Deployment": "replicaset-controller", "ReplicaSet": "replicaset-controller",
              "StatefulSet": "statefulset-controller", "DaemonSet": "daemonset-controller"}
TIME_FIELDS = ("lastUpdateTime", "lastTransitionTime")


@dataclass
class Plan:
    desired: int                # pods wanted (DaemonSet: nodes it should run on)
    created: int                # pods that would exist
    ready: int                  # pods that would be ready
    failure: str = ""           # why pods cannot be created (admission error), if so
    unschedulable: str = ""     # the scheduler's message, if the pods stay Pending


# ---------------------------------------------------------------------- shared words
def forbidden_message(pod_name: str, namespace: str, account: str) -> str:
    """The API server's ServiceAccount admission error for a pod whose ServiceAccount is missing."""
    return (f'pods "{pod_name}" is forbidden: error looking up service account {namespace}/{account}: '
            f'serviceaccount "{account}" not found')


def failed_create_message(pod_name: str, namespace: str, account: str) -> str:
    """The FailedCreate event of the Job, ReplicaSet and DaemonSet controllers (pods made from generateName)."""
    return "Error creating: " + forbidden_message(pod_name, namespace, account)


def service_account(pod_spec) -> str:
    return pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount") or "default"


def template_hash(template) -> str:
    """A stable pod-template-hash: FNV-1a (32 bit) of the template, its decimal digits in the API's safe alphabet."""
    value = 0x811C9DC5
    for byte in json.dumps(template or {}, sort_keys=True, separators=(",", ":")).encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(GENERATE_ALPHABET[ord(c) % len(GENERATE_ALPHABET)] for c in str(value))


def _pod_spec(obj) -> dict:
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec")
    return spec if isinstance(spec, dict) else {}


def _pod_prefix(kind_name, obj) -> str:
    name = obj["metadata"]["name"]
    if kind_name == "Deployment":
        return f"{name}-{template_hash((obj.get('spec') or {}).get('template'))}-"
    return f"{name}-0" if kind_name == "StatefulSet" else f"{name}-"


def _failure_event(kind_name, obj, failure) -> str:
    if kind_name == "StatefulSet":
        name = obj["metadata"]["name"]
        return f"create Pod {name}-0 in StatefulSet {name} failed error: {failure}"
    return "Error creating: " + failure


# ---------------------------------------------------------------------- the decision
def plan(cluster, kind_name, obj) -> Plan:
    spec, pod_spec = obj.get("spec") or {}, _pod_spec(obj)
    candidates = nodes.ready_nodes(cluster)
    unschedulable = ""
    if kind_name == "DaemonSet":
        desired = sum(1 for node in candidates if scheduling.daemon_fits(pod_spec, node))
    else:
        desired = max(int(spec.get("replicas", 1) or 0), 0)
        fitting, reasons = scheduling.filter_nodes(pod_spec, candidates)
        if not fitting:
            unschedulable = scheduling.unschedulable_message(len(candidates), reasons)
    if not desired:
        return Plan(0, 0, 0)
    namespace, account = obj["metadata"]["namespace"], service_account(pod_spec)
    if cluster.get(SA, namespace, account) is None:
        return Plan(desired, 0, 0, failure=forbidden_message(_pod_prefix(kind_name, obj), namespace, account))
    if unschedulable:
        ordered = kind_name == "StatefulSet" and spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        return Plan(desired, 1 if ordered else desired, 0, unschedulable=unschedulable)
    return Plan(desired, desired, desired)


def _nonzero(status: dict, **counts) -> dict:
    status.update({k: v for k, v in counts.items() if v})
    return status


def _conditions(old: list, wanted: list, update_time: bool) -> list:
    """wanted: [(type, status, reason, message)]; timestamps kept from `old` for what did not change."""
    before = {c.get("type"): c for c in old or []}
    now, result = timestamp(), []
    for type_, status, reason, message in wanted:
        prior = before.get(type_) or {}
        same_status = prior.get("status") == status
        same = same_status and prior.get("reason") == reason and prior.get("message") == message
        condition = {"type": type_, "status": status}
        if update_time:
            condition["lastUpdateTime"] = prior.get("lastUpdateTime", now) if same else now
        condition["lastTransitionTime"] = prior.get("lastTransitionTime", now) if same_status else now
        condition.update(reason=reason, message=message)
        result.append(condition)
    return result


def _int_or_percent(value, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        try:
            scaled = total * int(value[:-1]) / 100
        except ValueError:
            return 0
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def max_unavailable(spec, replicas: int) -> int:
    """deploymentutil.MaxUnavailable: the rolling update's fenceposts resolved against the replica count."""
    strategy = spec.get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate" or not replicas:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = _int_or_percent(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = _int_or_percent(rolling.get("maxUnavailable", "25%"), replicas, False)
    if not surge and not unavailable:
        unavailable = 1
    return min(unavailable, replicas)


# ---------------------------------------------------------------------- status per kind
def _deployment_status(obj, p: Plan, old: dict) -> dict:
    spec = obj.get("spec") or {}
    replica_set = f"{obj['metadata']['name']}-{template_hash(spec.get('template'))}"
    status = _nonzero({"observedGeneration": obj["metadata"].get("generation", 1)}, replicas=p.created,
                      updatedReplicas=p.created, readyReplicas=p.ready, availableReplicas=p.ready,
                      unavailableReplicas=max(p.desired - p.ready, 0))
    available = p.ready >= p.desired - max_unavailable(spec, p.desired)
    wanted = [("Available", "True" if available else "False", "MinimumReplicasAvailable",
               "Deployment has minimum availability." if available else
               "Deployment does not have minimum availability.")]
    if p.failure:
        wanted.append(("Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{replica_set}"'))
        wanted.append(("ReplicaFailure", "True", "FailedCreate", p.failure))
    elif p.ready >= p.desired:
        wanted.append(("Progressing", "True", "NewReplicaSetAvailable",
                       f'ReplicaSet "{replica_set}" has successfully progressed.'))
    else:
        wanted.append(("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{replica_set}" is progressing.'))
    status["conditions"] = _conditions(old.get("conditions"), wanted, update_time=True)
    return status


def _replicaset_status(obj, p: Plan, old: dict) -> dict:
    status = _nonzero({"replicas": p.created}, fullyLabeledReplicas=p.created, readyReplicas=p.ready,
                      availableReplicas=p.ready, observedGeneration=obj["metadata"].get("generation", 1))
    if p.failure:
        status["conditions"] = _conditions(old.get("conditions"), [("ReplicaFailure", "True", "FailedCreate",
                                                                    p.failure)], update_time=False)
    return status


def _statefulset_status(obj, p: Plan, old: dict) -> dict:
    revision = f"{obj['metadata']['name']}-{template_hash((obj.get('spec') or {}).get('template'))}"
    status = {"observedGeneration": obj["metadata"].get("generation", 1), "replicas": p.created,
              "availableReplicas": p.ready, "currentRevision": revision, "updateRevision": revision,
              "collisionCount": 0}
    return _nonzero(status, readyReplicas=p.ready, currentReplicas=p.created, updatedReplicas=p.created)


def _daemonset_status(obj, p: Plan, old: dict) -> dict:
    status = {"currentNumberScheduled": p.created, "desiredNumberScheduled": p.desired, "numberMisscheduled": 0,
              "numberReady": p.ready, "observedGeneration": obj["metadata"].get("generation", 1)}
    return _nonzero(status, updatedNumberScheduled=p.created, numberAvailable=p.ready,
                    numberUnavailable=max(p.desired - p.ready, 0))


STATUS = {"Deployment": _deployment_status, "ReplicaSet": _replicaset_status,
          "StatefulSet": _statefulset_status, "DaemonSet": _daemonset_status}


# ---------------------------------------------------------------------- controllers
def _without_times(status: dict) -> dict:
    conditions = [{k: v for k, v in c.items() if k not in TIME_FIELDS} for c in status.get("conditions") or []]
    return dict(status, conditions=conditions)


def _record_once(cluster, obj, reason, message, component) -> None:
    if not any(e.get("reason") == reason and e.get("message") == message for e in controllers.events_for(cluster, obj)):
        controllers.record_event(cluster, obj, reason, message, "Warning", component)


def reconcile(cluster, kind, obj) -> None:
    """Decide the workload's pods and write the status (only when it changed), with its events."""
    p = plan(cluster, kind.kind, obj)
    old = obj.get("status") or {}
    status = STATUS[kind.kind](obj, p, old)
    if _without_times(status) != _without_times(old):
        obj = controllers.update(cluster, kind, obj, lambda o: o.__setitem__("status", status))
    if p.failure:
        _record_once(cluster, obj, "FailedCreate", _failure_event(kind.kind, obj, p.failure), COMPONENTS[kind.kind])
    elif p.unschedulable:
        _record_once(cluster, obj, "FailedScheduling", p.unschedulable, "default-scheduler")


def reconcile_namespace(cluster, namespace) -> None:
    for name in WORKLOADS:
        kind = kinds.BY_KIND[("apps", name)]
        for obj in list(cluster.items(kind, namespace)):
            reconcile(cluster, kind, obj)


def reconcile_all(cluster) -> None:
    for name in WORKLOADS:
        kind = kinds.BY_KIND[("apps", name)]
        for obj in list(cluster.items(kind)):
            reconcile(cluster, kind, obj)
