"""Validation and defaulting the real API server applies (the subset our manifests exercise).

`validate(kind, obj, old)` returns (field, message) pairs; an empty list means valid. Immutable
fields are the ones that make a real re-run fail (PV source, PVC spec, Job template, ...), so the
collection meets the same errors here as on AKS.
"""

import base64
import copy

from . import apps_defaults, gocompat, networking, volume_sources
from .meta import label_problems, name_problems

PV_SOURCES = volume_sources.PV_SOURCE_FIELDS
ACCESS_MODES = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}
MAX_SECRET_SIZE = 1024 * 1024   # core.MaxSecretSize, also the limit of a ConfigMap's data
CONFIG_KEY_MESSAGE = ("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', "
                      " or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")


def _required(field):
    return (field, "Required value")


def _spec(obj):
    return obj.get("spec") if isinstance(obj.get("spec"), dict) else {}


def validate(kind, obj, old=None) -> list:
    meta = obj.get("metadata") or {}
    problems = [("metadata.name", p) for p in name_problems(kind.names, meta.get("name", ""))]
    problems += label_problems(meta.get("labels"))
    annotations = meta.get("annotations")
    if annotations is not None and (not isinstance(annotations, dict)
                                    or not all(isinstance(v, str) for v in annotations.values())):
        problems.append(("metadata.annotations", "Invalid value: annotation values must be strings"))
    check = _CHECKS.get(kind.kind)
    if check:
        problems += check(obj, old)
    return problems


def _pv(obj, old):
    spec, problems = _spec(obj), []
    if not (spec.get("capacity") or {}).get("storage"):
        problems.append(_required("spec.capacity"))
    problems += _access_modes(spec, "spec.accessModes")
    problems += volume_sources.persistent_volume_source(spec)
    if old is not None:
        old_spec = _spec(old)
        if any(old_spec.get(s) != spec.get(s) for s in PV_SOURCES):
            problems.append(("spec.persistentvolumesource", ("Forbidden: spec.persistentvolumesource is "
                             "immutable after creation")))
    return problems


def _access_modes(spec, field):
    modes = spec.get("accessModes")
    if not modes:
        return [_required(field)]
    return [(field, (f'Unsupported value: "{m}": supported values: "ReadOnlyMany", "ReadWriteMany", '
                     f'"ReadWriteOnce", "ReadWriteOncePod"')) for m in modes if m not in ACCESS_MODES]


def _pvc(obj, old):
    spec, problems = _spec(obj), []
    problems += _access_modes(spec, "spec.accessModes")
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        problems.append(_required("spec.resources[storage]"))
    if old is not None:
        old_spec = copy.deepcopy(_spec(old))
        new_spec = copy.deepcopy(spec)
        for s in (old_spec, new_spec):
            s.pop("resources", None)
            s.pop("volumeAttributesClassName", None)
        if not old_spec.get("volumeName"):  # the binder may fill it in
            new_spec.pop("volumeName", None)
        if old_spec != new_spec:
            problems.append(("spec", ("Forbidden: spec is immutable after creation except resources.requests and "
                             "volumeAttributesClassName for bound claims")))
    return problems


def _pod_spec(spec, field):
    problems = []
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not containers:
        return [_required(f"{field}.containers")]
    for n, container in enumerate(containers):
        if not isinstance(container, dict) or not container.get("name"):
            problems.append(_required(f"{field}.containers[{n}].name"))
        elif not container.get("image"):
            problems.append(_required(f"{field}.containers[{n}].image"))
    problems += volume_sources.pod_volumes(spec, field)
    volumes = {v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)}
    for n, container in enumerate(containers):
        for m, mount in enumerate((container or {}).get("volumeMounts") or []):
            if mount.get("name") not in volumes:
                problems.append((f"{field}.containers[{n}].volumeMounts[{m}].name",
                                 f'Not found: "{mount.get("name")}"'))
    return problems


def _pod(obj, old):
    problems = _pod_spec(_spec(obj), "spec")
    if old is not None:
        before, after = copy.deepcopy(_spec(old)), copy.deepcopy(_spec(obj))
        for spec in (before, after):  # the few mutable pod fields
            spec.pop("activeDeadlineSeconds", None)
            spec.pop("tolerations", None)
            for c in spec.get("containers") or []:
                c.pop("image", None)
        if before != after:
            problems.append(("spec", ("Forbidden: pod updates may not change fields other than "
                             "`spec.containers[*].image`, `spec.initContainers[*].image`, "
                                      "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing "
                                      "tolerations) or `spec.terminationGracePeriodSeconds`")))
    return problems


