"""Server-side apply field ownership (metadata.managedFields), simplified.

A field path is a tuple of fieldsV1 segments: `f:name` for map keys, `k:{"name":"x"}` for items of
lists with a merge key, `v:"x"` for members of primitive sets; atomic lists and scalars are leaves.
Apply: conflicts when another manager owns a path whose current value differs from the applied one
(409 unless force, which takes the field over); fields the manager applied before and no longer
applies are removed unless someone else owns them. Updates (POST/PUT/PATCH) take over the fields
whose values they change. Not emulated: ownership of individual atomic-list members, schema
defaults, and the per-version conversion of field sets.
"""

import copy
import json

from .errors import KubeError
from .meta import timestamp
from .patches import PRIMITIVE_SETS, merge_key

IGNORED_TOP = {"apiVersion", "kind", "status"}
IGNORED_META = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation",
                "managedFields", "deletionTimestamp", "selfLink"}


def leaves(obj, include_status=False) -> dict:
    """path tuple -> value for every owned leaf of an object (or an apply configuration)."""
    result = {}

    def walk(value, path, field):
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                if not path and (key in IGNORED_TOP and not (include_status and key == "status")):
                    continue
                if path == ("f:metadata",) and key in IGNORED_META:
                    continue
                walk(sub, path + (f"f:{key}",), key)
        elif isinstance(value, list) and field in PRIMITIVE_SETS:
            for item in value:
                result[path + ("v:" + json.dumps(item),)] = True
        elif isinstance(value, list) and value and merge_key(field, value) and all(
                isinstance(i, dict) and merge_key(field, value) in i for i in value):
            key = merge_key(field, value)
            for item in value:
                segment = "k:" + json.dumps({key: item[key]}, separators=(",", ":"))
                walk(item, path + (segment,), None)
        else:
            result[path] = value

    walk(obj, (), None)
    return result


def value_at(obj, path):
    current = obj
    for segment in path:
        if segment.startswith("f:") and isinstance(current, dict):
            current = current.get(segment[2:], _MISSING)
        elif segment.startswith("k:") and isinstance(current, list):
            (key, wanted), = json.loads(segment[2:]).items()
            current = next((i for i in current if isinstance(i, dict) and i.get(key) == wanted), _MISSING)
        elif segment.startswith("v:") and isinstance(current, list):
            current = True if json.loads(segment[2:]) in current else _MISSING
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def remove_at(obj, path) -> None:
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        (key, wanted), = json.loads(last[2:]).items()
        parent[:] = [i for i in parent if not (isinstance(i, dict) and i.get(key) == wanted)]
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        parent[:] = [i for i in parent if i != value]


class _Missing:
    def __repr__(self):
        return "<missing>"


_MISSING = _Missing()


# ---------------------------------------------------------------------- fieldsV1 <-> path sets
def to_fields_v1(paths) -> dict:
    tree = {}
    for path in sorted(paths):
        node = tree
        for segment in path:
            node = node.setdefault(segment, {})
            if segment.startswith("k:"):
                node.setdefault(".", {})
    return tree


def from_fields_v1(tree, prefix=()) -> set:
    paths = set()
    for segment, sub in (tree or {}).items():
        if segment == ".":
            continue
        children = {k: v for k, v in (sub or {}).items() if k != "."}
        if children:
            paths |= from_fields_v1(children, prefix + (segment,))
        else:
            paths.add(prefix + (segment,))
    return paths


def _entries(obj) -> list:
    return copy.deepcopy((obj.get("metadata") or {}).get("managedFields") or [])


def _owners(entries, subresource="") -> dict:
    """(manager, operation) -> set of paths, for entries of one subresource."""
    return {(e.get("manager", ""), e.get("operation", "Update")): from_fields_v1(e.get("fieldsV1"))
            for e in entries if e.get("subresource", "") == subresource}


def _render(owners, old_entries, api_version, subresource, touched) -> list:
    by_key = {(e.get("manager", ""), e.get("operation", "Update")): e for e in old_entries
              if e.get("subresource", "") == subresource}
    rendered = [e for e in old_entries if e.get("subresource", "") != subresource]
    for (manager, operation), paths in owners.items():
        if not paths:
            continue
        entry = copy.deepcopy(by_key.get((manager, operation))) or {}
        if (manager, operation) in touched or not entry:
            entry.update({"manager": manager, "operation": operation, "apiVersion": api_version,
                          "time": timestamp(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)})
            if subresource:
                entry["subresource"] = subresource
        rendered.append(entry)
    return rendered


