"""List chunking (`limit` / `continue`) as kube-apiserver v1.34 serves it (sources in sandbox/README.md,
"Kubernetes API", list chunking).

Items come in etcd key order (`<namespace>/<name>`, or `<name>` for cluster-scoped kinds, compared as strings).
A page takes keys from the start key on and keeps those the label and field selectors match until it holds
`limit` items; it has a continue token when any key (matching or not) remains after the last one it kept, so a
selective list can end with an empty page, as on a real server. `metadata.remainingItemCount` is sent only for a
list without selectors. The token is the API server's own encoding (base64url of
`{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after the prefix>\\u0000"}`), so a token also continues
another request (another namespace, other selectors) from its key, as the real one does.

Consistent snapshots: every page after the first is served as of the token's revision. When a page hands out
a token, the kind's objects at that revision are kept (deep copies, config `list_snapshots` per cluster, most
recently used first); a later page reads them. A revision whose snapshot is gone is served from the current
objects if none of the kind's objects changed since, else it counts as compacted: 410 Expired with a token at
revision -1 that continues inconsistently from the current objects (etcd3 store's handleCompactedErrorForPaging).
"""

import copy
import json
import posixpath

from . import errors, gocompat, selectors

TOKEN_VERSION = "meta.k8s.io/v1"
TOKEN_FIELDS = {"v": "string", "rv": "int64", "start": "string"}
CONFIG_DEFAULTS = {"list_snapshots": 8}
INCONSISTENT_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can "
                         "start a new list without the continue parameter, or use the continue token in this "
                         "response to retrieve the remainder of the results. Continuing with the provided token "
                         "results in an inconsistent list - objects that were created, modified, or deleted "
                         "between the time the first chunk was returned and now may show up in the list.")


class ListQuery:
    """The list options of one request, parsed and validated in the API server's order."""

    def __init__(self, query, kind):
        self.limit = self._limit(query)                       # DecodeParameters: url.Values -> v1.ListOptions
        self.labels = selectors.parse_labels(query.get("labelSelector"))
        self.fields = selectors.parse_fields(query.get("fieldSelector"), kind)
        self.continue_token = query.get("continue") or ""
        self.resource_version = query.get("resourceVersion") or ""
        _validate_options(query, self.continue_token, self.resource_version)

    @staticmethod
    def _limit(query) -> int:
        if "limit" not in query:
            return 0
        try:
            return gocompat.parse_int64(query["limit"])
        except gocompat.GoError as exc:
            raise errors.bad_request(str(exc)) from None

    @property
    def empty_predicate(self) -> bool:
        return not self.labels and not self.fields

    def matches(self, obj) -> bool:
        return (selectors.labels_match(self.labels, obj["metadata"].get("labels"))
                and selectors.fields_match(self.fields, obj))

    def exact(self, path) -> str | None:
        """The value a `path=value` field selector term requires (SelectionPredicate.RequiresExactMatch)."""
        return next((value for field, op, value in self.fields if field == path and op == "="), None)


