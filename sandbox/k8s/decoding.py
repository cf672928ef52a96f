"""Typed decoding: the API server decodes a body into Go structs before it validates anything, so a value of the
wrong JSON type (a name that is a boolean, labels that are a list, a quantity that is not one) is a 400 BadRequest
"<Kind> in version "<v>" cannot be handled as a <Kind>: ...", never a 422 and never a server error.

The schema covers the fields the emulated kinds' objects use (k8s.io/api core/v1, storage/v1, batch/v1, apps/v1);
fields it does not list are decoded leniently. Messages follow encoding/json ("json: cannot unmarshal <json type>
into Go struct field <Struct>.<path> of type <Go type>") and apimachinery's resource.Quantity
("quantities must match the regular expression ...").
"""

import re

from . import errors, gocompat

QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

S, B, I = "string", "bool", "int32"
STRINGS, MAP = "[]string", "map[string]string"
QMAP = "map[ResourceName]resource.Quantity"
OBJECTS = "[]object"
SECRET_REF = {"name": S, "namespace": S}
SECRET_REFS = ("controllerPublishSecretRef", "nodeStageSecretRef", "nodePublishSecretRef", "controllerExpandSecretRef",
               "nodeExpandSecretRef")

META = {"name": S, "generateName": S, "namespace": S, "uid": S, "resourceVersion": S, "labels": MAP,
        "annotations": MAP, "finalizers": STRINGS, "ownerReferences": OBJECTS}
POD_SPEC = {"serviceAccountName": S, "restartPolicy": S, "containers": OBJECTS, "volumes": OBJECTS,
            "nodeSelector": MAP}
