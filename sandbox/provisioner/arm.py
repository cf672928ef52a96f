"""The driver controller's ARM calls, served in-process by the sandbox's own ARM front door and providers (the
same resolution, parent checks, counting and provider logic an HTTP request gets), after the RBAC check ARM makes
for the caller. Errors come back as the Go SDK prints them (azcore ResponseError). Call with the store lock held."""

import http
import json
import time
import urllib.parse

from ..arm import paths
from ..arm.errors import ArmError
from ..arm.providers.authorization import permits
from ..blob import access
from ..kubelet import messages
from ..server import Request

API_VERSION = "2023-01-01"   # armstorage's version is not visible in the error text; any served one will do
USER_AGENT = "sandbox-blob-csi-controller"


class ArmFailure(Exception):
    """An ARM call failed: `text` is azcore's ResponseError.Error(); `status` and `code` are ARM's."""

    def __init__(self, text: str, status: int, code: str):
        super().__init__(text)
        self.text, self.status, self.code = text, status, code


def _url(app, resource_id: str) -> str:
    host = urllib.parse.urlsplit(app.arm_url)
    return f"{host.scheme}://{host.netloc}{resource_id}"


def _failure(app, method, resource_id, status, body) -> ArmFailure:
    code = (body.get("error") or {}).get("code", "")
    text = messages.azcore_error(method, _url(app, resource_id), status, http.HTTPStatus(status).phrase, code,
                                 json.dumps(body, indent=2, ensure_ascii=False))
    return ArmFailure(text, status, code)


def authorize(app, object_id: str, action: str, scope: str, method: str, resource_id: str) -> None:
    """ARM's own check before the resource provider sees the call: 403 AuthorizationFailed."""
    if any(permits(role, action=action) for role in access.roles_at(app.store, object_id, scope)):
        return
    body = {"error": {"code": "AuthorizationFailed",
                      "message": messages.authorization_failed(object_id, action, scope)}}
    raise _failure(app, method, resource_id, 403, body)


def call(app, method: str, resource_id: str, body: dict | None = None) -> dict:
    """One ARM request as the controller makes it; returns the response body (may be {}) or raises ArmFailure."""
    raw = json.dumps(body).encode() if body is not None else b""
    request = Request(method, f"{resource_id}?api-version={API_VERSION}", {"User-Agent": USER_AGENT}, raw)
    started = time.time()
    try:
        # The front door's own resolution (framework.py names it privately): api-version, parents, counting.
        resolved = app.arm.resolve(request, paths.parse(request.path), API_VERSION)
        response = getattr(resolved.handler, resolved.verb)(resolved)
        status, data = response.status, (json.loads(response.body) if response.body else {})
    except ArmError as exc:
        status, data = exc.status, json.loads(exc.response().body)
    app.store.record({"time": started, "method": method, "path": resource_id, "query": f"api-version={API_VERSION}",
                      "status": status, "resource_type": request.meta.get("resource_type"),
                      "kind": request.meta.get("kind", "write"), "user_agent": USER_AGENT, "duration_ms": 0.0,
                      "fault": False})
    if status >= 400:
        raise _failure(app, method, resource_id, status, data)
    return data
