"""Event Grid: ``Microsoft.Communication.RecordingFileStatusUpdated`` becomes ``RecordingReady``.

The event names the call only by its server call id (subject ``/recording/call/<id>/serverCallId/<id>``).
``place_interview_call`` persisted which instance placed that call (``shared.storage.record_call``), so the
event goes to exactly that ``interview`` instance, with every chunk's locations.

Event Grid delivers at least once and retries anything but a success, so this function never raises for a
bad event: unknown event types, calls this app never placed, malformed payloads (missing or wrongly typed
fields), duplicates and events for instances that already finished are logged and acknowledged. It raises
only when storage or the durable store fails, where a redelivery can succeed. Both subscription schemas are
read (Event Grid and CloudEvents 1.0, see :mod:`triggers.events`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from shared.logging import get_logger
from shared.models import EventName, RecordingChunk, RecordingReady
from shared.storage import instance_for_server_call
from triggers.durable import RUNNING_STATUSES, instance_status, raise_event, runtime_status_name
from triggers.events import DeliveredEvent, delivered_event

LOGGER = get_logger("hireflow.triggers.event_grid")

RECORDING_FILE_STATUS_UPDATED = "Microsoft.Communication.RecordingFileStatusUpdated"
_SERVER_CALL_MARKER = "/serverCallId/"
_SEEN_LIMIT = 1024
MAX_SERVER_CALL_ID_LENGTH = 2048
MAX_RECORDING_CHUNKS = 1000

bp = df.Blueprint()

# Event ids delivered to this process recently: Event Grid redelivers when an acknowledgement is lost.
_seen_event_ids: OrderedDict[str, None] = OrderedDict()


class MalformedEventError(ValueError):
    """The event cannot be read as a recording notification; retrying it cannot help."""


class _EventData(BaseModel):
    """The parts of ``RecordingFileStatusUpdated`` data this app reads, typed strictly (ACS's field names)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _ChunkData(_EventData):
    document_id: StrictStr = Field(alias="documentId", min_length=1, max_length=1024)
    index: StrictInt | None = Field(default=None, ge=0)
    content_location: StrictStr = Field(alias="contentLocation", min_length=1, max_length=4096)
    metadata_location: StrictStr | None = Field(default=None, alias="metadataLocation", max_length=4096)
    delete_location: StrictStr | None = Field(default=None, alias="deleteLocation", max_length=4096)
    end_reason: StrictStr | None = Field(default=None, alias="endReason", max_length=256)


class _StorageInfo(_EventData):
    recording_chunks: list[_ChunkData] = Field(
        alias="recordingChunks", min_length=1, max_length=MAX_RECORDING_CHUNKS
    )


class _RecordingData(_EventData):
    recording_storage_info: _StorageInfo = Field(alias="recordingStorageInfo")
    recording_start_time: datetime | None = Field(default=None, alias="recordingStartTime")
    recording_duration_ms: StrictInt | None = Field(default=None, alias="recordingDurationMs", ge=0)
    recording_content_type: StrictStr | None = Field(
        default=None, alias="recordingContentType", max_length=64
    )
    recording_channel_type: StrictStr | None = Field(
        default=None, alias="recordingChannelType", max_length=64
    )


def _first_delivery(event_id: str) -> bool:
    if event_id in _seen_event_ids:
        return False
    _seen_event_ids[event_id] = None
    while len(_seen_event_ids) > _SEEN_LIMIT:
        _seen_event_ids.popitem(last=False)
    return True


def server_call_id_from_subject(subject: str | None) -> str | None:
    """Return the server call id at the end of a recording event's subject, or None."""
    if not isinstance(subject, str) or _SERVER_CALL_MARKER not in subject:
        return None
    server_call_id = subject.split(_SERVER_CALL_MARKER, 1)[1]
    if not server_call_id or len(server_call_id) > MAX_SERVER_CALL_ID_LENGTH:
        return None
    # The id is hashed into a blob name: it must encode (no lone surrogates) and be printable.
    if not server_call_id.isprintable() or any(0xD800 <= ord(char) <= 0xDFFF for char in server_call_id):
        return None
    return server_call_id


def recording_ready_from_event(data: Any, server_call_id: str) -> RecordingReady:
    """Build the ``RecordingReady`` body from a ``RecordingFileStatusUpdated`` payload (chunks in order).

    Raises :class:`MalformedEventError` for anything that is not such a payload: not an object, no chunks,
    or a field of the wrong type (an object where a string belongs, a string where an object belongs...).
    """
    if not isinstance(data, dict):
        raise MalformedEventError("the event data is not an object")
    try:
        parsed = _RecordingData.model_validate(data)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        fields = sorted(
            {".".join(str(part) for part in item["loc"]) for item in _errors(error)} or {"(data)"}
        )
        raise MalformedEventError(f"unreadable fields: {', '.join(fields)[:300]}") from error
    chunks = [
        RecordingChunk(
            document_id=chunk.document_id,
            index=chunk.index if chunk.index is not None else position,
            content_location=chunk.content_location,
            metadata_location=chunk.metadata_location,
            delete_location=chunk.delete_location,
            end_reason=chunk.end_reason,
        )
        for position, chunk in enumerate(parsed.recording_storage_info.recording_chunks)
    ]
    return RecordingReady(
        server_call_id=server_call_id,
        chunks=sorted(chunks, key=lambda chunk: chunk.index),
        start_time=parsed.recording_start_time,
        duration_ms=parsed.recording_duration_ms,
        content_type=parsed.recording_content_type,
        channel_type=parsed.recording_channel_type,
    )


def _errors(error: ValueError) -> list[dict[str, Any]]:
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return []
    found: list[dict[str, Any]] = errors(include_input=False, include_url=False)
    return found


async def deliver_recording_ready(client: Any, event: Any) -> str | None:
    """Raise ``RecordingReady`` on the instance that placed the call; returns that instance id, or None.

    ``event`` is what the worker hands the function: a ``func.EventGridEvent`` or a ``func.CloudEvent``.
    """
    delivered: DeliveredEvent = delivered_event(event)
    if delivered.type != RECORDING_FILE_STATUS_UPDATED:
        LOGGER.info(
            "acknowledging %s event %s of unhandled type %r",
            delivered.schema,
            delivered.label,
            (delivered.type or "")[:128],
        )
        return None
    if delivered.id is None:
        LOGGER.warning("acknowledging a recording event without an id")
        return None
    server_call_id = server_call_id_from_subject(delivered.subject)
    if server_call_id is None:
        LOGGER.warning("recording event %s has no usable server call id in its subject", delivered.label)
        return None
    try:
        recording = recording_ready_from_event(delivered.data, server_call_id)
    except MalformedEventError as error:
        LOGGER.warning("recording event %s is malformed: %s", delivered.label, error)
        return None
    if not _first_delivery(delivered.id):
        LOGGER.info("acknowledging duplicate delivery of event %s", delivered.label)
        return None
    try:
        record = await asyncio.to_thread(instance_for_server_call, server_call_id)
        if record is None:
            LOGGER.info("recording event %s is for a call this app did not place", delivered.label)
            return None
        status = await instance_status(client, record.instance_id)
        runtime_status = runtime_status_name(status)
        if status is None or runtime_status not in RUNNING_STATUSES:
            LOGGER.info(
                "recording event %s arrived after %s finished (%s)",
                delivered.label,
                record.instance_id,
                runtime_status,
            )
            return None
        await raise_event(
            client, record.instance_id, EventName.RECORDING_READY.value, recording.model_dump(mode="json")
        )
    except Exception:
        # Storage or the durable store failed: forget the id so Event Grid's redelivery is not dropped.
        _seen_event_ids.pop(delivered.id, None)
        raise
    LOGGER.info("raised RecordingReady (%d chunks) on %s", len(recording.chunks), record.instance_id)
    return str(record.instance_id)


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def recording_file_status_updated(
    event: func.EventGridEvent, client: df.DurableOrchestrationClient
) -> None:
    """Route ACS ``RecordingFileStatusUpdated`` to the waiting interview as ``RecordingReady``.

    The worker passes a ``func.CloudEvent`` here for a CloudEvents subscription, despite the annotation
    (the worker accepts only one class as the annotation; both arrive).
    """
    await deliver_recording_ready(client, event)
