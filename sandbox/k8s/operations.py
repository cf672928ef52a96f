"""Write semantics of the API server: create, replace, the four patch types, delete.

Callers hold the store lock. Every write funnels through `_finish()`: server-owned metadata is
kept, status is only written through /status, defaults and validation run, generation follows
spec changes, field ownership is recorded, and then the object is either committed (controllers
react) or, for dryRun, returned as it would have been stored.
"""

import copy
import json
from dataclasses import dataclass

import yaml

from . import admission, controllers, decoding, errors, managed_fields, patches, protection, quantity
from .cluster import comparable
from .meta import generated_name, timestamp
from .validation import apply_defaults, validate

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_PATCH, JSON_PATCH, APPLY_PATCH)
GENERATE_ATTEMPTS = 10
FIELD_MANAGER_MAX = 128
UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")
# Jobs (batch/v1) still default to orphaning their pods when deleted through the API.
ORPHAN_BY_DEFAULT = ("Job",)


@dataclass
class WriteOptions:
    dry_run: bool = False
    manager: str = "unknown"
    force: bool = False
    explicit_manager: bool = False   # fieldManager given in the query (apply requires it)
    force_given: bool = False        # `force` present in the query (only apply may have it)


def _check_identity(kind, body, namespace, name=None):
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of the request must be a {kind.kind} object")
    decoding.decode(kind, body)
    meta = body.get("metadata")
    if meta is None:
        meta = body["metadata"] = {}
    if body.get("apiVersion") not in (None, kind.api_version):
        raise errors.bad_request(f"the API version in the data ({body.get('apiVersion')}) does not match the "
                                 f"expected API version ({kind.api_version})")
    if body.get("kind") not in (None, kind.kind):
        raise errors.bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind "
                                 f"({kind.kind})")
    if kind.namespaced:
        if meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    if name is not None and meta.get("name") not in (None, name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL "
                                 f"({name})")
    if name is not None:
        meta["name"] = name


def _spec_part(obj) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _require_namespace(cluster, kind, namespace):
    if kind.namespaced and not cluster.namespace_exists(namespace):
        raise errors.namespace_not_found(namespace)


def _finish(cluster, kind, old, new, opts, subresource="", fields_done=False):
    meta = new.setdefault("metadata", {})
    creating = old is None
    if subresource == "status":
        status = new.get("status")
        new = copy.deepcopy(old)
        new["status"] = status
        if status is None:
            new.pop("status")
        meta = new["metadata"]
    elif kind.status:
        if creating:
            new.pop("status", None)   # set by controllers, never by the creator
        elif "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    if not creating:
        given = meta.get("resourceVersion")
        if given and given != old["metadata"].get("resourceVersion"):
            raise errors.conflict(kind, old["metadata"]["name"])
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "generation"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old["metadata"].get("resourceVersion")
        if not fields_done:
            meta["managedFields"] = copy.deepcopy(old["metadata"].get("managedFields") or [])
    new["apiVersion"], new["kind"] = kind.api_version, kind.kind
    if creating:
        cluster.stamp(kind, new)
        protection.add_finalizer(kind, new)
    apply_defaults(kind, new, cluster, creating=creating)
    quantity.canonicalize(kind.kind, new)
    problems = validate(kind, new, None if creating else old)
    if problems:
        raise errors.invalid(kind, meta.get("name", ""), problems)
    if not creating and subresource != "status":
        admission.check_update(cluster, kind, old, new)
    if kind.generation and not creating and _spec_part(new) != _spec_part(old):
        meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
    if not fields_done:
        managed_fields.record_update(old, new, opts.manager, kind.api_version, subresource)
    if not meta.get("managedFields"):
        meta.pop("managedFields", None)
    elif not creating:
        managed_fields.keep_times_of_noop(old, new, comparable(old) == comparable(new))
    if not creating and meta.get("deletionTimestamp") and not meta.get("finalizers"):
        # The last finalizer is gone: the pending deletion completes now.
        if not opts.dry_run:
            cluster.remove(kind, meta.get("namespace"), meta["name"])
            controllers.after_delete(cluster, kind, old)
        return new
    if opts.dry_run:
        if creating:
            meta.pop("resourceVersion", None)
        return new
    stored = cluster.commit(kind, new, old)
    if stored is not old:
        controllers.after_write(cluster, kind, stored, old)
    return cluster.get(kind, meta.get("namespace"), meta["name"]) or stored


