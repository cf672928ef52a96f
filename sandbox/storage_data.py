"""Where a storage account's endpoints lead: `https://127.0.0.1:PORT/_storage/{account}/{service}/`.

The sandbox does not emulate the storage data planes (Blob, DFS, File, Queue, Table, static website).
An account's `primaryEndpoints` still point at the sandbox itself, so that a client that tries one
(azure-storage-blob, a CSI driver, a probe) reaches 127.0.0.1 and is refused at once, instead of
resolving a name that leads nowhere and retrying for minutes. Every request there is answered with
501 and an Azure Storage error body (`<Error><Code>APINotImplemented</Code><Message>...`) plus the
`x-ms-error-code` header, as the Storage REST API reports errors. 501 is the status Azurite (Microsoft's
storage emulator) answers for an API it does not implement, and one that neither azure-core's nor
azure-storage's retry policy retries: one request, one answer.
"""

import time
import uuid
from xml.sax.saxutils import escape

from .server import Response

PREFIX = "/_storage"
ERROR_CODE = "APINotImplemented"
SERVICE_NAMES = {"blob": "Blob", "dfs": "Data Lake Storage (dfs)", "file": "File", "queue": "Queue",
                 "table": "Table", "web": "static website"}


def endpoint(base_url: str, account: str, service: str) -> str:
    """The endpoint of one service of an account (a string for `primaryEndpoints`)."""
    return f"{base_url}{PREFIX}/{account}/{service}/"


def _time() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e7):07d}Z"


def refusal(account: str, service: str, method: str, rest: str) -> Response:
    request_id = str(uuid.uuid4())
    name = SERVICE_NAMES.get(service.lower(), service)
    message = (f"the sandbox does not emulate the {name} data plane yet (account '{account}', {method} "
               f"/{rest.lstrip('/')}); only the management plane (ARM) of Microsoft.Storage is emulated."
               f"\nRequestId:{request_id}\nTime:{_time()}")
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{ERROR_CODE}</Code>'
            f"<Message>{escape(message)}</Message></Error>")
    return Response(501, body, {"x-ms-error-code": ERROR_CODE, "x-ms-request-id": request_id},
                    "application/xml")


class StorageDataPlane:
    def __init__(self, app):
        self.app = app

    def register_routes(self, router):
        router.add(PREFIX + r"/(?P<account>[^/]+)/(?P<service>[^/]+)(?P<rest>/.*)?", self._refuse,
                   kind="storage_data")

    def _refuse(self, request, match):
        return refusal(match.group("account"), match.group("service"), request.method, match.group("rest") or "/")