CONTAINER = {"name": S, "image": S, "command": STRINGS, "args": STRINGS, "volumeMounts": OBJECTS}
TEMPLATE = {"metadata": {"labels": MAP, "annotations": MAP}, "spec": POD_SPEC}
SCHEMAS = {
    "Namespace": {"spec": {"finalizers": STRINGS}},
    "ServiceAccount": {"automountServiceAccountToken": B, "secrets": OBJECTS, "imagePullSecrets": OBJECTS},
    "ConfigMap": {"data": MAP, "binaryData": MAP, "immutable": B},
    "Secret": {"data": MAP, "stringData": MAP, "type": S, "immutable": B},
    "PersistentVolume": {"spec": {"capacity": QMAP, "accessModes": STRINGS, "mountOptions": STRINGS,
                                  "storageClassName": S, "persistentVolumeReclaimPolicy": S, "volumeMode": S,
                                  "claimRef": {"name": S, "namespace": S},
                                  "azureFile": {"secretName": S, "shareName": S, "secretNamespace": S, "readOnly": B},
                                  "csi": {"driver": S, "volumeHandle": S, "readOnly": B, "fsType": S,
                                          "volumeAttributes": MAP, **{ref: SECRET_REF for ref in SECRET_REFS}}}},
    "PersistentVolumeClaim": {"spec": {"accessModes": STRINGS, "storageClassName": S, "volumeName": S,
                                       "volumeMode": S, "resources": {"requests": QMAP, "limits": QMAP}}},
    "StorageClass": {"provisioner": S, "parameters": MAP, "reclaimPolicy": S, "volumeBindingMode": S,
                     "allowVolumeExpansion": B, "mountOptions": STRINGS},
    "Deployment": {"spec": {"replicas": I, "template": TEMPLATE}},
    "StatefulSet": {"spec": {"replicas": I, "template": TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": I, "template": TEMPLATE}},
    "DaemonSet": {"spec": {"template": TEMPLATE}},
    "NetworkPolicy": {"spec": {"podSelector": {"matchLabels": MAP, "matchExpressions": OBJECTS},
                               "policyTypes": STRINGS, "ingress": OBJECTS, "egress": OBJECTS}},
    "Job": {"spec": {"backoffLimit": I, "activeDeadlineSeconds": "int64", "ttlSecondsAfterFinished": I,
                     "completions": I, "parallelism": I,
                     "template": {"metadata": {"labels": MAP, "annotations": MAP}, "spec": POD_SPEC}}},
}
# Nested structs whose Go type is not <outer struct><Field>.
STRUCT_NAMES = {"NetworkPolicySpecPodSelector": "LabelSelector", "DeploymentSpecTemplate": "PodTemplateSpec",
                "StatefulSetSpecTemplate": "PodTemplateSpec", "ReplicaSetSpecTemplate": "PodTemplateSpec",
                "DaemonSetSpecTemplate": "PodTemplateSpec", "PodTemplateSpecSpec": "PodSpec",
                "PersistentVolumeSpecCsi": "CSIPersistentVolumeSource",
                "PersistentVolumeSpecAzureFile": "AzureFilePersistentVolumeSource",
                **{"CSIPersistentVolumeSource" + ref[:1].upper() + ref[1:]: "SecretReference" for ref in SECRET_REFS}}
JSON_TYPES = ((bool, "bool"), (int, "number"), (float, "number"), (str, "string"), (list, "array"),
              (dict, "object"))


def _json_type(value):
    return next(name for kind, name in JSON_TYPES if isinstance(value, kind))


def _mismatch(value, go_type):
    """The JSON type of ``value`` when it cannot decode into ``go_type`` (None when it can, or is null)."""
    if value is None:
        return None
    expected = {S: (str,), B: (bool,), I: (int,), "int64": (int,), STRINGS: (list,), MAP: (dict,), QMAP: (dict,),
                OBJECTS: (list,)}.get(go_type, (dict,))
    if isinstance(value, bool) and bool not in expected:
        return "bool"
    return None if isinstance(value, expected) else _json_type(value)


def problems(kind_name, obj):
    """The first decoding error of ``obj`` as encoding/json or resource.Quantity would word it, or None."""
    schema = dict(SCHEMAS.get(kind_name, {}), metadata=META)
    return _walk(obj, schema, kind_name, "") or (_secret_data(obj) if kind_name == "Secret" else None)


def _secret_data(obj):
    """Secret.data is map[string][]byte: each value must be standard, padded base64 (encoding/base64's error)."""
    for value in (obj.get("data") or {}).values() if isinstance(obj.get("data"), dict) else ():
        if isinstance(value, str):
            try:
                gocompat.b64decode(value, url=False, padded=True)
            except gocompat.GoError as exc:
                return str(exc)
    return None


def _walk(obj, schema, struct, path):
    for field, go_type in schema.items():
        if not isinstance(obj, dict) or field not in obj:
            continue
        value, where = obj[field], path + field
        wrong = _mismatch(value, go_type if not isinstance(go_type, dict) else "object")
        if wrong:
            shown = go_type if not isinstance(go_type, dict) else "v1." + _struct_of(struct, field)
            return "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (wrong, struct, where, shown)
        found = _inside(value, go_type, _struct_of(struct, field) if isinstance(go_type, dict) else struct, where)
        if found:
            return found
    return None


def _struct_of(struct, field):
    """The Go struct a nested object decodes into: ObjectMeta for metadata, else <outer struct><Field>."""
    if field == "metadata":
        return "ObjectMeta"
    name = struct + field[:1].upper() + field[1:]
    return STRUCT_NAMES.get(name, name)


def _inside(value, go_type, struct, where):
    """Check the elements of a decoded container value."""
    if isinstance(go_type, dict):
        return _walk(value, go_type, struct, where + ".")
    if go_type in (STRINGS, MAP) and value:
        items = value.values() if isinstance(value, dict) else value
        # null decodes into a string as "" (encoding/json leaves it unset), anything else must be a string
        bad = next((v for v in items if v is not None and not isinstance(v, str)), _OK)
        if bad is not _OK:
            return "json: cannot unmarshal %s into Go struct field %s.%s of type string" % (
                _json_type(bad), struct, where)
    if go_type == QMAP and value:
        for quantity in value.values():
            if isinstance(quantity, bool) or not isinstance(quantity, (str, int, float)) or not QUANTITY_RE.match(
                    str(quantity)):
                return QUANTITY_ERROR
    return None


_OK = object()


def decode(kind, obj):
    """Raise the API server's 400 for a body that does not decode into ``kind``."""
    found = problems(kind.kind, obj)
    if found:
        raise errors.bad_request('%s in version "%s" cannot be handled as a %s: %s'
                                 % (kind.kind, kind.version, kind.kind, found))
