"""Managed-identity endpoint in the App Service protocol (what azure-identity/MSAL use when
IDENTITY_ENDPOINT and IDENTITY_HEADER are set): GET {IDENTITY_ENDPOINT}?api-version=2019-08-01
&resource=...[&client_id=|object_id=|mi_res_id=] with header X-IDENTITY-HEADER.

Without an identity selector the token is for the sandbox app (standing in for a system-assigned
identity); with one it is for that user-assigned identity from ARM state. No IMDS is emulated:
nothing may probe 169.254.169.254.
"""

import hmac

from .entra import EntraError
from .server import Response

API_VERSION = "2019-08-01"


def _error(status, message):
    # App Service answers {"statusCode": n, "message": "..."}; MSAL surfaces both fields.
    return Response.json(status, {"statusCode": status, "message": message})


class ManagedIdentityEndpoint:
    def __init__(self, app):
        self.app = app

    def register_routes(self, router):
        router.add(r"/msi/token", self._token, ["GET"], "token")

    def _token(self, request, _match):
        app = self.app
        with app.store.lock:
            app.store.count_token("managed_identity")
        header = request.header("X-IDENTITY-HEADER") or ""
        if not hmac.compare_digest(header.encode(), app.msi_identity_header.encode()):
            return _error(401, "Missing or invalid X-IDENTITY-HEADER.")
        query = request.query
        if query.get("api-version") != API_VERSION:
            return _error(400, f"api-version must be {API_VERSION}.")
        resource = query.get("resource")
        if not resource:
            return _error(400, "The 'resource' query parameter is required.")
        selectors = {k: query[k] for k in ("client_id", "object_id", "mi_res_id") if query.get(k)}
        if len(selectors) > 1:
            return _error(400, "Only one of client_id, object_id, mi_res_id may be given.")
        if selectors:
            identity = app.entra.find_identity(client_id=selectors.get("client_id"),
                                               object_id=selectors.get("object_id"),
                                               resource_id=selectors.get("mi_res_id"))
            if identity is None:
                return _error(400, "No User Assigned or Delegated Managed Identity found for specified "
                                   "ClientId/ResourceId/PrincipalId.")
            principal = app.entra.identity_principal(identity)
        else:
            principal = app.entra.app_principal()
        try:
            app.entra.check_resource(resource)
        except EntraError as exc:
            return _error(400, str(exc))
        issued = app.entra.issue(principal, resource, "managed_identity")
        return Response.json(200, {"access_token": issued["access_token"], "expires_on": str(issued["expires_on"]),
                                   "resource": resource, "token_type": "Bearer",
                                   "client_id": principal["client_id"]})
