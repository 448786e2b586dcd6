"""ACS Call Automation activities: place the interview call (recorded), start its recording, hang up.

Idempotency of placing a call has three layers. The operation context ``<instance>:interview-call:<attempt>``
is persisted with the call ids before the activity returns (a repeated execution finds it and places
nothing). The create request carries ``Repeatability-Request-ID`` / ``Repeatability-First-Sent`` stored
before the first request, so a re-run after a crash between ``create_call`` and the record, or a retry after
a lost response, gets the same call back from ACS and rings nobody twice. ACS tracks those ids for five
minutes: a re-run after that (412) hangs up every call ACS reported connected for the context but that was
never recorded, then places the call afresh, so an orphaned call never stays up.
"""

from __future__ import annotations

import json
import logging
import uuid
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import HANG_UP_CALL, PLACE_INTERVIEW_CALL, START_CALL_RECORDING
from shared.acs_auth import callback_token
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
    fault_point,
    instance_for_server_call,
    record_call,
    sighted_calls,
    upload_bytes,
    upload_if_absent,
)

if TYPE_CHECKING:
    from azure.communication.callautomation import CallConnectionProperties

__all__ = [
    "ACS_CALLBACK_ROUTE",
    "PLACE_CALL_AFTER_CREATE",
    "bp",
    "callback_url",
    "hang_up_call_service",
    "operation_context_for",
    "place_interview_call_service",
    "start_call_recording_service",
]

bp = df.Blueprint()
LOGGER = logging.getLogger("hireflow.activities.calls")

# Route of the ACS mid-call callback trigger (under the host's /api prefix).
ACS_CALLBACK_ROUTE = "acs/callbacks"
PLACE_CALL_AFTER_CREATE = "place_interview_call.after_create"
"""Fault point between ACS creating the call and the call's record being written."""


def operation_context_for(instance_id: str, attempt: int) -> str:
    """Return the ACS operation context of a call: which instance placed it, as which attempt."""
    return f"{instance_id}:interview-call:{attempt}"


def callback_url(instance_id: str) -> str:
    """Where ACS posts mid-call events for ``instance_id``.

    ACS authenticates each callback with a signed JWT; the URL adds this interview's own token (an HMAC of
    the instance id), never a secret shared by every interview.
    """
    settings = get_settings()
    query = {"instanceId": instance_id}
    token = callback_token(instance_id)
    if token is not None:
        query["token"] = token
    return f"{settings.callback_base_url.rstrip('/')}/api/{ACS_CALLBACK_ROUTE}?{urlencode(query)}"


def _repeatability_headers(instance_id: str, context: str, *, renew: bool = False) -> dict[str, str]:
    """Repeatability headers that stay identical across executions of the same call attempt.

    ACS answers a create request it has already served when ``Repeatability-Request-ID`` *and*
    ``Repeatability-First-Sent`` repeat, so both are stored before the first request and reused. ``renew``
    stores a new pair once ACS no longer tracks the old one.
    """
    anchor = uuid.uuid5(uuid.NAMESPACE_URL, f"hireflow:{context}")
    name = f"{instance_id}/calls/{anchor}.repeatability"
    container = get_settings().artifacts_container
    fresh = json.dumps({"request_id": str(uuid.uuid4()), "first_sent": formatdate(usegmt=True)}).encode()
    if renew:
        upload_bytes(container, name, fresh, content_type="application/json")
        stored = fresh.decode()
    else:
        _, created = upload_if_absent(container, name, fresh, content_type="application/json")
        stored = fresh.decode() if created else download_text(BlobRef(container=container, name=name))
    try:
        pair = json.loads(stored)
        request_id, first_sent = str(pair["request_id"]), str(pair["first_sent"])
    except (ValueError, KeyError, TypeError):
        # Stored by an earlier version: the first-sent time alone, with the id derived from the context.
        request_id, first_sent = str(anchor), stored
    return {"Repeatability-Request-ID": request_id, "Repeatability-First-Sent": first_sent}


def _create_call(
    request: PlaceInterviewCallInput, context: str, headers: dict[str, str]
) -> CallConnectionProperties:
    from azure.communication.callautomation import PhoneNumberIdentifier

    return call_automation_client().create_call(
        PhoneNumberIdentifier(request.phone_number),
        callback_url(request.instance_id),
        source_caller_id_number=PhoneNumberIdentifier(get_settings().acs_caller_phone_number),
        operation_context=context,
        headers=headers,
    )


def _hang_up_orphans(context: str) -> None:
    """Hang up every call ACS reported connected for ``context``: none of them was ever recorded."""
    from azure.core.exceptions import ResourceNotFoundError

    for call_connection_id in sighted_calls(context):
        LOGGER.warning("hanging up call %s placed for %s but never recorded", call_connection_id, context)
        try:
            call_automation_client().get_call_connection(call_connection_id).hang_up(is_for_everyone=True)
        except ResourceNotFoundError:
            continue  # already gone


def place_interview_call_service(request: PlaceInterviewCallInput) -> PlaceInterviewCallOutput:
    """Place the call unless this instance already placed it for this attempt."""
    from azure.core.exceptions import HttpResponseError

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
    try:
        properties = _create_call(request, context, _repeatability_headers(request.instance_id, context))
    except HttpResponseError as error:
        if error.status_code != 412:
            raise
        # ACS no longer tracks the first request (more than five minutes ago): whatever it placed then was
        # never recorded, so it is hung up before the call is placed under a new request id.
        _hang_up_orphans(context)
        properties = _create_call(
            request, context, _repeatability_headers(request.instance_id, context, renew=True)
        )
    if not properties.call_connection_id:
        raise PermanentError(ErrorCode.CALL_FAILED, "ACS returned no call connection id")
    fault_point(PLACE_CALL_AFTER_CREATE)
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


@bp.function_name(PLACE_INTERVIEW_CALL.name)
@bp.activity_trigger(input_name="payload")
def place_interview_call(payload: Any) -> dict[str, Any]:
    """Place the interview call; ``PlaceInterviewCallInput`` → ``PlaceInterviewCallOutput``."""
    return run_activity(
        PLACE_INTERVIEW_CALL.name,
        payload,
        PLACE_INTERVIEW_CALL.input_model,
        PLACE_INTERVIEW_CALL.output_model,
        place_interview_call_service,
    )


@bp.function_name(START_CALL_RECORDING.name)
@bp.activity_trigger(input_name="payload")
def start_call_recording(payload: Any) -> dict[str, Any]:
    """Start recording a connected call; ``StartCallRecordingInput`` → ``StartCallRecordingOutput``."""
    return run_activity(
        START_CALL_RECORDING.name,
        payload,
        START_CALL_RECORDING.input_model,
        START_CALL_RECORDING.output_model,
        start_call_recording_service,
    )


@bp.function_name(HANG_UP_CALL.name)
@bp.activity_trigger(input_name="payload")
def hang_up_call(payload: Any) -> dict[str, Any]:
    """Hang up a call; ``HangUpCallInput`` → ``HangUpCallOutput``."""
    return run_activity(
        HANG_UP_CALL.name, payload, HANG_UP_CALL.input_model, HANG_UP_CALL.output_model, hang_up_call_service
    )
