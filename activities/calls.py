"""ACS Call Automation activities: place the interview call (recorded), start its recording, hang up.

Idempotency of placing a call has two layers: the operation context ``<instance>:interview-call:<attempt>``
is persisted with the call ids before the activity returns (a repeated execution finds it and places
nothing), and the create request carries a ``Repeatability-Request-ID`` derived from that context, so the
service itself drops a duplicate sent by a retry after a lost response.
"""

from __future__ import annotations

import uuid
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import azure.durable_functions as df

from activities._common import run_activity
from shared.clients import call_automation_client
from shared.errors import ErrorCode, PermanentError
from shared.models import (
    BlobRef,
    HangUpCallInput,
    HangUpCallOutput,
    PlaceInterviewCallInput,
    PlaceInterviewCallOutput,
    StartCallRecordingInput,
    StartCallRecordingOutput,
)
from shared.settings import get_settings
from shared.storage import (
    CallRecord,
    call_for_operation_context,
    download_text,
    instance_for_server_call,
    record_call,
    upload_if_absent,
)

__all__ = [
    "ACS_CALLBACK_ROUTE",
    "bp",
    "callback_url",
    "hang_up_call_service",
    "operation_context_for",
    "place_interview_call_service",
    "start_call_recording_service",
]

bp = df.Blueprint()

# Route of the ACS mid-call callback trigger (under the host's /api prefix); the secret travels in the query.
ACS_CALLBACK_ROUTE = "acs/callbacks"


def operation_context_for(instance_id: str, attempt: int) -> str:
    """Return the ACS operation context of a call: which instance placed it, as which attempt."""
    return f"{instance_id}:interview-call:{attempt}"


def callback_url(instance_id: str) -> str:
    """Where ACS posts mid-call events for ``instance_id``; carries the callback secret."""
    settings = get_settings()
    query = {"instanceId": instance_id}
    if settings.acs_callback_secret:
        query["secret"] = settings.acs_callback_secret
    return f"{settings.callback_base_url.rstrip('/')}/api/{ACS_CALLBACK_ROUTE}?{urlencode(query)}"


def _repeatability_headers(instance_id: str, context: str) -> dict[str, str]:
    """Repeatability headers that stay identical across executions of the same call attempt.

    ACS drops a create request it has already served when ``Repeatability-Request-ID`` *and*
    ``Repeatability-First-Sent`` repeat, so the first-sent time is stored before the first request and reused.
    """
    request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"hireflow:{context}"))
    first_sent = formatdate(usegmt=True)
    name = f"{instance_id}/calls/{request_id}.repeatability"
    container = get_settings().artifacts_container
    _, created = upload_if_absent(container, name, first_sent.encode(), content_type="text/plain")
    if not created:
        first_sent = download_text(BlobRef(container=container, name=name))
    return {"Repeatability-Request-ID": request_id, "Repeatability-First-Sent": first_sent}


def place_interview_call_service(request: PlaceInterviewCallInput) -> PlaceInterviewCallOutput:
    """Place the call unless this instance already placed it for this attempt."""
    from azure.communication.callautomation import PhoneNumberIdentifier

    context = operation_context_for(request.instance_id, request.attempt)
    existing = call_for_operation_context(context)
    if existing is not None:
        return PlaceInterviewCallOutput(
            call_connection_id=existing.call_connection_id,
            server_call_id=existing.server_call_id,
            operation_context=context,
            already_placed=True,
        )
    if not request.phone_number.startswith("+") or not request.phone_number[1:].isdigit():
        raise PermanentError(ErrorCode.INVALID_INPUT, "phone number must be in E.164 form")
    settings = get_settings()
    properties = call_automation_client().create_call(
        PhoneNumberIdentifier(request.phone_number),
        callback_url(request.instance_id),
        source_caller_id_number=PhoneNumberIdentifier(settings.acs_caller_phone_number),
        operation_context=context,
        headers=_repeatability_headers(request.instance_id, context),
    )
    if not properties.call_connection_id:
        raise PermanentError(ErrorCode.CALL_FAILED, "ACS returned no call connection id")
    record_call(
        CallRecord(
            instance_id=request.instance_id,
            attempt=request.attempt,
            operation_context=context,
            call_connection_id=properties.call_connection_id,
            server_call_id=properties.server_call_id,
        )
    )
    return PlaceInterviewCallOutput(
        call_connection_id=properties.call_connection_id,
        server_call_id=properties.server_call_id,
        operation_context=context,
    )


def start_call_recording_service(request: StartCallRecordingInput) -> StartCallRecordingOutput:
    """Start recording a connected call (mixed WAV audio); a recording already running counts as started."""
    from azure.communication.callautomation import RecordingChannel, RecordingContent, RecordingFormat
    from azure.core.exceptions import HttpResponseError

    known = instance_for_server_call(request.server_call_id)
    if known is None or known.instance_id != request.instance_id:
        raise PermanentError(ErrorCode.NOT_FOUND, "this instance placed no call with that server call id")
    try:
        properties = call_automation_client().start_recording(
            server_call_id=request.server_call_id,
            recording_content_type=RecordingContent.AUDIO,
            recording_channel_type=RecordingChannel.MIXED,
            recording_format_type=RecordingFormat.WAV,
            recording_state_callback_url=callback_url(request.instance_id),
        )
    except HttpResponseError as error:
        if error.status_code == 409:
            return StartCallRecordingOutput(already_recording=True)
        raise
    return StartCallRecordingOutput(recording_id=properties.recording_id)


def hang_up_call_service(request: HangUpCallInput) -> HangUpCallOutput:
    """Hang up for everyone; a call that is already gone (404) counts as hung up."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        call_automation_client().get_call_connection(request.call_connection_id).hang_up(is_for_everyone=True)
    except ResourceNotFoundError:
        return HangUpCallOutput(hung_up=True, already_ended=True)
    return HangUpCallOutput(hung_up=True)


@bp.activity_trigger(input_name="payload")
def place_interview_call(payload: Any) -> dict[str, Any]:
    """Place the interview call; ``PlaceInterviewCallInput`` → ``PlaceInterviewCallOutput``."""
    return run_activity(
        "place_interview_call",
        payload,
        PlaceInterviewCallInput,
        PlaceInterviewCallOutput,
        place_interview_call_service,
    )


@bp.activity_trigger(input_name="payload")
def start_call_recording(payload: Any) -> dict[str, Any]:
    """Start recording a connected call; ``StartCallRecordingInput`` → ``StartCallRecordingOutput``."""
    return run_activity(
        "start_call_recording",
        payload,
        StartCallRecordingInput,
        StartCallRecordingOutput,
        start_call_recording_service,
    )


@bp.activity_trigger(input_name="payload")
def hang_up_call(payload: Any) -> dict[str, Any]:
    """Hang up a call; ``HangUpCallInput`` → ``HangUpCallOutput``."""
    return run_activity("hang_up_call", payload, HangUpCallInput, HangUpCallOutput, hang_up_call_service)
