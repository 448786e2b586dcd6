"""Resumes dropped into Blob storage start the pipeline: a blob trigger, and the same through Event Grid.

A resume at ``resumes/{job_id}/{name}`` carries the candidate's contact details as blob metadata
(``candidate_name``, ``candidate_email``, ``candidate_phone``, ``candidate_time_zone``, percent-encoded; see
:mod:`triggers.intake`). Both triggers end in :func:`triggers.intake.start_candidate`, which derives the
instance id from job + blob, so a blob seen by both triggers, or by a re-fired one, runs once. Blobs that
cannot start a run (unknown job, unsupported type, too large) are logged and skipped rather than raised:
retrying them cannot help, and raising would only fill the poison queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.identity import InvalidIdentifierError, normalize_resume_blob, validate_job_id
from shared.models import BlobRef
from shared.settings import get_settings
from shared.storage import blob_properties
from triggers.intake import (
    LOGGER,
    ResumeTooLargeError,
    StartOutcome,
    UnknownJobError,
    UnsupportedResumeError,
    check_resume_size,
    contact_from_metadata,
    ensure_job_exists,
    resume_content_type,
    start_candidate,
)

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
TRIGGER_CONTAINER = "resumes"
# Binding paths are fixed when the app is indexed, so the blob trigger watches the default container name;
# Event Grid deliveries follow RESUMES_CONTAINER.
RESUME_PATH = TRIGGER_CONTAINER + "/{job_id}/{name}"

bp = df.Blueprint()


async def intake_resume_blob(
    client: Any, container: str, blob_name: str, *, size: int | None, metadata: dict[str, Any] | None
) -> StartOutcome | None:
    """Start the pipeline for resume ``blob_name`` in ``container``; None when the blob is skipped."""
    job_id, _, file_name = blob_name.partition("/")
    try:
        validate_job_id(job_id)
        if not file_name or "/" in file_name:
            raise InvalidIdentifierError("resumes live at resumes/{job_id}/{name}")
        content_type = resume_content_type(file_name)
        check_resume_size(size)
        await ensure_job_exists(job_id)
    except (InvalidIdentifierError, UnsupportedResumeError, ResumeTooLargeError, UnknownJobError) as error:
        LOGGER.warning("skipping resume blob %s: %s: %s", blob_name, type(error).__name__, error)
        return None
    resume = BlobRef(container=container, name=blob_name, size_bytes=size, content_type=content_type)
    outcome = await start_candidate(
        client, job_id=job_id, resume=resume, contact=contact_from_metadata(metadata)
    )
    if not outcome.created:
        LOGGER.info("resume blob %s already runs as %s", blob_name, outcome.instance_id)
    return outcome


def _blob_from_subject(subject: str, container: str) -> str:
    # Storage subjects read /blobServices/default/containers/<container>/blobs/<name>.
    marker = f"/containers/{container}/blobs/"
    if marker not in subject:
        raise InvalidIdentifierError("the subject names no blob in the resumes container")
    return normalize_resume_blob(subject.split(marker, 1)[1], container)


@bp.blob_trigger(arg_name="resume", path=RESUME_PATH, connection="AzureWebJobsStorage")
@bp.durable_client_input(client_name="client")
async def resume_uploaded(resume: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline for a resume uploaded to ``resumes/{job_id}/{name}``."""
    blob_name = normalize_resume_blob(resume.name or "", TRIGGER_CONTAINER)
    # The worker's concrete InputStream carries the blob's metadata; the abstract type does not declare it.
    metadata = getattr(resume, "metadata", None)
    await intake_resume_blob(client, TRIGGER_CONTAINER, blob_name, size=resume.length, metadata=metadata)


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def resume_blob_created(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline from a ``Microsoft.Storage.BlobCreated`` event; other events are acknowledged."""
    if event.event_type != BLOB_CREATED:
        LOGGER.info("ignoring Event Grid event %s of type %s", event.id, event.event_type)
        return
    data = event.get_json()
    url = data.get("url") if isinstance(data, dict) else None
    container = get_settings().resumes_container
    try:
        blob_name = (
            normalize_resume_blob(str(url), container)
            if url
            else _blob_from_subject(event.subject or "", container)
        )
    except InvalidIdentifierError:
        LOGGER.info("ignoring BlobCreated %s outside the resumes container", event.id)
        return
    properties = await asyncio.to_thread(blob_properties, container, blob_name)
    if properties is None:
        LOGGER.warning("BlobCreated %s names a blob that no longer exists", event.id)
        return
    await intake_resume_blob(
        client, container, blob_name, size=int(properties.size), metadata=properties.metadata
    )
