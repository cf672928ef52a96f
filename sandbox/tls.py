"""Sandbox-generated CA and loopback server certificate.

The CA (key + cert) is reused from the workdir when present so a restarted sandbox stays trusted
by anything that already points REQUESTS_CA_BUNDLE at it; the server certificate is reissued on
every start. EC P-256 keys keep generation instant.
"""

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .jose import write_private_file

CA_NAME = "Keyless Sandbox Test CA"


@dataclass
class TlsFiles:
    ca_file: str
    cert_file: str
    key_file: str


def _now():
    return datetime.datetime.now(datetime.UTC)


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_ca(ca_file, ca_key_file):
    try:
        with open(ca_file, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
        with open(ca_key_file, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc - _now() < datetime.timedelta(days=7):
        return None
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        return None
    return cert, key


def _create_ca(ca_file, ca_key_file):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "keyless.aks_storage tests")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256()))
    write_private_file(ca_key_file, _pem_key(key))
    with open(ca_file + ".tmp", "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(ca_file + ".tmp", ca_file)
    return cert, key


def _server_cert(ca_cert, ca_key, host):
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    if host not in ("127.0.0.1", "localhost"):
        alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(hours=1))
            .not_valid_after(_now() + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=True, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def ensure_certificates(workdir: str, host: str = "127.0.0.1") -> TlsFiles:
    os.makedirs(workdir, exist_ok=True)
    ca_file = os.path.join(workdir, "ca.pem")
    ca_key_file = os.path.join(workdir, "ca-key.pem")
    loaded = _load_ca(ca_file, ca_key_file)
    ca_cert, ca_key = loaded if loaded else _create_ca(ca_file, ca_key_file)
    cert, key = _server_cert(ca_cert, ca_key, host)
    cert_file = os.path.join(workdir, "server.pem")
    key_file = os.path.join(workdir, "server-key.pem")
    write_private_file(key_file, _pem_key(key))
    with open(cert_file + ".tmp", "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(cert_file + ".tmp", cert_file)
    return TlsFiles(os.path.abspath(ca_file), os.path.abspath(cert_file), os.path.abspath(key_file))


def server_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert_file, files.key_file)
    return context


def client_context(ca_file: str) -> ssl.SSLContext:
    """Verifying client context (hostname + chain) that trusts only the sandbox CA."""
    return ssl.create_default_context(cafile=ca_file)