def conflicts_error(conflicts, api_version) -> KubeError:
    lines = [f'conflict with "{manager}"{" using " + api_version if api_version else ""}: '
             f'.{".".join(s[2:] if s.startswith("f:") else "[" + s[2:] + "]" for s in path)}'
             for manager, path in conflicts]
    word = "conflict" if len(lines) == 1 else "conflicts"
    message = f"Apply failed with {len(lines)} {word}: " + "\n".join(lines)
    causes = [{"reason": "FieldManagerConflict", "message": line.split(": ", 1)[0],
               "field": line.split(": ", 1)[1]} for line in lines]
    return KubeError(409, "Conflict", message, {"causes": causes})


def apply(current, config, manager, force, api_version, merge):
    """Server-side apply of `config` by `manager` onto `current` (None when absent).

    `merge(base, config)` merges like a strategic merge (associative lists by key). Returns the new
    object with managedFields updated.
    """
    base = copy.deepcopy(current) if current else {}
    entries = _entries(base)
    owners = _owners(entries)
    mine = owners.get((manager, "Apply"), set())
    applied = leaves(config)
    conflicts = []
    for path, value in applied.items():
        for (other, operation), paths in owners.items():
            if other == manager and operation == "Apply":
                continue
            if path in paths and value_at(base, path) != value:
                conflicts.append((other, path))
    if conflicts and not force:
        raise conflicts_error(sorted(conflicts), api_version)
    for key in owners:  # force (or equal values): shared or taken over
        if key != (manager, "Apply"):
            owners[key] = owners[key] - {p for _manager, p in conflicts}
    others = set().union(*[p for k, p in owners.items() if k != (manager, "Apply")]) if owners else set()
    for path in sorted(mine - set(applied), key=len, reverse=True):
        if path not in others:
            remove_at(base, path)
    result = merge(base, config)
    owners[(manager, "Apply")] = set(applied)
    result.setdefault("metadata", {})["managedFields"] = _render(owners, entries, api_version, "",
                                                                 {(manager, "Apply")})
    return result


def without_times(entries) -> list:
    return [{k: v for k, v in e.items() if k != "time"} for e in entries or []]


def keep_times_of_noop(old, new, unchanged) -> None:
    """A write that changes nothing but the time of a managedFields entry is a no-op: the old entries stay
    (k8s.io/apiserver fieldmanager IgnoreManagedFieldsTimestampsTransformer, kube-apiserver >= 1.26).
    ``unchanged``: the object is otherwise equal to ``old``."""
    old_entries = (old.get("metadata") or {}).get("managedFields")
    new_entries = new.get("metadata", {}).get("managedFields")
    if unchanged and old_entries and without_times(old_entries) == without_times(new_entries):
        new["metadata"]["managedFields"] = copy.deepcopy(old_entries)


def record_update(old, new, manager, api_version, subresource="") -> None:
    """Give `manager` (operation Update) the fields of `new` whose values differ from `old`."""
    entries = _entries(old) if old else []
    owners = _owners(entries, subresource)
    before = leaves(old, include_status=bool(subresource)) if old else {}
    after = leaves(new, include_status=bool(subresource))
    if subresource:  # a subresource write owns only its part: status, or spec.replicas for scale
        part = ("f:spec", "f:replicas") if subresource == "scale" else ("f:status",)
        after = {p: v for p, v in after.items() if p[:len(part)] == part}
        before = {p: v for p, v in before.items() if p[:len(part)] == part}
    changed = {p for p, v in after.items() if before.get(p, _MISSING) != v}
    gone = set(before) - set(after)
    if not changed and not gone and old:
        new.setdefault("metadata", {})["managedFields"] = entries
        return
    for key in owners:
        owners[key] = {p for p in owners[key] - changed - gone
                       if not any(p[:len(g)] == g for g in gone)}
    mine = owners.setdefault((manager, "Update"), set())
    mine |= changed
    new.setdefault("metadata", {})["managedFields"] = _render(owners, entries, api_version, subresource,
                                                              {(manager, "Update")} if changed else set())
