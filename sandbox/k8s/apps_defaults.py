"""apps/v1 defaulting, as Kubernetes v1.34 pkg/apis/apps/v1/defaults.go does it (every write).

- Deployment: `replicas` 1; `strategy.type` RollingUpdate, and for RollingUpdate `rollingUpdate.maxUnavailable`
  and `maxSurge` 25%; `revisionHistoryLimit` 10; `progressDeadlineSeconds` 600.
- StatefulSet: `podManagementPolicy` OrderedReady; an unset `updateStrategy.type` becomes RollingUpdate with an
  empty `rollingUpdate`, and a RollingUpdate strategy that has `rollingUpdate` gets `partition` 0 (an explicit
  RollingUpdate without `rollingUpdate` keeps none; maxUnavailable is behind the MaxUnavailableStatefulSet gate,
  off in 1.34); `persistentVolumeClaimRetentionPolicy` whenDeleted/whenScaled Retain (StatefulSetAutoDeletePVC,
  GA); `replicas` 1; `revisionHistoryLimit` 10.
- DaemonSet: `updateStrategy.type` RollingUpdate with `rollingUpdate.maxUnavailable` 1 and `maxSurge` 0;
  `revisionHistoryLimit` 10.
- ReplicaSet: `replicas` 1 (a ReplicaSet has no revisionHistoryLimit).
The pod template gets the pod defaults (validation.py).
"""


def _dict(parent: dict, key: str) -> dict:
    if not isinstance(parent.get(key), dict):
        parent[key] = {}
    return parent[key]


def _deployment(spec: dict) -> None:
    spec.setdefault("replicas", 1)
    strategy = _dict(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _statefulset(spec: dict) -> None:
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        _dict(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    retention = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)


def _daemonset(spec: dict) -> None:
    strategy = _dict(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)


def _replicaset(spec: dict) -> None:
    spec.setdefault("replicas", 1)


DEFAULTS = {"Deployment": _deployment, "StatefulSet": _statefulset, "DaemonSet": _daemonset,
            "ReplicaSet": _replicaset}


def apply(kind_name: str, spec) -> None:
    """Fill the apps/v1 defaults of a workload spec in place (no-op for other kinds or a non-object spec)."""
    if isinstance(spec, dict) and kind_name in DEFAULTS:
        DEFAULTS[kind_name](spec)
