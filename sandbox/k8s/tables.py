"""Server-side printing (`meta.k8s.io/v1` Table) for `kubectl get`, with kubectl's usual columns."""

import calendar
import time

from . import selectors

TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def wanted(request) -> bool:
    accept = (request.header("Accept", "") or "").replace(" ", "")
    return any("as=Table" in part and "g=meta.k8s.io" in part and "v=v1" in part.split(";")
               for part in accept.split(","))


def age(stamp) -> str:
    try:
        seconds = int(time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _modes(spec):
    return ",".join(MODES.get(m, m) for m in (spec or {}).get("accessModes") or [])


def _job_status(o):
    conditions = {c.get("type"): c.get("status") for c in (o.get("status") or {}).get("conditions") or []}
    if conditions.get("Complete") == "True":
        return "Complete"
    if conditions.get("Failed") == "True":
        return "Failed"
    return "Suspended" if (o.get("spec") or {}).get("suspend") else "Running"


def _pod_ready(o):
    statuses = (o.get("status") or {}).get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(o):
    status = o.get("status") or {}
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state:
            return state["waiting"].get("reason", "Waiting")
        if "terminated" in state and status.get("phase") not in ("Succeeded",):
            return state["terminated"].get("reason", "Error")
    if status.get("phase") == "Succeeded":
        return "Completed"
    if status.get("phase") == "Pending" and (o.get("spec") or {}).get("nodeName"):
        return "ContainerCreating"
    return status.get("phase", "Pending")


def _spec(o):
    return o.get("spec") or {}


def _node_status(o):
    ready = next((c.get("status") for c in _status(o).get("conditions") or [] if c.get("type") == "Ready"), None)
    text = {"True": "Ready", "False": "NotReady"}.get(ready, "Unknown")
    return text + (",SchedulingDisabled" if _spec(o).get("unschedulable") else "")


def _node_roles(o):
    labels = (o.get("metadata") or {}).get("labels") or {}
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    return ",".join(r for r in roles if r) or "<none>"


def _address(o, kind):
    return next((a.get("address") for a in _status(o).get("addresses") or [] if a.get("type") == kind), "<none>")


def _selector(o):
    return selectors.selector_string(_spec(o).get("podSelector")) or "<none>"


def _status(o):
    return o.get("status") or {}


COLUMNS = {
    "Namespace": [("Status", lambda o: _status(o).get("phase", ""))],
    "ConfigMap": [("Data", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "Secret": [("Type", lambda o: o.get("type", "")), ("Data", lambda o: len(o.get("data") or {}))],
    "ServiceAccount": [("Secrets", lambda o: len(o.get("secrets") or []))],
    "PersistentVolume": [
        ("Capacity", lambda o: (_spec(o).get("capacity") or {}).get("storage", "")),
        ("Access Modes", lambda o: _modes(_spec(o))),
        ("Reclaim Policy", lambda o: _spec(o).get("persistentVolumeReclaimPolicy", "")),
        ("Status", lambda o: _status(o).get("phase", "")),
        ("Claim", lambda o: "{namespace}/{name}".format(**_spec(o)["claimRef"]) if _spec(o).get("claimRef") else ""),
        ("StorageClass", lambda o: _spec(o).get("storageClassName", "")),
        ("VolumeAttributesClass", lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>"),
        ("Reason", lambda o: _status(o).get("reason", ""))],
    "PersistentVolumeClaim": [
        ("Status", lambda o: _status(o).get("phase", "")),
        ("Volume", lambda o: _spec(o).get("volumeName", "")),
        ("Capacity", lambda o: (_status(o).get("capacity") or {}).get("storage", "")),
        ("Access Modes", lambda o: _modes(_status(o))),
        ("StorageClass", lambda o: _spec(o).get("storageClassName", "")),
        ("VolumeAttributesClass", lambda o: _spec(o).get("volumeAttributesClassName") or "<unset>")],
    "Pod": [("Ready", _pod_ready), ("Status", _pod_status),
            ("Restarts", lambda o: sum(c.get("restartCount", 0) for c in _status(o).get("containerStatuses") or []))],
    "Job": [("Status", _job_status),
            ("Completions", lambda o: f"{_status(o).get('succeeded', 0)}/{_spec(o).get('completions', 1)}")],
    "Deployment": [("Ready", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
                   ("Up-to-date", lambda o: _status(o).get("updatedReplicas", 0)),
                   ("Available", lambda o: _status(o).get("availableReplicas", 0))],
    "DaemonSet": [("Desired", lambda o: _status(o).get("desiredNumberScheduled", 0)),
                  ("Current", lambda o: _status(o).get("currentNumberScheduled", 0)),
                  ("Ready", lambda o: _status(o).get("numberReady", 0)),
                  ("Up-to-date", lambda o: _status(o).get("updatedNumberScheduled", 0)),
                  ("Available", lambda o: _status(o).get("numberAvailable", 0))],
    "StorageClass": [("Provisioner", lambda o: o.get("provisioner", "")),
                     ("ReclaimPolicy", lambda o: o.get("reclaimPolicy", "")),
                     ("VolumeBindingMode", lambda o: o.get("volumeBindingMode", "")),
                     ("AllowVolumeExpansion", lambda o: bool(o.get("allowVolumeExpansion", False)))],
    "CSIDriver": [("AttachRequired", lambda o: _spec(o).get("attachRequired", True)),
                  ("PodInfoOnMount", lambda o: _spec(o).get("podInfoOnMount", False)),
                  ("StorageCapacity", lambda o: _spec(o).get("storageCapacity", False)),
                  ("TokenRequests", lambda o: ",".join(t.get("audience", "")
                                                       for t in _spec(o).get("tokenRequests") or []) or "<unset>"),
                  ("RequiresRepublish", lambda o: _spec(o).get("requiresRepublish", False)),
                  ("Modes", lambda o: ",".join(_spec(o).get("volumeLifecycleModes") or []))],
    # ("Age", None) places the Age column; a third element is the column priority (1: only with -o wide).
    "Node": [("Status", _node_status), ("Roles", _node_roles), ("Age", None),
             ("Version", lambda o: (_status(o).get("nodeInfo") or {}).get("kubeletVersion", "")),
             ("Internal-IP", lambda o: _address(o, "InternalIP"), 1),
             ("External-IP", lambda o: _address(o, "ExternalIP"), 1),
             ("OS-Image", lambda o: (_status(o).get("nodeInfo") or {}).get("osImage", ""), 1),
             ("Kernel-Version", lambda o: (_status(o).get("nodeInfo") or {}).get("kernelVersion", ""), 1),
             ("Container-Runtime", lambda o: (_status(o).get("nodeInfo") or {}).get("containerRuntimeVersion", ""),
              1)],
    "NetworkPolicy": [("Pod-Selector", _selector)],
    "Event": [("Type", lambda o: o.get("type", "")), ("Reason", lambda o: o.get("reason", "")),
              ("Object", lambda o: f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/"
                                   f"{(o.get('involvedObject') or {}).get('name', '')}"),
              ("Message", lambda o: o.get("message", ""))],
}


def _type(value):
    if isinstance(value, bool):
        return "boolean"
    return "integer" if isinstance(value, int) else "string"


def _columns(kind) -> list:
    """[(name, fn or None for Age, priority)], Age last unless the kind places it."""
    columns = [(c[0], c[1], c[2] if len(c) > 2 else 0) for c in COLUMNS.get(kind.kind, [])]
    if not any(name == "Age" for name, _fn, _priority in columns):
        columns.append(("Age", None, 0))
    return columns


def _cell(fn, obj):
    return age((obj.get("metadata") or {}).get("creationTimestamp")) if fn is None else fn(obj)


def table(kind, body) -> dict:
    columns = _columns(kind)
    items = body.get("items") or []
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name must be unique "
                    "within a namespace.", "priority": 0}]
    sample = items[0] if items else {}
    for name, fn, priority in columns:
        if fn is None:
            definitions.append({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp",
                                "priority": 0})
        else:
            definitions.append({"name": name, "type": _type(fn(sample)) if sample else "string", "format": "",
                                "description": name, "priority": priority})
    rows = []
    for obj in items:
        meta = obj.get("metadata") or {}
        cells = [meta.get("name", "")] + [_cell(fn, obj) for _name, fn, _priority in columns]
        rows.append({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                "metadata": meta}})
    list_meta = body.get("metadata") or {}
    # The Table carries the list's chunking metadata (k8s.io/apiserver pkg/registry/rest/table.go): kubectl pages
    # with it.
    meta = {"resourceVersion": list_meta.get("resourceVersion", "")}
    meta.update({k: list_meta[k] for k in ("continue", "remainingItemCount") if k in list_meta})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": definitions, "rows": rows}
