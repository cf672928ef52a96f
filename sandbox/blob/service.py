"""The Blob service of every emulated storage account, path-style like the storage emulators:
`https://127.0.0.1:PORT/_storage/{account}/blob/{container}[/{blob}]` (the account's `primaryEndpoints.blob`).

Operations (Blob REST API, https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api):
Get Container Properties (GET/HEAD `?restype=container`), List Blobs (GET `?restype=container&comp=list`,
`prefix`, `marker`, `maxresults`), Put Blob (PUT, `x-ms-blob-type: BlockBlob`), Get Blob (GET, `x-ms-range`/`Range`),
Get Blob Properties (HEAD), Delete Blob (DELETE). Anything else is 501 `APINotImplemented`.

Order of checks: account -> authentication (Bearer token from the sandbox's Entra for `https://storage.azure.com`
or the account's blob endpoint; Shared Key refused) -> RBAC data action at the container scope or above
(`sandbox.blob.access`, shared with the Job kubelet) -> container -> blob.
"""

import base64
import calendar
import email.utils
import hashlib
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

from ..arm.providers.storage.common import ACCOUNTS
from ..server import Response
from . import access, errors
from . import store as blob_store

DEFAULT_VERSION = "2026-10-06"   # what azure-storage-blob 12.31 sends; any version sent is echoed
MAX_RESULTS = 5000
SERVER = "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"
STORAGE_AUDIENCE = "https://storage.azure.com"


