"""OIDC issuers hosted by the sandbox (stand-ins for AKS cluster OIDC issuers).

Every URL `{oidc_issuer_base}{name}/` (name: one or more segments of [A-Za-z0-9._-]) is a hosted
issuer: it serves `.well-known/openid-configuration` and `openid/v1/jwks` like AKS does, and the
control API mints service-account tokens for it. One RSA key (kept in the workdir) signs for all
issuers. The issuer string includes the trailing slash, exactly as AKS publishes it; Entra compares
issuers as exact strings, so "…/name" and "…/name/" are different issuers.
"""

import re
import time
import uuid

from . import jose
from .server import Response

NAME_RE = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
SA_SUBJECT_RE = re.compile(r"system:serviceaccount:([^:]+):([^:]+)")
MAX_TTL = 86400


class OidcError(ValueError):
    pass


class OidcIssuers:
    def __init__(self, app, key_path):
        self.app = app
        self.key = jose.load_or_create_rsa_key(key_path)
        self.kid = jose.thumbprint_kid(self.key.public_key())

    @property
    def base(self) -> str:
        return f"{self.app.base_url}/oidc/"

    def issuer_url(self, name: str) -> str:
        if not NAME_RE.fullmatch(name):
            raise OidcError(f"invalid issuer name {name!r}")
        return f"{self.base}{name}/"

    def is_hosted(self, issuer: str) -> bool:
        if not isinstance(issuer, str) or not issuer.startswith(self.base) or not issuer.endswith("/"):
            return False
        return bool(NAME_RE.fullmatch(issuer[len(self.base):-1]))

    def public_key(self, issuer: str, kid):
        """Key that verifies tokens of a hosted issuer (None for foreign issuers or unknown kid)."""
        if not self.is_hosted(issuer) or kid not in (None, self.kid):
            return None
        return self.key.public_key()

    def mint(self, issuer: str, subject: str, audience="api://AzureADTokenExchange", ttl=3600,
             extra_claims=None) -> str:
        """A Kubernetes-style projected service-account token. ttl <= 0 mints an already expired one."""
        if not self.is_hosted(issuer):
            raise OidcError(f"issuer {issuer!r} is not hosted by this sandbox (issuers look like "
                            f"{self.base}<name>/ with the trailing slash)")
        if not isinstance(subject, str) or not subject:
            raise OidcError("subject is required")
        ttl = int(ttl)
        if not -MAX_TTL <= ttl <= MAX_TTL:
            raise OidcError(f"ttl must be within ±{MAX_TTL} seconds")
        now = int(time.time())
        audiences = audience if isinstance(audience, list) else [audience]
        claims = {"aud": audiences, "exp": now + ttl, "iat": min(now, now + ttl - 1),
                  "nbf": min(now, now + ttl - 1), "iss": issuer, "sub": subject, "jti": str(uuid.uuid4())}
        match = SA_SUBJECT_RE.fullmatch(subject)
        if match:
            claims["kubernetes.io"] = {"namespace": match.group(1),
                                       "serviceaccount": {"name": match.group(2), "uid": str(uuid.uuid4())}}
        claims.update(extra_claims or {})
        return jose.encode_rs256(claims, self.key, self.kid)

    def sign(self, claims: dict) -> str:
        """Sign complete claims (the emulated API server's TokenRequest) with the key the JWKS publishes."""
        if not self.is_hosted(claims.get("iss")):
            raise OidcError(f"issuer {claims.get('iss')!r} is not hosted by this sandbox")
        return jose.encode_rs256(claims, self.key, self.kid)

    # ------------------------------------------------------------------ HTTP
    def register_routes(self, router):
        router.add(r"/oidc/(?P<name>.+)/\.well-known/openid-configuration", self._discovery, ["GET"], "oidc")
        router.add(r"/oidc/(?P<name>.+)/openid/v1/jwks", self._jwks, ["GET"], "oidc")

    def _issuer_or_404(self, match):
        name = match.group("name")
        if not NAME_RE.fullmatch(name):
            return None
        return self.issuer_url(name)

    def _discovery(self, request, match):
        issuer = self._issuer_or_404(match)
        if issuer is None:
            return Response.json(404, {"error": "not_found"})
        return Response.json(200, {"issuer": issuer, "jwks_uri": issuer + "openid/v1/jwks",
                                   "response_types_supported": ["id_token"],
                                   "subject_types_supported": ["public"],
                                   "id_token_signing_alg_values_supported": ["RS256"]})

    def _jwks(self, request, match):
        if self._issuer_or_404(match) is None:
            return Response.json(404, {"error": "not_found"})
        return Response.json(200, {"keys": [jose.public_jwk(self.key.public_key(), self.kid)]})
