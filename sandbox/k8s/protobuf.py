"""Decoding of the Kubernetes protobuf request bodies kubectl's typed commands send.

`kubectl create namespace|configmap|secret|serviceaccount` post `application/vnd.kubernetes.protobuf`
(envelope: magic `k8s\\0` + runtime.Unknown{typeMeta, raw}). Only those kinds are decoded, from their
generated.proto field numbers; any other protobuf body gets 415 and a hint to use JSON (kubectl
apply, kubernetes.core). Responses are always JSON, which kubectl accepts.
"""

import base64

from .errors import KubeError

MAGIC = b"k8s\x00"
MAX_FIELDS = 100000


def _varint(data, pos):
    result = shift = 0
    for _field in range(10):
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise ValueError("varint too long")


def fields(data: bytes) -> list:
    """[(field number, wire type, value)]: value is int for varints, bytes for length-delimited."""
    out, pos = [], 0
    while pos < len(data):
        if len(out) >= MAX_FIELDS:
            raise ValueError("too many fields")
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _text(value) -> str:
    return value.decode("utf-8")


def _map(entries, as_bytes=False) -> dict:
    result = {}
    for entry in entries:
        parts = {n: v for n, _w, v in fields(entry)}
        value = parts.get(2, b"")
        result[_text(parts.get(1, b""))] = base64.b64encode(value).decode() if as_bytes else _text(value)
    return result


def _object_meta(data) -> dict:
    meta, labels, annotations, finalizers = {}, [], [], []
    for number, _wire, value in fields(data):
        if number == 1:
            meta["name"] = _text(value)
        elif number == 2:
            meta["generateName"] = _text(value)
        elif number == 3:
            meta["namespace"] = _text(value)
        elif number == 6:
            meta["resourceVersion"] = _text(value)
        elif number == 11:
            labels.append(value)
        elif number == 12:
            annotations.append(value)
        elif number == 14:
            finalizers.append(_text(value))
    if labels:
        meta["labels"] = _map(labels)
    if annotations:
        meta["annotations"] = _map(annotations)
    if finalizers:
        meta["finalizers"] = finalizers
    return meta


def _decode_kind(kind_name, raw) -> dict:
    obj, data, binary, string_data = {}, [], [], []
    for number, _wire, value in fields(raw):
        if number == 1:
            obj["metadata"] = _object_meta(value)
        elif kind_name == "ConfigMap" and number == 2:
            data.append(value)
        elif kind_name == "ConfigMap" and number == 3:
            binary.append(value)
        elif kind_name == "Secret" and number == 2:
            data.append(value)
        elif kind_name == "Secret" and number == 3:
            obj["type"] = _text(value)
        elif kind_name == "Secret" and number == 4:
            string_data.append(value)
        elif kind_name in ("ConfigMap", "Secret") and number == (4 if kind_name == "ConfigMap" else 5):
            obj["immutable"] = bool(value)
        elif kind_name == "ServiceAccount" and number == 3:
            obj["automountServiceAccountToken"] = bool(value)
    if data:
        obj["data"] = _map(data, as_bytes=kind_name == "Secret")
    if binary:
        obj["binaryData"] = _map(binary, as_bytes=True)
    if string_data:
        obj["stringData"] = _map(string_data)
    return obj


DECODABLE = ("Namespace", "ConfigMap", "Secret", "ServiceAccount")


def decode(body: bytes, kind) -> dict:
    """A JSON-shaped object from a protobuf body, or 415 for kinds this emulation does not decode."""
    if kind.kind not in DECODABLE or kind.group:
        raise KubeError(415, "UnsupportedMediaType", f"protobuf request bodies are only emulated for "
                        f"{', '.join(DECODABLE)}; send {kind.kind} as JSON (kubectl apply, kubernetes.core)")
    try:
        if not body.startswith(MAGIC):
            raise ValueError("missing k8s protobuf magic")
        envelope = {n: v for n, _w, v in fields(body[len(MAGIC):])}
        type_meta = {n: _text(v) for n, _w, v in fields(envelope.get(1, b""))}
        obj = _decode_kind(kind.kind, envelope.get(2, b""))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KubeError(400, "BadRequest", f"error decoding protobuf body: {exc}")
    obj["apiVersion"], obj["kind"] = type_meta.get(1) or kind.api_version, type_meta.get(2) or kind.kind
    return obj
