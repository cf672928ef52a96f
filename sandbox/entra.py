"""Microsoft Entra ID stand-in: OpenID discovery, the v2.0 token endpoint (client credentials with a
secret or a federated client assertion), and the registry of issued access tokens.

`exchange_assertion()` is the single place that decides whether a federated token (e.g. a
Kubernetes service-account token) may act as an app or a user-assigned managed identity; the
Kubernetes "kubelet" of a later issue reuses it.
"""

import hmac
import time
import uuid

from . import jose
from .server import Response

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
FIC_TYPE = IDENTITY_TYPE + "/federatedIdentityCredentials"
NON_RESOURCE_SCOPES = {"openid", "profile", "offline_access", "email"}
# The well-known "Azure Kubernetes Service AAD Server" application (the same id in every cloud): the
# audience of the tokens AKS API servers with Microsoft Entra integration accept (Azure/kubelogin
# docs/book/src/concepts/aks.md; scope "<id>/.default").
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
# Audiences other than ARM: Azure Storage and the AKS AAD server app.
BUILTIN_AUDIENCES = ("https://storage.azure.com", AKS_SERVER_APP_ID)
CLOCK_SKEW = 300


class EntraError(Exception):
    """An Entra-style OAuth error: {"error", "error_description": "AADSTSnnn: ...", "error_codes"}."""

    def __init__(self, status, error, code, description):
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description

    def body(self):
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {"error": self.error,
                "error_description": (f"AADSTS{self.code}: {self.description} Trace ID: {trace} "
                                      f"Correlation ID: {correlation} Timestamp: {stamp}"),
                "error_codes": [self.code], "timestamp": stamp, "trace_id": trace,
                "correlation_id": correlation, "error_uri": f"https://login.microsoftonline.com/error?code={self.code}"}

    def response(self):
        return Response.json(self.status, self.body())


def _strip_slash(value: str) -> str:
    return value.removesuffix("/")


