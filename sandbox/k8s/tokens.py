"""The ServiceAccount `token` subresource: `POST .../serviceaccounts/<name>/token` (authentication.k8s.io/v1
TokenRequest), after kubernetes v1.34 pkg/registry/core/serviceaccount/storage/token.go (`TokenREST.Create`),
pkg/apis/authentication/validation (`ValidateTokenRequest`), pkg/apis/authentication/v1/defaults.go (one hour)
and pkg/serviceaccount/claims.go (the `kubernetes.io` claim).

Order of the checks as in `TokenREST.Create`: body name/namespace vs URL (422), ServiceAccount lookup (404),
default audiences, validation (422 on `TokenRequest.authentication.k8s.io ""`), boundObjectRef (404 for a
missing object, 400 for a pod of another ServiceAccount or an unsupported kind, 409 on a UID mismatch), then
the maximum expiration (AKS: one day, with the API server's warning). Nothing is stored.

Signing: a cluster whose issuer is hosted by the sandbox (`app.oidc.is_hosted`) signs with the OIDC issuers'
key, the one its JWKS publishes, so Entra's federation accepts the token. Any other cluster (no OIDC issuer:
iss is the API server's own URL, as on AKS before the OIDC issuer is enabled) signs with the "API server"
key `k8s-sa-signer.pem` in the workdir, which no JWKS publishes: Entra answers AADSTS700211.
"""

import json
import os
import time
import uuid

from .. import jose
from . import errors, kinds, protobuf
from .meta import timestamp

GROUP = "authentication.k8s.io"
API_VERSION = GROUP + "/v1"
KIND = "TokenRequest"
RESPONSE_KIND = {"group": GROUP, "version": "v1", "kind": KIND}
MIN_SECONDS = 10 * 60          # validation.go: "may not specify a duration less than 10 minutes"
MAX_SECONDS = 1 << 32          # validation.go: "may not specify a duration larger than 2^32 seconds"
DEFAULT_SECONDS = 60 * 60      # v1 defaults.go SetDefaults_TokenRequestSpec
AKS_MAX_SECONDS = 24 * 60 * 60  # AKS: "The maximum lifetime of the token ... is one day" (use-oidc-issuer)
SIGNER_FILE = "k8s-sa-signer.pem"
SERVICE_ACCOUNTS = kinds.BY_KEY["/serviceaccounts"]
PODS = kinds.BY_KEY["/pods"]
SECRETS = kinds.BY_KEY["/secrets"]
NODES = kinds.BY_KEY["/nodes"]


def _invalid(name, field, value, message) -> errors.KubeError:
    shown = json.dumps(value) if isinstance(value, str) else value  # field.Error quotes strings (%q)
    text = f"Invalid value: {shown}: {message}"
    return errors.KubeError(422, "Invalid", f'{KIND}.{GROUP} "{name}" is invalid: {field}: {text}',
                            {"name": name, "group": GROUP, "kind": KIND,
                             "causes": [{"reason": "FieldValueInvalid", "message": text, "field": field}]})


# ---------------------------------------------------------------------- request body
def _int64(value) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _decode_protobuf(body: bytes) -> dict:
    """kubectl create token posts protobuf (k8s.io/api authentication/v1 generated.proto field numbers)."""
    try:
        if not body.startswith(protobuf.MAGIC):
            raise ValueError("missing k8s protobuf magic")
        envelope = {n: v for n, _w, v in protobuf.fields(body[len(protobuf.MAGIC):])}
        type_meta = {n: v.decode() for n, _w, v in protobuf.fields(envelope.get(1, b""))}
        obj = {"apiVersion": type_meta.get(1) or API_VERSION, "kind": type_meta.get(2) or KIND, "spec": {}}
        for number, _wire, value in protobuf.fields(envelope.get(2, b"")):
            if number == 1:
                obj["metadata"] = protobuf._object_meta(value)
            elif number == 2:
                obj["spec"] = _decode_spec(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"error decoding protobuf body: {exc}")
    return obj


def _decode_spec(data: bytes) -> dict:
    spec, audiences = {}, []
    for number, _wire, value in protobuf.fields(data):
        if number == 1:
            audiences.append(value.decode())
        elif number == 4:
            spec["expirationSeconds"] = _int64(value)
        elif number == 3:
            names = {1: "kind", 2: "apiVersion", 3: "name", 4: "uid"}
            spec["boundObjectRef"] = {names[n]: v.decode() for n, _w, v in protobuf.fields(value) if n in names}
    if audiences:
        spec["audiences"] = audiences
    return spec


def parse(request) -> dict:
    """The TokenRequest of a JSON or protobuf body; 400 for another kind or a mistyped field."""
    content_type = (request.header("Content-Type", "") or "").split(";")[0].strip().lower()
    if content_type == "application/vnd.kubernetes.protobuf":
        body = _decode_protobuf(request.body)
    else:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}")
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body of the request must be a {KIND} object")
    api_version, kind = body.get("apiVersion") or API_VERSION, body.get("kind") or KIND
    if (api_version, kind) != (API_VERSION, KIND):
        version = api_version.rpartition("/")[2]
        raise errors.bad_request(f'{kind} in version "{version}" cannot be handled as a {KIND}: converting '
                                 f'({version}.{kind}) to ({GROUP.split(".", maxsplit=1)[0]}.{KIND}): unknown conversion')
    _check_types(body)
    return body


