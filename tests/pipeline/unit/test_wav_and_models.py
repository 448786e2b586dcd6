import io
import struct
import wave

import pytest

from shared.errors import ErrorCode
from shared.models import (
    BlobRef,
    CandidateProfile,
    ExtractResumeTextOutput,
    FailureInfo,
    JobDefinition,
    RecruiterDecision,
    ScheduleInterviewInput,
)
from shared.wav import InvalidWavError, build_wav_part, read_wav_layout


def _chunk(chunk_id: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) & 1 else b""
    return chunk_id + struct.pack("<I", len(payload)) + payload + pad


def _wav(samples: bytes, *, extra: bytes = b"", rate: int = 16_000) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + _chunk(b"fmt ", fmt) + extra + _chunk(b"data", samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _reader(data: bytes):  # type: ignore[no-untyped-def]
    return lambda offset, length: data[offset : offset + length]


def test_layout_keeps_extra_chunks_and_finds_the_audio() -> None:
    samples = bytes(range(200)) * 10
    extra = _chunk(b"LIST", b"INFOodd") + _chunk(b"scpt", b'{"turns":[]}')
    data = _wav(samples, extra=extra)
    layout = read_wav_layout(_reader(data), len(data))
    assert layout.block_align == 2
    assert layout.byte_rate == 32_000
    assert layout.extra_chunks == (_chunk(b"LIST", b"INFOodd"), _chunk(b"scpt", b'{"turns":[]}'))
    assert data[layout.data_offset : layout.data_offset + layout.data_size] == samples
    assert layout.seconds_at(32_000) == 1.0


def test_parts_are_valid_wav_files_with_the_extra_chunks() -> None:
    samples = bytes(4000)
    extra = _chunk(b"scpt", b"script")
    data = _wav(samples, extra=extra)
    layout = read_wav_layout(_reader(data), len(data))
    part = build_wav_part(layout, samples[:1000])
    assert part.count(b"scpt") == 1
    assert len(part) == layout.part_header_bytes + 1000
    with wave.open(io.BytesIO(part)) as reader:
        assert reader.getnframes() == 500
        assert reader.getframerate() == 16_000
    odd = build_wav_part(layout, b"\x01")
    assert len(odd) % 2 == 0
    assert struct.unpack("<I", odd[4:8])[0] == len(odd) - 8


def test_placeholder_data_size_is_capped_by_the_file_length() -> None:
    data = bytearray(_wav(bytes(100)))
    position = data.index(b"data") + 4
    data[position : position + 4] = struct.pack("<I", 0xFFFFFFFF)
    layout = read_wav_layout(_reader(bytes(data)), len(data))
    assert layout.data_size == 100


@pytest.mark.parametrize(
    "data",
    [
        b"not a wav file at all",
        b"RIFF\x00\x00\x00\x00WAVE" + _chunk(b"data", b"\x00\x00"),
        b"RIFF\x00\x00\x00\x00WAVE" + _chunk(b"fmt ", b"\x00" * 4) + _chunk(b"data", b"\x00\x00"),
        b"RIFF\x00\x00\x00\x00WAVE" + _chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)),
        b"RIFF\x00\x00\x00\x00WAVE"
        + _chunk(b"fmt ", struct.pack("<HHIIHH", 1, 0, 8000, 16000, 0, 16))
        + _chunk(b"data", b""),
        b"RIFF\x00\x00\x00\x00WAVEjunk" + struct.pack("<I", 0x7FFFFFFF),
    ],
)
def test_invalid_wav_files_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidWavError):
        read_wav_layout(_reader(data), len(data))


def test_boundary_models_ignore_unknown_fields_and_default_new_ones() -> None:
    old = ScheduleInterviewInput.model_validate(
        {"instance_id": "i", "job_id": "j", "now": "2026-03-02T08:00:00Z", "field_from_the_future": 1}
    )
    assert old.attempt == 0
    assert old.candidate_time_zone == "UTC"
    dumped = ExtractResumeTextOutput(failure=FailureInfo.of(ErrorCode.CORRUPT_DOCUMENT, "x")).model_dump(
        mode="json"
    )
    assert dumped == {"failure": {"code": "corrupt_document", "message": "x"}, "text": None}
    assert not ExtractResumeTextOutput.model_validate(dumped).ok
    assert BlobRef(container="c", name="a/b").path == "c/a/b"


def test_openai_schema_models_are_strict_and_complete() -> None:
    schema = CandidateProfile.model_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(CandidateProfile.model_fields)
    with pytest.raises(ValueError, match="extra"):
        CandidateProfile.model_validate(
            {
                "full_name": "x",
                "email": None,
                "phone": None,
                "location": None,
                "headline": "h",
                "skills": [],
                "total_years_experience": 1,
                "experience": [],
                "education": [],
                "unexpected": 1,
            }
        )


def test_event_bodies_and_jobs_validate() -> None:
    with pytest.raises(ValueError, match="advance"):
        RecruiterDecision.model_validate({"decision": "maybe"})
    with pytest.raises(ValueError, match="pattern"):
        JobDefinition.model_validate({"job_id": "Bad Id", "title": "t", "description": "d"})
