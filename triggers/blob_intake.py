"""Resumes dropped into Blob storage start the pipeline: a blob trigger, and the same through Event Grid.

A resume at ``<resumes container>/{job_id}/{name}`` carries the candidate's contact details as blob metadata
(``candidate_name``, ``candidate_email``, ``candidate_phone``, ``candidate_time_zone``, percent-encoded; see
:mod:`triggers.intake`). Both triggers end in :func:`triggers.intake.start_candidate`, which derives the
instance id from job + blob, so a blob seen by both triggers, or by a re-fired one, runs once. Blobs that
cannot start a run (unknown job, unsupported type, too large, a name that aliases another blob, invalid
contact metadata) are logged and skipped rather than raised: retrying them cannot help, and raising would
only fill the poison queue.

The watched container is the app setting ``RESUMES_CONTAINER``, named in the trigger's path as the
binding expression ``%RESUMES_CONTAINER%``: the host resolves it (and refuses the trigger when the setting
is missing), so nothing here reads it at import. Where the blob trigger learns of new blobs is the app
setting ``RESUME_TRIGGER_SOURCE``: ``EventGrid`` on Azure (Flex Consumption runs blob triggers only with
the Event Grid source; the Bicep subscribes the storage account's ``BlobCreated`` events to the blob
extension's webhook), ``LogsAndContainerScan`` (polling, the default) locally. The source is a property of
the trigger, not a binding expression, and binding parameters are fixed when the worker indexes the app, so
this one setting is read then, by :func:`indexing_setting`: the one, narrow exception to "settings are read
lazily through ``shared.settings``".
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.identity import InvalidIdentifierError, normalize_resume_blob, validate_job_id
from shared.models import BlobRef, IntakePath
from shared.settings import get_settings
from shared.storage import blob_properties
from triggers.events import delivered_event
from triggers.intake import (
    LOGGER,
    InvalidContactError,
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
TRIGGER_SOURCE_SETTING = "RESUME_TRIGGER_SOURCE"
# The host resolves %RESUMES_CONTAINER% from the app settings, as shared.settings reads the same setting.
RESUME_PATH = "%RESUMES_CONTAINER%/{job_id}/{name}"
_TRIGGER_SOURCES = {source.value.lower(): source for source in func.BlobSource}


class TriggerSettingError(ValueError):
    """An app setting read at indexing time holds a value the blob trigger cannot take."""


def indexing_setting(name: str, default: str) -> str:
    """Return app setting ``name`` as the worker sees it while indexing the app, or ``default``.

    Only for binding parameters, which the decorators fix at import time; everything else reads settings
    through :func:`shared.settings.get_settings` when a function runs.
    """
    value = os.environ.get(name, "").strip()
    return value or default


def resume_trigger_source() -> func.BlobSource:
    """Return the blob trigger's source: ``RESUME_TRIGGER_SOURCE``, ``LogsAndContainerScan`` by default."""
    raw = indexing_setting(TRIGGER_SOURCE_SETTING, func.BlobSource.LOGS_AND_CONTAINER_SCAN.value)
    source = _TRIGGER_SOURCES.get(raw.lower())
    if source is None:
        allowed = ", ".join(source.value for source in func.BlobSource)
        raise TriggerSettingError(f"{TRIGGER_SOURCE_SETTING} must be one of {allowed}, not {raw!r}")
    return source


bp = df.Blueprint()


async def intake_resume_blob(
    client: Any,
    container: str,
    blob_name: str,
    *,
    size: int | None,
    metadata: dict[str, Any] | None,
    intake: IntakePath,
) -> StartOutcome | None:
    """Start the pipeline for resume ``blob_name`` in ``container``; None when the blob is skipped."""
    job_id, _, file_name = blob_name.partition("/")
    try:
        validate_job_id(job_id)
        if not file_name or "/" in file_name:
            raise InvalidIdentifierError("resumes live at <container>/{job_id}/{name}")
        content_type = resume_content_type(file_name)
        check_resume_size(size)
        contact = contact_from_metadata(metadata)
        await ensure_job_exists(job_id)
    except (
        InvalidIdentifierError,
        UnsupportedResumeError,
        ResumeTooLargeError,
        UnknownJobError,
        InvalidContactError,
    ) as error:
        LOGGER.warning("skipping resume blob %r: %s: %s", blob_name, type(error).__name__, error)
        return None
    resume = BlobRef(container=container, name=blob_name, size_bytes=size, content_type=content_type)
    outcome = await start_candidate(client, job_id=job_id, resume=resume, contact=contact, intake=intake)
    if not outcome.created:
        LOGGER.info("resume blob %s already runs as %s", blob_name, outcome.instance_id)
    return outcome


def _blob_from_subject(subject: str, container: str) -> str:
    # Storage subjects read /blobServices/default/containers/<container>/blobs/<name>.
    marker = f"/containers/{container}/blobs/"
    if marker not in subject:
        raise InvalidIdentifierError("the subject names no blob in the resumes container")
    return normalize_resume_blob(subject.split(marker, 1)[1], container)


@bp.blob_trigger(
    arg_name="resume", path=RESUME_PATH, connection="AzureWebJobsStorage", source=resume_trigger_source()
)
@bp.durable_client_input(client_name="client")
async def resume_uploaded(resume: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline for a resume uploaded to ``<resumes container>/{job_id}/{name}``."""
    # The worker names the blob "<container>/<blob name>".
    container, _, path = (resume.name or "").partition("/")
    try:
        blob_name = normalize_resume_blob(path, container)
    except InvalidIdentifierError as error:
        LOGGER.warning("skipping resume blob %r: %s", resume.name, error)
        return
    # The worker's concrete InputStream carries the blob's metadata; the abstract type does not declare it.
    metadata = getattr(resume, "metadata", None)
    await intake_resume_blob(
        client, container, blob_name, size=resume.length, metadata=metadata, intake=IntakePath.BLOB_TRIGGER
    )


@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def resume_blob_created(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    """Start the pipeline from a ``Microsoft.Storage.BlobCreated`` event; other events are acknowledged.

    Event Grid and CloudEvents subscriptions both work: the worker passes a ``func.CloudEvent`` for the
    latter despite the annotation (see :mod:`triggers.events`). The blob comes from ``data.url``, or else
    from the subject, which both schemas carry in the same form.
    """
    delivered = delivered_event(event)
    if delivered.type != BLOB_CREATED:
        LOGGER.info(
            "ignoring %s event %s of type %r", delivered.schema, delivered.label, (delivered.type or "")[:128]
        )
        return
    data = delivered.data if isinstance(delivered.data, dict) else {}
    url = data.get("url")
    container = get_settings().resumes_container
    try:
        if isinstance(url, str) and url:
            blob_name = normalize_resume_blob(url, container)
        elif delivered.subject is not None:
            blob_name = _blob_from_subject(delivered.subject, container)
        else:
            raise InvalidIdentifierError("the event names no blob")
    except InvalidIdentifierError as error:
        LOGGER.info("ignoring BlobCreated %s: %s", delivered.label, error)
        return
    properties = await asyncio.to_thread(blob_properties, container, blob_name)
    if properties is None:
        LOGGER.warning("BlobCreated %s names a blob that no longer exists", delivered.label)
        return
    await intake_resume_blob(
        client,
        container,
        blob_name,
        size=int(properties.size),
        metadata=properties.metadata,
        intake=IntakePath.EVENT_GRID,
    )