def _check_types(body):
    def wrong(path, go_type):
        return errors.bad_request(f'{KIND} in version "v1" cannot be handled as a {KIND}: json: cannot '
                                  f'unmarshal into Go struct field {path} of type {go_type}')
    if not isinstance(body.get("metadata") or {}, dict):
        raise wrong("TokenRequest.metadata", "v1.ObjectMeta")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise wrong("TokenRequest.spec", "v1.TokenRequestSpec")
    audiences = spec.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise wrong("TokenRequestSpec.spec.audiences", "[]string")
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise wrong("TokenRequestSpec.spec.expirationSeconds", "int64")
    ref = spec.get("boundObjectRef")
    if ref is not None and not (isinstance(ref, dict) and all(isinstance(v, str) for v in ref.values())):
        raise wrong("TokenRequestSpec.spec.boundObjectRef", "v1.BoundObjectReference")


# ---------------------------------------------------------------------- TokenREST.Create
class TokenRequests:
    """Issues TokenRequests for one hub; the caller holds the store lock."""

    def __init__(self, app):
        self.app = app
        self._signer = None

    def signer(self):
        """(key, kid) of the API server's own signing key (trusted by no JWKS the sandbox publishes)."""
        if self._signer is None:
            key = jose.load_or_create_rsa_key(os.path.join(self.app.workdir, SIGNER_FILE))
            self._signer = (key, jose.thumbprint_kid(key.public_key()))
        return self._signer

    def issuer(self, cluster, server_url) -> str:
        return cluster.oidc_issuer_url or server_url

    def audiences(self, cluster, server_url) -> list:
        """The API server's audiences (--api-audiences, default: the issuer), plus its own URL."""
        issuer = self.issuer(cluster, server_url)
        return [issuer] if issuer == server_url else [issuer, server_url]

    def create(self, cluster, namespace, name, body, server_url):
        """-> (TokenRequest object, warning or None); raises KubeError like the real API server."""
        meta = body.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise _invalid(name, "metadata.name", meta["name"], "must match the service account name if specified")
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise _invalid(name, "metadata.namespace", meta["namespace"],
                           "must match the service account namespace if specified")
        account = cluster.get(SERVICE_ACCOUNTS, namespace, name)
        if account is None:
            raise errors.not_found(SERVICE_ACCOUNTS, name)
        spec = dict(body.get("spec") or {})
        spec["audiences"] = spec.get("audiences") or self.audiences(cluster, server_url)
        seconds = spec.get("expirationSeconds")
        seconds = DEFAULT_SECONDS if seconds is None else seconds
        now = time.time()
        if seconds < MIN_SECONDS:
            raise _invalid("", "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")
        if seconds > MAX_SECONDS:
            raise _invalid("", "spec.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds")
        bound = self._bound(cluster, namespace, name, spec.get("boundObjectRef"))
        warning = None
        if seconds > AKS_MAX_SECONDS:
            warning = f"requested expiration of {seconds} seconds shortened to {AKS_MAX_SECONDS} seconds"
            seconds = AKS_MAX_SECONDS
        spec["expirationSeconds"] = seconds
        spec.setdefault("boundObjectRef", None)
        token = self._sign(cluster, server_url, account, bound, spec, int(now))
        out = {"kind": KIND, "apiVersion": API_VERSION,
               "metadata": {"name": name, "namespace": namespace, "creationTimestamp": timestamp(now)},
               "spec": spec, "status": {"token": token, "expirationTimestamp": timestamp(now + seconds)}}
        return out, warning

    def _bound(self, cluster, namespace, name, ref) -> dict:
        """{"pod"|"secret"|"node": {name, uid}} of a boundObjectRef (token.go's switch on its kind)."""
        if not ref:
            return {}
        api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        target = {"Pod": PODS, "Secret": SECRETS, "Node": NODES}.get(kind) if not group else None
        if target is None:
            shown = f"{group}/{api_version.rpartition('/')[2]}, Kind={kind}"
            raise errors.bad_request(f"cannot bind token to object of type {shown}")
        obj = cluster.get(target, namespace if target.namespaced else None, ref.get("name", ""))
        if obj is None:
            raise errors.not_found(target, ref.get("name", ""))
        uid = obj["metadata"].get("uid", "")
        bound = {kind.lower(): {"name": obj["metadata"]["name"], "uid": uid}}
        if target is PODS:
            spec = obj.get("spec") or {}
            if spec.get("serviceAccountName", "default") != name:
                raise errors.bad_request(f'cannot bind token for serviceaccount "{name}" to pod running with '
                                         f'different serviceaccount name.')
            node_name = spec.get("nodeName")
            if node_name:  # ServiceAccountTokenPodNodeInfo (on by default since 1.30)
                node = cluster.get(NODES, None, node_name)
                bound["node"] = {"name": node_name, **({"uid": node["metadata"]["uid"]} if node else {})}
        if ref.get("uid") and ref["uid"] != uid:
            raise errors.KubeError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{ref["name"]}": the '
                                   f'UID in the bound object reference ({ref["uid"]}) does not match the UID in '
                                   f'record. The object might have been deleted and then recreated',
                                   {"name": ref["name"], "kind": kind})
        return bound

    def _sign(self, cluster, server_url, account, bound, spec, now) -> str:
        meta = account["metadata"]
        issuer = self.issuer(cluster, server_url)
        private = {"namespace": meta["namespace"],
                   "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")}, **bound}
        claims = {"aud": list(spec["audiences"]), "exp": now + spec["expirationSeconds"], "iat": now, "nbf": now,
                  "iss": issuer, "jti": str(uuid.uuid4()), "kubernetes.io": private,
                  "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}"}
        if self.app.oidc.is_hosted(issuer):
            return self.app.oidc.sign(claims)
        key, kid = self.signer()
        return jose.encode_rs256(claims, key, kid)
