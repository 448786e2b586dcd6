"""What the dashboard shows, read from the durable store and Blob storage.

The candidate rows reuse the HTTP API's view (:func:`triggers.views.candidate_view`); everything the API does
not summarise (profile, screening breakdown, slots, call attempts, transcript, scores, the timeline) is read
from the orchestration history itself, which holds every activity's result: the history is the record, so
the dashboard never keeps a copy that could drift from it.

The timeline reads both history shapes: devhost's (every event, completions pointing at their scheduling
event by ``TaskScheduledId``) and Azure's status API (completions carrying ``ScheduledTime``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from azure.durable_functions import OrchestrationRuntimeStatus
from pydantic import BaseModel, ValidationError

from orchestrators.batch_screening import ORCHESTRATOR_NAME as BATCH_SCREENING
from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.candidate_pipeline import REVIEW_DEADLINE
from orchestrators.identity import interview_instance_id, job_instance_prefix
from orchestrators.steps import as_json_value
from shared.models import (
    BlobRef,
    CandidatePipelineInput,
    CandidateProfile,
    IntakePath,
    InterviewScore,
    InterviewSlot,
    JobDefinition,
    ScreeningResult,
    Stage,
    TranscriptRef,
)
from triggers.durable import instance_status, query_instances
from triggers.views import INTERVIEW_STAGES, InstanceSnapshot, candidate_view, intake_of, screening_view

_M = TypeVar("_M", bound=BaseModel)


# ----------------------------------------------------------------------------------------------------
# Jobs and candidate rows


def list_jobs() -> list[JobDefinition]:
    """Every job definition in the jobs container, by id."""
    from shared.settings import get_settings
    from shared.storage import container_client, load_job

    container = container_client(get_settings().jobs_container)
    jobs: list[JobDefinition] = []
    for blob in container.list_blobs():
        if not blob.name.endswith(".json") or "/" in blob.name:
            continue
        try:
            jobs.append(load_job(blob.name.removesuffix(".json")))
        except Exception:  # a malformed job file must not hide the others
            continue
    return sorted(jobs, key=lambda job: job.job_id)


INTAKE_LABELS = {
    IntakePath.HTTP.value: "HTTP (JSON)",
    IntakePath.UPLOAD.value: "upload",
    IntakePath.BLOB_TRIGGER.value: "blob trigger",
    IntakePath.EVENT_GRID.value: "Event Grid",
    IntakePath.BATCH.value: "batch screening",
}
"""How each recorded intake path reads on a page."""
NOT_RECORDED = "not recorded"


def intake_label(snapshot: InstanceSnapshot) -> str:
    """Return the start path the pipeline recorded, in words (``not recorded`` when it carries none)."""
    intake = intake_of(snapshot)
    if intake is None:
        return NOT_RECORDED
    return INTAKE_LABELS.get(intake, intake)


@dataclass
class CandidateRow:
    """One line of a job's candidate table."""

    view: dict[str, Any]
    name: str
    intake: str
    resume: str | None
    stage_updated_at: datetime | None

    @property
    def id(self) -> str:
        """The candidate's instance id."""
        return str(self.view["id"])

    @property
    def outcome(self) -> str | None:
        """How the candidate ended; a Failed instance has no report outcome but has failed all the same."""
        outcome = self.view.get("outcome")
        if not outcome and self.view.get("runtime_status") == "Failed":
            return "failed"
        return str(outcome) if outcome else None


def _pipeline_input(snapshot: InstanceSnapshot) -> CandidatePipelineInput | None:
    if not isinstance(snapshot.input, dict):
        return None
    try:
        return CandidatePipelineInput.model_validate(snapshot.input)
    except ValidationError:
        return None


def _row(snapshot: InstanceSnapshot, interview: InstanceSnapshot | None = None) -> CandidateRow:
    view = candidate_view(snapshot, interview=interview)
    pipeline_input = _pipeline_input(snapshot)
    output = snapshot.output if isinstance(snapshot.output, dict) else {}
    name = (pipeline_input.contact.name if pipeline_input else None) or output.get("candidate_name")
    resume = pipeline_input.resume.name if pipeline_input else None
    stage_updated = view.get("stage_updated_at")
    return CandidateRow(
        view=view,
        name=str(name or "(no name given)"),
        intake=intake_label(snapshot),
        resume=resume,
        stage_updated_at=datetime.fromisoformat(stage_updated) if stage_updated else None,
    )


