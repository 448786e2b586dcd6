"""Transcription activity: recording chunks (Blob) → Azure OpenAI audio transcription → transcript (Blob).

The transcription API accepts at most 25 MB per request. A recording chunk that fits one request is
downloaded in one read and parsed in memory. Larger audio is split into valid WAV files at frame boundaries
(each part repeats the original ``fmt`` and extra RIFF chunks), read from Blob storage range by range so only
one part is in memory at a time, and segment times are shifted back by the part's (and the chunk's) start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import TRANSCRIBE_RECORDING
from shared.clients import openai_client
from shared.decisions import plan_wav_split
from shared.errors import ErrorCode, PermanentError
from shared.models import BlobRef, TranscribeRecordingInput, TranscribeRecordingOutput, TranscriptRef
from shared.settings import get_settings
from shared.storage import blob_client, blob_properties, upload_bytes
from shared.token_bucket import ChatUsage
from shared.wav import InvalidWavError, WavLayout, build_wav_part, read_wav_layout

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

__all__ = [
    "TranscribeRecordingResult",
    "TranscriptSegment",
    "bp",
    "render_transcript",
    "transcribe_recording_service",
]

bp = df.Blueprint()

TranscriptSegment = dict[str, Any]


def _speaker_label(raw: Any) -> str:
    # Plain Whisper has no diarization; a deployment (or the emulator) that names speakers is honoured.
    if isinstance(raw, str) and raw.strip():
        return raw.strip().capitalize()
    return "Speaker"


def render_transcript(segments: list[TranscriptSegment]) -> str:
    """One line per segment: ``[mm:ss] Speaker: text`` (the format the scoring prompt expects)."""
    lines = []
    for segment in segments:
        minutes, seconds = divmod(int(segment["start"]), 60)
        lines.append(f"[{minutes:02d}:{seconds:02d}] {segment['speaker']}: {segment['text'].strip()}")
    return "\n".join(lines) + "\n"


def _transcribe_part(audio: bytes, filename: str, time_offset: float) -> list[TranscriptSegment]:
    import openai

    settings = get_settings()
    try:
        result = openai_client().audio.transcriptions.create(
            model=settings.openai_transcription_deployment,
            file=(filename, audio, "audio/wav"),
            response_format="verbose_json",
            timestamp_granularities=["segment"],
        )
    except openai.BadRequestError as error:
        raise PermanentError(ErrorCode.INVALID_AUDIO, f"{filename}: {error.message}") from error
    segments: list[TranscriptSegment] = []
    for segment in result.segments or []:
        extra = segment.model_extra or {}
        segments.append(
            {
                "start": round(segment.start + time_offset, 2),
                "end": round(segment.end + time_offset, 2),
                "speaker": _speaker_label(extra.get("speaker")),
                "text": segment.text,
            }
        )
    if not segments and result.text.strip():
        segments.append({"start": time_offset, "end": time_offset, "speaker": "Speaker", "text": result.text})
    return segments


# A sentence cut by a part boundary comes back as two segments that touch the boundary.
_BOUNDARY_TOLERANCE_S = 0.3


def _append_across_boundary(
    segments: list[TranscriptSegment], new: list[TranscriptSegment], boundary: float
) -> None:
    """Append ``new``, joining its first segment to the last one when a part boundary split a sentence."""
    if segments and new:
        last, first = segments[-1], new[0]
        touches = (
            last["end"] >= boundary - _BOUNDARY_TOLERANCE_S
            and first["start"] <= boundary + _BOUNDARY_TOLERANCE_S
        )
        if touches and last["speaker"] == first["speaker"]:
            last["end"] = first["end"]
            last["text"] = f"{last['text'].rstrip()} {first['text'].lstrip()}"
            new = new[1:]
    segments.extend(new)


Read = Callable[[int, int], bytes]


def _ranged_reader(client: BlobClient, total: int) -> Read:
    """Read ``(offset, length)`` of the blob with one ranged download each (memory stays at one range)."""

    def read(offset: int, length: int) -> bytes:
        if offset >= total or length <= 0:
            return b""
        return client.download_blob(offset=offset, length=min(length, total - offset)).readall()

    return read


def _whole_reader(client: BlobClient, total: int) -> Read:
    """Download the first ``total`` bytes of the blob once and serve ``(offset, length)`` from memory."""
    data = client.download_blob(offset=0, length=total).readall() if total else b""

    def read(offset: int, length: int) -> bytes:
        if offset >= total or length <= 0:
            return b""
        return data[offset : offset + length]

    return read


def _transcribe_chunk(
    ref: BlobRef, chunk_offset: float, limit: int
) -> tuple[list[TranscriptSegment], float, int]:
    client = blob_client(ref.container, ref.name)
    properties = blob_properties(ref.container, ref.name)
    if properties is None:
        raise PermanentError(ErrorCode.RECORDING_NOT_FOUND, f"recording {ref.path} does not exist")
    total = int(properties.size)
    # A chunk no larger than one request's limit becomes one part that holds all of its audio anyway, so
    # one download replaces a ranged read per RIFF header piece plus one for the audio. Anything larger is
    # read range by range, so that memory never holds more than one part of a long recording.
    read = _whole_reader(client, total) if total <= limit else _ranged_reader(client, total)
    try:
        layout: WavLayout = read_wav_layout(read, total)
        plan = plan_wav_split(
            data_bytes=layout.data_size,
            block_align=layout.block_align,
            header_bytes=layout.part_header_bytes,
            limit_bytes=limit,
        )
    except (InvalidWavError, ValueError) as error:
        raise PermanentError(ErrorCode.INVALID_AUDIO, f"{ref.path}: {error}") from error
    segments: list[TranscriptSegment] = []
    for number, (offset, length) in enumerate(plan):
        audio = read(layout.data_offset + offset, length)
        part = build_wav_part(layout, audio)
        boundary = chunk_offset + layout.seconds_at(offset)
        name = f"{ref.name.rsplit('/', 1)[-1]}.part{number}.wav"
        _append_across_boundary(segments, _transcribe_part(part, name, boundary), boundary)
    return segments, chunk_offset + layout.seconds_at(layout.data_size), len(plan)


class TranscribeRecordingResult(TranscribeRecordingOutput):
    """``TranscribeRecordingOutput`` plus the requests it sent (the transcription budget settles them)."""

    usage: ChatUsage | None = None


def transcribe_recording_service(request: TranscribeRecordingInput) -> TranscribeRecordingResult:
    """Transcribe every chunk in order into one transcript, unless an earlier execution already did.

    ``usage`` counts the requests sent, one per part: none when the transcript was already complete, which
    frees the budget's hold at once.
    """
    settings = get_settings()
    container = settings.artifacts_container
    text_name = f"{request.instance_id}/transcript.txt"
    segments_name = f"{request.instance_id}/transcript.json"
    existing = blob_properties(container, text_name)
    if existing is not None and (existing.metadata or {}).get("complete") == "true":
        metadata = existing.metadata or {}
        return TranscribeRecordingResult(
            transcript=TranscriptRef(
                container=container,
                name=text_name,
                size_bytes=existing.size,
                content_type="text/plain; charset=utf-8",
                segments_name=segments_name,
                segment_count=int(metadata.get("segment_count", "0")),
                duration_seconds=float(metadata.get("duration_seconds", "0")),
                char_count=int(metadata.get("char_count", "0")),
            ),
            parts_transcribed=int(metadata.get("parts", "0")),
            usage=ChatUsage(requests=0),
        )
    if not request.recordings:
        raise PermanentError(ErrorCode.RECORDING_NOT_FOUND, "no recording to transcribe")
    segments: list[TranscriptSegment] = []
    elapsed = 0.0
    parts = 0
    for ref in request.recordings:
        chunk_segments, elapsed, chunk_parts = _transcribe_chunk(
            ref, elapsed, settings.openai_transcription_max_bytes
        )
        segments += chunk_segments
        parts += chunk_parts
    text = render_transcript(segments) if segments else ""
    if not text.strip():
        raise PermanentError(ErrorCode.EMPTY_DOCUMENT, "the recording holds no speech")
    upload_bytes(
        container,
        segments_name,
        json.dumps({"segments": segments, "duration_seconds": elapsed}, indent=2).encode(),
        content_type="application/json",
    )
    data = text.encode("utf-8")
    metadata = {
        "complete": "true",
        "segment_count": str(len(segments)),
        "duration_seconds": f"{elapsed:.2f}",
        "char_count": str(len(text)),
        "parts": str(parts),
    }
    # Written last, with its completion mark, so a crash before this point leaves nothing that looks finished.
    upload_bytes(container, text_name, data, content_type="text/plain; charset=utf-8", metadata=metadata)
    return TranscribeRecordingResult(
        transcript=TranscriptRef(
            container=container,
            name=text_name,
            size_bytes=len(data),
            content_type="text/plain; charset=utf-8",
            segments_name=segments_name,
            segment_count=len(segments),
            duration_seconds=round(elapsed, 2),
            char_count=len(text),
        ),
        parts_transcribed=parts,
        usage=ChatUsage(requests=parts, finished_at=time.time()),
    )


@bp.function_name(TRANSCRIBE_RECORDING.name)
@bp.activity_trigger(input_name="payload")
def transcribe_recording(payload: Any) -> dict[str, Any]:
    """Transcribe a call recording; ``TranscribeRecordingInput`` → ``TranscribeRecordingResult``."""
    return run_activity(
        TRANSCRIBE_RECORDING.name,
        payload,
        TRANSCRIBE_RECORDING.input_model,
        TranscribeRecordingResult,
        transcribe_recording_service,
    )
