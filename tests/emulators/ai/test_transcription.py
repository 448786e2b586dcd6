"""Audio transcriptions of emulator-made recordings (and parts of them) with the real `openai` clients."""

from __future__ import annotations

import asyncio
import io
import struct

import openai
import pytest

from emulators.recording import RecordingAudio, Turn, split_wav, wav_bytes
from emulators.server import EmulatorThread
from tests.emulators.ai.helpers import async_openai_client, openai_client, raw_request

WHISPER = "whisper"
TURNS = (
    Turn("interviewer", "Tell me about yourself."),
    Turn("candidate", "I build payment systems in Python."),
    Turn("interviewer", "Why this role?"),
    Turn("candidate", "I want to lead a team."),
)


@pytest.fixture(scope="module")
def recording() -> bytes:
    return wav_bytes(RecordingAudio(recording_id="rec-ai-tests", turns=TURNS))


def test_json_text_and_verbose_json(emulator: EmulatorThread, recording: bytes) -> None:
    client = openai_client(emulator.settings)
    as_json = client.audio.transcriptions.create(model=WHISPER, file=("call.wav", recording, "audio/wav"))
    assert as_json.text.splitlines() == [
        "Interviewer: Tell me about yourself.",
        "Candidate: I build payment systems in Python.",
        "Interviewer: Why this role?",
        "Candidate: I want to lead a team.",
    ]
    as_text = client.audio.transcriptions.create(
        model=WHISPER, file=("call.wav", recording, "audio/wav"), response_format="text"
    )
    assert isinstance(as_text, str)
    assert as_text.strip() == as_json.text
    verbose = client.audio.transcriptions.create(
        model=WHISPER, file=("call.wav", recording, "audio/wav"), response_format="verbose_json"
    )
    assert verbose.segments is not None
    assert [s.text for s in verbose.segments] == [t.text for t in TURNS]
    starts = [s.start for s in verbose.segments]
    assert starts == sorted(starts)
    assert all(s.end > s.start for s in verbose.segments)
    assert verbose.duration >= verbose.segments[-1].end


def test_srt_and_vtt(emulator: EmulatorThread, recording: bytes) -> None:
    client = openai_client(emulator.settings)
    srt = client.audio.transcriptions.create(model=WHISPER, file=("c.wav", recording), response_format="srt")
    assert isinstance(srt, str)
    assert srt.startswith("1\n00:00:")
    assert " --> " in srt
    vtt = client.audio.transcriptions.create(model=WHISPER, file=("c.wav", recording), response_format="vtt")
    assert isinstance(vtt, str)
    assert vtt.startswith("WEBVTT")


def test_a_split_part_is_transcribed_relative_to_its_start(
    emulator: EmulatorThread, recording: bytes
) -> None:
    parts = split_wav(recording, len(recording) // 2 + 1024)
    assert len(parts) == 2

    async def transcribe_all() -> list[str]:
        client = async_openai_client(emulator.settings)
        async with client:
            results = await asyncio.gather(
                *(
                    client.audio.transcriptions.create(model=WHISPER, file=(f"p{i}.wav", p))
                    for i, p in enumerate(parts)
                )
            )
        return [r.text for r in results]

    texts = asyncio.run(transcribe_all())
    joined = "\n".join(texts)
    assert "Candidate: I want to lead a team." in joined
    assert all(texts)


def test_undecodable_audio_is_a_clear_400(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(model=WHISPER, file=("x.mp3", b"ID3 definitely not a wav"))
    assert "corrupted or unsupported" in str(raised.value)
    plain = io.BytesIO()
    plain.write(
        b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    )
    plain.write(b"data" + struct.pack("<I", 0))
    with pytest.raises(openai.BadRequestError) as no_script:
        client.audio.transcriptions.create(model=WHISPER, file=("plain.wav", plain.getvalue()))
    assert no_script.value.param == "file"  # type: ignore[attr-defined]


def test_oversized_audio_is_413(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.APIStatusError) as raised:
        client.audio.transcriptions.create(model=WHISPER, file=("big.wav", b"\0" * (3 * 1024 * 1024)))
    assert raised.value.status_code == 413
    assert "Maximum content size limit" in str(raised.value)


def test_bad_response_format_and_chat_deployment(emulator: EmulatorThread, recording: bytes) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.audio.transcriptions.create(
            model=WHISPER,
            file=("c.wav", recording),
            response_format="xml",  # type: ignore[arg-type]
        )
    assert "response_format" in str(raised.value)
    with pytest.raises(openai.BadRequestError) as wrong_kind:
        client.audio.transcriptions.create(model="gpt-4o-mini", file=("c.wav", recording))
    assert wrong_kind.value.code == "OperationNotSupported"


def test_bad_transcription_requests_get_openai_error_shape(emulator: EmulatorThread) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    url = f"{base}/openai/deployments/{WHISPER}/audio/transcriptions?api-version=2024-10-21"
    key = {"api-key": emulator.settings["AZURE_OPENAI_API_KEY"]}
    as_json = raw_request(url, data=b'{"file": "x"}', headers={**key, "Content-Type": "application/json"})
    assert as_json.status == 400
    assert "multipart/form-data" in as_json.json()["error"]["message"]
    boundary = "b0undary"
    no_file = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n--{boundary}--\r\n'
    ).encode()
    missing = raw_request(
        url, data=no_file, headers={**key, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert missing.status == 400
    assert missing.json()["error"]["param"] == "file"
    unauthorized = raw_request(
        url, data=no_file, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert unauthorized.status == 401
