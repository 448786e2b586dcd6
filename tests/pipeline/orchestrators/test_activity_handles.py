"""A handle call schedules exactly the actions the six-argument ``call_step`` scheduled before it.

Each test runs two tiny orchestrators through the SDK's own orchestrator handle on the same history: one
written the way ``call_step`` used to schedule an activity (the name as a string, the named retry policy,
``model_dump(mode="json")``; the inbox's fresh waits riding along in a ``task_any``; the budget's reserve
first), the other calling the handle. Running instances replay those actions, so they must be equal as JSON,
byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import pytest
from pydantic import BaseModel

from activities.contracts import (
    ALL_HANDLES,
    EXTRACT_RESUME_TEXT,
    HANG_UP_CALL,
    JOB_CONTEXT_TOKENS,
    PARSE_CANDIDATE_PROFILE,
    SCORE_TRANSCRIPT,
    SCREEN_CANDIDATE,
    TRANSCRIBE_RECORDING,
)
from activities.handles import ActivityHandle
from orchestrators.steps import EventInbox, StepRunner
from orchestrators.token_budget import budget_entity_id
from shared import prompts
from shared.decisions import estimate_prompt_tokens
from shared.errors import ErrorCode
from shared.models import (
    BlobRef,
    CandidateOutcome,
    CandidateProfile,
    ExtractResumeTextInput,
    FetchCallRecordingInput,
    HangUpCallInput,
    InterviewScore,
    ParseCandidateProfileInput,
    PlaceInterviewCallInput,
    RecordingChunk,
    RecordingReady,
    ScheduleInterviewInput,
    ScoreTranscriptInput,
    ScreenCandidateInput,
    ScreeningResult,
    StartCallRecordingInput,
    TextRef,
    TranscribeRecordingInput,
    TranscriptRef,
    WriteCandidateReportInput,
)
from shared.retry import (
    AI_RETRY,
    CALL_RETRY,
    DOCUMENT_RETRY,
    RECORDING_RETRY,
    REPORT_RETRY,
    SCHEDULING_RETRY,
    TRANSCRIPTION_RETRY,
)
from shared.token_bucket import ReserveRequest
from tests.pipeline.orchestrators.fakes import PROFILE

STARTED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INSTANCE_ID = "handle-test"
OUT_OF_PROC_MARKER = "$OutOfProcData$:"

RESUME_TEXT = TextRef(
    container="artifacts", name=f"{INSTANCE_ID}/resume.txt", size_bytes=9_000, char_count=8_765
)
TRANSCRIPT = TranscriptRef(container="artifacts", name=f"{INSTANCE_ID}/transcript.txt", char_count=23_456)

# What each activity was called with before handles: its name as a string and its named retry policy.
CALL_STEP_ARGUMENTS: dict[str, tuple[str, df.RetryOptions]] = {
    "EXTRACT_RESUME_TEXT": ("extract_resume_text", DOCUMENT_RETRY),
    "PARSE_CANDIDATE_PROFILE": ("parse_candidate_profile", AI_RETRY),
    "SCREEN_CANDIDATE": ("screen_candidate", AI_RETRY),
    "SCORE_TRANSCRIPT": ("score_transcript", AI_RETRY),
    "TRANSCRIBE_RECORDING": ("transcribe_recording", TRANSCRIPTION_RETRY),
    "WRITE_CANDIDATE_REPORT": ("write_candidate_report", REPORT_RETRY),
    "SCHEDULE_INTERVIEW": ("schedule_interview", SCHEDULING_RETRY),
    "PLACE_INTERVIEW_CALL": ("place_interview_call", CALL_RETRY),
    "START_CALL_RECORDING": ("start_call_recording", CALL_RETRY),
    "HANG_UP_CALL": ("hang_up_call", CALL_RETRY),
    "FETCH_CALL_RECORDING": ("fetch_call_recording", RECORDING_RETRY),
}

SAMPLE_INPUTS: dict[str, BaseModel] = {
    "extract_resume_text": ExtractResumeTextInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", resume=BlobRef(container="resumes", name="a.pdf")
    ),
    "parse_candidate_profile": ParseCandidateProfileInput(instance_id=INSTANCE_ID, resume_text=RESUME_TEXT),
    "screen_candidate": ScreenCandidateInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", profile=CandidateProfile.model_validate(PROFILE)
    ),
    "score_transcript": ScoreTranscriptInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", transcript=TRANSCRIPT
    ),
    "transcribe_recording": TranscribeRecordingInput(
        instance_id=INSTANCE_ID, recordings=[BlobRef(container="recordings", name="call/0.wav")]
    ),
    "write_candidate_report": WriteCandidateReportInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", outcome=CandidateOutcome.WITHDRAWN
    ),
    "schedule_interview": ScheduleInterviewInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", now=STARTED_AT, attempt=1
    ),
    "place_interview_call": PlaceInterviewCallInput(
        instance_id=INSTANCE_ID, job_id="backend-engineer", phone_number="+15550101010", attempt=2
    ),
    "start_call_recording": StartCallRecordingInput(instance_id=INSTANCE_ID, server_call_id="server-call"),
    "hang_up_call": HangUpCallInput(instance_id=INSTANCE_ID, call_connection_id="call-1"),
    "fetch_call_recording": FetchCallRecordingInput(
        instance_id=INSTANCE_ID,
        recording=RecordingReady(
            server_call_id="server-call",
            chunks=[RecordingChunk(document_id="doc-1", content_location="https://example.test/doc-1")],
        ),
    ),
}

Orchestrator = Callable[[df.DurableOrchestrationContext], Generator[Any, Any, Any]]


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(event_type: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": _timestamp(STARTED_AT),
        **fields,
    }


def run_episode(
    orchestrator: Orchestrator, later_events: list[dict[str, Any]] | None = None, *, version: str = ""
) -> dict[str, Any]:
    """Run ``orchestrator`` on a fresh history (plus ``later_events``) through the SDK's handle."""
    history = [
        _event(12),  # OrchestratorStarted
        _event(0, Name="test_orchestrator", Input=None, Version=version),  # ExecutionStarted
        *(later_events or []),
    ]
    context = {
        "history": history,
        "instanceId": INSTANCE_ID,
        "isReplaying": False,
        "parentInstanceId": None,
        "input": None,
        "upperSchemaVersion": 2,
    }
    try:
        state: dict[str, Any] = json.loads(df.Orchestrator.create(orchestrator)(json.dumps(context)))
    except Exception as failure:  # the SDK reports a failed orchestrator's state after a marker
        message = str(failure)
        if OUT_OF_PROC_MARKER not in message:
            raise
        state = json.loads(message.split(OUT_OF_PROC_MARKER, 1)[1])
    return state


