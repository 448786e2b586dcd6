"""Recording activities: stream every chunk of a call recording from ACS into Blob storage.

Each chunk is downloaded in ranges with the SDK's ``download_recording(offset=, length=)`` and each range is
staged as one block of the target blob, so at most one range is ever in memory. The block list is committed
with the recording's metadata; a committed blob marked complete is skipped on a repeated execution.

Resuming: staged blocks outlive a failed attempt (uncommitted blocks stay on the blob for a week), so an
attempt starts from the longest run of this activity's blocks already staged, at the offset their sizes add
up to, and downloads only the rest: a two-hour recording that fails at its last range re-downloads one range,
not the whole chunk. A transient fault on one range is retried inside the attempt
(``shared.retry.REQUEST_RETRY``) before the attempt gives up.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import FETCH_CALL_RECORDING
from shared.clients import recording_download_client
from shared.errors import ErrorCode, PermanentError
from shared.models import (
    BlobRef,
    FetchCallRecordingInput,
    FetchCallRecordingOutput,
    RecordingChunk,
    RecordingReady,
)
from shared.retry import call_with_request_retries
from shared.settings import get_settings
from shared.storage import blob_client, blob_properties, upload_bytes

__all__ = ["RANGE_BYTES", "bp", "fetch_call_recording_service", "recording_blob_name"]

bp = df.Blueprint()

# One block per range: 4 MiB keeps memory flat and stays far below Blob's 50,000-block limit (200 GB).
RANGE_BYTES = 4 * 1024 * 1024


def recording_blob_name(instance_id: str, chunk: RecordingChunk) -> str:
    """Blob name of one recording chunk: fixed per instance and chunk, so a retry overwrites nothing new."""
    return f"{instance_id}/{chunk.index:03d}-{chunk.document_id}.wav"


def _iter_bytes(response: Any) -> Iterator[bytes]:
    # The SDK is annotated to return Iterable[bytes] but hands back the raw streamed HTTP response.
    if hasattr(response, "iter_bytes"):
        try:
            yield from response.iter_bytes()
        finally:
            response.close()
    else:
        yield from response


def _block_id(number: int) -> str:
    # Block ids must have equal lengths within a blob.
    return base64.b64encode(f"block-{number:08d}".encode()).decode()


def _staged_prefix(target: Any, range_bytes: int) -> tuple[list[str], int, bool]:
    """Blocks an earlier attempt staged: ``(block ids in order, bytes they hold, whether the end is staged)``.

    Only the unbroken run ``block-00000000``, ``block-00000001``, ... counts. A block shorter than a range
    can only be the recording's last, so after one nothing is left to download.
    """
    from azure.core.exceptions import ResourceNotFoundError

    try:
        _, uncommitted = target.get_block_list("uncommitted")
    except ResourceNotFoundError:
        return [], 0, False
    sizes = {block.id: block.size for block in uncommitted}
    blocks: list[str] = []
    offset = 0
    while (block_id := _block_id(len(blocks))) in sizes:
        blocks.append(block_id)
        offset += sizes[block_id]
        if sizes[block_id] < range_bytes:
            return blocks, offset, True
    return blocks, offset, False


def _download_range(client: Any, location: str, offset: int, length: int) -> bytes:
    # The SDK omits the Range header when offset is 0 (and would stream the whole recording): send it
    # ourselves for every range.
    response = client.download_recording(
        location, offset=offset, length=length, headers={"Range": f"bytes={offset}-{offset + length - 1}"}
    )
    block = bytearray()
    for piece in _iter_bytes(response):
        block += piece
    return bytes(block)


def _fetch_chunk(
    instance_id: str, recording: RecordingReady, chunk: RecordingChunk, range_bytes: int
) -> BlobRef:
    settings = get_settings()
    container = settings.recordings_container
    name = recording_blob_name(instance_id, chunk)
    existing = blob_properties(container, name)
    if existing is not None and (existing.metadata or {}).get("complete") == "true":
        return BlobRef(container=container, name=name, size_bytes=existing.size, content_type="audio/wav")
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    client = recording_download_client()
    target = blob_client(container, name)
    blocks, offset, finished = _staged_prefix(target, range_bytes)
    try:
        while not finished:
            block = call_with_request_retries(
                partial(_download_range, client, chunk.content_location, offset, range_bytes),
                what=f"recording {chunk.document_id} at byte {offset}",
            )
            if block:
                block_id = _block_id(len(blocks))
                call_with_request_retries(
                    partial(target.stage_block, block_id, block), what=f"stage block {len(blocks)}"
                )
                blocks.append(block_id)
            offset += len(block)
            finished = len(block) < range_bytes
    except ResourceNotFoundError as error:
        raise PermanentError(
            ErrorCode.RECORDING_NOT_FOUND, f"recording chunk {chunk.document_id} is gone"
        ) from error
    except HttpResponseError as error:
        # Asking past the end of a recording whose size is a multiple of the range answers 416: it is the end.
        if error.status_code != 416 or not blocks:
            raise
    if not blocks:
        raise PermanentError(ErrorCode.RECORDING_NOT_FOUND, f"recording chunk {chunk.document_id} is empty")
    metadata = {
        "complete": "true",
        "document_id": chunk.document_id,
        "chunk_index": str(chunk.index),
        "recording_id": recording.recording_id or "",
        "server_call_id_present": str(bool(recording.server_call_id)).lower(),
        "channel_type": recording.channel_type or "",
        "content_type": recording.content_type or "",
    }
    if chunk.metadata_location:
        metadata_location = chunk.metadata_location
        raw_metadata = call_with_request_retries(
            lambda: b"".join(_iter_bytes(client.download_recording(metadata_location))),
            what=f"recording metadata {chunk.document_id}",
        )
        try:
            parsed = json.loads(raw_metadata)
        except ValueError:
            parsed = {"raw": raw_metadata.decode("utf-8", "replace")}
        upload_bytes(
            container,
            name.removesuffix(".wav") + ".metadata.json",
            json.dumps(parsed, indent=2).encode(),
            content_type="application/json",
        )
    # Committed last, with its completion mark: a crash before this leaves nothing that looks finished.
    from azure.storage.blob import BlobBlock, ContentSettings

    target.commit_block_list(
        [BlobBlock(block_id=block_id) for block_id in blocks],
        content_settings=ContentSettings(content_type="audio/wav"),
        metadata=metadata,
    )
    return BlobRef(container=container, name=name, size_bytes=offset, content_type="audio/wav")


def fetch_call_recording_service(
    request: FetchCallRecordingInput, *, range_bytes: int | None = None
) -> FetchCallRecordingOutput:
    """Copy every chunk of the recording into Blob, in chunk order, in ranges of ``RANGE_BYTES``."""
    range_bytes = range_bytes or RANGE_BYTES
    if not request.recording.chunks:
        raise PermanentError(ErrorCode.RECORDING_NOT_FOUND, "the recording lists no chunks")
    refs = [
        _fetch_chunk(request.instance_id, request.recording, chunk, range_bytes)
        for chunk in sorted(request.recording.chunks, key=lambda c: c.index)
    ]
    return FetchCallRecordingOutput(chunks=refs, total_bytes=sum(ref.size_bytes or 0 for ref in refs))


@bp.function_name(FETCH_CALL_RECORDING.name)
@bp.activity_trigger(input_name="payload")
def fetch_call_recording(payload: Any) -> dict[str, Any]:
    """Stream every recording chunk into Blob; ``FetchCallRecordingInput`` → ``FetchCallRecordingOutput``."""
    return run_activity(
        FETCH_CALL_RECORDING.name,
        payload,
        FETCH_CALL_RECORDING.input_model,
        FETCH_CALL_RECORDING.output_model,
        fetch_call_recording_service,
    )
