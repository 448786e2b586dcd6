"""ACS Call Automation mid-call callbacks: events for the interview, and the question flow of the call.

``place_interview_call`` registers ``/api/acs/callbacks?instanceId=<interview instance>&token=<token>``
(``activities.calls.callback_url``). ACS cannot send a function key, so the endpoint is anonymous and
authenticated as Microsoft documents for Call Automation webhooks: every callback carries a JWT signed by ACS
in ``Authorization: Bearer``, checked against the keys and issuer of ACS's OpenID configuration with the ACS
resource's immutable id as audience (``shared.acs_auth``). A missing, forged, expired or misaddressed token
gets 401. The URL's token, an HMAC of the instance id, binds the URL to its interview: another interview's
token (or none, while ``ACS_CALLBACK_SECRET`` is set) gets 401 too.

Events (CloudEvents, posted as an array):

- ``CallConnected`` → ``CallConnected`` on the instance (it then starts the recording); the call is also
  noted as seen for its operation context, so a re-run of a placing that crashed can find it.
- ``CreateCallFailed`` → ``CallFailed``; ``CallDisconnected`` → ``CallEnded``, whose reason starts with
  ``interview_incomplete:`` when the interview ended early: the question flow had to give up on the call, or
  the call ended after the first question and before the closing line (the flow notes both stages).
- ``RecordingStateChanged`` to ``active`` → the first question is asked: questions start only once the
  recording runs, so every answer is on it.
- ``RecognizeCompleted`` / ``RecognizeFailed`` / ``PlayCompleted`` / ``PlayFailed`` of question *i* → question
  *i + 1*, or after the last one a closing line, and after the closing line the call is hung up.

Each question is a speech recognition with the question as its prompt, so ACS waits for the candidate's
answer before the next one; the operation context (``question:<i>``, ``closing``) says where the flow is.
Transient ACS errors (429, 5xx, timeouts) in the flow are retried a bounded number of times with backoff that
honours ``Retry-After``, waiting on the event loop, not on a worker thread; a flow that still cannot go on
hangs up and records why, so the interview is reported incomplete rather than passing as whole.

A call's target participant and its questions are read once per call on the instance that handles its
callbacks, not once per question: both are kept in small bounded memos keyed by the call connection. A
callback that lands on another instance (or after a restart or an eviction) reads them again as before, so
the memos only spare round trips and are never the only place the flow learns them.

A body that is not JSON, nests too deep, holds an absurd number or is not an array of events gets 400 with a
clear message. Events that are well formed but unusable (wrong field types, unknown types) are logged and
acknowledged with 200, because ACS would only redeliver them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import azure.durable_functions as df
import azure.functions as func

from orchestrators.identity import job_id_of_instance
from shared.acs_auth import (
    CallbackAuthError,
    CallbackAuthUnavailableError,
    bearer_token,
    callback_token_matches,
    callback_validator,
)
from shared.json_limits import json_nesting_depth
from shared.logging import get_logger
from shared.memo import BoundedMemo
from shared.models import INTERVIEW_INCOMPLETE_PREFIX, CallConnected, CallEnded, CallFailed, EventName
from shared.retry import retry_after_seconds as requested_wait_seconds
from shared.storage import (
    interview_incomplete_reason,
    question_flow_stages,
    record_call_sighting,
    record_interview_incomplete,
    record_question_flow_stage,
)

if TYPE_CHECKING:
    from azure.communication.callautomation import CommunicationIdentifier

LOGGER = get_logger("hireflow.triggers.acs")

ACS_CALLBACK_ROUTE = "acs/callbacks"
EVENT_PREFIX = "Microsoft.Communication."
QUESTION_CONTEXT = "question:"
CLOSING_CONTEXT = "closing"
CLOSING_LINE = "Thank you for your time. We will be in touch soon. Goodbye."
DEFAULT_QUESTIONS = ("Please introduce yourself and tell us about your most recent role.",)
VOICE_NAME = "en-US-NovaNeural"
ANSWER_SILENCE_SECONDS = 3
# One prefix for the question flow and the interview orchestration that reads it back.
INCOMPLETE_REASON_PREFIX = INTERVIEW_INCOMPLETE_PREFIX

# Limits on a callback body: ACS posts a handful of small events; anything near these is not ACS.
MAX_BODY_BYTES = 1024 * 1024
MAX_NESTING = 64
MAX_NUMBER_DIGITS = 64

# Retries of the question flow's ACS requests (the ACS client itself has SDK retries off).
FLOW_MAX_ATTEMPTS = 5
FLOW_FIRST_BACKOFF_S = 0.5
FLOW_MAX_BACKOFF_S = 8.0
FLOW_MAX_RETRY_AFTER_S = 30.0

# Calls one instance can be driving at once, with room to spare: an entry is a few hundred bytes.
FLOW_MEMO_ENTRIES = 512

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

bp = df.Blueprint()


class _FlowSleep:
    """How the question flow waits between attempts; tests replace ``sleep`` to control time."""

    def __init__(self) -> None:
        self.sleep: Sleep = asyncio.sleep


FLOW_SLEEP = _FlowSleep()

# Call connection id → the participant the call was placed to, which never changes during a call.
_call_targets: BoundedMemo[str, CommunicationIdentifier] = BoundedMemo(FLOW_MEMO_ENTRIES)
# (instance id, call connection id) → the questions the call is asked: read once, so a job edited mid-call
# cannot renumber the questions of a call under way on this instance.
_call_questions: BoundedMemo[tuple[str, str], tuple[str, ...]] = BoundedMemo(FLOW_MEMO_ENTRIES)


def reset_question_flow_memos() -> None:
    """Forget every call's target and questions (tests start each call as a fresh instance would)."""
    _call_targets.clear()
    _call_questions.clear()


