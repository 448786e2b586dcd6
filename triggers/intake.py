"""The one start path every resume takes (HTTP, blob trigger, Event Grid ``BlobCreated``), and its checks.

Each caller names how the resume arrived (:class:`shared.models.IntakePath`); it is recorded on the pipeline's
input, so the views show the real path instead of guessing it from the blob's name.

Starting is idempotent: the instance id derives from job id + resume blob, an instance that already exists
(in any state) is returned instead of started again, and a start that loses a race against another trigger
for the same id (the store refuses to replace a running instance) returns the winner's instance.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.identity import candidate_instance_id
from orchestrators.steps import as_json_value
from shared.errors import ErrorCode, PermanentError
from shared.logging import get_logger
from shared.models import BlobRef, CandidateContact, CandidatePipelineInput, IntakePath
from shared.settings import get_settings
from shared.storage import blob_properties, load_job, upload_bytes
from triggers.durable import instance_status, runtime_status_name, start_instance

LOGGER = get_logger("hireflow.triggers")

MAX_RESUME_BYTES = 10 * 1024 * 1024
"""Resumes above this size are refused (413): real ones are far smaller, and extraction time grows with it."""

RESUME_CONTENT_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
"""File types the extraction step reads, by extension."""

# Contact details travel with an uploaded resume as blob metadata. Metadata values must be ASCII, and names
# are not, so values are percent-encoded UTF-8.
METADATA_KEYS = {
    "name": "candidate_name",
    "email": "candidate_email",
    "phone": "candidate_phone",
    "time_zone": "candidate_time_zone",
}


class UnsupportedResumeError(ValueError):
    """The resume is not a file type the pipeline reads (HTTP 415)."""


class ResumeTooLargeError(ValueError):
    """The resume exceeds :data:`MAX_RESUME_BYTES` (HTTP 413)."""


class InvalidContactError(ValueError):
    """Contact details stored with a resume are invalid (control characters, malformed values)."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(f"invalid contact metadata: {', '.join(fields)}")
        self.fields = fields


class UnknownJobError(LookupError):
    """No job definition exists for the job id (HTTP 404)."""


@dataclass(frozen=True)
class StartOutcome:
    """What a start request did: ``created`` is False when the instance already existed."""

    instance_id: str
    created: bool
    runtime_status: str | None = None


def resume_content_type(blob_name: str) -> str:
    """Return the content type for ``blob_name`` by extension, or raise :class:`UnsupportedResumeError`."""
    suffix = PurePosixPath(blob_name).suffix.lower()
    content_type = RESUME_CONTENT_TYPES.get(suffix)
    if content_type is None:
        allowed = ", ".join(sorted(RESUME_CONTENT_TYPES))
        raise UnsupportedResumeError(f"resume type {suffix or '(none)'!r} is not supported; use {allowed}")
    return content_type


def check_resume_size(size: int | None) -> None:
    """Raise :class:`ResumeTooLargeError` above :data:`MAX_RESUME_BYTES`."""
    if size is not None and size > MAX_RESUME_BYTES:
        raise ResumeTooLargeError(f"resume is {size} bytes; the limit is {MAX_RESUME_BYTES}")