async def candidate_rows(client: Any, job_id: str) -> list[CandidateRow]:
    """Every candidate of a job, newest first, with the contact name from each instance's input."""
    # With their inputs (the contact name, the intake path): one paged query, no call per candidate.
    statuses = await query_instances(client, prefix=job_instance_prefix(job_id), show_input=True)
    snapshots = [
        InstanceSnapshot.from_status(status)
        for status in statuses
        if status and status.name == CANDIDATE_PIPELINE and ".batch-" not in str(status.instance_id)
    ]
    interviews: dict[str, InstanceSnapshot] = {}
    in_interview = [s for s in snapshots if _custom_stage(s) in _INTERVIEW_STAGE_VALUES]
    found = await asyncio.gather(
        *(instance_status(client, interview_instance_id(s.instance_id)) for s in in_interview)
    )
    for snapshot, status in zip(in_interview, found, strict=True):
        if status:
            interviews[snapshot.instance_id] = InstanceSnapshot.from_status(status)
    rows = [_row(snapshot, interviews.get(snapshot.instance_id)) for snapshot in snapshots]
    return sorted(rows, key=lambda row: row.view.get("created_at") or "", reverse=True)


def _custom_stage(snapshot: InstanceSnapshot) -> str | None:
    custom = snapshot.custom_status
    return str(custom.get("stage")) if isinstance(custom, dict) and custom.get("stage") else None


_INTERVIEW_STAGE_VALUES = frozenset(stage.value for stage in INTERVIEW_STAGES)


def filter_rows(rows: list[CandidateRow], *, stage: str | None, outcome: str | None) -> list[CandidateRow]:
    """Rows at ``stage`` (any when None) with ``outcome`` (``running`` for none yet; any when None)."""
    kept = rows
    if stage:
        kept = [row for row in kept if row.view.get("stage") == stage]
    if outcome == "running":
        kept = [row for row in kept if not row.outcome]
    elif outcome:
        kept = [row for row in kept if row.outcome == outcome]
    return kept


# ----------------------------------------------------------------------------------------------------
# History: the timeline and the results it holds


@dataclass
class Attempt:
    """One execution of a retried activity."""

    started: str | None
    ended: str | None = None
    error: str | None = None


@dataclass
class TimelineStep:
    """One line of the timeline: an activity (with its attempts), a sub-orchestration, a timer or an event."""

    kind: str
    """``activity``, ``orchestration``, ``timer``, ``entity``, ``event``, ``start`` or ``end``."""
    name: str
    started: str | None
    ended: str | None = None
    state: str = "running"
    """One of completed, failed, running, fired, pending, unneeded (timers), received (events), signalled
    (entity operations nobody waits for), cancelled."""
    detail: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    result: Any = None
    instance_id: str | None = None
    fire_at: str | None = None
    """When a timer was set to fire."""


_EVENT_TYPES = (
    "ExecutionStarted",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionTerminated",
    "TaskScheduled",
    "TaskCompleted",
    "TaskFailed",
    "SubOrchestrationInstanceCreated",
    "SubOrchestrationInstanceCompleted",
    "SubOrchestrationInstanceFailed",
    "TimerCreated",
    "TimerFired",
    "OrchestratorStarted",
    "OrchestratorCompleted",
    "EventSent",
    "EventRaised",
)
"""History event types by their number (stored histories); status APIs name them."""


def _event_type(event: dict[str, Any]) -> str:
    kind = event.get("EventType")
    if isinstance(kind, int) and 0 <= kind < len(_EVENT_TYPES):
        return _EVENT_TYPES[kind]
    return str(kind)


def _name(event: dict[str, Any]) -> str:
    return str(event.get("FunctionName") or event.get("Name") or "")


def _error_text(event: dict[str, Any]) -> str:
    reason = str(event.get("Reason") or "").strip()
    details = str(event.get("Details") or "").strip()
    text = reason if not details or details in reason else f"{reason} {details}".strip()
    return text.split("$OutOfProcData$", 1)[0].strip()[:500] or "failed"


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _entity_request(event: dict[str, Any]) -> tuple[str, str | None, bool] | None:
    """Read an ``EventSent`` to a Durable Entity: (step name, request id, is a signal).

    An entity's instance id is ``@name@key``; the message (``Input``) carries the operation, the request id
    its response will be raised under, and whether it is a one-way signal. None for any other ``EventSent``.
    """
    target = str(event.get("InstanceId") or "")
    if not target.startswith("@"):
        return None
    entity, _, key = target[1:].partition("@")
    message = as_json_value(event.get("Input"))
    message = message if isinstance(message, dict) else {}
    operation = str(message.get("op") or event.get("Name") or "operation")
    request_id = message.get("id")
    name = f"{entity}.{operation}" + (f" ({key})" if key else "")
    return name, str(request_id) if request_id else None, bool(message.get("signal"))


