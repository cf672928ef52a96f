"""The `scale` subresource of Deployments, StatefulSets and ReplicaSets, served as an autoscaling/v1 Scale.

GET: metadata (the parent's name, namespace, uid, resourceVersion, creationTimestamp), `spec.replicas`,
`status.replicas` (the parent's status) and `status.selector` (the parent's label selector as a string,
requirements sorted by key, as k8s.io/apimachinery labels.Selector.String() prints it). PUT takes a Scale (a
resourceVersion, when given, must be current: 409 otherwise); PATCH takes merge, strategic merge or JSON patches
of the Scale, and apply patches with a fieldManager. Only `spec.replicas` is used: the parent is written through
`operations.replace(..., subresource="scale")`, so generation, managedFields (subresource `scale`), dryRun and
the controllers behave as for any spec change. `spec.replicas` must decode as an int32 (400) and be >= 0 (422
`spec.replicas: Invalid value: -1: must be greater than or equal to 0`, ValidateScale); an absent value is 0.
Other fields of the body (its kind included: kubernetes.core's k8s_scale sends the parent's kind) are ignored.
"""

import copy
import json

from . import errors, kinds, operations, patches
from .selectors import selector_string

SCALE_API_VERSION = f"{kinds.SCALE_KIND['group']}/{kinds.SCALE_KIND['version']}"


def scale_of(obj) -> dict:
    meta = obj["metadata"]
    return {"kind": kinds.SCALE_KIND["kind"], "apiVersion": SCALE_API_VERSION,
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                         if k in meta},
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": selector_string((obj.get("spec") or {}).get("selector"))}}


def read(cluster, kind, namespace, name) -> dict:
    obj = cluster.get(kind, namespace, name)
    if obj is None:
        raise errors.not_found(kind, name)
    return scale_of(obj)


def _invalid(name, message) -> errors.KubeError:
    group = kinds.SCALE_KIND["group"]
    return errors.KubeError(422, "Invalid", f'Scale.{group} "{name}" is invalid: spec.replicas: {message}',
                            {"name": name, "group": group, "kind": "Scale", "causes": [
                                {"reason": "FieldValueInvalid", "message": message, "field": "spec.replicas"}]})


def _undecodable(value, field, go_type) -> errors.KubeError:
    shown = next(name for types, name in ((bool, "bool"), ((int, float), "number"), (str, "string"),
                                          (list, "array"), (object, "object")) if isinstance(value, types))
    return errors.bad_request(f'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal {shown} '
                              f'into Go struct field {field} of type {go_type}')


def _patched(current, content_type, raw, opts):
    if content_type not in operations.PATCH_TYPES:
        raise errors.unsupported_media_type(content_type)
    if content_type == operations.APPLY_PATCH and not opts.explicit_manager:
        raise errors.bad_request("PATCH, application/apply-patch+yaml: fieldManager is required for apply requests")
    body = operations.parse_body(content_type, raw)
    if content_type == operations.JSON_PATCH:
        return patches.json_patch(current, body)
    if not isinstance(body, dict):
        raise errors.bad_request("a merge patch must be a JSON object")
    if content_type == operations.STRATEGIC_PATCH:
        return patches.strategic_merge(current, body)
    return patches.merge_patch(current, body)


def _replicas(wanted, kind, name, old) -> int:
    if not isinstance(wanted, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    meta = wanted.get("metadata") or {}
    if meta.get("name") not in (None, "", name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                                 f"({name})")
    if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"].get("resourceVersion"):
        raise errors.conflict(kind, name)
    spec = wanted.get("spec")
    if spec is not None and not isinstance(spec, dict):
        raise _undecodable(spec, "Scale.spec", "v1.ScaleSpec")
    replicas = (spec or {}).get("replicas")
    if replicas is None:
        return 0  # encoding/json leaves the int32 at its zero value
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise _undecodable(replicas, "ScaleSpec.spec.replicas", "int32")
    if replicas < 0:
        raise _invalid(name, f"Invalid value: {replicas}: must be greater than or equal to 0")
    return replicas


def write(cluster, kind, namespace, name, method, content_type, raw, opts) -> dict:
    """PUT or PATCH .../<name>/scale -> the Scale after the parent's spec.replicas was written."""
    old = cluster.get(kind, namespace, name)
    if old is None:
        raise errors.not_found(kind, name)
    current = scale_of(old)
    if method == "PUT":
        try:
            wanted = json.loads(raw.decode("utf-8")) if raw.strip() else None
        except (UnicodeDecodeError, ValueError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}")
    else:
        wanted = _patched(current, content_type, raw, opts)
    replicas = _replicas(wanted, kind, name, old)
    new = copy.deepcopy(old)
    new.setdefault("spec", {})["replicas"] = replicas
    stored = operations.replace(cluster, kind, namespace, name, new, opts, subresource="scale")
    return scale_of(stored)
