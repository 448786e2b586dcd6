"""A local certificate authority and a loopback server certificate for the HTTPS emulators.

The ACS SDK always rewrites its endpoint to ``https://``, so the ACS emulator must speak TLS. On first use
this module writes a CA certificate and a server certificate signed by it into a directory, and reuses them
afterwards (an app that trusted the CA once keeps trusting it across restarts).

How an app trusts the emulator (any one of these):

- ``REQUESTS_CA_BUNDLE=<ca_cert_path>`` for the sync SDK clients (azure-core's requests transport), and
  ``SSL_CERT_FILE=<ca_cert_path>`` for the async ones (aiohttp uses Python's default SSL context);
- per client: ``CallAutomationClient.from_connection_string(conn, connection_verify=str(ca_cert_path))``
  (azure-core passes it to both transports).

Besides the requested hostnames, the server certificate names ``*.asm.skype.com``: the Call Automation SDK
refuses to download or delete a recording whose URL is on any other host, so the emulator's recording URLs use
that domain and reach the emulator through its local CONNECT proxy (see ``emulators.acs_proxy``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RECORDING_HOST_PATTERN = "*.asm.skype.com"
"""Wildcard the server certificate always carries, so emulated recording URLs pass the SDK's host check."""

_CA_CERT = "ca.pem"
_CA_KEY = "ca.key"
_SERVER_CERT = "server.pem"
_SERVER_KEY = "server.key"
_SAN_RECORD = "server.san"
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class TlsMaterial:
    """Paths of the PEM files a TLS server and its clients need."""

    ca_cert_path: Path
    server_cert_path: Path
    server_key_path: Path


def ensure_tls_material(
    directory: Path, hostnames: Sequence[str] = ("127.0.0.1", "localhost")
) -> TlsMaterial:
    """Create the CA and a server certificate in ``directory`` unless they exist already; return their paths.

    The CA is kept once made. The server certificate is re-issued (by the same CA) only when the requested
    hostnames change, so clients that trust the CA never need to re-trust anything.
    """
    directory.mkdir(parents=True, exist_ok=True)
    material = TlsMaterial(
        ca_cert_path=directory / _CA_CERT,
        server_cert_path=directory / _SERVER_CERT,
        server_key_path=directory / _SERVER_KEY,
    )
    names = sorted({*hostnames, RECORDING_HOST_PATTERN})
    ca_key_path = directory / _CA_KEY
    if not (material.ca_cert_path.exists() and ca_key_path.exists()):
        _write_ca(material.ca_cert_path, ca_key_path)
    san_record = directory / _SAN_RECORD
    wanted = "\n".join(names)
    current = san_record.read_text() if san_record.exists() else None
    if current != wanted or not material.server_cert_path.exists() or not material.server_key_path.exists():
        _write_server_certificate(material, ca_key_path, names)
        san_record.write_text(wanted)
    return material


def server_ssl_context(material: TlsMaterial) -> ssl.SSLContext:
    """Return a server-side SSL context presenting the emulator's certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(material.server_cert_path, material.server_key_path)
    return context


def client_ssl_context(material: TlsMaterial) -> ssl.SSLContext:
    """Return a client-side SSL context that trusts the emulator's CA (for tests and tools)."""
    return ssl.create_default_context(cafile=str(material.ca_cert_path))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_ca(cert_path: Path, key_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hireflow emulators local CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _san_entry(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _write_server_certificate(material: TlsMaterial, ca_key_path: Path, names: Sequence[str]) -> None:
    ca_cert = x509.load_pem_x509_certificate(material.ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"unexpected CA key type in {ca_key_path}")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        # Python's ssl module rejects server certificates valid for more than ~825 days on some platforms.
        .not_valid_after(now + dt.timedelta(days=800))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([_san_entry(n) for n in names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(material.server_key_path, _key_pem(key))
    material.server_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
