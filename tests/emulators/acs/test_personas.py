"""Personas: the packaged defaults, custom files passed as --personas, and the fallback for strangers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier, TextSource

from emulators.personas import Behaviour, load_personas
from emulators.tls import TlsMaterial
from tests.emulators.acs.harness import running_acs, wait_until


def test_default_personas_cover_every_behaviour() -> None:
    book = load_personas()
    assert {p.behaviour for p in book.personas.values()} == set(Behaviour)
    assert book.for_target("4:+14255550101").behaviour is Behaviour.ANSWERS_WELL
    stranger = book.for_target("4:+15555555555")
    assert stranger.behaviour is Behaviour.ANSWERS_WELL
    assert all(stranger.answer(i) for i in range(10))
    assert book.for_target("8:acs:emulated-candidate-0001").answers


def test_malformed_personas_files_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_personas(broken)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"personas": {"+1": {"behaviour": "sings"}}}))
    with pytest.raises(ValueError, match="sings"):
        load_personas(unknown)


def test_custom_personas_file_drives_the_call(tls_material: TlsMaterial, tmp_path: Path) -> None:
    personas = tmp_path / "personas.json"
    personas.write_text(
        json.dumps(
            {
                "default": {"behaviour": "busy"},
                "personas": {
                    "+3312345678": {"behaviour": "answers_well", "answers": ["Bonjour, je suis prête."]}
                },
            }
        )
    )
    with running_acs(tls_material, tmp_path, personas_path=personas) as acs:
        client = CallAutomationClient.from_connection_string(acs.connection_string, connection_verify=acs.ca)
        caller = PhoneNumberIdentifier("+18005550100")
        known = str(
            client.create_call(
                PhoneNumberIdentifier("+3312345678"), acs.callback_url, source_caller_id_number=caller
            ).call_connection_id
        )
        stranger = str(
            client.create_call(
                PhoneNumberIdentifier("+3399999999"), acs.callback_url, source_caller_id_number=caller
            ).call_connection_id
        )
        wait_until(lambda: acs.receiver.callbacks_of(known, "CallConnected"))
        wait_until(lambda: acs.receiver.callbacks_of(stranger, "CreateCallFailed"))
        recording = client.start_recording(
            server_call_id=acs.receiver.callbacks_of(known, "CallConnected")[0]["data"]["serverCallId"]
        )
        client.get_call_connection(known).play_media_to_all(TextSource(text="Êtes-vous prête ?"))
        client.stop_recording(recording.recording_id)
        assert recording.recording_id


def test_stop_cancels_pending_deliveries_promptly(tls_material: TlsMaterial, tmp_path: Path) -> None:
    with running_acs(tls_material, tmp_path, recording_ready_delay_s=120) as acs:
        client = CallAutomationClient.from_connection_string(acs.connection_string, connection_verify=acs.ca)
        call_id = str(
            client.create_call(
                PhoneNumberIdentifier("+14255550101"),
                acs.callback_url,
                source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
            ).call_connection_id
        )
        connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
        client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
        client.get_call_connection(call_id).hang_up(is_for_everyone=True)
        wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallDisconnected"))
        started_stopping = time.monotonic()
    assert time.monotonic() - started_stopping < 5
    assert acs.receiver.notifications() == []
    assert acs.emulator.delivered_recording_events == []
