"""The recording <-> transcription bridge, without any server: WAV validity, parts, and refusals."""

from __future__ import annotations

import io
import itertools
import struct
import wave

import pytest

from emulators.recording import (
    SAMPLE_RATE,
    RecordingAudio,
    UndecodableAudio,
    build_turns,
    data_chunk_offset,
    iter_wav_range,
    split_wav,
    transcribe_wav,
    wav_bytes,
)

QUESTIONS = ["Tell me about yourself.", "Why do you want this job?", "What is your notice period?"]
ANSWERS = [
    "I am a Python developer with five years of experience in Azure.",
    "I like building reliable data pipelines.",
    "Four weeks.",
]


@pytest.fixture(scope="module")
def recording() -> RecordingAudio:
    return RecordingAudio("recording-under-test", build_turns(QUESTIONS, ANSWERS))


def test_recording_is_a_valid_pcm_wav_whose_length_follows_the_script(recording: RecordingAudio) -> None:
    raw = wav_bytes(recording)
    with wave.open(io.BytesIO(raw)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SAMPLE_RATE)
        assert reader.getnframes() == recording.total_samples
    assert len(raw) == recording.size
    longer = RecordingAudio("recording-under-test", build_turns(QUESTIONS, [a * 3 for a in ANSWERS]))
    assert longer.duration_s > recording.duration_s + 5


def test_generation_is_deterministic_and_ranges_agree_with_the_whole(recording: RecordingAudio) -> None:
    whole = wav_bytes(recording)
    assert whole == wav_bytes(RecordingAudio("recording-under-test", recording.turns))
    assert b"".join(iter_wav_range(recording, 1000, 123_457, chunk_bytes=777)) == whole[1000:123_457]
    assert b"".join(iter_wav_range(recording, 10, 20)) == whole[10:20]


def test_whole_recording_transcribes_to_its_script_with_speakers_and_times(recording: RecordingAudio) -> None:
    segments = transcribe_wav(wav_bytes(recording))
    assert [(s.speaker, s.text) for s in segments] == [
        ("interviewer", QUESTIONS[0]),
        ("candidate", ANSWERS[0]),
        ("interviewer", QUESTIONS[1]),
        ("candidate", ANSWERS[1]),
        ("interviewer", QUESTIONS[2]),
        ("candidate", ANSWERS[2]),
    ]
    assert all(a.end_s <= b.start_s for a, b in itertools.pairwise(segments))
    assert segments[-1].end_s <= recording.duration_s


@pytest.mark.parametrize("part_bytes", [40_000, 9_999, 3_001])
def test_parts_cut_anywhere_transcribe_to_the_whole_script(
    recording: RecordingAudio, part_bytes: int
) -> None:
    parts = split_wav(wav_bytes(recording), part_bytes)
    assert len(parts) > 2
    whole = transcribe_wav(wav_bytes(recording))
    heard: list[tuple[float, float, str]] = []
    elapsed = 0.0
    for part in parts:
        with wave.open(io.BytesIO(part)) as reader:
            length = reader.getnframes() / SAMPLE_RATE
        segments = transcribe_wav(part)
        assert all(0 <= s.start_s <= s.end_s <= length + 0.001 for s in segments)  # times are rounded to ms
        heard += [(elapsed + s.start_s, elapsed + s.end_s, s.text) for s in segments]
        elapsed += length
    words = " ".join(text for _, _, text in heard).split()
    assert words == " ".join(q + " " + a for q, a in zip(QUESTIONS, ANSWERS, strict=True)).split()
    # Times relative to each part add up to the recording's own timeline: each piece heard in a part lies
    # inside the span of the whole recording's segment it belongs to.
    for start, end, text in heard:
        owner = next(w for w in whole if text in w.text and w.start_s - 0.002 <= start <= w.end_s)
        assert end <= owner.end_s + 0.002


def test_a_tiny_last_part_is_still_located(recording: RecordingAudio) -> None:
    whole = wav_bytes(recording)
    header_end = data_chunk_offset(whole) + 8
    parts = split_wav(whole, len(whole) - 200)  # the second part holds only the last ~100 samples
    assert len(parts) == 2
    assert transcribe_wav(parts[1]) == []
    assert header_end < len(parts[1])


def test_garbage_and_foreign_wavs_are_refused_with_clear_messages(recording: RecordingAudio) -> None:
    with pytest.raises(UndecodableAudio, match="RIFF"):
        transcribe_wav(b"ID3 this is an mp3")
    plain = io.BytesIO()
    with wave.open(plain, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(b"\x00\x01" * 4000)
    with pytest.raises(UndecodableAudio, match="script chunk"):
        transcribe_wav(plain.getvalue())
    stereo = bytearray(wav_bytes(recording))
    struct.pack_into("<H", stereo, 22, 2)
    with pytest.raises(UndecodableAudio, match="mono"):
        transcribe_wav(bytes(stereo))


def test_audio_that_is_not_the_recordings_own_is_refused(recording: RecordingAudio) -> None:
    tampered = bytearray(wav_bytes(recording))
    data_start = data_chunk_offset(bytes(tampered)) + 8
    for i in range(data_start, len(tampered), 2):
        tampered[i] ^= 0x10  # louder/quieter audio, but LSB watermark intact
    with pytest.raises(UndecodableAudio, match="does not match"):
        transcribe_wav(bytes(tampered))
    other = RecordingAudio("another-recording", recording.turns)
    swapped = wav_bytes(recording)[:data_start] + wav_bytes(other)[data_start:]
    with pytest.raises(UndecodableAudio, match="does not match"):
        transcribe_wav(swapped)


def test_wave_format_extensible_headers_are_accepted(recording: RecordingAudio) -> None:
    whole = wav_bytes(recording)
    pcm_guid = bytes.fromhex("0100000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    fmt += struct.pack("<HHI", 22, 16, 4) + pcm_guid
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + whole[12 + 8 + 16 :]  # keep script and data chunks
    extensible = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
    assert transcribe_wav(extensible) == transcribe_wav(whole)
