"""ACS Call Automation mid-call callbacks: events for the interview, and the question flow of the call.

``place_interview_call`` registers ``/api/acs/callbacks?instanceId=<interview instance>&secret=<secret>``
(``activities.calls.callback_url``). ACS cannot send a function key, so the endpoint is anonymous and the
secret in the URL authenticates it, compared in constant time; a missing or wrong secret gets 401, and so
does every request while no secret is configured.

Events (CloudEvents, posted as an array):

- ``CallConnected`` → ``CallConnected`` on the instance (it then starts the recording).
- ``CreateCallFailed`` → ``CallFailed``; ``CallDisconnected`` → ``CallEnded``.
- ``RecordingStateChanged`` to ``active`` → the first question is asked: questions start only once the
  recording runs, so every answer is on it.
- ``RecognizeCompleted`` / ``RecognizeFailed`` / ``PlayCompleted`` / ``PlayFailed`` of question *i* → question
  *i + 1*, or after the last one a closing line, and after the closing line the call is hung up.

Each question is a speech recognition with the question as its prompt, so ACS waits for the candidate's
answer before the next one; the operation context (``question:<i>``, ``closing``) says where the flow is.
Anything unexpected is logged and acknowledged with 200, because ACS does not redeliver callbacks usefully.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from orchestrators.identity import job_id_of_instance
from shared.logging import get_logger
from shared.models import CallConnected, CallEnded, CallFailed, EventName
from shared.settings import get_settings

LOGGER = get_logger("hireflow.triggers.acs")

ACS_CALLBACK_ROUTE = "acs/callbacks"
EVENT_PREFIX = "Microsoft.Communication."
QUESTION_CONTEXT = "question:"
CLOSING_CONTEXT = "closing"
CLOSING_LINE = "Thank you for your time. We will be in touch soon. Goodbye."
DEFAULT_QUESTIONS = ("Please introduce yourself and tell us about your most recent role.",)
VOICE_NAME = "en-US-NovaNeural"
ANSWER_SILENCE_SECONDS = 3

bp = df.Blueprint()


def callback_authorized(presented: str | None) -> bool:
    """Return True when ``presented`` equals the configured callback secret (constant-time comparison)."""
    expected = get_settings().acs_callback_secret
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def question_index(operation_context: str | None) -> int | None:
    """Return the question number a ``question:<i>`` operation context names, else None."""
    if not operation_context or not operation_context.startswith(QUESTION_CONTEXT):
        return None
    tail = operation_context[len(QUESTION_CONTEXT) :]
    return int(tail) if tail.isdigit() else None


def interview_questions(instance_id: str) -> list[str]:
    """Return the job's interview questions (the job id is the instance id's prefix)."""
    from shared.storage import load_job

    questions = load_job(job_id_of_instance(instance_id)).interview.questions
    return list(questions) or list(DEFAULT_QUESTIONS)


class QuestionFlow:
    """Drives one connected call through the questions with the ACS SDK (synchronous: run it on a thread)."""

    def __init__(self, call_connection_id: str) -> None:
        from shared.clients import call_automation_client

        self._connection = call_automation_client().get_call_connection(call_connection_id)

    def ask(self, questions: list[str], index: int) -> None:
        """Ask question ``index``, or close the call after the last one."""
        from azure.communication.callautomation import RecognizeInputType, TextSource

        if index >= len(questions):
            self.close()
            return
        targets = self._connection.get_call_properties().targets
        if not targets:
            raise RuntimeError("the call has no target participant to ask")
        target = targets[0]
        self._connection.start_recognizing_media(
            RecognizeInputType.SPEECH,
            target,
            play_prompt=TextSource(text=questions[index], voice_name=VOICE_NAME),
            operation_context=f"{QUESTION_CONTEXT}{index}",
            end_silence_timeout=ANSWER_SILENCE_SECONDS,
            interrupt_prompt=False,
        )

    def close(self) -> None:
        """Say goodbye; the ``PlayCompleted`` of this line hangs up."""
        from azure.communication.callautomation import TextSource

        self._connection.play_media_to_all(
            TextSource(text=CLOSING_LINE, voice_name=VOICE_NAME), operation_context=CLOSING_CONTEXT
        )

    def hang_up(self) -> None:
        """End the call for everyone (the recording ends with it)."""
        self._connection.hang_up(is_for_everyone=True)


def _drive_questions(
    instance_id: str, call_connection_id: str, event_name: str, data: dict[str, Any]
) -> None:
    context = data.get("operationContext")
    flow = QuestionFlow(call_connection_id)
    try:
        if event_name == "RecordingStateChanged":
            if data.get("state") == "active":
                flow.ask(interview_questions(instance_id), 0)
            return
        if context == CLOSING_CONTEXT:
            flow.hang_up()
            return
        index = question_index(context)
        if index is not None:
            flow.ask(interview_questions(instance_id), index + 1)
    except Exception:
        # A flow that cannot go on must not hold the line open: hanging up ends the call and the recording,
        # and the interview carries on with what was recorded.
        LOGGER.exception("question flow failed on %s; hanging up", instance_id)
        try:
            flow.hang_up()
        except Exception:
            LOGGER.exception("hang up failed on %s", instance_id)


_QUESTION_FLOW_EVENTS = frozenset(
    {"RecordingStateChanged", "RecognizeCompleted", "RecognizeFailed", "PlayCompleted", "PlayFailed"}
)


def instance_event_for(event_name: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return the orchestration event (name, body) an ACS event maps to, or None."""
    call_connection_id = data.get("callConnectionId")
    if event_name == "CallConnected" and call_connection_id:
        connected = CallConnected(
            call_connection_id=call_connection_id,
            server_call_id=data.get("serverCallId"),
            correlation_id=data.get("correlationId"),
        )
        return EventName.CALL_CONNECTED.value, connected.model_dump(mode="json")
    if event_name == "CallDisconnected" and call_connection_id:
        result = data.get("resultInformation") or {}
        ended = CallEnded(call_connection_id=call_connection_id, reason=result.get("message"))
        return EventName.CALL_ENDED.value, ended.model_dump(mode="json")
    if event_name == "CreateCallFailed":
        result = data.get("resultInformation") or {}
        failed = CallFailed(
            call_connection_id=call_connection_id,
            code=result.get("code"),
            subcode=result.get("subCode"),
            message=result.get("message"),
        )
        return EventName.CALL_FAILED.value, failed.model_dump(mode="json")
    return None


