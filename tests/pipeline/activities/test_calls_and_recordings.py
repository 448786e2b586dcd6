import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from activities.calls import (
    callback_url,
    hang_up_call,
    operation_context_for,
    start_call_recording,
)
from activities.recordings import fetch_call_recording, fetch_call_recording_service
from activities.transcription import transcribe_recording
from emulators.server import EmulatorThread
from shared.acs_auth import callback_token
from shared.errors import ErrorCode, TransientError
from shared.models import (
    BlobRef,
    FetchCallRecordingInput,
    FetchCallRecordingOutput,
    HangUpCallOutput,
    RecordingReady,
    StartCallRecordingOutput,
    TranscribeRecordingOutput,
    TranscriptRef,
)
from shared.settings import get_settings
from shared.storage import blob_client, download_json, download_text, instance_for_server_call
from tests.pipeline.activities.acs_helpers import NEVER_ANSWERS, call_state, place, recorded_call
from tests.pipeline.activities.conftest import BlobRequest, blob_names, count_blob_requests, served

pytestmark = pytest.mark.azurite


def test_callback_url_carries_a_per_interview_token_not_the_secret(configure: Callable[..., None]) -> None:
    url = callback_url("cand 1")
    assert url.startswith("http://127.0.0.1:9/api/acs/callbacks?")
    assert "instanceId=cand+1" in url
    assert "test-callback-secret" not in url
    token = parse_qs(urlsplit(url).query)["token"][0]
    assert token == callback_token("cand 1")
    assert token != callback_token("cand 2")
    assert operation_context_for("cand", 2) == "cand:interview-call:2"


def test_placing_a_call_twice_rings_once(configure: Callable[..., None], emulators: EmulatorThread) -> None:
    before = served(emulators, "acs")
    first = place("idem")
    after_first = served(emulators, "acs")
    second = place("idem")
    assert first.failure is None
    assert not first.already_placed
    assert second.already_placed
    assert second.call_connection_id == first.call_connection_id
    assert after_first == before + 1
    assert served(emulators, "acs") == after_first
    record = instance_for_server_call(first.server_call_id or "")
    assert record is not None
    assert record.instance_id == "idem"
    assert record.operation_context == "idem:interview-call:0"
    # A new attempt is a new call.
    third = place("idem", attempt=1)
    assert third.call_connection_id != first.call_connection_id
    assert served(emulators, "acs") == after_first + 1


def test_unknown_server_call_maps_to_no_instance(configure: Callable[..., None]) -> None:
    assert instance_for_server_call("never-placed") is None


def test_invalid_phone_number_is_permanent(configure: Callable[..., None], emulators: EmulatorThread) -> None:
    before = served(emulators, "acs")
    out = place("badphone", phone="0044 20 7946 0000")
    assert out.failure is not None
    assert out.failure.code is ErrorCode.INVALID_INPUT
    assert served(emulators, "acs") == before


def test_acs_outage_is_transient(configure: Callable[..., None], faults: Callable[[str], None]) -> None:
    faults("acs:503=1")
    with pytest.raises(TransientError) as raised:
        place("outage")
    assert raised.value.code is ErrorCode.SERVICE_UNAVAILABLE
    faults("")
    assert place("outage").failure is None