def _job(obj, old):
    spec = _spec(obj)
    template = spec.get("template") or {}
    problems = _pod_spec(template.get("spec") or {}, "spec.template.spec")
    restart = (template.get("spec") or {}).get("restartPolicy")
    if restart not in ("Never", "OnFailure"):
        problems.append(("spec.template.spec.restartPolicy", 'Required value: valid values: "OnFailure", '
                         '"Never"' if restart is None else f'Unsupported value: "{restart}": supported values: '
                         f'"OnFailure", "Never"'))
    if old is not None and _spec(old).get("template") != spec.get("template"):
        problems.append(("spec.template", "Invalid value: field is immutable"))
    return problems


def _workload(obj, old):
    spec = _spec(obj)
    problems = _pod_spec((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    if not spec.get("selector"):
        problems.append(_required("spec.selector"))
    if old is not None and _spec(old).get("selector") != spec.get("selector"):
        problems.append(("spec.selector", "Invalid value: field is immutable"))
    return problems


def _storage_class(obj, old):
    problems = [] if obj.get("provisioner") else [_required("provisioner")]
    if old is not None:
        for field in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if old.get(field) != obj.get(field):
                problems.append((field, "Forbidden: updates to " + field + " are forbidden."))
    return problems


def _csi_driver(obj, old):
    problems = []
    for request in _spec(obj).get("tokenRequests") or []:
        if not isinstance(request, dict) or "audience" not in request:
            problems.append(_required("spec.tokenRequests[].audience"))
    if old is not None:
        for field in ("attachRequired", "podInfoOnMount", "volumeLifecycleModes", "storageCapacity"):
            if _spec(old).get(field) != _spec(obj).get(field):
                problems.append((f"spec.{field}", "Invalid value: field is immutable"))
    return problems


def _config_key_problems(field, data) -> list:
    """validation.IsConfigMapKey for every key of a ConfigMap's or Secret's data."""
    problems = []
    for key in data if isinstance(data, dict) else {}:
        messages = ["must be no more than 253 characters"] if len(key) > 253 else []
        if not key or any(not (c.isascii() and (c.isalnum() or c in "-._")) for c in key):
            messages.append(CONFIG_KEY_MESSAGE)
        if key in (".", ".."):
            messages.append(f"must not be '{key}'")
        elif key.startswith(".."):
            messages.append("must not start with '..'")
        problems += [(f"{field}[{key}]", f'Invalid value: "{key}": {m}') for m in messages]
    return problems


def _immutable_data(obj, old, fields) -> list:
    if old is None or not old.get("immutable"):
        return []
    problems = [] if obj.get("immutable") else [("immutable", "Forbidden: field is immutable when `immutable` is "
                                                              "set")]
    return problems + [(f, "Forbidden: field is immutable when `immutable` is set") for f in fields
                       if old.get(f) != obj.get(f)]


def _config_map(obj, old):
    problems = []
    for field in ("data", "binaryData"):
        value = obj.get(field)
        if value is not None and (not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())):
            problems.append((field, "Invalid value: values must be strings"))
    problems += _config_key_problems("data", obj.get("data"))
    binary = obj.get("binaryData") if isinstance(obj.get("binaryData"), dict) else {}
    problems += [(f"data[{k}]", f'Invalid value: "{k}": duplicate of key present in binaryData')
                 for k in obj.get("data") or {} if k in binary]
    problems += _config_key_problems("binaryData", binary)
    return problems + _immutable_data(obj, old, ("data", "binaryData"))


def _secret_bytes(value) -> bytes:
    try:
        return base64.b64decode(value, validate=False)
    except (ValueError, TypeError):
        return b""   # the decoding step refused anything that is not base64


def _secret_type_problems(secret_type, data, annotations) -> list:
    """ValidateSecret's checks of the well-known types (kubernetes/pkg/apis/core/validation)."""
    if secret_type == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            return [_required("metadata.annotations[kubernetes.io/service-account.name]")]
    if secret_type in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if secret_type == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [_required(f"data[{key}]")]
        _fields, error = gocompat.json_unmarshal_error(_secret_bytes(data[key]), "map[string]interface {}", {})
        return [(f"data[{key}]", f'Invalid value: "<secret contents redacted>": {error}')] if error else []
    if secret_type == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        return [_required("data[username]"), _required("data[password]")]
    if secret_type == "kubernetes.io/ssh-auth" and not _secret_bytes(data.get("ssh-privatekey", "")):
        return [_required("data[ssh-privatekey]")]
    if secret_type == "kubernetes.io/tls":
        return [_required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def _secret(obj, old):
    data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    problems = _config_key_problems("data", data)
    if sum(len(_secret_bytes(v)) for v in data.values() if isinstance(v, str)) > MAX_SECRET_SIZE:
        problems.append(("data", f"Too long: may not be more than {MAX_SECRET_SIZE} bytes"))
    problems += _secret_type_problems(obj.get("type"), data, obj["metadata"].get("annotations") or {})
    if old is not None and old.get("type") != obj.get("type"):
        problems.append(("type", f'Invalid value: "{obj.get("type")}": field is immutable'))
    return problems + _immutable_data(obj, old, ("data",))


_CHECKS = {"PersistentVolume": _pv, "PersistentVolumeClaim": _pvc, "Pod": _pod, "Job": _job,
           "Deployment": _workload, "DaemonSet": _workload, "StatefulSet": _workload, "ReplicaSet": _workload,
           "NetworkPolicy": networking.validate,
           "StorageClass": _storage_class, "CSIDriver": _csi_driver, "ConfigMap": _config_map,
           "Secret": _secret}


# ---------------------------------------------------------------------- defaults on create
def _default_pod_spec(spec):
    volume_sources.drop_unknown_pod_fields(spec)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        spec.setdefault("serviceAccountName", spec.get("serviceAccount"))
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            tag = container.get("image", "").rsplit("/", 1)[-1]
            container.setdefault("imagePullPolicy", "Always" if ":" not in tag or tag.endswith(":latest")
                                 else "IfNotPresent")
            container.setdefault("resources", {})


def apply_defaults(kind, obj, cluster, creating=True) -> None:
    """Defaulting (every write) and admission (creation only) of an object (mutates obj)."""
    spec = obj.get("spec")
    if kind.kind == "PersistentVolume" and isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif kind.kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        if creating and "storageClassName" not in spec:  # DefaultStorageClass admission
            default = cluster.default_storage_class() if cluster else None
            if default:
                spec["storageClassName"] = default
    elif kind.kind == "Pod" and isinstance(spec, dict):
        _default_pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
    elif kind.kind == "Job" and isinstance(spec, dict):
        for field, value in (("backoffLimit", 6), ("completions", 1), ("parallelism", 1),
                             ("completionMode", "NonIndexed"), ("suspend", False),
                             ("podReplacementPolicy", "TerminatingOrFailed"), ("manualSelector", None)):
            if value is not None:
                spec.setdefault(field, value)
        uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
        if not spec.get("selector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        template = spec.setdefault("template", {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                       "controller-uid": uid, "job-name": name})
        if isinstance(template.get("spec"), dict):
            _default_pod_spec(template["spec"])
    elif kind.kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet") and isinstance(spec, dict):
        apps_defaults.apply(kind.kind, spec)  # pkg/apis/apps/v1/defaults.go
        if isinstance((spec.get("template") or {}).get("spec"), dict):
            _default_pod_spec(spec["template"]["spec"])
    elif kind.kind == "NetworkPolicy":
        networking.apply_defaults(obj)
    elif kind.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind.kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind.kind == "CSIDriver" and isinstance(spec, dict):
        spec.setdefault("attachRequired", True)
        spec.setdefault("podInfoOnMount", False)
        spec.setdefault("requiresRepublish", False)
        spec.setdefault("storageCapacity", False)
        spec.setdefault("fsGroupPolicy", "ReadWriteOnceWithFSType")
        spec.setdefault("seLinuxMount", False)
        spec.setdefault("volumeLifecycleModes", ["Persistent"])
    elif kind.kind == "Secret":
        obj["type"] = obj.get("type") or "Opaque"  # "" too, like the API server's defaulting
        if isinstance(obj.get("stringData"), dict):  # stringData is write-only: folded into data
            data = obj.setdefault("data", {})
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind.kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
