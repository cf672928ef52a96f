"""Where a storage account's endpoints lead: `https://127.0.0.1:PORT/_storage/{account}/{service}/`.

The Blob service is emulated (a minimal one, `sandbox.blob.service`: container properties, List Blobs, Put/Get/
Delete Blob and blob properties, authorised with Entra bearer tokens and the principal's data-plane roles). The
other data planes (DFS, File, Queue, Table, static website) and the Blob operations not emulated are answered at
once with 501 and an Azure Storage error body (`<Error><Code>APINotImplemented</Code><Message>...`) plus the
`x-ms-error-code` header, as the Storage REST API reports errors. 501 is the status Azurite (Microsoft's storage
emulator) answers for an API it does not implement, and one that neither azure-core's nor azure-storage's retry
policy retries: one request, one answer.

Counters: section `storage_data` of GET /_sandbox/counters (`reads`, `writes`, `unauthorized` (401),
`forbidden` (403), `not_found` (404), `other_errors`, `not_implemented`, `by_operation`), never ARM's totals.
"""

import copy
import time
import uuid
from xml.sax.saxutils import escape

from .server import Response

PREFIX = "/_storage"
ERROR_CODE = "APINotImplemented"
SERVICE_NAMES = {"blob": "Blob", "dfs": "Data Lake Storage (dfs)", "file": "File", "queue": "Queue",
                 "table": "Table", "web": "static website"}
COUNTERS = ("reads", "writes", "unauthorized", "forbidden", "not_found", "other_errors", "not_implemented")


def endpoint(base_url: str, account: str, service: str) -> str:
    """The endpoint of one service of an account (a string for `primaryEndpoints`)."""
    return f"{base_url}{PREFIX}/{account}/{service}/"


def _time() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e7):07d}Z"


def refusal(account: str, service: str, method: str, rest: str) -> Response:
    request_id = str(uuid.uuid4())
    name = SERVICE_NAMES.get(service.lower(), service)
    what = (f"this Blob operation ({method} /{rest.lstrip('/')} in account '{account}'); it emulates Get Container "
            f"Properties, List Blobs, Put Blob, Get Blob, Get Blob Properties and Delete Blob only"
            if service.lower() == "blob" else
            f"the {name} data plane (account '{account}', {method} /{rest.lstrip('/')}); only the management plane "
            f"(ARM) of Microsoft.Storage and a minimal Blob service are emulated")
    message = f"the sandbox does not emulate {what}.\nRequestId:{request_id}\nTime:{_time()}"
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{ERROR_CODE}</Code>'
            f"<Message>{escape(message)}</Message></Error>")
    return Response(501, body, {"x-ms-error-code": ERROR_CODE, "x-ms-request-id": request_id},
                    "application/xml")


class DataPlaneCounters:
    """The `storage_data` state section: counters only (nothing persisted; blobs live in the ARM store)."""

    def __init__(self, store):
        self.store = store
        self.reset()

    def reset(self):
        self.totals, self.by_operation = dict.fromkeys(COUNTERS, 0), {}

    def dump(self) -> dict:
        return {}

    def restore(self, data: dict) -> None:
        pass

    def count(self, name: str, operation: str | None = None) -> None:
        self.totals[name] = self.totals.get(name, 0) + 1
        if operation:
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1

    def count_error(self, status: int) -> None:
        self.count({401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "other_errors"))

    def counters(self) -> dict:
        return {**self.totals, "by_operation": copy.deepcopy(self.by_operation)}


class StorageDataPlane:
    def __init__(self, app):
        from .blob.service import BlobService
        self.app = app
        self.counters = DataPlaneCounters(app.store)
        app.store.register_section("storage_data", self.counters)
        self.blob = BlobService(app, self.counters)

    def register_routes(self, router):
        router.add(PREFIX + r"/(?P<account>[^/]+)/blob(?P<rest>/.*)?", self._blob, kind="storage_data")
        router.add(PREFIX + r"/(?P<account>[^/]+)/(?P<service>[^/]+)(?P<rest>/.*)?", self._refuse,
                   kind="storage_data")

    def _blob(self, request, match):
        return self.blob.handle(request, match.group("account"), match.group("rest") or "/")

    def _refuse(self, request, match):
        with self.app.store.lock:
            self.counters.count("not_implemented")
        return refusal(match.group("account"), match.group("service"), request.method, match.group("rest") or "/")