def rfc1123(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


def _iso_ts(value: str) -> float:
    """Seconds since the epoch of a storage ISO timestamp (2017-05-24T13:25:33.4863236Z)."""
    if not value:
        return time.time()
    head, _dot, frac = value.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def operation(method: str, container: str, blob: str, query: dict):
    """(operation name, data action, 'read'|'write') of a request, or None when not emulated."""
    restype, comp = query.get("restype", "").lower(), query.get("comp", "").lower()
    if not container:
        return None
    if not blob:
        if restype == "container" and not comp and method in ("GET", "HEAD"):
            return "GetContainerProperties", access.READ, "read"
        if restype == "container" and comp == "list" and method == "GET":
            return "ListBlobs", access.READ, "read"
        return None
    if comp or restype:
        return None
    return {"PUT": ("PutBlob", access.WRITE, "write"), "GET": ("GetBlob", access.READ, "read"),
            "HEAD": ("GetBlobProperties", access.READ, "read"),
            "DELETE": ("DeleteBlob", access.DELETE, "write")}.get(method)


class BlobService:
    """Serves one request at a time under the store lock; `counters` is the `storage_data` section's."""

    def __init__(self, app, counters):
        self.app, self.counters = app, counters

    def endpoint(self, account: str) -> str:
        return f"{self.app.base_url}/_storage/{account}/blob/"

    def handle(self, request, account_name: str, rest: str) -> Response:
        container, _sep, blob = (urllib.parse.unquote(part) for part in rest.lstrip("/").partition("/"))
        op = operation(request.method, container, blob, request.query)
        if op is None:
            with self.app.store.lock:
                self.counters.count("not_implemented")
            return errors.not_implemented(account_name, request.method, rest)
        name, data_action, kind = op
        request.meta["resource_type"] = f"blob:{name}"
        headers = self._common_headers(request)
        with self.app.store.lock:
            self.counters.count(kind + "s", name)
            try:
                return self._serve(request, headers, account_name, container, blob, op)
            except errors.BlobError as exc:
                self.counters.count_error(exc.status)
                return exc.response(headers, request.method)

    def _serve(self, request, headers, account_name, container, blob, op):
        name, data_action, _kind = op
        account = self._account(account_name)
        principal = self._authenticate(request, account)
        container_id = f"{account['id']}/blobServices/default/containers/{container}"
        if name == "PutBlob" and blob_store.get(self.app.store, container_id, blob) is None:
            allowed = (access.allows_data(self.app.store, principal["object_id"], container_id, access.WRITE)
                       or access.allows_data(self.app.store, principal["object_id"], container_id, access.ADD))
        else:
            allowed = access.allows_data(self.app.store, principal["object_id"], container_id, data_action)
        if not allowed:
            raise errors.permission_mismatch()
        record = self.app.store.get(container_id)
        if record is None:
            raise errors.BlobError(404, "ContainerNotFound", "The specified container does not exist.")
        handler = getattr(self, "_" + name)
        return handler(request, headers, account, record, container_id, blob, principal)

    def _common_headers(self, request) -> dict:
        headers = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-version": request.header("x-ms-version") or
                   DEFAULT_VERSION, "Date": rfc1123(time.time()), "Server": SERVER}
        if request.header("x-ms-client-request-id"):
            headers["x-ms-client-request-id"] = request.header("x-ms-client-request-id")
        return headers

    # ------------------------------------------------------------------ checks
    def _account(self, name: str) -> dict:
        account = next((a for a in self.app.store.of_type(ACCOUNTS) if a["name"].lower() == name.lower()), None)
        if account is None:  # on Azure the host name would not resolve; Azurite answers 404 for an unknown account
            raise errors.BlobError(404, "ResourceNotFound", "The specified resource does not exist.")
        return account

    def _authenticate(self, request, account) -> dict:
        header = (request.header("Authorization") or "").strip()
        challenge = self._challenge()
        if not header:
            raise errors.unauthenticated("NoAuthenticationInformation", challenge)
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() == "sharedkey" or scheme.lower() == "sharedkeylite":
            if account["properties"].get("allowSharedKeyAccess") is False:
                raise errors.BlobError(403, "KeyBasedAuthenticationNotPermitted",
                                       "Key based authentication is not permitted on this storage account.")
            raise errors.BlobError(403, "AuthenticationFailed", errors.SIGNATURE_MESSAGE,
                                   detail="The sandbox does not verify Shared Key signatures: use a bearer token.")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.unauthenticated("InvalidAuthenticationInfo", challenge,
                                         f"Authentication scheme {scheme} is not supported.")
        return self._check_token(token.strip(), account, challenge)

    def _check_token(self, token, account, challenge) -> dict:
        info = self.app.store.tokens.get(token)
        if info is None:
            raise errors.unauthenticated("InvalidAuthenticationInfo", challenge,
                                         "Signature validation failed: not a token the sandbox's Entra issued.")
        if info["tenant_id"].lower() != self.app.tenant_id.lower():
            raise errors.unauthenticated("InvalidAuthenticationInfo", challenge,
                                         "Issuer validation failed. Issuer did not match.")
        allowed = {STORAGE_AUDIENCE, self.endpoint(account["name"]).rstrip("/").lower()}
        if info["audience"].rstrip("/").lower() not in allowed:
            raise errors.unauthenticated("InvalidAuthenticationInfo", challenge,
                                         "Audience validation failed. Audience did not match.")
        if info["expires_on"] <= time.time():
            raise errors.unauthenticated("InvalidAuthenticationInfo", challenge,
                                         "Lifetime validation failed. The token is expired.")
        return info

    def _challenge(self) -> str:
        """Storage's bearer challenge; azure-storage-blob's StorageBearerTokenCredentialPolicy reads
        `authorization_uri` (tenant) and `resource_id` (scope = resource_id + "/.default")."""
        return (f"Bearer authorization_uri={self.app.authority_host}/{self.app.tenant_id}/oauth2/authorize "
                f"resource_id={STORAGE_AUDIENCE}")

    # ------------------------------------------------------------------ operations
    def _GetContainerProperties(self, request, headers, account, record, container_id, blob, principal):
        props = record["properties"]
        modified = props.get("lastModifiedTime", "")
        stamp = hashlib.sha256(modified.encode()).hexdigest()[:15].upper()  # the ARM body's etag
        headers.update({"ETag": f'"0x{stamp}"', "Last-Modified": rfc1123(_iso_ts(modified)),
                        "x-ms-lease-status": "unlocked", "x-ms-lease-state": "available",
                        "x-ms-has-immutability-policy": "false", "x-ms-has-legal-hold": "false",
                        "x-ms-default-encryption-scope": props.get("defaultEncryptionScope",
                                                                   "$account-encryption-key"),
                        "x-ms-deny-encryption-scope-override": "false",
                        "x-ms-immutable-storage-with-versioning-enabled": "false"})
        if props.get("publicAccess", "None") != "None":
            headers["x-ms-blob-public-access"] = props["publicAccess"].lower()
        for key, value in (props.get("metadata") or {}).items():
            headers[f"x-ms-meta-{key}"] = value
        return Response(200, b"", headers)

    def _ListBlobs(self, request, headers, account, record, container_id, blob, principal):
        query = request.query
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        try:
            limit = int(query.get("maxresults") or MAX_RESULTS)
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_RESULTS:
            raise errors.BlobError(400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in "
                                   "the request URI is outside the permissible range.")
        names = [n for n in blob_store.names(self.app.store, container_id)
                 if n.startswith(prefix) and (not marker or n.encode() >= marker.encode())]
        page, rest = names[:limit], names[limit:]
        items = "".join(self._blob_xml(n, blob_store.get(self.app.store, container_id, n)) for n in page)
        body = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint='
                f'"{escape(self.endpoint(account["name"]))}" ContainerName="{escape(record["name"])}">'
                + (f"<Prefix>{escape(prefix)}</Prefix>" if "prefix" in query else "")
                + (f"<Marker>{escape(marker)}</Marker>" if "marker" in query else "")
                + (f"<MaxResults>{limit}</MaxResults>" if "maxresults" in query else "")
                + f"<Blobs>{items}</Blobs><NextMarker>{escape(rest[0]) if rest else ''}</NextMarker>"
                  "</EnumerationResults>")
        return Response(200, body, headers, "application/xml")

    @staticmethod
    def _blob_xml(name, rec) -> str:
        modified = rfc1123(rec.get("last_modified_ts") or _iso_ts(rec.get("last_modified", "")))
        created = rfc1123(_iso_ts(rec.get("created") or rec.get("last_modified", "")))
        md5 = base64.b64encode(hashlib.md5(blob_store.data(rec)).digest()).decode()
        return (f"<Blob><Name>{escape(name)}</Name><Properties><Creation-Time>{created}</Creation-Time>"
                f"<Last-Modified>{modified}</Last-Modified><Etag>{escape(_etag(rec))}</Etag>"
                f"<Content-Length>{rec.get('size', 0)}</Content-Length>"
                f"<Content-Type>{escape(rec.get('content_type') or 'application/octet-stream')}</Content-Type>"
                f"<Content-MD5>{md5}</Content-MD5><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>"
                "<AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus>"
                "<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties></Blob>")

    def _PutBlob(self, request, headers, account, record, container_id, blob, principal):
        blob_type = request.header("x-ms-blob-type")
        if not blob_type:
            raise errors.BlobError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request "
                                   "is not specified.", extra={"HeaderName": "x-ms-blob-type"})
        if blob_type != "BlockBlob":
            raise errors.BlobError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the "
                                   "correct format.", extra={"HeaderName": "x-ms-blob-type", "HeaderValue": blob_type})
        if request.header("If-None-Match") == "*" and blob_store.get(self.app.store, container_id, blob):
            raise errors.BlobError(409, "BlobAlreadyExists", "The specified blob already exists.")
        content_type = request.header("x-ms-blob-content-type") or request.header("Content-Type") or ""
        rec = blob_store.put(self.app.store, container_id, blob, request.body, content_type,
                             principal.get("client_id") or principal["object_id"])
        headers.update({"ETag": _etag(rec), "Last-Modified": rfc1123(rec["last_modified_ts"]),
                        "Content-MD5": base64.b64encode(hashlib.md5(request.body).digest()).decode(),
                        "x-ms-request-server-encrypted": "true"})
        return Response(201, b"", headers)

    def _blob(self, container_id, blob) -> dict:
        rec = blob_store.get(self.app.store, container_id, blob)
        if rec is None:
            raise errors.BlobError(404, "BlobNotFound", "The specified blob does not exist.")
        return rec

    def _GetBlobProperties(self, request, headers, account, record, container_id, blob, principal):
        rec = self._blob(container_id, blob)
        headers.update(_blob_headers(rec))
        headers["Content-Length"] = str(rec.get("size", 0))
        return _HeadResponse(200, headers)

    def _GetBlob(self, request, headers, account, record, container_id, blob, principal):
        rec = self._blob(container_id, blob)
        content = blob_store.data(rec)
        headers.update(_blob_headers(rec))
        wanted = request.header("x-ms-range") or request.header("Range")
        if not wanted:
            return Response(200, content, headers)
        start, end = _range(wanted, len(content))
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        return Response(206, content[start:end + 1], headers)

    def _DeleteBlob(self, request, headers, account, record, container_id, blob, principal):
        self._blob(container_id, blob)
        blob_store.delete(self.app.store, container_id, blob)
        headers["x-ms-delete-type-permanent"] = "true"
        return Response(202, b"", headers)