def valid_time_zone(name: str) -> str:
    """Return ``name`` when it is an IANA time zone, else raise ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error
    return name


def contact_metadata(contact: CandidateContact) -> dict[str, str]:
    """Encode ``contact`` as blob metadata (read back by :func:`contact_from_metadata`)."""
    values = contact.model_dump()
    return {key: quote(str(values[field]), safe="") for field, key in METADATA_KEYS.items() if values[field]}


def contact_from_metadata(metadata: dict[str, Any] | None) -> CandidateContact:
    """Decode contact details from blob metadata; keys match case-insensitively, unknown keys are ignored."""
    lowered = {str(key).lower(): str(value) for key, value in (metadata or {}).items()}
    found: dict[str, str] = {}
    for field, key in METADATA_KEYS.items():
        if lowered.get(key):
            found[field] = unquote(lowered[key])
    zone = found.get("time_zone")
    if zone is not None:
        try:
            valid_time_zone(zone)
        except ValueError:
            LOGGER.warning("ignoring an unknown time zone in resume metadata")
            found.pop("time_zone")
    try:
        return CandidateContact.model_validate(found)
    except ValidationError as error:
        # Field names only: the values are personal data.
        fields = sorted({METADATA_KEYS[str(item["loc"][0])] for item in error.errors() if item["loc"]})
        raise InvalidContactError(fields) from error


async def ensure_job_exists(job_id: str) -> None:
    """Raise :class:`UnknownJobError` when ``job_id`` has no definition in Blob storage."""
    try:
        await asyncio.to_thread(load_job, job_id)
    except PermanentError as error:
        if error.code is ErrorCode.JOB_NOT_FOUND:
            raise UnknownJobError(job_id) from error
        raise


async def existing_resume(blob_name: str) -> BlobRef | None:
    """Return a reference to resume ``blob_name`` after checking its type and size, or None when missing."""
    content_type = resume_content_type(blob_name)
    container = get_settings().resumes_container
    properties = await asyncio.to_thread(blob_properties, container, blob_name)
    if properties is None:
        return None
    check_resume_size(int(properties.size))
    return BlobRef(
        container=container, name=blob_name, size_bytes=int(properties.size), content_type=content_type
    )


def uploaded_resume_name(job_id: str, filename: str, data: bytes) -> str:
    """Name an uploaded resume by its content, so the same file uploaded twice names the same blob."""
    suffix = PurePosixPath(filename).suffix.lower()
    return f"{job_id}/{hashlib.sha256(data).hexdigest()[:32]}{suffix}"


async def store_uploaded_resume(
    job_id: str, filename: str, data: bytes, contact: CandidateContact
) -> BlobRef:
    """Check and store an uploaded resume in the resumes container, contact details as metadata."""
    content_type = resume_content_type(filename)
    check_resume_size(len(data))
    name = uploaded_resume_name(job_id, filename, data)
    return await asyncio.to_thread(
        upload_bytes,
        get_settings().resumes_container,
        name,
        data,
        content_type=content_type,
        metadata=contact_metadata(contact),
    )


async def start_candidate(
    client: Any,
    *,
    job_id: str,
    resume: BlobRef,
    contact: CandidateContact,
    submitted_at: datetime | None = None,
    intake: IntakePath | None = None,
) -> StartOutcome:
    """Start ``candidate_pipeline`` for ``resume`` unless an instance for it exists; return which happened.

    ``client`` is the SDK's ``DurableOrchestrationClient`` (the ``durable_client_input`` binding). ``intake``
    is the start path, recorded on the pipeline's input for the views; every caller should name its own.
    """
    instance_id = candidate_instance_id(job_id, resume.name)
    existing = await instance_status(client, instance_id)
    if existing is not None:
        return StartOutcome(instance_id, created=False, runtime_status=runtime_status_name(existing))
    pipeline_input = CandidatePipelineInput(
        job_id=job_id,
        resume=resume,
        contact=contact,
        submitted_at=submitted_at,
        intake=None if intake is None else intake.value,
    )
    try:
        await start_instance(client, CANDIDATE_PIPELINE, instance_id, pipeline_input.model_dump(mode="json"))
    except Exception:
        # Another trigger may have started the same id between our check and our start: that is success.
        raced = await instance_status(client, instance_id)
        if raced is not None:
            return StartOutcome(instance_id, created=False, runtime_status=runtime_status_name(raced))
        raise
    LOGGER.info("started candidate pipeline %s for job %s", instance_id, job_id)
    return StartOutcome(instance_id, created=True, runtime_status="Pending")


def status_input(status: Any) -> Any:
    """Return the (parsed) input of an orchestration status object, or None."""
    return as_json_value(getattr(status, "input_", None))
