"""The one blob store: records kept in a container's private data (`storage.blobs(store, container_id)`).

A record: `content_b64` (the bytes), `content` (the same as text when it is UTF-8, for readers of
GET /_sandbox/kubelet/blobs), `size`, `content_type`, `last_modified` (ISO, 7 fractional digits), `etag`
(`"0x..."`), `created`, `written_by` (client id or object id of the writer). Call with the store lock held.
"""

import base64
import hashlib
import time
import uuid

from ..arm.providers.storage import blobs
from ..arm.providers.storage.common import iso_now


def new_etag() -> str:
    return '"0x' + hashlib.sha256(uuid.uuid4().bytes).hexdigest()[:15].upper() + '"'


def put(store, container_id: str, name: str, data: bytes, content_type: str, writer: str) -> dict:
    """Create or replace a block blob; returns the stored record."""
    existing = blobs(store, container_id).get(name)
    now = time.time()
    record = {"content_b64": base64.b64encode(data).decode("ascii"), "size": len(data),
              "content_type": content_type or "application/octet-stream", "last_modified": iso_now(now),
              "last_modified_ts": now, "etag": new_etag(), "written_by": writer,
              "created": (existing or {}).get("created") or iso_now(now)}
    try:
        record["content"] = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    blobs(store, container_id)[name] = record
    store.dirty = True
    return record


def data(record: dict) -> bytes:
    if "content_b64" in record:
        return base64.b64decode(record["content_b64"])
    return str(record.get("content", "")).encode("utf-8")


def _existing(store, container_id: str) -> dict:
    """The blob map without creating one (a read must not leave private data behind for a missing container)."""
    return (store.hidden.get(container_id.lower()) or {}).get("blobs") or {}


def get(store, container_id: str, name: str):
    return _existing(store, container_id).get(name)


def delete(store, container_id: str, name: str) -> bool:
    removed = _existing(store, container_id).pop(name, None) is not None
    store.dirty = store.dirty or removed
    return removed


def names(store, container_id: str) -> list:
    """Blob names in the order List Blobs returns them (lexical by UTF-8 bytes)."""
    return sorted(_existing(store, container_id), key=lambda n: n.encode("utf-8"))