class Entra:
    def __init__(self, app, key_path):
        self.app = app
        self.key = jose.load_or_create_rsa_key(key_path)
        self.kid = jose.thumbprint_kid(self.key.public_key())

    # ------------------------------------------------------------------ principals
    def app_principal(self) -> dict:
        app = self.app
        return {"kind": "ServicePrincipal", "client_id": app.client_id, "object_id": app.app_object_id,
                "tenant_id": app.tenant_id, "display_name": "keyless-sandbox-app", "resource_id": None}

    def identity_principal(self, identity: dict) -> dict:
        props = identity["properties"]
        return {"kind": "ManagedIdentity", "client_id": props["clientId"], "object_id": props["principalId"],
                "tenant_id": props["tenantId"], "display_name": identity["name"], "resource_id": identity["id"]}

    def find_identity(self, *, client_id=None, object_id=None, resource_id=None):
        """A user-assigned identity in ARM state, by clientId, principalId or resource id."""
        with self.app.store.lock:
            if resource_id:
                found = self.app.store.get(resource_id)
                return found if found and found["type"] == IDENTITY_TYPE else None
            for identity in self.app.store.of_type(IDENTITY_TYPE):
                props = identity["properties"]
                if client_id and props["clientId"].lower() == client_id.lower():
                    return identity
                if object_id and props["principalId"].lower() == object_id.lower():
                    return identity
        return None

    def federated_credentials(self, client_id: str):
        """(principal, [credential properties]) for an app or identity client id; (None, []) if unknown."""
        store = self.app.store
        with store.lock:
            if client_id.lower() == self.app.client_id.lower():
                return self.app_principal(), [dict(c) for c in store.app_federated_credentials]
            identity = self.find_identity(client_id=client_id)
            if identity is None:
                return None, []
            creds = [dict(c["properties"], name=c["name"]) for c in store.under(identity["id"], FIC_TYPE)]
            return self.identity_principal(identity), creds

    # ------------------------------------------------------------------ federation
    def exchange_assertion(self, client_id: str, assertion: str) -> dict:
        """Validate a federated client assertion for `client_id`; return the principal or raise EntraError."""
        principal, credentials = self.federated_credentials(client_id)
        if principal is None:
            raise self.unknown_client(client_id)
        try:
            decoded = jose.decode_unverified(assertion)
        except (ValueError, UnicodeDecodeError):
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        claims = decoded.claims
        issuer, subject = claims.get("iss"), claims.get("sub")
        public_key = self.app.oidc.public_key(issuer, decoded.header.get("kid"))
        if public_key is None:
            raise EntraError(400, "invalid_client", 700211,
                             f"No matching federated identity record found for presented assertion issuer "
                             f"'{issuer}'. Please check your federated identity credential Subject, Audience "
                             f"and Issuer against the presented assertion. (sandbox: only issuers under "
                             f"{self.app.oidc.base} can be verified)")
        if not jose.verify_rs256(decoded, public_key):
            raise EntraError(400, "invalid_client", 50013, "Assertion failed signature validation.")
        now = time.time()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        if not isinstance(exp, (int, float)) or exp + CLOCK_SKEW < now or (nbf or 0) - CLOCK_SKEW > now:
            raise EntraError(400, "invalid_client", 700024,
                             f"Client assertion is not within its valid time range. Current time: "
                             f"{_iso(now)}, assertion valid from {_iso(nbf or 0)}, expiry time of assertion "
                             f"{_iso(exp or 0)}.")
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if TOKEN_EXCHANGE_AUDIENCE not in audiences:
            raise EntraError(400, "invalid_client", 700212,
                             f"No matching federated identity record found for presented assertion audience "
                             f"'{','.join(map(str, audiences))}'.")
        for cred in credentials:
            if (cred.get("issuer") == issuer and cred.get("subject") == subject
                    and set(cred.get("audiences") or []) & set(audiences)):
                return principal
        hint = ""
        near = [c["issuer"] for c in credentials if c.get("issuer") != issuer
                and _strip_slash(c.get("issuer", "")) == _strip_slash(issuer)]
        if near:
            hint = (f" (sandbox: a credential has issuer '{near[0]}', which differs from the assertion issuer "
                    f"'{issuer}' only by a trailing slash)")
        raise EntraError(400, "invalid_client", 700213,
                         f"No matching federated identity record found for presented assertion subject "
                         f"'{subject}'. Check your federated identity credential Subject, Audience and Issuer "
                         f"against the presented assertion. Assertion issuer: '{issuer}'. Assertion audience: "
                         f"'{','.join(audiences)}'.{hint}")

    # ------------------------------------------------------------------ tokens
    def unknown_client(self, client_id):
        return EntraError(400, "unauthorized_client", 700016,
                          f"Application with identifier '{client_id}' was not found in the directory "
                          f"'{self.app.tenant_id}'. This can happen if the application has not been installed by "
                          f"the administrator of the tenant or consented to by any user in the tenant. You may "
                          f"have sent your authentication request to the wrong tenant.")

    def known_audience(self, resource: str) -> bool:
        """ARM's audiences (the metadata audience and the ARM URL itself: `<arm_url>.default` works, as for
        https://management.azure.com/.default), the built-in ones and config `extra_audiences`."""
        wanted = _strip_slash(resource).lower()
        known = [*self.app.arm_audiences, *BUILTIN_AUDIENCES, *self.app.store.config.get("extra_audiences", [])]
        return any(_strip_slash(a).lower() == wanted for a in known)

    def check_resource(self, resource: str):
        if not resource or not self.known_audience(resource):
            raise EntraError(400, "invalid_resource", 500011,
                             f"The resource principal named {resource} was not found in the tenant named "
                             f"{self.app.tenant_id}. This can happen if the application has not been installed "
                             f"by the administrator of the tenant or consented to by any user in the tenant. You "
                             f"might have sent your authentication request to the wrong tenant.")

    @staticmethod
    def canonical_resource(resource: str) -> str:
        """An application id is case-insensitive in a scope; Entra's tokens carry the app's own spelling."""
        return AKS_SERVER_APP_ID if resource.lower() == AKS_SERVER_APP_ID else resource

    def issue(self, principal: dict, audience: str, grant: str) -> dict:
        """Mint a signed access token, record it in the registry and return its metadata.

        Tokens for the AKS server application carry the principal's directory groups in a `groups` claim
        (object ids; absent when there are none), as AKS's Guard reads them (kubeguard/guard v0.16.28
        auth/providers/azure/azure.go `getGroupsAndCheckOverage`); the registry records them too."""
        audience = self.canonical_resource(audience)
        now = int(time.time())
        lifetime = int(self.app.store.config.get("token_lifetime", 3599))
        issuer = f"{self.app.authority_host}/{self.app.tenant_id}/"
        claims = {"aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime,
                  "appid": principal["client_id"], "appidacr": "2" if grant != "client_secret" else "1",
                  "idtyp": "app", "oid": principal["object_id"], "sub": principal["object_id"],
                  "tid": principal["tenant_id"], "uti": uuid.uuid4().hex, "ver": "1.0"}
        if principal.get("resource_id"):
            claims["xms_mirid"] = principal["resource_id"]
        groups = []
        if audience == AKS_SERVER_APP_ID:
            with self.app.store.lock:
                groups = self.app.store.groups_of(principal["object_id"])
            if groups:
                claims["groups"] = groups
        token = jose.encode_rs256(claims, self.key, self.kid)
        info = {"tenant_id": principal["tenant_id"], "client_id": principal["client_id"],
                "object_id": principal["object_id"], "principal_kind": principal["kind"],
                "audience": audience, "issuer": issuer, "issued_at": now, "expires_on": now + lifetime,
                "grant": grant, "groups": groups}
        with self.app.store.lock:
            self.app.store.remember_token(token, info)
        return {"access_token": token, "expires_in": lifetime, "expires_on": now + lifetime, **info}

    # ------------------------------------------------------------------ HTTP
    def register_routes(self, router):
        router.add(r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration", self._discovery, ["GET"],
                   "discovery")
        router.add(r"/(?P<tenant>[^/]+)/discovery/v2\.0/keys", self._keys, ["GET"], "discovery")
        router.add(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token", self._token, ["POST"], "token")

    def _tenant_ok(self, tenant):
        return tenant.lower() == self.app.tenant_id.lower()

    def _unknown_tenant(self, tenant):
        return EntraError(400, "invalid_tenant", 90002,
                          f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
                          f"are signing into the correct cloud. Check with your subscription administrator, this "
                          f"may happen if there are no active subscriptions for the tenant.")

    def _discovery(self, request, match):
        tenant = match.group("tenant")
        if not self._tenant_ok(tenant):
            return self._unknown_tenant(tenant).response()
        root = f"{self.app.authority_host}/{self.app.tenant_id}"
        return Response.json(200, {
            "issuer": f"{root}/v2.0",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": None, "cloud_instance_name": "keyless-sandbox.local",
        })

    def _keys(self, request, match):
        if not self._tenant_ok(match.group("tenant")):
            return self._unknown_tenant(match.group("tenant")).response()
        return Response.json(200, {"keys": [jose.public_jwk(self.key.public_key(), self.kid)]})

    def _token(self, request, match):
        form = request.form()
        assertion_type = form.get("client_assertion_type")
        grant_label = "client_assertion" if assertion_type or "client_assertion" in form else "client_secret"
        with self.app.store.lock:
            self.app.store.count_token(grant_label)
        try:
            principal, resource = self._authenticate_client(match.group("tenant"), form)
        except EntraError as exc:
            return exc.response()
        issued = self.issue(principal, resource, grant_label)
        return Response.json(200, {"token_type": "Bearer", "expires_in": issued["expires_in"],
                                   "ext_expires_in": issued["expires_in"], "access_token": issued["access_token"]},
                             {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def _authenticate_client(self, tenant, form):
        if not self._tenant_ok(tenant):
            raise self._unknown_tenant(tenant)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'grant_type'.")
        if grant_type != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant_type}'.")
        client_id = form.get("client_id")
        if not client_id:
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        resource = self._resource_from_scope(form.get("scope", ""))
        if form.get("client_assertion") or form.get("client_assertion_type"):
            if form.get("client_assertion_type") != JWT_BEARER:
                raise EntraError(400, "invalid_request", 50027,
                                 f"Invalid client_assertion_type; expected '{JWT_BEARER}'.")
            principal = self.exchange_assertion(client_id, form.get("client_assertion", ""))
        elif "client_secret" in form:
            if client_id.lower() != self.app.client_id.lower():
                if self.find_identity(client_id=client_id) is None:
                    raise self.unknown_client(client_id)
                raise self._bad_secret(client_id)  # managed identities have no secrets
            if not hmac.compare_digest(form["client_secret"].encode(), self.app.client_secret.encode()):
                raise self._bad_secret(client_id)
            principal = self.app_principal()
        else:
            raise EntraError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        self.check_resource(resource)
        return principal, resource

    @staticmethod
    def _bad_secret(client_id):
        return EntraError(401, "invalid_client", 7000215,
                          f"Invalid client secret provided. Ensure the secret being sent in the request is the "
                          f"client secret value, not the client secret ID, for a secret added to app "
                          f"'{client_id}'.")

    @staticmethod
    def _resource_from_scope(scope: str) -> str:
        scopes = [s for s in scope.split() if s.lower() not in NON_RESOURCE_SCOPES]
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise EntraError(400, "invalid_scope", 1002012,
                             f"The provided value for scope {scope} is not valid. Client credential flows must "
                             f"have a scope value with /.default suffixed to the resource identifier "
                             f"(application ID URI).")
        return scopes[0][:-len("/.default")]


def _iso(ts) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(ts)))