# ---------------------------------------------------------------------- create / replace
def create(cluster, kind, namespace, body, opts) -> dict:
    body = copy.deepcopy(body)
    _check_identity(kind, body, namespace)
    meta = body["metadata"]
    _require_namespace(cluster, kind, namespace)
    for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation",
                  "managedFields", "selfLink"):
        meta.pop(field, None)
    if not meta.get("name"):
        prefix = meta.get("generateName")
        if not prefix:
            raise errors.invalid(kind, "", [("metadata.name", "Required value: name or generateName is required")])
        for _attempt in range(GENERATE_ATTEMPTS):
            meta["name"] = generated_name(prefix)
            if cluster.get(kind, namespace, meta["name"]) is None:
                break
    if cluster.get(kind, namespace, meta["name"]) is not None:
        raise errors.already_exists(kind, meta["name"])
    return _finish(cluster, kind, None, body, opts)


def replace(cluster, kind, namespace, name, body, opts, subresource="") -> dict:
    body = copy.deepcopy(body)
    _check_identity(kind, body, namespace, name)
    _require_namespace(cluster, kind, namespace)
    old = cluster.get(kind, namespace, name)
    if old is None:
        raise errors.not_found(kind, name)
    return _finish(cluster, kind, old, body, opts, subresource)


# ---------------------------------------------------------------------- patch
def parse_body(content_type, raw: bytes):
    try:
        text = raw.decode("utf-8")
        if content_type == APPLY_PATCH:
            return yaml.safe_load(text) if text.strip() else None  # JSON is YAML too
        return json.loads(text) if text.strip() else None
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"error decoding patch: {exc}")


def patch(cluster, kind, namespace, name, content_type, raw, opts, subresource="") -> tuple:
    """-> (http status, object). Server-side apply creates an absent object (201)."""
    if content_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(content_type)
    _check_patch_options(content_type, opts)
    body = parse_body(content_type, raw)
    _require_namespace(cluster, kind, namespace)
    old = cluster.get(kind, namespace, name)
    if content_type == APPLY_PATCH:
        return _server_side_apply(cluster, kind, namespace, name, body, old, opts, subresource)
    if old is None:
        raise errors.not_found(kind, name)
    if content_type == JSON_PATCH:
        new = patches.json_patch(old, body)
    elif body is None or not isinstance(body, dict):
        raise errors.bad_request("a merge patch must be a JSON object")
    elif content_type == MERGE_PATCH:
        new = patches.merge_patch(old, body)
    else:
        new = patches.strategic_merge(old, body)
    if not isinstance(new, dict):
        raise errors.bad_request("the patch did not produce an object")
    patched_rv = (body or {}).get("metadata", {}).get("resourceVersion") if isinstance(body, dict) else None
    new.setdefault("metadata", {})["resourceVersion"] = patched_rv or old["metadata"].get("resourceVersion")
    _check_identity(kind, new, namespace, name)
    return 200, _finish(cluster, kind, old, new, opts, subresource)


def _check_patch_options(content_type, opts):
    """ValidatePatchOptions (k8s.io/apiserver, before the object is read): 422 on PatchOptions."""
    if content_type != APPLY_PATCH and opts.force_given:
        raise errors.invalid_patch_options("force", "Forbidden: may not be specified for non-apply patch")
    if content_type == APPLY_PATCH and not opts.explicit_manager:
        raise errors.invalid_patch_options("fieldManager", "Required value: is required for apply patch")
    if opts.explicit_manager and len(opts.manager.encode("utf-8")) > FIELD_MANAGER_MAX:
        raise errors.invalid_patch_options("fieldManager", f"Too long: may not be more than {FIELD_MANAGER_MAX} "
                                                           f"bytes")