def forget_call(instance_id: str, call_connection_id: str) -> None:
    """Drop what the memos keep for a call that has ended; nothing asks for it again."""
    _call_targets.discard(call_connection_id)
    _call_questions.discard((instance_id, call_connection_id))


class BadCallbackBodyError(ValueError):
    """The callback body is not a JSON array (or object) of events within the limits."""


def question_index(operation_context: object) -> int | None:
    """Return the question number a ``question:<i>`` operation context names, else None."""
    if not isinstance(operation_context, str) or not operation_context.startswith(QUESTION_CONTEXT):
        return None
    tail = operation_context[len(QUESTION_CONTEXT) :]
    return int(tail) if tail.isdigit() and len(tail) <= 6 else None


def interview_questions(instance_id: str) -> list[str]:
    """Return the job's interview questions (the job id is the instance id's prefix)."""
    from shared.storage import load_job

    questions = load_job(job_id_of_instance(instance_id)).interview.questions
    return list(questions) or list(DEFAULT_QUESTIONS)


async def call_questions(instance_id: str, call_connection_id: str) -> list[str]:
    """Return the call's questions: read from the job on its first callback here, then remembered."""
    key = (instance_id, call_connection_id)
    known = _call_questions.get(key)
    if known is None:
        known = tuple(await asyncio.to_thread(interview_questions, instance_id))
        _call_questions.put(key, known)
    return list(known)


