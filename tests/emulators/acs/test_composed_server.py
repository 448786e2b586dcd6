"""The ACS half inside the composed emulator server: settings only, then a recorded call transcribed by the
Azure OpenAI emulator, whole and split into parts."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier, TextSource
from openai import AzureOpenAI

from emulators.recording import SAMPLE_RATE, split_wav
from emulators.server import EmulatorOptions, emulators_in_thread
from tests.emulators.acs.harness import running_receiver, wait_until

QUESTION = "Which testing tools do you use every day?"


def spoken_words(text: str) -> list[str]:
    """Words of a transcript without the speaker labels the transcription emulator adds."""
    return [word for word in text.split() if word not in ("Interviewer:", "Candidate:")]


def test_settings_alone_reach_calls_recordings_and_transcription(tmp_path: Path) -> None:
    with running_receiver() as app:
        options = EmulatorOptions(events_url=app.events_url, recording_ready_delay_s=0.05, data_dir=tmp_path)
        with emulators_in_thread(options) as emulators:
            settings = emulators.settings
            acs = CallAutomationClient.from_connection_string(
                settings["ACS_CONNECTION_STRING"],
                connection_verify=settings["CA_BUNDLE"],
                proxies={"https": settings["ACS_RECORDING_PROXY_URL"]},
            )
            call_id = str(
                acs.create_call(
                    PhoneNumberIdentifier("+14255550101"),
                    app.callback_url,
                    source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
                ).call_connection_id
            )
            connected = wait_until(lambda: app.receiver.callbacks_of(call_id, "CallConnected"))
            acs.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
            acs.get_call_connection(call_id).play_media_to_all(TextSource(text=QUESTION))
            acs.get_call_connection(call_id).hang_up(is_for_everyone=True)
            event = wait_until(app.receiver.notifications)[0]
            location = event["data"]["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"]
            audio = b"".join(acs.download_recording(location).iter_bytes())

            openai = AzureOpenAI(
                azure_endpoint=settings["AZURE_OPENAI_ENDPOINT"],
                api_key=settings["AZURE_OPENAI_API_KEY"],
                api_version=settings["AZURE_OPENAI_API_VERSION"],
            )
            deployment = settings["AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT"]
            whole = openai.audio.transcriptions.create(model=deployment, file=("call.wav", audio))
            assert QUESTION in whole.text
            with wave.open(io.BytesIO(audio)) as reader:
                seconds = reader.getnframes() / SAMPLE_RATE
            parts = split_wav(audio, len(audio) // 3 + 1)
            assert len(parts) >= 3
            texts = [
                openai.audio.transcriptions.create(model=deployment, file=(f"part{i}.wav", part)).text
                for i, part in enumerate(parts)
            ]
            assert spoken_words(" ".join(texts)) == spoken_words(whole.text)
            assert seconds > 5


def test_admin_stats_count_calls_per_operation_context(tmp_path: Path) -> None:
    import json
    import urllib.request

    def stats(base_url: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{base_url}/admin/stats", timeout=5) as response:
            loaded: dict[str, Any] = json.loads(response.read())["acs_calls"]
            return loaded

    with running_receiver() as app:
        options = EmulatorOptions(events_url=app.events_url, recording_ready_delay_s=0.05, data_dir=tmp_path)
        with emulators_in_thread(options) as emulators:
            settings = emulators.settings
            acs = CallAutomationClient.from_connection_string(
                settings["ACS_CONNECTION_STRING"], connection_verify=settings["CA_BUNDLE"]
            )
            for context in ("attempt-1", "attempt-1", "attempt-2"):
                acs.create_call(
                    PhoneNumberIdentifier("+14255550101"),
                    app.callback_url,
                    source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
                    operation_context=context,
                )
            summary = wait_until(lambda: (s := stats(settings["EMULATORS_HTTP_URL"]))["connected"] == 3 and s)
    assert summary["created"] == 3
    assert summary["per_operation_context"] == {"attempt-1": 2, "attempt-2": 1}
