"""Patch formats of the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
strategic merge patch (associative lists merged by their patchMergeKey, with the `$patch`,
`$setElementOrder`, `$deleteFromPrimitiveList` and `$retainKeys` directives kubectl sends)."""

import copy
import json

from .errors import KubeError, bad_request

MAX_DEPTH = 100
MAX_OPERATIONS = 10000
# patchMergeKey by field name: the list fields our manifests (and kubectl apply) use. Lists not named
# here are atomic (a patch replaces them), like `args`, `command` or `tolerations` in the real API.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "imagePullSecrets": "name", "secrets": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "conditions": "type", "hostAliases": "ip", "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
}
PRIMITIVE_SETS = {"finalizers"}  # patchStrategy=merge on a list of strings: union


def merge_key(field: str, items) -> str | None:
    if field == "ports":  # container ports merge by containerPort, service ports by port
        dicts = [i for i in items or [] if isinstance(i, dict)]
        return "containerPort" if any("containerPort" in i for i in dicts) else ("port" if dicts else None)
    return MERGE_KEYS.get(field)


# ---------------------------------------------------------------------- RFC 7386
def merge_patch(target, patch, depth=0):
    if depth > MAX_DEPTH:
        raise bad_request("patch nesting too deep")
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, depth + 1)
    return result


# ---------------------------------------------------------------------- RFC 6902
def _pointer(path: str) -> list:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, op):
    for part in parts:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise KubeError(422, "Invalid", f"the server rejected our request due to an error in our request: "
                            f"jsonpatch {op} operation does not apply: doc is missing path: /{'/'.join(parts)}")
    return doc


def _index(container, part, op, allow_end=False):
    if part == "-" and allow_end:
        return len(container)
    if not part.isdigit() or int(part) > len(container) - (0 if allow_end else 1):
        raise KubeError(422, "Invalid", f"jsonpatch {op} operation does not apply: index {part} out of range")
    return int(part)


def json_patch(doc, operations):
    if not isinstance(operations, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for operation in operations[:MAX_OPERATIONS]:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise bad_request(f"invalid json patch operation {operation!r}")
        op, parts = operation["op"], _pointer(operation["path"])
        if op in ("move", "copy"):
            source = _pointer(operation.get("from", ""))
            value = copy.deepcopy(_walk(doc, source, op))
            if op == "move":
                doc = _remove(doc, source, op)
            doc = _add(doc, parts, value, op)
        elif op == "add":
            doc = _add(doc, parts, copy.deepcopy(operation.get("value")), op)
        elif op == "remove":
            doc = _remove(doc, parts, op)
        elif op == "replace":
            _walk(doc, parts, op)
            doc = _add(_remove(doc, parts, op), parts, copy.deepcopy(operation.get("value")), op)
        elif op == "test":
            if _walk(doc, parts, op) != operation.get("value"):
                raise KubeError(422, "Invalid", f"testing value /{'/'.join(parts)} failed")
        else:
            raise bad_request(f"unknown json patch operation {op!r}")
    return doc


def _add(doc, parts, value, op):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], op)
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], op, allow_end=True), value)
    else:
        raise KubeError(422, "Invalid", f"jsonpatch {op} operation does not apply: /{'/'.join(parts)}")
    return doc


def _remove(doc, parts, op):
    parent = _walk(doc, parts[:-1], op)
    if isinstance(parent, dict) and parts[-1] in parent:
        del parent[parts[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, parts[-1], op)]
    else:
        raise KubeError(422, "Invalid", f"jsonpatch {op} operation does not apply: doc is missing key: "
                        f"/{'/'.join(parts)}")
    return doc


# ---------------------------------------------------------------------- strategic merge patch
def strip_directives(value):
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [strip_directives(v) for v in value]
    return copy.deepcopy(value)


def strategic_merge(target, patch, depth=0):
    """Returns the patched value; None means 'delete this map' ($patch: delete)."""
    if depth > MAX_DEPTH:
        raise bad_request("patch nesting too deep")
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return strip_directives(patch)
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise bad_request(f"unknown patch directive {directive!r}")
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value, depth + 1)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value, depth)
        else:
            result[key] = copy.deepcopy(value)
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
        elif key.startswith("$setElementOrder/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = _reorder(field, result[field], value)
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _item_key(item, key):
    return json.dumps(item.get(key), sort_keys=True) if isinstance(item, dict) else None


def _merge_list(field, current, patch, depth):
    current = current if isinstance(current, list) else []
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if field in PRIMITIVE_SETS:
        return copy.deepcopy(current) + [v for v in patch if v not in current]
    key = merge_key(field, patch + current)
    if key is None:
        return strip_directives(patch)
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        wanted = _item_key(item, key)
        index = next((i for i, existing in enumerate(result) if _item_key(existing, key) == wanted), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strip_directives(item))
        else:
            merged = strategic_merge(result[index], item, depth + 1)
            if merged is None:
                del result[index]
            else:
                result[index] = merged
    return result


def _reorder(field, items, order):
    key = merge_key(field, items)
    if key is None:
        ranked = {json.dumps(v, sort_keys=True): n for n, v in enumerate(order)}
        return sorted(items, key=lambda v: ranked.get(json.dumps(v, sort_keys=True), len(ranked)))
    ranked = {json.dumps(o.get(key), sort_keys=True): n for n, o in enumerate(order) if isinstance(o, dict)}
    return sorted(items, key=lambda v: ranked.get(_item_key(v, key), len(ranked)))
