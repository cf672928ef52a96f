"""Minimal RS256 JWT / JWK helpers built on `cryptography` (no PyJWT dependency)."""

import base64
import hashlib
import json
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError("base64url segment must be a string")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(public_key, kid: str) -> dict:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def thumbprint_kid(public_key) -> str:
    """RFC 7638 JWK thumbprint: stable key id derived from the key itself."""
    numbers = public_key.public_numbers()
    canonical = json.dumps({"e": _int_b64(numbers.e), "kty": "RSA", "n": _int_b64(numbers.n)},
                           separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def load_or_create_rsa_key(path: str):
    """Reuse the key in `path` so tokens and JWKS survive a restart with the same workdir."""
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_private_file(path, pem)
    return key


def write_private_file(path: str, data: bytes) -> None:
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def encode_rs256(claims: dict, private_key, kid: str, typ: str = "JWT") -> str:
    header = {"alg": "RS256", "kid": kid, "typ": typ}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


class Decoded:
    """An unverified JWT split into its parts."""

    def __init__(self, header: dict, claims: dict, signing_input: bytes, signature: bytes):
        self.header = header
        self.claims = claims
        self.signing_input = signing_input
        self.signature = signature


def decode_unverified(token: str) -> Decoded:
    """Split and parse a compact JWS; raises ValueError on any malformation."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise ValueError("not a compact JWS")
    head_b64, body_b64, sig_b64 = token.strip().split(".")
    header = json.loads(b64url_decode(head_b64))
    claims = json.loads(b64url_decode(body_b64))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWT header and payload must be JSON objects")
    return Decoded(header, claims, (head_b64 + "." + body_b64).encode("ascii"), b64url_decode(sig_b64))


def verify_rs256(decoded: Decoded, public_key) -> bool:
    if decoded.header.get("alg") != "RS256":
        return False
    try:
        public_key.verify(decoded.signature, decoded.signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