def _is_entity_response(name: str) -> bool:
    # Responses are raised under the request's id: a GUID, with the engine's own prefix or without it.
    return _GUID.fullmatch(name.rpartition(":")[2]) is not None


def build_timeline(history: list[dict[str, Any]]) -> list[TimelineStep]:
    """Turn an orchestration history into timeline steps, in the order they began.

    A retried activity is one step with an attempt per execution: its failures and the retry timers between
    them (a timer created right after a failure is the host's retry delay) fold into it. A call to a Durable
    Entity (the OpenAI token budget, say) is one step from the message sent to the response raised back, not
    an event named after a request id.
    """
    steps: list[TimelineStep] = []
    by_task: dict[Any, TimelineStep] = {}
    timers: dict[Any, TimelineStep] = {}
    failed_activity: dict[str, TimelineStep] = {}
    entity_calls: dict[str, TimelineStep] = {}
    unnamed_entity_calls: list[TimelineStep] = []
    previous_type = ""
    for event in history:
        kind = _event_type(event)
        stamp = event.get("Timestamp")
        if kind == "ExecutionStarted":
            steps.append(TimelineStep("start", _name(event) or "orchestration", stamp, stamp, "completed"))
        elif kind == "TaskScheduled":
            name = _name(event)
            step = failed_activity.pop(name, None)
            if step is None:
                step = TimelineStep("activity", name, stamp)
                steps.append(step)
            step.state = "running"
            step.attempts.append(Attempt(started=stamp))
            by_task[event.get("EventId")] = step
        elif kind in ("TaskCompleted", "TaskFailed"):
            step = by_task.get(event.get("TaskScheduledId"))
            if step is None:  # Azure's condensed history: no scheduling event, the time comes with it
                name = _name(event)
                step = failed_activity.pop(name, None)
                scheduled = event.get("ScheduledTime") or stamp
                if step is None:
                    step = TimelineStep("activity", name, scheduled)
                    steps.append(step)
                step.attempts.append(Attempt(started=scheduled))
            attempt = step.attempts[-1] if step.attempts else Attempt(started=step.started)
            attempt.ended = stamp
            step.ended = stamp
            if kind == "TaskCompleted":
                step.state = "completed"
                step.result = event.get("Result")
            else:
                step.state = "failed"
                attempt.error = _error_text(event)
                failed_activity[step.name] = step
        elif kind == "SubOrchestrationInstanceCreated":
            step = TimelineStep("orchestration", _name(event), stamp, instance_id=event.get("InstanceId"))
            steps.append(step)
            by_task[event.get("EventId")] = step
        elif kind in ("SubOrchestrationInstanceCompleted", "SubOrchestrationInstanceFailed"):
            step = by_task.get(event.get("TaskScheduledId")) or TimelineStep(
                "orchestration", _name(event), event.get("ScheduledTime") or stamp
            )
            if step not in steps:
                steps.append(step)
            step.ended = stamp
            step.state = "completed" if kind.endswith("Completed") else "failed"
            step.result = event.get("Result")
            if step.state == "failed":
                step.detail = _error_text(event)
        elif kind == "TimerCreated":
            retrying = previous_type == "TaskFailed" and failed_activity
            step = TimelineStep(
                "timer", "retry delay" if retrying else "durable timer", stamp, state="pending"
            )
            step.fire_at = event.get("FireAt")
            timers[event.get("EventId")] = step
            if not retrying:
                steps.append(step)
        elif kind == "TimerFired":
            step = timers.get(event.get("TimerId")) or TimelineStep("timer", "durable timer", stamp)
            if step not in steps and step.name != "retry delay":
                steps.append(step)
            step.ended = stamp
            step.state = "fired"
        elif kind == "EventSent" and (request := _entity_request(event)) is not None:
            name, request_id, signal = request
            step = TimelineStep("entity", name, stamp, stamp if signal else None)
            step.state = "signalled" if signal else "running"
            steps.append(step)
            if not signal:
                if request_id:
                    entity_calls[request_id] = step
                else:
                    unnamed_entity_calls.append(step)
        elif kind == "EventRaised":
            name = _name(event)
            answered = entity_calls.pop(name, None)
            if answered is None and unnamed_entity_calls and _is_entity_response(name):
                answered = unnamed_entity_calls.pop(0)
            if answered is not None:
                answered.ended = stamp
                answered.state = "completed"
                answered.result = event.get("Input")
            else:
                step = TimelineStep("event", name, stamp, stamp, "received", result=event.get("Input"))
                steps.append(step)
        elif kind in ("ExecutionCompleted", "ExecutionFailed", "ExecutionTerminated"):
            status = str(event.get("OrchestrationStatus") or kind.removeprefix("Execution"))
            step = TimelineStep("end", status.lower(), stamp, stamp, status.lower())
            if kind != "ExecutionCompleted" or status.lower() == "failed":
                step.detail = _error_text(event) if event.get("Reason") else str(event.get("Input") or "")
            steps.append(step)
        if kind not in ("OrchestratorStarted", "OrchestratorCompleted"):
            previous_type = kind
    finished = any(step.kind == "end" for step in steps)
    for step in steps:
        if finished and step.kind == "timer" and step.state == "pending":
            # A deadline the awaited event beat, or a wait the run ended before: it never had to fire.
            step.state = "unneeded"
        if finished and step.kind in ("activity", "entity") and step.state == "running":
            step.state = "cancelled"
    return steps