def _server_side_apply(cluster, kind, namespace, name, config, old, opts, subresource):
    if not isinstance(config, dict):
        raise errors.bad_request("the apply configuration must be an object")
    if not config.get("apiVersion") or not config.get("kind"):
        raise errors.bad_request("apiVersion and kind must be set in an apply configuration")
    _check_identity(kind, config, namespace, name)
    meta = config["metadata"]
    for field in ("uid", "creationTimestamp", "managedFields", "generation", "selfLink"):
        meta.pop(field, None)
    quantity.canonicalize(kind.kind, config)   # compared with the stored (canonical) values
    given_rv = meta.pop("resourceVersion", None)
    if old is not None and given_rv and given_rv != old["metadata"].get("resourceVersion"):
        raise errors.conflict(kind, name)
    new = managed_fields.apply(old, config, opts.manager, opts.force, kind.api_version,
                               patches.strategic_merge)
    if old is None:
        new["metadata"].pop("resourceVersion", None)
        return 201, _finish(cluster, kind, None, new, opts, subresource, fields_done=True)
    new["metadata"]["resourceVersion"] = old["metadata"].get("resourceVersion")
    return 200, _finish(cluster, kind, old, new, opts, subresource, fields_done=True)


# ---------------------------------------------------------------------- delete
def delete(cluster, kind, namespace, name, opts, options: dict) -> tuple:
    """-> (http status, body): the object for graceful/finalized deletes, else a Success Status."""
    old = cluster.get(kind, namespace, name)
    if old is None:
        raise errors.not_found(kind, name)
    if kind.kind == "Namespace" and name in UNDELETABLE_NAMESPACES:
        raise errors.KubeError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be '
                               f'deleted', {"name": name, "kind": "namespaces"})
    pre = options.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
        raise errors.conflict(kind, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object "
                                          f"meta: {old['metadata'].get('uid')}")
    if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"].get("resourceVersion"):
        raise errors.conflict(kind, name, f"Precondition failed: ResourceVersion in precondition: "
                                          f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                          f"{old['metadata'].get('resourceVersion')}")
    policy = options.get("propagationPolicy") or ("Orphan" if kind.kind in ORPHAN_BY_DEFAULT else "Background")
    if policy not in ("Orphan", "Background", "Foreground"):
        raise errors.bad_request(f'Unsupported value: "{policy}": supported values: "Foreground", "Background", '
                                 f'"Orphan"')
    grace = protection.grace_seconds(old, options) if kind.kind == "Pod" else 0
    if grace:
        return 200, protection.mark_terminating(cluster, old, grace, opts.dry_run)
    gone = copy.deepcopy(old)
    gone["metadata"]["deletionTimestamp"] = gone["metadata"].get("deletionTimestamp") or timestamp()
    if kind.kind == "Namespace":
        gone.setdefault("status", {})["phase"] = "Terminating"
    if old["metadata"].get("finalizers"):
        # Deletion waits for the finalizers to be removed; the object stays visible meanwhile.
        gone["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        if not opts.dry_run and not old["metadata"].get("deletionTimestamp"):
            gone = cluster.commit(kind, gone, old)
            protection.release(cluster, controllers.after_delete)   # unused: its controller lets it go now
        return 200, gone
    if not opts.dry_run:
        cluster.remove(kind, namespace, name)
        controllers.after_delete(cluster, kind, old, policy)
    if kind.kind in ("Namespace", "Pod"):
        return 200, gone
    details = {"name": name, "kind": kind.plural, "uid": old["metadata"].get("uid")}
    if kind.group:
        details["group"] = kind.group
    return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