class _HeadResponse(Response):
    """A HEAD answer whose Content-Length is the blob's size (the transport sends no body for HEAD)."""

    def __init__(self, status, headers):
        super().__init__(status, b"", headers)
        self.body = b"\0" * int(self.headers.pop("Content-Length", "0"))


def _etag(rec) -> str:
    return rec.get("etag") or '"0x' + hashlib.sha256(blob_store.data(rec)).hexdigest()[:15].upper() + '"'


def _blob_headers(rec) -> dict:
    modified = rec.get("last_modified_ts") or _iso_ts(rec.get("last_modified", ""))
    return {"ETag": _etag(rec), "Last-Modified": rfc1123(modified),
            "Content-Type": rec.get("content_type") or "application/octet-stream",
            "Content-MD5": base64.b64encode(hashlib.md5(blob_store.data(rec)).digest()).decode(),
            "x-ms-blob-type": "BlockBlob", "x-ms-creation-time": rfc1123(_iso_ts(rec.get("created") or "")),
            "x-ms-lease-status": "unlocked", "x-ms-lease-state": "available", "x-ms-server-encrypted": "true",
            "x-ms-access-tier": "Hot", "x-ms-access-tier-inferred": "true", "Accept-Ranges": "bytes"}


def _range(value: str, size: int) -> tuple:
    """(first, last) byte of a `bytes=a-b` / `bytes=a-` range; 416 InvalidRange when it starts past the end."""
    unit, _eq, spec = value.partition("=")
    first, _dash, last = spec.partition("-")
    try:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        raise errors.BlobError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the "
                               "correct format.", extra={"HeaderName": "x-ms-range", "HeaderValue": value}) from None
    if unit.strip() != "bytes" or start >= size or end < start:
        raise errors.BlobError(416, "InvalidRange", "The range specified is invalid for the current size of the "
                               "resource.", headers={"Content-Range": f"bytes */{size}"})
    return start, end