def results_of(steps: list[TimelineStep], activity: str) -> list[dict[str, Any]]:
    """Return the results of every completed run of ``activity``, in order."""
    found = []
    for step in steps:
        if step.kind == "activity" and step.name == activity and step.state == "completed":
            value = as_json_value(step.result)
            if isinstance(value, dict):
                found.append(value)
    return found


def _model(model: type[_M], value: Any) -> _M | None:
    if value is None:
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


@dataclass
class CallAttempt:
    """One call the interview placed, and how it went."""

    number: int
    placed_at: str | None
    outcome: str
    ended_at: str | None = None


@dataclass
class CandidateDetail:
    """Everything the candidate page shows."""

    row: CandidateRow
    job_title: str | None
    timeline: list[TimelineStep]
    interview_timeline: list[TimelineStep]
    profile: CandidateProfile | None = None
    screening: ScreeningResult | None = None
    slots: list[InterviewSlot] = field(default_factory=list)
    calls: list[CallAttempt] = field(default_factory=list)
    score: InterviewScore | None = None
    transcript: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    review_deadline: datetime | None = None


def _history(status: Any) -> list[dict[str, Any]]:
    events = getattr(status, "history", None) or getattr(status, "historyEvents", None) or []
    return [event for event in events if isinstance(event, dict)]


def _call_attempts(steps: list[TimelineStep]) -> list[CallAttempt]:
    calls: list[CallAttempt] = []
    for step in steps:
        if step.kind == "activity" and step.name == "place_interview_call":
            calls.append(
                CallAttempt(len(calls) + 1, step.started, "ringing" if step.state != "failed" else "failed")
            )
            if step.state == "failed":
                calls[-1].outcome = f"could not be placed: {step.attempts[-1].error if step.attempts else ''}"
        elif step.kind == "event" and calls:
            current = calls[-1]
            if step.name == "CallConnected":
                current.outcome = "connected"
            elif step.name == "CallFailed":
                body = as_json_value(step.result)
                code = body.get("code") if isinstance(body, dict) else None
                current.outcome = f"not answered (code {code})" if code else "not answered"
                current.ended_at = step.started
            elif step.name == "CallEnded":
                current.outcome = "completed" if current.outcome == "connected" else current.outcome
                current.ended_at = step.started
        elif step.kind == "timer" and step.state == "fired" and calls and calls[-1].outcome == "ringing":
            calls[-1].outcome = "no answer (ring timeout)"
            calls[-1].ended_at = step.ended
    return calls


