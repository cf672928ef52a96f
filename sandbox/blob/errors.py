"""Blob service errors: status, `x-ms-error-code` header and the XML body
`<Error><Code/><Message/>[<AuthenticationErrorDetail/>|<HeaderName/>...]</Error>`, the message ending with
`RequestId:...` and `Time:...` lines (https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2,
https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes)."""

from xml.sax.saxutils import escape

from ..arm.providers.storage.common import iso_now
from ..server import Response

AUTH_MESSAGE = ("Server failed to authenticate the request. Please refer to the information in the "
                "www-authenticate header.")
SIGNATURE_MESSAGE = ("Server failed to authenticate the request. Make sure the value of Authorization header is "
                     "formed correctly including the signature.")
PERMISSION_MESSAGE = "This request is not authorized to perform this operation using this permission."


class BlobError(Exception):
    def __init__(self, status, code, message, *, detail=None, extra=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.detail, self.extra, self.headers = detail, dict(extra or {}), dict(headers or {})

    def response(self, headers: dict, method: str) -> Response:
        headers = {**headers, **self.headers, "x-ms-error-code": self.code}
        message = f"{self.message}\nRequestId:{headers.get('x-ms-request-id', '')}\nTime:{iso_now()}"
        parts = [f"<Code>{escape(self.code)}</Code><Message>{escape(message)}</Message>"]
        if self.detail:
            parts.append(f"<AuthenticationErrorDetail>{escape(self.detail)}</AuthenticationErrorDetail>")
        parts += [f"<{key}>{escape(value)}</{key}>" for key, value in self.extra.items()]
        body = '<?xml version="1.0" encoding="utf-8"?><Error>' + "".join(parts) + "</Error>"
        return Response(self.status, body, headers, "application/xml")


def unauthenticated(code: str, challenge: str, detail: str | None = None) -> BlobError:
    return BlobError(401, code, AUTH_MESSAGE, detail=detail, headers={"WWW-Authenticate": challenge})


def permission_mismatch() -> BlobError:
    return BlobError(403, "AuthorizationPermissionMismatch", PERMISSION_MESSAGE)


def not_implemented(account: str, method: str, rest: str) -> Response:
    """An operation the sandbox does not emulate: 501 APINotImplemented (Azurite's answer for an API it lacks)."""
    from ..storage_data import refusal
    return refusal(account, "blob", method, rest)