async def handle_acs_event(client: Any, instance_id: str, cloud_event: dict[str, Any]) -> str | None:
    """Act on one CloudEvent; returns the orchestration event raised (if any)."""
    event_type = str(cloud_event.get("type", ""))
    event_name = event_type.removeprefix(EVENT_PREFIX)
    data = cloud_event.get("data")
    if not isinstance(data, dict):
        LOGGER.warning("ACS event %s without data for %s", event_type, instance_id)
        return None
    mapped = instance_event_for(event_name, data)
    if mapped is not None:
        name, body = mapped
        try:
            await client.raise_event(instance_id, name, body)
        except Exception as error:  # the instance finished or never existed: nothing waits for this event
            LOGGER.warning("could not raise %s on %s: %s", name, instance_id, error)
            return None
        return name
    if event_name in _QUESTION_FLOW_EVENTS and data.get("callConnectionId"):
        await asyncio.to_thread(
            _drive_questions, instance_id, str(data["callConnectionId"]), event_name, data
        )
        return None
    LOGGER.info("acknowledging ACS event %s for %s", event_type, instance_id)
    return None


@bp.route(route=ACS_CALLBACK_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def acs_callback(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Receive ACS mid-call events for the interview named in the URL (authenticated by its secret)."""
    if not callback_authorized(req.params.get("secret")):
        return func.HttpResponse(status_code=401)
    instance_id = req.params.get("instanceId")
    if not instance_id:
        return func.HttpResponse("instanceId is required", status_code=400)
    try:
        payload = json.loads(req.get_body() or b"[]")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return func.HttpResponse("the body is not JSON", status_code=400)
    events = payload if isinstance(payload, list) else [payload]
    raised = []
    for cloud_event in events:
        if isinstance(cloud_event, dict):
            name = await handle_acs_event(client, instance_id, cloud_event)
            if name:
                raised.append(name)
    return func.HttpResponse(json.dumps({"raised": raised}), status_code=200, mimetype="application/json")
