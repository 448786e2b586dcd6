"""The speech voice: recordings spoken by espeak-ng, transcribed whole and in parts, with and without it.

A stand-in with espeak-ng's command line is put first on PATH, so the tests never depend on the real
synthesiser being installed; where it is, the other tests use it (the emulator's default voice is ``auto``).
"""

from __future__ import annotations

import io
import json
import os
import wave
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier, TextSource
from azure.core.exceptions import HttpResponseError

from emulators import recording
from emulators.recording import (
    SAMPLE_RATE,
    VOICE_SPEECH,
    VOICE_TONES,
    RecordingAudio,
    UndecodableAudio,
    build_turns,
    data_chunk_offset,
    split_wav,
    transcribe_wav,
    wav_bytes,
)
from emulators.tls import TlsMaterial
from tests.emulators.acs.harness import running_acs, wait_until

FAKE_ESPEAK_DIR = Path(__file__).with_name("fake_espeak")
TURNS = build_turns(
    ["Tell me about yourself.", "Why this role?"],
    ["I build data pipelines in Python and I test them well.", "Because I like the team."],
)


@pytest.fixture
def fake_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{FAKE_ESPEAK_DIR}{os.pathsep}{os.environ['PATH']}")


def test_speech_recording_records_its_voice_and_transcribes_whole_and_in_parts(fake_espeak: None) -> None:
    audio = RecordingAudio.create("speech-1", TURNS, VOICE_SPEECH)
    assert audio.engine.endswith("0.0-fake")
    raw = wav_bytes(audio)
    with wave.open(io.BytesIO(raw)) as reader:
        assert reader.getframerate() == SAMPLE_RATE
        assert reader.getnframes() == audio.total_samples
    script = json.loads(raw[36 + 8 : data_chunk_offset(raw)].rstrip())
    assert script["voice"] == VOICE_SPEECH
    assert len(script["turnBlocks"]) == len(TURNS)
    segments = transcribe_wav(raw)
    assert [(s.speaker, s.text) for s in segments] == [(t.speaker, t.text) for t in TURNS]
    # Speech timing differs from the tone voice's fixed word slots.
    assert audio.duration_s != RecordingAudio.create("speech-1", TURNS, VOICE_TONES).duration_s
    parts = split_wav(raw, 30_000)
    heard = " ".join(s.text for part in parts for s in transcribe_wav(part))
    assert heard.split() == " ".join(t.text for t in TURNS).split()


def test_speech_recordings_are_located_by_watermark_where_the_engine_is_missing(
    fake_espeak: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    raw = wav_bytes(RecordingAudio.create("speech-2", TURNS, VOICE_SPEECH))
    parts = split_wav(raw, len(raw) // 2)
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng at all now
    assert " ".join(s.text for s in transcribe_wav(raw)) == " ".join(t.text for t in TURNS)
    assert transcribe_wav(parts[0])
    tiny_tail = split_wav(raw, len(raw) - 100)[-1]
    with pytest.raises(UndecodableAudio, match="espeak-ng"):
        transcribe_wav(tiny_tail)


@pytest.mark.parametrize("voice", [VOICE_SPEECH, VOICE_TONES])
def test_emulator_records_calls_in_the_configured_voice(
    fake_espeak: None, tls_material: TlsMaterial, tmp_path: Path, voice: str
) -> None:
    with running_acs(tls_material, tmp_path, voice=voice) as acs:
        client = CallAutomationClient.from_connection_string(
            acs.connection_string,
            connection_verify=acs.ca,
            proxies={"https": acs.emulator.recording_proxy_url},
        )
        call_id = str(
            client.create_call(
                PhoneNumberIdentifier("+14255550102"),
                acs.callback_url,
                source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
            ).call_connection_id
        )
        connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
        client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
        client.get_call_connection(call_id).play_media_to_all(TextSource(text="What do you do?"))
        client.get_call_connection(call_id).hang_up(is_for_everyone=True)
        event = wait_until(acs.receiver.notifications)[0]
        location = event["data"]["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"]
        raw = b"".join(client.download_recording(location).iter_bytes())
    script = json.loads(raw[36 + 8 : data_chunk_offset(raw)].rstrip())
    assert script.get("voice", VOICE_TONES) == voice
    segments = transcribe_wav(raw)
    assert [s.text for s in segments] == [
        "What do you do?",
        "Um, I did some programming, mostly Excel macros.",
    ]


@pytest.mark.parametrize("voice", [VOICE_SPEECH, VOICE_TONES])
def test_run_rendering_matches_block_by_block_rendering(fake_espeak: None, voice: str) -> None:
    audio = RecordingAudio.create(f"runs-{voice}", TURNS, voice)
    timeline = recording._timeline(audio)
    speech = (recording.espeak_executable() or "") if voice == VOICE_SPEECH else ""
    reference = b"".join(
        recording._render_block(audio, audio.key, timeline, block, speech)
        for block in range(timeline.total_blocks)
    )
    assert b"".join(recording.iter_data_range(audio, 0, len(reference), chunk_bytes=999)) == reference
    for start, end in [(1, 129), (127, 2049), (5000, 90_001), (len(reference) - 3, len(reference))]:
        assert (
            b"".join(recording.iter_data_range(audio, start, end, chunk_bytes=4097)) == reference[start:end]
        )


def test_download_is_refused_up_front_when_the_speech_engine_is_gone(
    fake_espeak: None, monkeypatch: pytest.MonkeyPatch, tls_material: TlsMaterial, tmp_path: Path
) -> None:
    with running_acs(tls_material, tmp_path, voice=VOICE_SPEECH) as acs:
        client = CallAutomationClient.from_connection_string(
            acs.connection_string,
            connection_verify=acs.ca,
            proxies={"https": acs.emulator.recording_proxy_url},
            retry_total=0,  # a 500 would otherwise be retried with backoff
        )
        call_id = str(
            client.create_call(
                PhoneNumberIdentifier("+14255550102"),
                acs.callback_url,
                source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
            ).call_connection_id
        )
        connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
        client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
        client.get_call_connection(call_id).play_media_to_all(
            TextSource(text="Ready?")
        )  # keep synthesis short
        client.get_call_connection(call_id).hang_up(is_for_everyone=True)
        event = wait_until(acs.receiver.notifications)[0]
        location = event["data"]["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"]
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(HttpResponseError) as refused:
            client.download_recording(location)
        assert refused.value.status_code == 500
        assert refused.value.response is not None
        assert "which this emulator lacks" in refused.value.response.read().decode()
