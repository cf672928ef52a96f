"""Bounded watch: a long poll, not an endless stream.

Without a resourceVersion (or with "0") the current objects come back as ADDED events at once.
With one, the events after it (ADDED/MODIFIED from the objects' versions, DELETED from a short
tombstone list) come back as soon as there is at least one, or an empty body after at most
HOLD_SECONDS (or timeoutSeconds if smaller). The stream then ends and clients simply watch again
from the last version they saw, which is what client-go's reflectors and kubectl do anyway.
"""

import json
import time

from ..server import Response
from . import selectors

HOLD_SECONDS = 2.0
POLL_SECONDS = 0.05


def _events(cluster, path, since, labels, fields):
    events = []
    for obj in cluster.items(path.kind, path.namespace):
        meta = obj["metadata"]
        if path.name and meta["name"] != path.name:
            continue
        if not (selectors.labels_match(labels, meta.get("labels")) and selectors.fields_match(fields, obj)):
            continue
        rv = int(meta.get("resourceVersion") or 0)
        if since is None or rv > since:
            created = cluster.created_rv.get((path.kind.key, meta.get("namespace") or "", meta["name"]), 0)
            kind = "ADDED" if since is None or created > since else "MODIFIED"
            events.append((rv, kind, obj))
    if since is not None:
        for rv, key, obj in cluster.deleted:
            meta = obj["metadata"]
            if (rv > since and key == path.kind.key and (path.namespace is None or meta.get("namespace") == path.namespace)
                    and (not path.name or meta["name"] == path.name)
                    and selectors.labels_match(labels, meta.get("labels"))):
                events.append((rv, "DELETED", obj))
    return sorted(events, key=lambda e: e[0])


def serve(store, cluster, path, query) -> Response:
    labels = selectors.parse_labels(query.get("labelSelector"))
    fields = selectors.parse_fields(query.get("fieldSelector"), path.kind)
    if path.name:
        fields = fields + [("metadata.name", "=", path.name)]
    raw = query.get("resourceVersion") or ""
    since = int(raw) if raw.isdigit() and raw != "0" else None
    hold = HOLD_SECONDS
    if (query.get("timeoutSeconds") or "").isdigit():
        hold = min(hold, float(query["timeoutSeconds"]))
    deadline = time.monotonic() + hold
    lines = ""
    for _attempt in range(int(hold / POLL_SECONDS) + 2):  # bounded in count and in time
        with store.lock:  # serialised under the lock: live objects must not change mid-dump
            lines = "".join(json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n"
                            for _rv, kind, obj in _events(cluster, path, since, labels, fields))
        if lines or since is None or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    return Response(200, lines.encode(), {"Content-Type": "application/json"})
