"""`python -m emulators start` as a subprocess: ready line, settings file, health, clean SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.emulators.cli_process import start_emulators

REQUIRED_KEYS = {
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_CHAT_DEPLOYMENT",
    "AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT",
    "DOCUMENT_INTELLIGENCE_ENDPOINT",
    "DOCUMENT_INTELLIGENCE_API_KEY",
    "ACS_CONNECTION_STRING",
    "CA_BUNDLE",
}


@pytest.mark.subprocess
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_start_ready_settings_health_and_clean_stop(tmp_path: Path, stop_signal: signal.Signals) -> None:
    settings_file = tmp_path / "out" / "settings.json"
    process, lines = start_emulators(
        tmp_path / "data", "--settings-out", str(settings_file), "--faults", "openai:500=0.1", "--seed", "5"
    )
    try:
        settings = json.loads(settings_file.read_text())
        assert set(settings) >= REQUIRED_KEYS
        assert Path(settings["CA_BUNDLE"]).is_file()
        assert settings["ACS_CONNECTION_STRING"].startswith("endpoint=https://127.0.0.1:")
        printed = "\n".join(lines)
        # The output says where the settings are; the secrets among them stay in the file.
        assert str(settings_file) in printed
        for secret in ("AZURE_OPENAI_API_KEY", "DOCUMENT_INTELLIGENCE_API_KEY", "ACS_CONNECTION_STRING"):
            assert settings[secret] not in printed, secret
        with urllib.request.urlopen(f"{settings['EMULATORS_HTTP_URL']}/health", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(f"{settings['EMULATORS_HTTP_URL']}/admin/stats", timeout=5) as response:
            stats = json.loads(response.read())
        assert stats["seed"] == 5
        assert stats["faults"] == {"openai": {"500": 0.1}}
    finally:
        process.send_signal(stop_signal)
        remaining, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "emulators stopped" in remaining


@pytest.mark.subprocess
def test_bad_fault_spec_exits_with_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulators", "start", "--port", "0", "--faults", "openai:teapot=1"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--faults" in result.stderr


def test_ring_and_recording_delays_reach_the_acs_emulator(tmp_path: Path) -> None:
    from emulators.cli import build_parser, options_from
    from emulators.server import EmulatorThread

    args = build_parser().parse_args(
        ["start", "--port", "0", "--ring-delay", "0", "--recording-ready-delay", "0.25"]
    )
    options = options_from(args)
    options.data_dir = tmp_path
    emulators = EmulatorThread(options)
    emulators.start()
    try:
        config = emulators.server.acs.config
        assert (config.ring_delay_s, config.recording_ready_delay_s) == (0.0, 0.25)
    finally:
        emulators.stop()
    assert options_from(build_parser().parse_args(["start"])).ring_delay_s == 0.05
