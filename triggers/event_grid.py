"""Event Grid: ``Microsoft.Communication.RecordingFileStatusUpdated`` becomes ``RecordingReady``.

The event names the call only by its server call id (subject ``/recording/call/<id>/serverCallId/<id>``).
``place_interview_call`` persisted which instance placed that call (``shared.storage.record_call``), so the
event goes to exactly that ``interview`` instance, with every chunk's locations.

Event Grid delivers at least once and retries anything but a success, so this function never raises for a
bad event: unknown event types, calls this app never placed, malformed payloads, duplicates and events for
instances that already finished are logged and acknowledged.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from shared.logging import get_logger
from shared.models import EventName, RecordingChunk, RecordingReady
from shared.storage import instance_for_server_call

LOGGER = get_logger("hireflow.triggers.event_grid")

RECORDING_FILE_STATUS_UPDATED = "Microsoft.Communication.RecordingFileStatusUpdated"
_SERVER_CALL_MARKER = "/serverCallId/"
_SEEN_LIMIT = 1024

bp = df.Blueprint()

# Event ids delivered to this process recently: Event Grid redelivers when an acknowledgement is lost.
_seen_event_ids: OrderedDict[str, None] = OrderedDict()


def _first_delivery(event_id: str) -> bool:
    if event_id in _seen_event_ids:
        return False
    _seen_event_ids[event_id] = None
    while len(_seen_event_ids) > _SEEN_LIMIT:
        _seen_event_ids.popitem(last=False)
    return True


def server_call_id_from_subject(subject: str | None) -> str | None:
    """Return the server call id at the end of a recording event's subject, or None."""
    if not subject or _SERVER_CALL_MARKER not in subject:
        return None
    return subject.split(_SERVER_CALL_MARKER, 1)[1] or None


def recording_ready_from_event(data: Any, server_call_id: str) -> RecordingReady:
    """Build the ``RecordingReady`` body from a ``RecordingFileStatusUpdated`` payload (chunks in order)."""
    if not isinstance(data, dict):
        raise ValueError("the event data is not an object")
    storage_info = data.get("recordingStorageInfo") or {}
    raw_chunks = storage_info.get("recordingChunks") or []
    chunks = [
        RecordingChunk(
            document_id=chunk["documentId"],
            index=int(chunk.get("index", position)),
            content_location=chunk["contentLocation"],
            metadata_location=chunk.get("metadataLocation"),
            delete_location=chunk.get("deleteLocation"),
            end_reason=chunk.get("endReason"),
        )
        for position, chunk in enumerate(raw_chunks)
    ]
    if not chunks:
        raise ValueError("the event lists no recording chunks")
    return RecordingReady(
        server_call_id=server_call_id,
        chunks=sorted(chunks, key=lambda chunk: chunk.index),
        start_time=data.get("recordingStartTime"),
        duration_ms=data.get("recordingDurationMs"),
        content_type=data.get("recordingContentType"),
        channel_type=data.get("recordingChannelType"),
    )


async def deliver_recording_ready(client: Any, event: func.EventGridEvent) -> str | None:
    """Raise ``RecordingReady`` on the instance that placed the call; returns that instance id, or None."""
    if event.event_type != RECORDING_FILE_STATUS_UPDATED:
        LOGGER.info("acknowledging Event Grid event %s of unhandled type %s", event.id, event.event_type)
        return None
    if not _first_delivery(event.id):
        LOGGER.info("acknowledging duplicate delivery of event %s", event.id)
        return None
    server_call_id = server_call_id_from_subject(event.subject)
    if server_call_id is None:
        LOGGER.warning("recording event %s has no server call id in its subject", event.id)
        return None
    try:
        recording = recording_ready_from_event(event.get_json(), server_call_id)
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        LOGGER.warning("recording event %s is malformed: %s", event.id, error)
        return None
    record = await asyncio.to_thread(instance_for_server_call, server_call_id)
    if record is None:
        LOGGER.info("recording event %s is for a call this app did not place", event.id)
        return None
    status = await client.get_status(record.instance_id)
    runtime_status = getattr(getattr(status, "runtime_status", None), "value", None)
    if not status or runtime_status not in {"Pending", "Running", "Suspended"}:
        LOGGER.info(
            "recording event %s arrived after %s finished (%s)", event.id, record.instance_id, runtime_status
        )
        return None
    await client.raise_event(
        record.instance_id, EventName.RECORDING_READY.value, recording.model_dump(mode="json")
    )
    LOGGER.info("raised RecordingReady (%d chunks) on %s", len(recording.chunks), record.instance_id)
    return str(record.instance_id)


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def recording_file_status_updated(
    event: func.EventGridEvent, client: df.DurableOrchestrationClient
) -> None:
    """Route ACS ``RecordingFileStatusUpdated`` to the waiting interview as ``RecordingReady``."""
    try:
        await deliver_recording_ready(client, event)
    except Exception:
        # Storage or the durable store failed: let Event Grid redeliver (its retries are the right tool here).
        _seen_event_ids.pop(event.id, None)
        raise
