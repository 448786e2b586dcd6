"""The local CA: made once and reused, trusted by the SDK when told to, refused otherwise."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError
from cryptography import x509

from emulators.tls import ensure_tls_material
from tests.emulators.acs.harness import RunningAcs


def test_material_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = ensure_tls_material(tmp_path)
    ca_bytes, cert_bytes = first.ca_cert_path.read_bytes(), first.server_cert_path.read_bytes()
    second = ensure_tls_material(tmp_path)
    assert second == first
    assert second.ca_cert_path.read_bytes() == ca_bytes
    assert second.server_cert_path.read_bytes() == cert_bytes
    assert oct(first.server_key_path.stat().st_mode & 0o777) == "0o600"


def test_server_certificate_names_loopback_and_recording_hosts(tmp_path: Path) -> None:
    material = ensure_tls_material(tmp_path)
    cert = x509.load_pem_x509_certificate(material.server_cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert {"localhost", "*.asm.skype.com"} <= set(names.get_values_for_type(x509.DNSName))
    ca = x509.load_pem_x509_certificate(material.ca_cert_path.read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


def test_new_hostnames_reissue_the_server_certificate_but_keep_the_ca(tmp_path: Path) -> None:
    first = ensure_tls_material(tmp_path)
    ca_bytes, cert_bytes = first.ca_cert_path.read_bytes(), first.server_cert_path.read_bytes()
    ensure_tls_material(tmp_path, ("127.0.0.1", "localhost", "emulators.internal"))
    assert first.ca_cert_path.read_bytes() == ca_bytes
    assert first.server_cert_path.read_bytes() != cert_bytes


def test_sdk_refuses_the_emulator_unless_the_ca_is_trusted(acs: RunningAcs) -> None:
    untrusted = CallAutomationClient.from_connection_string(acs.connection_string, retry_total=0)
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.get_call_connection("unknown").get_call_properties()


def test_connection_verify_kwarg_trusts_the_ca(acs: RunningAcs) -> None:
    trusted = CallAutomationClient.from_connection_string(acs.connection_string, connection_verify=acs.ca)
    # A 404 from the emulator proves the TLS handshake and the HMAC check both passed.
    with pytest.raises(ResourceNotFoundError):
        trusted.get_call_connection("unknown").get_call_properties()


def test_requests_ca_bundle_environment_trusts_the_ca(
    acs: RunningAcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", acs.ca)
    client = CallAutomationClient.from_connection_string(acs.connection_string)
    with pytest.raises(ResourceNotFoundError):
        client.get_call_connection("unknown").get_call_properties()


ASYNC_PROBE = """
import asyncio, sys
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.exceptions import ResourceNotFoundError

async def main() -> None:
    async with CallAutomationClient.from_connection_string(sys.argv[1], retry_total=0) as client:
        try:
            await client.get_call_connection("unknown").get_call_properties()
        except ResourceNotFoundError:
            print("reached the emulator")

asyncio.run(main())
"""


def test_ssl_cert_file_environment_trusts_the_ca_for_async_clients(acs: RunningAcs) -> None:
    # aiohttp builds its default SSL context at import, so the variable must be set before the process starts.
    probe = subprocess.run(
        [sys.executable, "-c", ASYNC_PROBE, acs.connection_string],
        env={**os.environ, "SSL_CERT_FILE": acs.ca},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "reached the emulator", probe.stderr[-2000:]