def is_transient_acs_error(error: BaseException) -> bool:
    """Return True for errors worth retrying: throttling, server errors, timeouts, lost connections."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return True
    if isinstance(error, HttpResponseError):
        status = error.status_code or 0
        return status in (408, 429) or status >= 500
    return False


def retry_after_seconds(error: BaseException) -> float | None:
    """Return the wait an ACS error response asks for, at most ``FLOW_MAX_RETRY_AFTER_S``, if any.

    The headers are read as every in-attempt retry reads them (``shared.retry``); a negative wait, or an
    HTTP date, leaves the flow to its own backoff.
    """
    seconds = requested_wait_seconds(error)
    if seconds is None or seconds < 0:
        return None
    return min(seconds, FLOW_MAX_RETRY_AFTER_S)


async def with_transient_retries(what: str, operation: Callable[[], T]) -> T:
    """Run the blocking ``operation`` on a worker thread, retrying transient ACS errors with backoff.

    Waits happen on the event loop (no thread is held while waiting) and honour the service's Retry-After.
    """
    backoff = FLOW_FIRST_BACKOFF_S
    for attempt in range(1, FLOW_MAX_ATTEMPTS + 1):
        try:
            return await asyncio.to_thread(operation)
        except Exception as error:
            if attempt == FLOW_MAX_ATTEMPTS or not is_transient_acs_error(error):
                raise
            delay = retry_after_seconds(error)
            delay = backoff if delay is None else delay
            LOGGER.warning(
                "%s failed with a transient error (attempt %d of %d); retrying in %.2fs: %s",
                what,
                attempt,
                FLOW_MAX_ATTEMPTS,
                delay,
                type(error).__name__,
            )
            await FLOW_SLEEP.sleep(delay)
            backoff = min(backoff * 2, FLOW_MAX_BACKOFF_S)
    raise AssertionError("unreachable")  # pragma: no cover


class QuestionFlow:
    """Drives one connected call through the questions with the ACS SDK, retrying transient errors."""

    def __init__(self, instance_id: str, call_connection_id: str) -> None:
        from shared.clients import call_automation_client

        self.instance_id = instance_id
        self.call_connection_id = call_connection_id
        self._connection = call_automation_client().get_call_connection(call_connection_id)

    async def ask(self, questions: list[str], index: int) -> None:
        """Ask question ``index``, or close the call after the last one."""
        from azure.communication.callautomation import RecognizeInputType, TextSource

        if index >= len(questions):
            await self.close()
            return
        if index == 0:
            await self._note_stage("started")
        target = await self._target()
        await with_transient_retries(
            f"ask question {index}",
            lambda: self._connection.start_recognizing_media(
                RecognizeInputType.SPEECH,
                target,
                play_prompt=TextSource(text=questions[index], voice_name=VOICE_NAME),
                operation_context=f"{QUESTION_CONTEXT}{index}",
                end_silence_timeout=ANSWER_SILENCE_SECONDS,
                interrupt_prompt=False,
            ),
        )

    async def _target(self) -> CommunicationIdentifier:
        """Return the participant the call was placed to, asking ACS only when this instance has not yet."""
        known = _call_targets.get(self.call_connection_id)
        if known is not None:
            return known
        properties = await with_transient_retries("get call properties", self._connection.get_call_properties)
        targets = properties.targets
        if not targets:
            raise RuntimeError("the call has no target participant to ask")
        _call_targets.put(self.call_connection_id, targets[0])
        return targets[0]

    async def close(self) -> None:
        """Say goodbye; the ``PlayCompleted`` of this line hangs up."""
        from azure.communication.callautomation import TextSource

        await self._note_stage("closing")
        await with_transient_retries(
            "play the closing line",
            lambda: self._connection.play_media_to_all(
                TextSource(text=CLOSING_LINE, voice_name=VOICE_NAME), operation_context=CLOSING_CONTEXT
            ),
        )

    async def _note_stage(self, stage: str) -> None:
        # Bookkeeping for the interview's report; a storage hiccup must not stop the interview itself.
        try:
            await asyncio.to_thread(
                record_question_flow_stage, self.instance_id, self.call_connection_id, stage
            )
        except Exception:
            LOGGER.exception("could not note stage %s of the question flow on %s", stage, self.instance_id)

    async def hang_up(self) -> None:
        """End the call for everyone (the recording ends with it); a call already gone counts as ended."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            await with_transient_retries("hang up", lambda: self._connection.hang_up(is_for_everyone=True))
        except ResourceNotFoundError:
            return


def _next_step(event_name: str, data: dict[str, Any]) -> str | int | None:
    """Return what an event asks of the flow: the question index to ask, ``"hang_up"``, or None."""
    if event_name == "RecordingStateChanged":
        return 0 if data.get("state") == "active" else None
    context = data.get("operationContext")
    if context == CLOSING_CONTEXT:
        return "hang_up"
    index = question_index(context)
    return None if index is None else index + 1


async def drive_questions(
    instance_id: str, call_connection_id: str, event_name: str, data: dict[str, Any]
) -> None:
    """Take the question flow one step on from ``event_name``; give up (hang up, note why) if it cannot."""
    step = _next_step(event_name, data)
    if step is None:
        return
    flow: QuestionFlow | None = None
    try:
        flow = QuestionFlow(instance_id, call_connection_id)
        if step == "hang_up":
            await flow.hang_up()
            forget_call(instance_id, call_connection_id)
            return
        assert isinstance(step, int)
        questions = await call_questions(instance_id, call_connection_id)
        await flow.ask(questions, step)
    except Exception as error:
        if _call_is_gone(error):
            # The candidate hung up while the flow was going on: nothing to hang up, and the call's end
            # (before its closing line) already marks the interview incomplete.
            LOGGER.info("the call on %s ended while the question flow was going on", instance_id)
            return
        # A flow that cannot go on must not hold the line open: hanging up ends the call and the recording.
        # The reason is kept so the interview says it ended early instead of passing as complete.
        LOGGER.exception("question flow failed on %s; hanging up", instance_id)
        reason = f"the question flow stopped after {event_name}: {type(error).__name__}"
        try:
            await asyncio.to_thread(record_interview_incomplete, instance_id, call_connection_id, reason)
        except Exception:
            LOGGER.exception("could not record that the interview on %s is incomplete", instance_id)
        if flow is not None:
            try:
                await flow.hang_up()
            except Exception:
                LOGGER.exception("hang up failed on %s", instance_id)
        forget_call(instance_id, call_connection_id)


