"""Blob storage helpers for claim-check references, job definitions and the call → instance mapping.

Blob names derive from the instance id and the step, so a repeated activity execution lands on the same
blob and finds the first execution's result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from shared.clients import blob_service_client
from shared.errors import ErrorCode, PermanentError
from shared.models import BlobRef, JobDefinition
from shared.settings import get_settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, BlobProperties, ContainerClient

__all__ = [
    "RECORD_CALL_BETWEEN_WRITES",
    "CallRecord",
    "blob_client",
    "blob_properties",
    "call_for_operation_context",
    "container_client",
    "download_bytes",
    "download_json",
    "download_text",
    "fault_point",
    "injected_fault",
    "instance_for_server_call",
    "interview_incomplete_reason",
    "load_job",
    "question_flow_stages",
    "record_call",
    "record_call_sighting",
    "record_interview_incomplete",
    "record_question_flow_stage",
    "reset_storage",
    "sighted_calls",
    "upload_bytes",
    "upload_if_absent",
    "upload_json",
]

_ensured: set[str] = set()
_ensured_lock = threading.Lock()

RECORD_CALL_BETWEEN_WRITES = "record_call.between_writes"
"""Fault point between the index write and the commit write of :func:`record_call`."""
_fault_hooks: dict[str, Callable[[], None]] = {}


def fault_point(name: str) -> None:
    """Run the hook injected at ``name``, if any: where a test crashes a step between two of its writes."""
    hook = _fault_hooks.get(name)
    if hook is not None:
        hook()


@contextlib.contextmanager
def injected_fault(name: str, hook: Callable[[], None]) -> Iterator[None]:
    """Run ``hook`` (typically one that raises) at fault point ``name`` for the duration of the block."""
    _fault_hooks[name] = hook
    try:
        yield
    finally:
        _fault_hooks.pop(name, None)


def reset_storage() -> None:
    """Forget which containers exist (tests call it when they point the app at a fresh account)."""
    with _ensured_lock:
        _ensured.clear()


def container_client(container: str) -> ContainerClient:
    """Return the container client, creating the container on first use in this process."""
    from azure.core.exceptions import ResourceExistsError

    client = blob_service_client().get_container_client(container)
    with _ensured_lock:
        if container not in _ensured:
            with contextlib.suppress(ResourceExistsError):
                client.create_container()
            _ensured.add(container)
    return client


def blob_client(container: str, name: str) -> BlobClient:
    """Return a client for one blob (its container is created if missing)."""
    return container_client(container).get_blob_client(name)


def blob_properties(container: str, name: str) -> BlobProperties | None:
    """Return a blob's properties, or None when it does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return blob_client(container, name).get_blob_properties()
    except ResourceNotFoundError:
        return None


def _content_settings(content_type: str) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type)


def upload_bytes(
    container: str,
    name: str,
    data: bytes,
    *,
    content_type: str = "application/octet-stream",
    metadata: dict[str, str] | None = None,
) -> BlobRef:
    """Write (or overwrite) a blob and return its reference."""
    blob_client(container, name).upload_blob(
        data, overwrite=True, content_settings=_content_settings(content_type), metadata=metadata
    )
    return BlobRef(container=container, name=name, size_bytes=len(data), content_type=content_type)


def upload_if_absent(
    container: str, name: str, data: bytes, *, content_type: str = "application/json"
) -> tuple[BlobRef, bool]:
    """Create a blob only if it does not exist yet; returns the reference and whether this call created it.

    ``overwrite=False`` sends ``If-None-Match: *``, so the first writer wins even when two executions race.
    """
    from azure.core.exceptions import ResourceExistsError

    ref = BlobRef(container=container, name=name, size_bytes=len(data), content_type=content_type)
    try:
        blob_client(container, name).upload_blob(
            data, overwrite=False, content_settings=_content_settings(content_type)
        )
    except ResourceExistsError:
        return ref, False
    return ref, True