async def candidate_detail(client: Any, instance_id: str) -> CandidateDetail | None:
    """Read one candidate with its history and its interview's; None when there is no such candidate."""
    status = await instance_status(
        client, instance_id, show_history=True, show_history_output=True, show_input=True
    )
    if not status or status.name != CANDIDATE_PIPELINE:
        return None
    interview_status = await instance_status(
        client, interview_instance_id(instance_id), show_history=True, show_history_output=True
    )
    snapshot = InstanceSnapshot.from_status(status)
    interview = InstanceSnapshot.from_status(interview_status) if interview_status else None
    row = _row(snapshot, interview)
    timeline = build_timeline(_history(status))
    interview_timeline = build_timeline(_history(interview_status)) if interview_status else []

    detail = CandidateDetail(
        row=row, job_title=None, timeline=timeline, interview_timeline=interview_timeline
    )
    profiles = results_of(timeline, "parse_candidate_profile")
    detail.profile = _model(CandidateProfile, profiles[-1].get("profile")) if profiles else None
    screenings = results_of(timeline, "screen_candidate")
    detail.screening = _model(ScreeningResult, screenings[-1].get("result")) if screenings else None
    detail.slots = [
        slot
        for result in results_of(interview_timeline, "schedule_interview")
        if (slot := _model(InterviewSlot, result.get("slot"))) is not None
    ]
    detail.calls = _call_attempts(interview_timeline)
    scores = results_of(timeline, "score_transcript")
    detail.score = _model(InterviewScore, scores[-1].get("score")) if scores else None
    transcripts = results_of(timeline, "transcribe_recording")
    transcript_ref = _model(TranscriptRef, transcripts[-1].get("transcript")) if transcripts else None
    if transcript_ref is not None:
        detail.transcript = await asyncio.to_thread(_read_text, transcript_ref)
    detail.decisions = [
        value
        for step in timeline
        if step.kind == "event" and step.name == "RecruiterDecision"
        if isinstance(value := as_json_value(step.result), dict)
    ]
    if row.view.get("stage") == Stage.AWAITING_REVIEW.value and row.stage_updated_at is not None:
        detail.review_deadline = row.stage_updated_at + REVIEW_DEADLINE
    job_id = row.view.get("job_id")
    if job_id:
        detail.job_title = await asyncio.to_thread(_job_title, str(job_id))
    return detail


def _read_text(ref: BlobRef) -> str | None:
    from shared.storage import download_text

    try:
        return download_text(BlobRef(container=ref.container, name=ref.name))
    except Exception:  # a transcript blob removed by retention: the page still shows the rest
        return None


def _job_title(job_id: str) -> str | None:
    from shared.storage import load_job

    try:
        return load_job(job_id).title
    except Exception:
        return None


# ----------------------------------------------------------------------------------------------------
# Review queue


@dataclass
class ReviewItem:
    """A candidate awaiting a recruiter's decision."""

    row: CandidateRow
    deadline: datetime | None
    screening: ScreeningResult | None


async def review_queue(client: Any, job_ids: list[str]) -> list[ReviewItem]:
    """Every candidate awaiting review across ``job_ids``, oldest deadline first."""
    items: list[ReviewItem] = []
    for job_id in job_ids:
        # Only running instances can await a review: the host filters, and pages, for us.
        statuses = await query_instances(
            client, prefix=job_instance_prefix(job_id), runtime_status=[OrchestrationRuntimeStatus.Running]
        )
        waiting = [
            str(status.instance_id)
            for status in statuses
            if status
            and status.name == CANDIDATE_PIPELINE
            and isinstance(as_json_value(status.custom_status), dict)
            and as_json_value(status.custom_status).get("stage") == Stage.AWAITING_REVIEW.value
            and getattr(status.runtime_status, "value", status.runtime_status) == "Running"
        ]
        for instance_id in waiting:
            status = await instance_status(
                client, instance_id, show_history=True, show_history_output=True, show_input=True
            )
            if not status:
                continue
            row = _row(InstanceSnapshot.from_status(status))
            screenings = results_of(build_timeline(_history(status)), "screen_candidate")
            screening = _model(ScreeningResult, screenings[-1].get("result")) if screenings else None
            deadline = row.stage_updated_at + REVIEW_DEADLINE if row.stage_updated_at else None
            items.append(ReviewItem(row=row, deadline=deadline, screening=screening))
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda item: item.deadline or far_future)


def time_left(deadline: datetime | None, now: datetime) -> str:
    """``2 d 23 h left``, ``5 min left`` or ``overdue``: the words a person reads, not a timestamp."""
    if deadline is None:
        return "no deadline"
    remaining = deadline - now
    if remaining <= timedelta(0):
        return "overdue"
    days, seconds = remaining.days, remaining.seconds
    if days:
        return f"{days} d {seconds // 3600} h left"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min left"
    return f"{max(1, seconds // 60)} min left"


# ----------------------------------------------------------------------------------------------------
# Batch screenings


async def screenings_of(client: Any, job_id: str) -> list[dict[str, Any]]:
    """Every batch screening of a job (its view), newest first."""
    statuses = await query_instances(client, prefix=f"{job_id}.batch-")
    views = [
        screening_view(InstanceSnapshot.from_status(status))
        for status in statuses
        if status and status.name == BATCH_SCREENING
    ]
    return sorted(views, key=lambda view: view.get("created_at") or "", reverse=True)


async def screening(client: Any, instance_id: str) -> dict[str, Any] | None:
    """One batch screening's view, or None."""
    status = await instance_status(client, instance_id)
    if not status or status.name != BATCH_SCREENING:
        return None
    return screening_view(InstanceSnapshot.from_status(status))