# ACS's answer to a media action on a call that is no longer established.
_CALL_NOT_ESTABLISHED = "8501"


def _call_is_gone(error: BaseException) -> bool:
    """Return True when ACS refused an action because the call has ended (404, or 400 with code 8501)."""
    from azure.core.exceptions import HttpResponseError

    if not isinstance(error, HttpResponseError):
        return False
    if error.status_code == 404:
        return True
    details = getattr(error, "error", None)
    return error.status_code == 400 and getattr(details, "code", None) == _CALL_NOT_ESTABLISHED


_QUESTION_FLOW_EVENTS = frozenset(
    {"RecordingStateChanged", "RecognizeCompleted", "RecognizeFailed", "PlayCompleted", "PlayFailed"}
)


def _text(data: dict[str, Any], name: str) -> str | None:
    """``data[name]`` when it is a non-empty string; None when absent or of another type."""
    value = data.get(name)
    return value if isinstance(value, str) and value else None


def _object(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def instance_event_for(event_name: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return the orchestration event (name, body) an ACS event maps to, or None.

    Fields of the wrong type count as absent: an event without a usable call connection id maps to nothing.
    """
    call_connection_id = _text(data, "callConnectionId")
    if event_name == "CallConnected" and call_connection_id:
        connected = CallConnected(
            call_connection_id=call_connection_id,
            server_call_id=_text(data, "serverCallId"),
            correlation_id=_text(data, "correlationId"),
        )
        return EventName.CALL_CONNECTED.value, connected.model_dump(mode="json")
    if event_name == "CallDisconnected" and call_connection_id:
        result = _object(data, "resultInformation")
        ended = CallEnded(call_connection_id=call_connection_id, reason=_text(result, "message"))
        return EventName.CALL_ENDED.value, ended.model_dump(mode="json")
    if event_name == "CreateCallFailed":
        result = _object(data, "resultInformation")
        failed = CallFailed(
            call_connection_id=call_connection_id,
            code=_int(result, "code"),
            subcode=_int(result, "subCode"),
            message=_text(result, "message"),
        )
        return EventName.CALL_FAILED.value, failed.model_dump(mode="json")
    return None


def interview_end_reason(instance_id: str, call_connection_id: str) -> str | None:
    """Why the interview on this call ended early, or None when it ran to its closing line (or never began).

    Early means the question flow gave up on the call, or the call ended (the candidate hung up, the call
    outlived its maximum) after the first question and before the closing line.
    """
    stages = question_flow_stages(instance_id, call_connection_id)
    if "incomplete" in stages:
        return interview_incomplete_reason(instance_id, call_connection_id)
    if "started" in stages and "closing" not in stages:
        return "the call ended before the last question was answered"
    return None


def _note_incomplete(instance_id: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Prefix a ``CallEnded`` reason with why the interview on that call ended early, if it did."""
    if name != EventName.CALL_ENDED.value:
        return body
    reason = interview_end_reason(instance_id, str(body["call_connection_id"]))
    if reason is None:
        return body
    ended = CallEnded.model_validate(body)
    detail = f"{INCOMPLETE_REASON_PREFIX}{reason}"
    if ended.reason:
        detail = f"{detail} ({ended.reason})"
    return CallEnded(call_connection_id=ended.call_connection_id, reason=detail).model_dump(mode="json")


def _note_sighting(data: dict[str, Any]) -> None:
    context, call_connection_id = _text(data, "operationContext"), _text(data, "callConnectionId")
    if context and call_connection_id:
        record_call_sighting(context, call_connection_id)


async def handle_acs_event(client: Any, instance_id: str, cloud_event: dict[str, Any]) -> str | None:
    """Act on one CloudEvent; returns the orchestration event raised (if any)."""
    event_type = cloud_event.get("type")
    if not isinstance(event_type, str):
        LOGGER.warning("acknowledging an ACS event without a string type for %s", instance_id)
        return None
    event_name = event_type.removeprefix(EVENT_PREFIX)
    data = cloud_event.get("data")
    if not isinstance(data, dict):
        LOGGER.warning("ACS event %s without data for %s", event_type, instance_id)
        return None
    mapped = instance_event_for(event_name, data)
    if mapped is not None:
        name, body = mapped
        if event_name == "CallDisconnected":
            forget_call(instance_id, str(body["call_connection_id"]))
        try:
            if event_name == "CallConnected":
                await asyncio.to_thread(_note_sighting, data)
            body = await asyncio.to_thread(_note_incomplete, instance_id, name, body)
        except Exception:  # bookkeeping must not keep the event from the interview
            LOGGER.exception("call bookkeeping failed for %s on %s", event_type, instance_id)
        try:
            await client.raise_event(instance_id, name, body)
        except Exception as error:  # the instance finished or never existed: nothing waits for this event
            LOGGER.warning("could not raise %s on %s: %s", name, instance_id, error)
            return None
        return name
    call_connection_id = _text(data, "callConnectionId")
    if event_name in _QUESTION_FLOW_EVENTS and call_connection_id:
        await drive_questions(instance_id, call_connection_id, event_name, data)
        return None
    LOGGER.info("acknowledging ACS event %s for %s", event_type, instance_id)
    return None


def _bounded_number(text: str) -> str:
    # Python refuses to parse integers of over 4,300 digits with a ValueError; refuse far earlier, clearly.
    if len(text) > MAX_NUMBER_DIGITS:
        raise BadCallbackBodyError(f"a number in the body is longer than {MAX_NUMBER_DIGITS} characters")
    return text


def _parse_int(text: str) -> int:
    return int(_bounded_number(text))


def _parse_float(text: str) -> float:
    return float(_bounded_number(text))


def parse_callback_body(body: bytes) -> list[Any]:
    """Parse a callback body into its list of events, or raise :class:`BadCallbackBodyError`."""
    if len(body) > MAX_BODY_BYTES:
        raise BadCallbackBodyError(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        raw = body.decode("utf-8") if body else "[]"
    except UnicodeDecodeError as error:
        raise BadCallbackBodyError("the body is not UTF-8 text") from error
    # Fewer opening brackets than the limit cannot nest past it: most bodies skip the scan.
    brackets = body.count(b"[") + body.count(b"{")
    if brackets > MAX_NESTING and json_nesting_depth(body, stop_after=MAX_NESTING) > MAX_NESTING:
        raise BadCallbackBodyError(f"the body nests deeper than {MAX_NESTING} levels")
    try:
        payload = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float)
    except BadCallbackBodyError:
        raise
    except (ValueError, RecursionError) as error:
        raise BadCallbackBodyError(f"the body is not JSON: {error}") from error
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        return payload
    raise BadCallbackBodyError("the body must be a JSON array of CloudEvents")


def _unauthorized(reason: str) -> func.HttpResponse:
    LOGGER.warning("refused an ACS callback: %s", reason)
    return func.HttpResponse(
        json.dumps({"error": "unauthorized"}),
        status_code=401,
        mimetype="application/json",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _bad_request(message: str) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"error": message}), status_code=400, mimetype="application/json")


