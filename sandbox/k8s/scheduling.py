"""Where a pod could run: taints and tolerations, nodeSelector and required node affinity.

Semantics and words of Kubernetes v1.34:
- `tolerates()`: core/v1 Toleration.ToleratesTaint (k8s.io/api core/v1 toleration.go): an effect, when set,
  must match; a key, when set, must match (an empty key with `Exists` tolerates every taint); `Exists`
  ignores the value, `Equal` (or no operator) compares it.
- `daemon_fits()`: the DaemonSet controller's predicates (pkg/controller/daemon, `predicates`): node name,
  nodeSelector plus required node affinity, and every NoSchedule/NoExecute taint tolerated, counting the
  tolerations the controller adds to daemon pods (pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations).
- `filter_nodes()`: the default scheduler's filters that apply to emulated nodes, in its plugin order
  (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity; the first failing one gives the node's reason),
  and `unschedulable_message()` the FitError text `0/N nodes are available: <count> <reason>, ...` with the
  preemption postfilter's suffix (pkg/scheduler/framework/plugins/{tainttoleration,nodeaffinity,...}).
"""

import collections

DO_NOT_SCHEDULE = ("NoSchedule", "NoExecute")
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_NAME = "node(s) didn't match the requested node name"
REASON_TAINT = "node(s) had untolerated taint(s)"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
NO_NODES = "no nodes available to schedule pods"


def tolerates(toleration, taint) -> bool:
    if not isinstance(toleration, dict):
        return False
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taint(node, tolerations) -> dict | None:
    """The first NoSchedule/NoExecute taint of the node that no toleration tolerates."""
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in DO_NOT_SCHEDULE and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def _expression_matches(expression, labels) -> bool:
    if not isinstance(expression, dict):
        return False
    key, operator = expression.get("key"), expression.get("operator")
    values = [str(v) for v in expression.get("values") or []]
    present = key in labels
    if operator in ("Gt", "Lt"):
        try:
            have, limit = int(labels.get(key)), int(values[0])
        except (TypeError, ValueError, IndexError):
            return False
        return have > limit if operator == "Gt" else have < limit
    return {"In": present and labels.get(key) in values, "NotIn": not present or labels.get(key) not in values,
            "Exists": present, "DoesNotExist": not present}.get(operator, False)


def _term_matches(term, node) -> bool:
    if not isinstance(term, dict):
        return False
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False  # an empty term matches no node
    labels = (node.get("metadata") or {}).get("labels") or {}
    by_field = {"metadata.name": (node.get("metadata") or {}).get("name")}
    return (all(_expression_matches(e, labels) for e in expressions)
            and all(_expression_matches(f, by_field) for f in fields))


def affinity_matches(pod_spec, node) -> bool:
    """nodeSelector (every pair) and required node affinity (any term) match the node's labels."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    selector = pod_spec.get("nodeSelector") or {}
    if any(labels.get(k) != v for k, v in selector.items()):
        return False
    affinity = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, dict):
        return True
    return any(_term_matches(term, node) for term in required.get("nodeSelectorTerms") or [])


def daemon_tolerations(pod_spec) -> list:
    tolerations = [t for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)]
    tolerations += list(DAEMON_TOLERATIONS)
    if pod_spec.get("hostNetwork"):
        tolerations.append(HOST_NETWORK_TOLERATION)
    return tolerations


def daemon_fits(pod_spec, node) -> bool:
    """Should the DaemonSet run a pod on this node?"""
    wanted = pod_spec.get("nodeName")
    if wanted and wanted != node["metadata"]["name"]:
        return False
    return affinity_matches(pod_spec, node) and untolerated_taint(node, daemon_tolerations(pod_spec)) is None


def _reason(pod_spec, node) -> str | None:
    """Why the scheduler filters this node out (None: it fits)."""
    tolerations = [t for t in pod_spec.get("tolerations") or [] if isinstance(t, dict)]
    if (node.get("spec") or {}).get("unschedulable") and not any(tolerates(t, UNSCHEDULABLE_TAINT)
                                                                 for t in tolerations):
        return REASON_UNSCHEDULABLE
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != node["metadata"]["name"]:
        return REASON_NODE_NAME
    if untolerated_taint(node, tolerations) is not None:
        return REASON_TAINT
    if not affinity_matches(pod_spec, node):
        return REASON_AFFINITY
    return None


def filter_nodes(pod_spec, nodes) -> tuple:
    """-> (nodes the pod fits on, {node name: reason} for the others)."""
    fitting, reasons = [], {}
    for node in nodes:
        reason = _reason(pod_spec, node)
        if reason is None:
            fitting.append(node)
        else:
            reasons[node["metadata"]["name"]] = reason
    return fitting, reasons


def unschedulable_message(total: int, reasons: dict) -> str:
    if not total:
        return NO_NODES
    histogram = sorted(f"{count} {reason}" for reason, count in collections.Counter(reasons.values()).items())
    return (f"0/{total} nodes are available: {', '.join(histogram)}. preemption: 0/{total} nodes are available: "
            f"{total} Preemption is not helpful for scheduling.")