def handle_named(name: str) -> ActivityHandle[Any, Any]:
    return next(handle for handle in ALL_HANDLES if handle.name == name)


def test_every_handle_keeps_the_name_and_policy_its_call_sites_used() -> None:
    import activities.contracts as contracts

    declared = {attribute: getattr(contracts, attribute) for attribute in CALL_STEP_ARGUMENTS}
    assert set(declared.values()) == set(ALL_HANDLES)
    for attribute, (name, retry) in CALL_STEP_ARGUMENTS.items():
        assert declared[attribute].name == name
        assert declared[attribute].retry is retry
    assert set(SAMPLE_INPUTS) == {handle.name for handle in ALL_HANDLES}


@pytest.mark.parametrize("name", sorted(SAMPLE_INPUTS))
def test_a_handle_call_schedules_what_call_step_scheduled(name: str) -> None:
    handle = handle_named(name)
    old_name, old_retry = next(args for args in CALL_STEP_ARGUMENTS.values() if args[0] == name)
    payload = SAMPLE_INPUTS[name]

    def as_call_step_did(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        yield context.call_activity_with_retry(old_name, old_retry, payload.model_dump(mode="json"))

    def through_the_handle(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        yield from handle.call(StepRunner(context), payload)

    expected = run_episode(as_call_step_did)
    actual = run_episode(through_the_handle)

    assert json.dumps(actual["actions"]) == json.dumps(expected["actions"])
    assert actual["actions"], "the episode scheduled nothing to compare"


def test_a_handle_call_carries_the_inbox_waits_as_call_step_did() -> None:
    payload = HangUpCallInput(instance_id=INSTANCE_ID, call_connection_id="call-7")
    names = ["CallEnded", "CandidateWithdrew"]

    def as_call_step_did(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        waits = [context.wait_for_external_event(name) for name in names]
        task = context.call_activity_with_retry("hang_up_call", CALL_RETRY, payload.model_dump(mode="json"))
        yield context.task_any([task, *waits])

    def through_the_handle(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        steps = StepRunner(context, EventInbox(context, names))
        yield from HANG_UP_CALL.call(steps, payload)

    expected = run_episode(as_call_step_did)
    actual = run_episode(through_the_handle)

    assert json.dumps(actual["actions"]) == json.dumps(expected["actions"])
    assert len(actual["actions"][0]) == 1
    assert actual["actions"][0][0]["actionType"] == 11  # one WhenAny: the activity and the two waits


def _old_fixed_prompt_tokens(template: prompts.PromptTemplate, schema: type[BaseModel]) -> int:
    return template.overhead_tokens() + prompts.count_tokens(
        json.dumps(schema.model_json_schema(), sort_keys=True)
    )


# The estimates the orchestrator computed at each OpenAI call site before the handles carried them.
OLD_PROMPT_ESTIMATES: dict[str, Callable[[], int]] = {
    "parse_candidate_profile": lambda: estimate_prompt_tokens(
        _old_fixed_prompt_tokens(prompts.PARSE_PROFILE, CandidateProfile),
        uncounted_chars=RESUME_TEXT.char_count,
    ),
    "screen_candidate": lambda: (
        _old_fixed_prompt_tokens(prompts.SCREEN_CANDIDATE, ScreeningResult)
        + prompts.count_tokens(
            prompts.to_json(CandidateProfile.model_validate(PROFILE).model_dump(mode="json"))
        )
        + JOB_CONTEXT_TOKENS
    ),
    "score_transcript": lambda: estimate_prompt_tokens(
        _old_fixed_prompt_tokens(prompts.SCORE_TRANSCRIPT, InterviewScore) + JOB_CONTEXT_TOKENS,
        uncounted_chars=TRANSCRIPT.char_count,
    ),
}


@pytest.mark.parametrize("name", sorted(OLD_PROMPT_ESTIMATES))
def test_a_budgeted_handle_call_reserves_what_call_budgeted_step_reserved(name: str) -> None:
    handle = handle_named(name)
    payload = SAMPLE_INPUTS[name]
    budget = budget_entity_id("gpt-4o-mini")

    def as_call_budgeted_step_did(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        reservation = ReserveRequest(
            id=context.new_uuid(), prompt_tokens=OLD_PROMPT_ESTIMATES[name](), kind=name
        )
        yield context.call_entity(budget, "reserve", reservation.model_dump(mode="json"))

    def through_the_handle(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        yield from handle.call(StepRunner(context, token_budget=budget), payload)

    expected = run_episode(as_call_budgeted_step_did, version="2.0")
    actual = run_episode(through_the_handle, version="2.0")

    assert json.dumps(actual["actions"]) == json.dumps(expected["actions"])
    reserve = json.loads(actual["actions"][0][0]["input"])
    assert reserve["prompt_tokens"] > JOB_CONTEXT_TOKENS
    assert reserve["kind"] == name


def test_only_the_openai_handles_reserve_on_a_budget_and_each_names_its_own() -> None:
    budgeted = {handle.name: handle.budget for handle in ALL_HANDLES if handle.prompt_tokens is not None}
    assert budgeted == {
        PARSE_CANDIDATE_PROFILE.name: "chat",
        SCREEN_CANDIDATE.name: "chat",
        SCORE_TRANSCRIPT.name: "chat",
        TRANSCRIBE_RECORDING.name: "transcription",
    }


def test_a_transcription_reserves_a_request_per_part_it_will_send() -> None:
    assert TRANSCRIBE_RECORDING.requests is not None
    assert TRANSCRIBE_RECORDING.prompt_tokens is not None
    mib = 1024 * 1024

    def needs(*sizes: int | None) -> int:
        refs = [BlobRef(container="recordings", name=f"r{n}.wav", size_bytes=s) for n, s in enumerate(sizes)]
        payload = TranscribeRecordingInput(instance_id=INSTANCE_ID, recordings=refs)
        assert TRANSCRIBE_RECORDING.prompt_tokens is not None
        assert TRANSCRIBE_RECORDING.prompt_tokens(payload) == 0  # the quota counts requests only
        assert TRANSCRIBE_RECORDING.requests is not None
        return TRANSCRIBE_RECORDING.requests(payload)

    assert needs(1 * mib) == 1
    assert needs(None, 3 * mib) == 2  # a size not known is one request
    assert needs(25 * mib) == 1
    assert needs(25 * mib + 1, 60 * mib) == 2 + 3
    assert needs() == 1


def test_a_bare_blob_reference_is_estimated_by_its_size() -> None:
    bare = ParseCandidateProfileInput(
        instance_id=INSTANCE_ID, resume_text=BlobRef(container="artifacts", name="r.txt", size_bytes=40_000)
    )
    counted = ParseCandidateProfileInput(instance_id=INSTANCE_ID, resume_text=RESUME_TEXT)
    assert PARSE_CANDIDATE_PROFILE.prompt_tokens is not None

    # More text known only by its size must never be estimated as fewer tokens than less text counted.
    assert PARSE_CANDIDATE_PROFILE.prompt_tokens(bare) > PARSE_CANDIDATE_PROFILE.prompt_tokens(counted)


def _completed(name: str, payload: BaseModel, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The activity scheduled as task 0 and completed with ``result``."""
    return [
        _event(4, 0, Name=name, Input=json.dumps(payload.model_dump(mode="json"))),  # TaskScheduled
        _event(12),  # OrchestratorStarted
        _event(5, TaskScheduledId=0, Result=json.dumps(result)),  # TaskCompleted
    ]


def test_a_handle_call_returns_the_output_as_the_handle_output_model() -> None:
    payload = SAMPLE_INPUTS["extract_resume_text"]
    text = {"container": "artifacts", "name": "x/resume.txt", "page_count": 2, "char_count": 1_234}

    def through_the_handle(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        output = yield from EXTRACT_RESUME_TEXT.call(StepRunner(context), payload)
        return {"model": type(output).__name__, "chars": output.text.char_count if output.text else None}

    state = run_episode(through_the_handle, _completed("extract_resume_text", payload, {"text": text}))

    assert state["isDone"] is True
    assert state["output"] == {"model": "ExtractResumeTextOutput", "chars": 1_234}


def test_a_typed_failure_fails_the_step_with_the_handle_name_and_code() -> None:
    payload = SAMPLE_INPUTS["extract_resume_text"]
    failure = {"failure": {"code": ErrorCode.CORRUPT_DOCUMENT.value, "message": "not a document"}}

    def through_the_handle(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
        yield from EXTRACT_RESUME_TEXT.call(StepRunner(context), payload)

    state = run_episode(through_the_handle, _completed("extract_resume_text", payload, failure))

    assert state["isDone"] is False
    assert f"[error:{ErrorCode.CORRUPT_DOCUMENT.value}] extract_resume_text: not a document" in str(
        state["error"]
    )
