"""`python -m emulators start` prints where its settings are, never a key or a connection string."""

from __future__ import annotations

import json
import logging
import signal
import stat
from pathlib import Path

import pytest

from emulators.cli import RedactingFormatter, secret_values
from tests.emulators.cli_process import start_emulators

SECRET_SETTINGS = ("AZURE_OPENAI_API_KEY", "DOCUMENT_INTELLIGENCE_API_KEY", "ACS_CONNECTION_STRING")
EVENTS_KEY = "events-system-key-0123456789abcdef"


@pytest.mark.subprocess
def test_the_output_names_the_settings_file_and_holds_no_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    events_file = tmp_path / "events-url"
    events_file.write_text(
        f"http://127.0.0.1:9/runtime/webhooks/eventgrid?functionName=f&code={EVENTS_KEY}\n"
    )
    process, lines = start_emulators(data_dir, "--events-url-file", str(events_file))
    try:
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "\n".join(lines) + "\n" + rest
    assert "emulators ready" in output, output

    settings_file = data_dir / "settings.json"
    settings = json.loads(settings_file.read_text())
    assert str(settings_file) in output
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600
    access_key = settings["ACS_CONNECTION_STRING"].split("accesskey=", 1)[1]
    secrets = [*(settings[name] for name in SECRET_SETTINGS), access_key, EVENTS_KEY]
    assert all(len(secret) >= 16 for secret in secrets)
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == [], f"secrets printed: {len(leaked)}"
    assert settings["AZURE_OPENAI_ENDPOINT"] in output  # endpoints are no secret, and say where to go


def test_log_records_are_redacted_whatever_the_library_put_in_them() -> None:
    settings = {
        "AZURE_OPENAI_API_KEY": "openai-key-0123456789",
        "ACS_CONNECTION_STRING": "endpoint=https://127.0.0.1:1/;accesskey=c2VjcmV0LWFjY2Vzcy1rZXk=",
        "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:2/",
    }
    secrets = secret_values(settings, f"http://127.0.0.1:3/hook?functionName=f&code={EVENTS_KEY}")
    formatter = RedactingFormatter(secrets)
    record = logging.LogRecord(
        "emulators.acs_service",
        logging.WARNING,
        __file__,
        1,
        "delivery dropped: %s (%s)",
        (f"http://127.0.0.1:3/hook?functionName=f&code={EVENTS_KEY}", "c2VjcmV0LWFjY2Vzcy1rZXk="),
        None,
    )

    text = formatter.format(record)

    assert EVENTS_KEY not in text
    assert "c2VjcmV0LWFjY2Vzcy1rZXk=" not in text
    assert "functionName=f" in text  # only the secret goes, the rest of the message stays readable
    assert "http://127.0.0.1:2/" not in secrets


def test_callback_tokens_the_emulator_never_saw_are_redacted_too() -> None:
    formatter = RedactingFormatter([])
    record = logging.LogRecord(
        "emulators.acs_service",
        logging.WARNING,
        __file__,
        1,
        "callback dropped: %s",
        ("http://127.0.0.1:9/api/acs/callbacks?instanceId=cand-1&token=Vbh-secret_token&x=1",),
        None,
    )

    text = formatter.format(record)

    assert "Vbh-secret_token" not in text
    assert "instanceId=cand-1&token=[redacted]&x=1" in text