async def authenticate_callback(req: func.HttpRequest) -> func.HttpResponse | None:
    """Return the refusal for an unauthenticated callback, or None when ACS signed it for this interview."""
    token = bearer_token(req.headers.get("Authorization"))
    if token is None:
        return _unauthorized("no bearer token")
    started = time.perf_counter()
    try:
        await asyncio.to_thread(callback_validator().validate, token)
    except CallbackAuthError as error:
        return _unauthorized(str(error))
    except CallbackAuthUnavailableError as error:
        # Not the caller's fault and not a verdict: ACS retries a 503, and the keys may be back by then.
        LOGGER.error("cannot authenticate ACS callbacks right now: %s", error)
        return func.HttpResponse(
            json.dumps({"error": "callback authentication is unavailable"}),
            status_code=503,
            mimetype="application/json",
            headers={"Retry-After": "5"},
        )
    LOGGER.debug("callback token validated in %.1f ms", (time.perf_counter() - started) * 1000)
    instance_id = req.params.get("instanceId")
    if instance_id and not callback_token_matches(instance_id, req.params.get("token")):
        return _unauthorized("the URL's token is not this interview's")
    return None


@bp.route(route=ACS_CALLBACK_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def acs_callback(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Receive ACS mid-call events for the interview named in the URL (authenticated by ACS's JWT)."""
    refused = await authenticate_callback(req)
    if refused is not None:
        return refused
    instance_id = req.params.get("instanceId")
    if not instance_id:
        return _bad_request("instanceId is required")
    try:
        events = parse_callback_body(req.get_body())
    except BadCallbackBodyError as error:
        return _bad_request(str(error))
    raised = []
    for cloud_event in events:
        if not isinstance(cloud_event, dict):
            LOGGER.warning("acknowledging a callback item that is not an event object for %s", instance_id)
            continue
        name = await handle_acs_event(client, instance_id, cloud_event)
        if name:
            raised.append(name)
    return func.HttpResponse(json.dumps({"raised": raised}), status_code=200, mimetype="application/json")