def upload_json(container: str, name: str, value: Any, *, metadata: dict[str, str] | None = None) -> BlobRef:
    """Write JSON (a pydantic model is dumped in JSON mode)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    data = json.dumps(value, ensure_ascii=False, indent=2).encode()
    return upload_bytes(container, name, data, content_type="application/json", metadata=metadata)


def download_bytes(ref: BlobRef) -> bytes:
    """Read a whole blob (only for small documents: resumes, texts, JSON)."""
    return blob_client(ref.container, ref.name).download_blob().readall()


def download_text(ref: BlobRef) -> str:
    """Read a blob as UTF-8 text."""
    return download_bytes(ref).decode("utf-8")


def download_json(ref: BlobRef) -> Any:
    """Read a blob as JSON."""
    return json.loads(download_bytes(ref))


def load_job(job_id: str) -> JobDefinition:
    """Read job ``<job_id>.json`` from the jobs container; an unknown job is a permanent failure."""
    from azure.core.exceptions import ResourceNotFoundError

    ref = BlobRef(container=get_settings().jobs_container, name=f"{job_id}.json")
    try:
        raw = download_bytes(ref)
    except ResourceNotFoundError as error:
        raise PermanentError(ErrorCode.JOB_NOT_FOUND, f"job {job_id!r} is not defined") from error
    try:
        return JobDefinition.model_validate_json(raw)
    except ValidationError as error:
        raise PermanentError(ErrorCode.INVALID_INPUT, f"job {job_id!r} is malformed: {error}") from error


class CallRecord(BaseModel):
    """A placed call: which instance placed it, as what attempt, and its ACS ids."""

    instance_id: str
    attempt: int
    operation_context: str
    call_connection_id: str
    server_call_id: str | None = None


def _server_call_blob(server_call_id: str) -> str:
    # Server call ids are long base64 URLs; a digest keeps the blob name short and safe.
    return f"calls/by-server-call/{hashlib.sha256(server_call_id.encode()).hexdigest()}.json"


def _context_blob(operation_context: str) -> str:
    return f"calls/by-context/{hashlib.sha256(operation_context.encode()).hexdigest()}.json"


def record_call(record: CallRecord) -> None:
    """Persist a placed call so that any crash leaves its record either absent or complete.

    The record is one blob per operation context, written once and last: it is the commit point. The index
    by server call id (for Event Grid routing and ``start_call_recording``) is written first and holds the
    same record, so whenever the context record exists its index does too; an index left behind by a crash
    before the commit is true (this instance did place that call) and is rewritten by the re-run.
    """
    container = get_settings().artifacts_container
    if record.server_call_id:
        upload_json(container, _server_call_blob(record.server_call_id), record)
    fault_point(RECORD_CALL_BETWEEN_WRITES)
    upload_if_absent(
        container,
        _context_blob(record.operation_context),
        record.model_dump_json().encode(),
        content_type="application/json",
    )


def call_for_operation_context(operation_context: str) -> CallRecord | None:
    """Return the call placed with ``operation_context``, if any."""
    return _read_record(_context_blob(operation_context))


def instance_for_server_call(server_call_id: str) -> CallRecord | None:
    """Return which instance placed the call ``server_call_id`` (None for calls this app never placed)."""
    return _read_record(_server_call_blob(server_call_id))


def record_call_sighting(operation_context: str, call_connection_id: str) -> None:
    """Remember that ACS connected ``call_connection_id`` for ``operation_context`` (from its callback).

    A call whose placing crashed before it was recorded is known only through its callbacks; a re-run that
    cannot adopt it by repeatability finds it here and hangs it up, so no orphaned call stays up.
    """
    name = f"{_sightings_prefix(operation_context)}{hashlib.sha256(call_connection_id.encode()).hexdigest()}"
    upload_if_absent(
        get_settings().artifacts_container, name, call_connection_id.encode(), content_type="text/plain"
    )


def sighted_calls(operation_context: str) -> list[str]:
    """Call connection ids ACS reported as connected for ``operation_context``."""
    container = container_client(get_settings().artifacts_container)
    ids = []
    for blob in container.list_blobs(name_starts_with=_sightings_prefix(operation_context)):
        ids.append(container.get_blob_client(blob.name).download_blob().readall().decode("utf-8"))
    return ids


def record_interview_incomplete(instance_id: str, call_connection_id: str, reason: str) -> None:
    """Note that the question flow gave up on a call before the interview's end (the first reason wins)."""
    upload_if_absent(
        get_settings().artifacts_container,
        _incomplete_blob(instance_id, call_connection_id),
        reason.encode(),
        content_type="text/plain",
    )


def interview_incomplete_reason(instance_id: str, call_connection_id: str) -> str | None:
    """Why the question flow gave up on this call, or None when it did not."""
    from azure.core.exceptions import ResourceNotFoundError

    ref = BlobRef(
        container=get_settings().artifacts_container, name=_incomplete_blob(instance_id, call_connection_id)
    )
    try:
        return download_text(ref)
    except ResourceNotFoundError:
        return None


def record_question_flow_stage(instance_id: str, call_connection_id: str, stage: str) -> None:
    """Note that the question flow on a call reached ``stage`` (``started``, ``closing``)."""
    upload_if_absent(
        get_settings().artifacts_container,
        f"{_call_progress_prefix(instance_id, call_connection_id)}{stage}",
        b"",
        content_type="text/plain",
    )


def question_flow_stages(instance_id: str, call_connection_id: str) -> set[str]:
    """Every stage noted for a call's question flow (``incomplete`` when it gave up), in one listing."""
    prefix = _call_progress_prefix(instance_id, call_connection_id)
    container = container_client(get_settings().artifacts_container)
    return {blob.name.removeprefix(prefix) for blob in container.list_blobs(name_starts_with=prefix)}


def _call_progress_prefix(instance_id: str, call_connection_id: str) -> str:
    return f"{instance_id}/calls/{hashlib.sha256(call_connection_id.encode()).hexdigest()}."


def _incomplete_blob(instance_id: str, call_connection_id: str) -> str:
    return f"{_call_progress_prefix(instance_id, call_connection_id)}incomplete"


def _sightings_prefix(operation_context: str) -> str:
    return f"calls/sighted/{hashlib.sha256(operation_context.encode()).hexdigest()}/"


def _read_record(name: str) -> CallRecord | None:
    from azure.core.exceptions import ResourceNotFoundError

    ref = BlobRef(container=get_settings().artifacts_container, name=name)
    try:
        return CallRecord.model_validate_json(download_bytes(ref))
    except ResourceNotFoundError:
        return None