def _validate_options(query, continue_token, resource_version) -> None:
    """k8s.io/apimachinery internalversion ValidateListOptions (not for watches): 422 ListOptions."""
    causes = []
    match = query.get("resourceVersionMatch") or ""
    if match:
        if not resource_version:
            causes.append(("resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden unless "
                                                   "resourceVersion is provided"))
        if continue_token:
            causes.append(("resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden when continue "
                                                   "is provided"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(("resourceVersionMatch", f'Unsupported value: "{match}": supported values: "Exact", '
                                                   f'"NotOlderThan", ""'))
        if match == "Exact" and resource_version == "0":
            causes.append(("resourceVersionMatch", 'Forbidden: resourceVersionMatch "exact" is forbidden for '
                                                   'resourceVersion "0"'))
    if "sendInitialEvents" in query:
        causes.append(("sendInitialEvents", "Forbidden: sendInitialEvents is forbidden for list"))
    if causes:
        raise errors.invalid(None, "", causes, kind_name="ListOptions", group="meta.k8s.io")


# ---------------------------------------------------------------------- keys and tokens
def object_key(obj) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


def encode_token(relative_key: str, revision: int) -> str:
    """storage.EncodeContinue: Go's json.Marshal of the token (field order v, rv, start), base64url unpadded."""
    body = json.dumps({"v": TOKEN_VERSION, "rv": revision, "start": relative_key}, separators=(",", ":"),
                      ensure_ascii=False)
    return gocompat.b64encode_raw_url(body.encode("utf-8", "surrogateescape"))


def _invalid_token(detail) -> errors.KubeError:
    return errors.bad_request(f"invalid continue token: continue key is not valid{detail}")


def decode_token(token: str, prefix: str) -> tuple:
    """storage.DecodeContinue -> (start key, revision); 400 BadRequest "invalid continue token: ..." otherwise."""
    try:
        data = gocompat.b64decode(token, url=True, padded=False)
    except gocompat.GoError as exc:
        raise _invalid_token(f": {exc}") from None
    fields, problem = gocompat.json_unmarshal_error(data, "storage.continueToken", TOKEN_FIELDS)
    if problem:
        raise _invalid_token(f": {problem}")
    version = fields.get("v", "")
    if version != TOKEN_VERSION:
        raise _invalid_token(f": server does not recognize this encoded version {version}")
    revision, start = fields.get("rv", 0), fields.get("start", "")
    if revision == 0:
        raise _invalid_token(f": incorrect encoded start resourceVersion (version {TOKEN_VERSION})")
    if not start:
        raise _invalid_token(f": encoded start key empty (version {TOKEN_VERSION})")
    key = start if start.startswith("/") else "/" + start
    if _clean(key) != key:  # no climbing out of the list's key prefix
        raise _invalid_token(f": {start}")
    return prefix + key[1:], revision


def _clean(path: str) -> str:
    """Go's path.Clean for a rooted path (posixpath keeps a leading '//', Go does not)."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


# ---------------------------------------------------------------------- revisions
def _current_entries(cluster, kind) -> list:
    bucket = cluster.objects.get(kind.key, {})
    return sorted(((object_key(obj), obj) for obj in bucket.values()), key=lambda entry: entry[0])


def unchanged_since(cluster, kind, revision: int) -> bool:
    """True when no object of the kind was created, changed or deleted after `revision` (as far as the cluster's
    bounded tombstone history tells)."""
    deleted = cluster.deleted
    if revision < cluster.history_floor or (len(deleted) == deleted.maxlen and deleted[0][0] > revision + 1):
        return False
    if any(rv > revision and key == kind.key for rv, key, _obj in deleted):
        return False
    return all(int(obj["metadata"].get("resourceVersion") or 0) <= revision
               for obj in cluster.objects.get(kind.key, {}).values())


def _keep_snapshot(cluster, kind, revision, entries) -> None:
    limit = int(cluster.store.config.get("list_snapshots", CONFIG_DEFAULTS["list_snapshots"]))
    snapshots, key = cluster.list_snapshots, (kind.key, revision)
    if limit <= 0:
        return
    if key not in snapshots:
        snapshots[key] = [(entry_key, copy.deepcopy(obj)) for entry_key, obj in entries]
    snapshots.move_to_end(key)
    while len(snapshots) > limit:
        snapshots.popitem(last=False)


def _entries_at(cluster, kind, revision, prefix, start) -> list:
    """The kind's entries as of `revision` (a continue token's), or the API server's refusal."""
    if revision > cluster.rv:
        raise too_large(revision, cluster.rv)
    snapshot = cluster.list_snapshots.get((kind.key, revision))
    if snapshot is not None:
        cluster.list_snapshots.move_to_end((kind.key, revision))
        return snapshot
    if unchanged_since(cluster, kind, revision):
        return _current_entries(cluster, kind)
    token = encode_token(start[len(prefix):], -1)
    raise errors.KubeError(410, "Expired", INCONSISTENT_CONTINUE, list_meta={"continue": token})


def too_large(revision, current) -> errors.KubeError:
    """storage.NewTooLargeResourceVersionError as the watch cache raises it (retry after 1 second)."""
    return errors.KubeError(504, "Timeout", f"Timeout: Too large resource version: {revision}, current: {current}",
                            {"causes": [{"reason": "ResourceVersionTooLarge",
                                         "message": "Too large resource version"}], "retryAfterSeconds": 1})


# ---------------------------------------------------------------------- one page
def list_page(cluster, kind, namespace, query: ListQuery) -> tuple:
    """-> (objects, list metadata) for a list of `kind` (namespace None: all namespaces or cluster-scoped)."""
    single = _single_key(kind, namespace, query)
    if single is not None:
        return _single(cluster, kind, *single, query)
    prefix = f"{namespace}/" if kind.namespaced and namespace is not None else ""
    entries, start, revision = _range(cluster, kind, prefix, query)
    in_range = [(key, obj) for key, obj in entries if key.startswith(prefix) and key >= start]
    # The watch cache serves resourceVersion=0 lists whole, whatever the limit (cacher.computeListLimit).
    limit = query.limit if query.resource_version != "0" else 0
    items, last_key, more = _fill(in_range, query, limit)
    meta = {"resourceVersion": str(revision)}
    if more:
        meta["continue"] = encode_token(last_key[len(prefix):] + "\x00", revision)
        if query.empty_predicate:
            meta["remainingItemCount"] = len(in_range) - limit
        _keep_snapshot(cluster, kind, revision, entries)  # the entries are the kind's objects as of revision
    return items, meta


def _range(cluster, kind, prefix, query) -> tuple:
    """-> (the kind's entries as of the list's revision, start key, revision): the current ones for a first page
    or a token at revision -1, else those of the token's revision."""
    if not query.continue_token:
        return _current_entries(cluster, kind), prefix, cluster.rv
    start, revision = decode_token(query.continue_token, prefix)
    if query.resource_version not in ("", "0"):
        raise errors.bad_request("specifying resource version is not allowed when using continue")
    if revision < 0 or revision == cluster.rv:
        return _current_entries(cluster, kind), start, cluster.rv
    return _entries_at(cluster, kind, revision, prefix, start), start, revision


def _single_key(kind, namespace, query):
    """(namespace, name) when a `metadata.name=` field selector names one key (no continue), else None."""
    name = query.exact("metadata.name") if not query.continue_token else None
    if name is None:
        return None
    if not kind.namespaced:
        return None, name
    if namespace is None:   # an all-namespaces list narrowed by metadata.namespace= (ListPredicate)
        namespace = query.exact("metadata.namespace")
    return (namespace, name) if namespace is not None else None


def _fill(entries, query, limit) -> tuple:
    """Take matching items until `limit` are held -> (items, key of the last one examined, more keys remain)."""
    items, last_key = [], None
    for key, obj in entries:
        if limit > 0 and len(items) >= limit:
            return items, last_key, True
        last_key = key
        if query.matches(obj):
            items.append(obj)
    return items, last_key, False


def _single(cluster, kind, namespace, name, query) -> tuple:
    """A field selector naming one object reads that one key (Store.ListPredicate's MatchesSingle): no paging."""
    obj = cluster.get(kind, namespace if kind.namespaced else None, name)
    items = [obj] if obj is not None and query.matches(obj) else []
    return items, {"resourceVersion": str(cluster.rv)}