def test_unanswered_call_never_connects_and_hang_up_is_idempotent(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    placed = place("noans", phone=NEVER_ANSWERS)
    assert placed.call_connection_id is not None
    out = StartCallRecordingOutput.model_validate(
        start_call_recording({"instance_id": "other", "server_call_id": placed.server_call_id})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.NOT_FOUND
    first = HangUpCallOutput.model_validate(
        hang_up_call({"instance_id": "noans", "call_connection_id": placed.call_connection_id})
    )
    second = HangUpCallOutput.model_validate(
        hang_up_call({"instance_id": "noans", "call_connection_id": placed.call_connection_id})
    )
    assert first.hung_up
    assert second.hung_up
    assert call_state(placed.call_connection_id) == "disconnected"
    # A call ACS no longer knows (404) counts as already ended, not as a failure.
    gone = HangUpCallOutput.model_validate(
        hang_up_call({"instance_id": "noans", "call_connection_id": "00000000-0000-0000-0000-00000000dead"})
    )
    assert gone.failure is None
    assert gone.hung_up
    assert gone.already_ended


def test_recording_is_streamed_into_blob_in_ranges_once(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    ready = recorded_call(emulators, "rec")
    request = FetchCallRecordingInput(instance_id="rec", recording=ready)
    out = fetch_call_recording_service(request, range_bytes=64 * 1024)
    assert out.failure is None
    assert len(out.chunks) == 1
    chunk = out.chunks[0]
    client = blob_client(chunk.container, chunk.name)
    properties = client.get_blob_properties()
    assert properties.size == out.total_bytes
    assert properties.metadata["complete"] == "true"
    assert properties.metadata["document_id"] == ready.chunks[0].document_id
    committed, _ = client.get_block_list("committed")
    assert len(committed) == -(-out.total_bytes // (64 * 1024))
    assert len(committed) > 1
    head = client.download_blob(offset=0, length=12).readall()
    assert head[:4] == b"RIFF"
    assert head[8:12] == b"WAVE"
    names = blob_names(get_settings().recordings_container, "rec/")
    assert names == sorted([chunk.name, chunk.name.removesuffix(".wav") + ".metadata.json"])
    # Second execution: nothing downloaded again, nothing new written.
    before = served(emulators, "acs")
    again = FetchCallRecordingOutput.model_validate(fetch_call_recording(request.model_dump(mode="json")))
    assert again.chunks == out.chunks
    assert served(emulators, "acs") == before
    assert blob_names(get_settings().recordings_container, "rec/") == names

    # Transcribe it whole, then again split into parts under a small size limit: same words, same times.
    whole = TranscribeRecordingOutput.model_validate(
        transcribe_recording(
            {"instance_id": "rec", "recordings": [c.model_dump(mode="json") for c in out.chunks]}
        )
    )
    assert whole.failure is None
    assert whole.parts_transcribed == 1
    assert whole.transcript is not None
    text = download_text(whole.transcript)
    assert "Interviewer:" in text
    assert "Candidate:" in text
    configure(AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES=str(max(70_000, out.total_bytes // 3)))
    served_before_split = served(emulators, "openai")
    split_result = transcribe_recording(
        {"instance_id": "rec-split", "recordings": [c.model_dump(mode="json") for c in out.chunks]}
    )
    split = TranscribeRecordingOutput.model_validate(split_result)
    assert split.failure is None
    assert split.parts_transcribed >= 3
    # The requests it reports (what the transcription budget settles with) are the requests the service saw.
    assert split_result["usage"]["requests"] == split.parts_transcribed
    assert served(emulators, "openai") - served_before_split == split.parts_transcribed
    assert split.transcript is not None
    assert split.transcript.duration_seconds == pytest.approx(whole.transcript.duration_seconds, abs=0.05)
    split_text = download_text(split.transcript)
    assert _words(split_text) == _words(text)
    # Segment times are shifted back by each part's start: they match the unsplit transcript.
    whole_segments = _segments(whole.transcript)
    split_segments = _segments(split.transcript)
    assert [s["speaker"] for s in split_segments] == [s["speaker"] for s in whole_segments]
    for mine, reference in zip(split_segments, whole_segments, strict=True):
        assert mine["start"] == pytest.approx(reference["start"], abs=0.1)
        assert mine["end"] == pytest.approx(reference["end"], abs=0.1)
    # A repeated execution finds the finished transcript and asks the model nothing.
    before = served(emulators, "openai")
    again_result = transcribe_recording(
        {"instance_id": "rec-split", "recordings": [c.model_dump(mode="json") for c in out.chunks]}
    )
    again = TranscribeRecordingOutput.model_validate(again_result)
    assert again.transcript == split.transcript
    assert again.parts_transcribed == split.parts_transcribed
    assert served(emulators, "openai") == before
    assert again_result["usage"]["requests"] == 0  # nothing sent: the budget's hold is freed at once


def _span(request: BlobRequest) -> tuple[int, int]:
    """The bytes a ranged GET read, as ``[start, end)``."""
    assert request.range is not None, f"{request.method} {request.path} reads the whole blob"
    first, last = request.range.removeprefix("bytes=").split("-")
    return int(first), int(last) + 1


def test_a_chunk_that_fits_one_request_is_downloaded_once(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    ready = recorded_call(emulators, "once")
    out = fetch_call_recording_service(FetchCallRecordingInput(instance_id="once", recording=ready))
    assert out.failure is None
    chunk = out.chunks[0]
    total = out.total_bytes
    request = {"instance_id": "once", "recordings": [c.model_dump(mode="json") for c in out.chunks]}

    # Exactly at the limit: its properties, then the whole chunk in one read.
    configure(AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES=str(total))
    sent = count_blob_requests()
    whole = TranscribeRecordingOutput.model_validate(transcribe_recording(request))
    assert whole.failure is None
    assert whole.parts_transcribed == 1
    assert whole.transcript is not None
    on_chunk = [r for r in sent if r.path.endswith(f"/{chunk.container}/{chunk.name}")]
    assert [r.method for r in on_chunk] == ["HEAD", "GET"]
    assert on_chunk[1].range == f"bytes=0-{total - 1}"

    # One byte over: read range by range as before (the header piece by piece, then each part's audio), every
    # byte once and no read larger than the limit, so a long recording never sits in memory whole.
    configure(AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES=str(total - 1))
    sent = count_blob_requests()
    split = TranscribeRecordingOutput.model_validate(
        transcribe_recording({**request, "instance_id": "once-split"})
    )
    assert split.failure is None
    assert split.parts_transcribed == 2
    assert split.transcript is not None
    on_chunk = [r for r in sent if r.path.endswith(f"/{chunk.container}/{chunk.name}")]
    assert on_chunk[0].method == "HEAD"
    reads = on_chunk[1:]
    assert {r.method for r in reads} == {"GET"}
    spans = [_span(r) for r in reads]
    assert spans[0][0] == 0
    assert spans[-1][1] == total
    assert all(before[1] == after[0] for before, after in itertools.pairwise(spans))
    assert max(end - start for start, end in spans) <= total - 1
    assert len(reads) > 2  # the RIFF header and its chunks, then two parts of audio
    assert _words(download_text(split.transcript)) == _words(download_text(whole.transcript))


def _segments(ref: TranscriptRef) -> list[dict[str, Any]]:
    assert ref.segments_name is not None
    return list(download_json(BlobRef(container=ref.container, name=ref.segments_name))["segments"])


def _words(transcript: str) -> list[str]:
    return [word for line in transcript.splitlines() for word in line.split("] ", 1)[-1].split()]


def test_missing_recording_is_permanent(configure: Callable[..., None]) -> None:
    ready = RecordingReady.model_validate(
        {
            "chunks": [
                {
                    "document_id": "00000000-0000-0000-0000-000000000000",
                    "content_location": "https://us-storage.asm.skype.com/v1/objects/00000000-0000-0000-0000-000000000000/content/audio",
                }
            ]
        }
    )
    out = FetchCallRecordingOutput.model_validate(
        fetch_call_recording({"instance_id": "gone", "recording": ready.model_dump(mode="json")})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.RECORDING_NOT_FOUND
    empty = FetchCallRecordingOutput.model_validate(
        fetch_call_recording({"instance_id": "gone", "recording": {"chunks": []}})
    )
    assert empty.failure is not None
    assert empty.failure.code is ErrorCode.RECORDING_NOT_FOUND


def test_audio_that_is_not_wav_is_permanent(configure: Callable[..., None]) -> None:
    from shared.storage import upload_bytes

    ref = upload_bytes(get_settings().recordings_container, "x/not.wav", b"ID3 this is an mp3, honest")
    out = TranscribeRecordingOutput.model_validate(
        transcribe_recording({"instance_id": "mp3", "recordings": [ref.model_dump(mode="json")]})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.INVALID_AUDIO
    missing = TranscribeRecordingOutput.model_validate(
        transcribe_recording(
            {"instance_id": "mp3b", "recordings": [{"container": ref.container, "name": "x/missing.wav"}]}
        )
    )
    assert missing.failure is not None
    assert missing.failure.code is ErrorCode.RECORDING_NOT_FOUND
    none = TranscribeRecordingOutput.model_validate(
        transcribe_recording({"instance_id": "mp3c", "recordings": []})
    )
    assert none.failure is not None
    assert none.failure.code is ErrorCode.RECORDING_NOT_FOUND


def test_wav_the_model_cannot_decode_is_permanent(configure: Callable[..., None]) -> None:
    import struct

    from shared.storage import upload_bytes

    fmt = struct.pack("<HHIIHH", 1, 1, 16_000, 32_000, 2, 16)
    samples = bytes(3200)
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    )
    wav = b"RIFF" + struct.pack("<I", len(body)) + body
    ref = upload_bytes(get_settings().recordings_container, "x/silence.wav", wav)
    out = TranscribeRecordingOutput.model_validate(
        transcribe_recording({"instance_id": "silence", "recordings": [ref.model_dump(mode="json")]})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.INVALID_AUDIO


def test_repeatability_headers_repeat_for_the_same_attempt(configure: Callable[..., None]) -> None:
    from activities.calls import _repeatability_headers

    first = _repeatability_headers("rep", operation_context_for("rep", 0))
    again = _repeatability_headers("rep", operation_context_for("rep", 0))
    other = _repeatability_headers("rep", operation_context_for("rep", 1))
    assert first == again
    assert first["Repeatability-First-Sent"].endswith("GMT")
    assert other["Repeatability-Request-ID"] != first["Repeatability-Request-ID"]
