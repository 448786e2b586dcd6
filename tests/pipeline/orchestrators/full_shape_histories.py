"""Build, by hand, histories in the full shape Azure's host hands the Python worker.

devhost stores a trimmed history (no ``OrchestratorCompleted``, only the fields the SDK reads); on Azure the
Durable extension serializes DurableTask.Core's ``HistoryEvent`` objects with Json.NET's defaults
(``OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString``): PascalCase keys, every
property of the event's class including nulls, enums as integers, timestamps with seven fractional digits.
Each episode is ``OrchestratorStarted``, the messages it received, the events its actions produced
(``TaskScheduled``, ``TimerCreated``, ``SubOrchestrationInstanceCreated``, ``ExecutionCompleted``) and
``OrchestratorCompleted`` (``TaskOrchestrationDispatcher``). Retries of ``CallActivityWithRetry`` are the
host's: a ``TaskFailed`` is followed in the same episode by a ``TimerCreated`` for the retry delay, and the
episode its ``TimerFired`` starts schedules the activity again under a new EventId. Task and timer ids come
from one counter in the order the actions (and the host's retry timers) are created. A termination is an
episode of its own: ``ExecutionTerminated`` and an ``ExecutionCompleted`` with status Terminated.

Nothing here runs the orchestrator to produce the events: they are written from those facts and from the
activities' input and output contracts (``shared.models``). ``main()`` writes the file once, after checking
that the SDK's replay of it schedules exactly what the history says was scheduled and ends with the output
its ``ExecutionCompleted`` holds; a file that exists is never rewritten.

``.venv/bin/python -m tests.pipeline.orchestrators.full_shape_histories``
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrators.identity import candidate_instance_id
from shared.models import (
    BlobRef,
    CandidateContact,
    CandidateOutcome,
    CandidatePipelineInput,
    CandidateProfile,
    CandidateReport,
    ExtractResumeTextInput,
    ParseCandidateProfileInput,
    RecruiterDecision,
    ScreenCandidateInput,
    ScreeningResult,
    Stage,
    TextRef,
    WriteCandidateReportInput,
)
from shared.retry import AI_RETRY
from tests.pipeline.orchestrators.fakes import PROFILE, screening
from tests.pipeline.orchestrators.replay import HISTORIES_DIR, history_scheduled_calls, replay

# DurableTask.Core's OrchestrationStatus values, serialized as integers.
ORCHESTRATION_STATUS_COMPLETED = 1
ORCHESTRATION_STATUS_TERMINATED = 5


def net_timestamp(moment: datetime) -> str:
    """Format ``moment`` as Json.NET writes a UTC ``DateTime``: seven fractional digits and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


class AzureHistory:
    """Events of one execution, appended episode by episode in the order Azure's host stores them."""

    def __init__(self, instance_id: str, execution_id: str) -> None:
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._now: datetime | None = None

    def _append(self, event_type: int, at: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        event = {
            "EventId": event_id,
            "IsPlayed": True,
            "Timestamp": net_timestamp(at),
            "EventType": event_type,
        }
        event.update(fields)
        self.events.append(event)
        return event

    def _take_id(self) -> int:
        task_id = self._next_id
        self._next_id += 1
        return task_id

    @property
    def now(self) -> datetime:
        """The current episode's time (its ``OrchestratorStarted`` timestamp)."""
        assert self._now is not None, "events belong to an episode"
        return self._now

    @contextmanager
    def episode(self, at: datetime) -> Iterator[AzureHistory]:
        """One orchestrator episode: ``OrchestratorStarted`` at ``at`` ... ``OrchestratorCompleted``."""
        self._now = at
        self._append(12, at)
        yield self
        self._append(13, at + timedelta(milliseconds=3))
        self._now = None

    def execution_started(self, name: str, input_json: str, *, received: datetime) -> None:
        """``ExecutionStarted`` with every property DurableTask.Core's class serializes."""
        self._append(
            0,
            received,
            OrchestrationInstance={"InstanceId": self.instance_id, "ExecutionId": self.execution_id},
            ParentInstance=None,
            Name=name,
            Version="",
            Input=input_json,
            Tags=None,
            Correlation=None,
            ParentTraceContext=None,
            ScheduledStartTime=None,
            Generation=0,
        )

    def task_scheduled(self, name: str, payload: dict[str, Any]) -> int:
        """Schedule an activity as the action of this episode; returns its task id."""
        task_id = self._take_id()
        self._append(4, self.now, task_id, Name=name, Version="", Input=json.dumps(payload), Tags=None)
        return task_id

    def task_completed(self, task_id: int, result: Any, *, at: datetime) -> None:
        """An activity's result arriving (its timestamp is when the worker finished it)."""
        self._append(5, at, TaskScheduledId=task_id, Result=json.dumps(result))

    def task_failed(self, task_id: int, reason: str, details: str, *, at: datetime) -> None:
        """An activity attempt that raised."""
        self._append(6, at, TaskScheduledId=task_id, Reason=reason, Details=details, FailureDetails=None)

    def timer_created(self, fire_at: datetime) -> int:
        """A durable timer (the orchestrator's, or the host's retry delay); returns its id."""
        timer_id = self._take_id()
        self._append(10, self.now, timer_id, FireAt=net_timestamp(fire_at))
        return timer_id

    def timer_fired(self, timer_id: int, fire_at: datetime, *, at: datetime) -> None:
        """A timer's message arriving."""
        self._append(11, at, TimerId=timer_id, FireAt=net_timestamp(fire_at))

    def event_raised(self, name: str, payload: Any, *, at: datetime) -> None:
        """An external event arriving."""
        self._append(15, at, Name=name, Input=json.dumps(payload))

    def execution_completed(self, status: int, result: Any) -> None:
        """The end of the execution, appended by the episode that ended it."""
        self._append(1, self.now, OrchestrationStatus=status, Result=json.dumps(result), FailureDetails=None)

    def execution_terminated(self, reason: str, *, at: datetime) -> None:
        """A terminate request arriving."""
        self._append(3, at, Input=json.dumps(reason))


JOB_ID = "backend-engineer"
RESUME = BlobRef(container="resumes", name=f"{JOB_ID}/grace.pdf", content_type="application/pdf")
CONTACT = CandidateContact(name="Grace Example", phone="+15550102020", time_zone="America/New_York")
START = datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)
TRANSIENT_REASON = (
    "Activity function 'parse_candidate_profile' failed: TransientError: [error:rate_limited] "
    "429 Too Many Requests"
)
TRANSIENT_DETAILS = "shared.errors.TransientError: [error:rate_limited] 429 Too Many Requests"
TERMINATION_REASON = "position closed"


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json")
    return dumped


@dataclass
class _ReviewOpen:
    """A ``candidate_pipeline`` history up to an open recruiter review, and what it was built from."""

    history: AzureHistory
    instance_id: str
    input_json: str
    profile: CandidateProfile
    screened: ScreeningResult
    at: datetime
    review_deadline: datetime


def _until_review_opens() -> _ReviewOpen:
    """Episodes from the start to the open review: a throttled parse is retried after the host's delay."""
    instance_id = candidate_instance_id(JOB_ID, RESUME.name)
    pipeline_input = CandidatePipelineInput(job_id=JOB_ID, resume=RESUME, contact=CONTACT)
    input_json = json.dumps(_dump(pipeline_input))
    history = AzureHistory(instance_id, execution_id="6f1c2d0e9a8b4c7d8e9f0a1b2c3d4e5f")
    text = TextRef(container="artifacts", name=f"{instance_id}/resume.txt", page_count=2, char_count=900)
    profile = CandidateProfile.model_validate({**PROFILE, "full_name": CONTACT.name, "phone": CONTACT.phone})
    screened = ScreeningResult.model_validate(screening("needs_review", 0.55))

    at = START
    with history.episode(at):
        history.execution_started("candidate_pipeline", input_json, received=at - timedelta(milliseconds=40))
        extract = history.task_scheduled(
            "extract_resume_text",
            _dump(ExtractResumeTextInput(instance_id=instance_id, job_id=JOB_ID, resume=RESUME)),
        )
    at += timedelta(seconds=2)
    with history.episode(at):
        history.task_completed(extract, {"text": _dump(text)}, at=at - timedelta(milliseconds=5))
        parse = history.task_scheduled(
            "parse_candidate_profile",
            _dump(ParseCandidateProfileInput(instance_id=instance_id, resume_text=text)),
        )
    at += timedelta(seconds=1)
    with history.episode(at):
        history.task_failed(parse, TRANSIENT_REASON, TRANSIENT_DETAILS, at=at - timedelta(milliseconds=5))
        retry_at = at + timedelta(milliseconds=AI_RETRY.first_retry_interval_in_milliseconds)
        retry_timer = history.timer_created(retry_at)
    at = retry_at + timedelta(milliseconds=20)
    with history.episode(at):
        history.timer_fired(retry_timer, retry_at, at=retry_at)
        parse_again = history.task_scheduled(
            "parse_candidate_profile",
            _dump(ParseCandidateProfileInput(instance_id=instance_id, resume_text=text)),
        )
    at += timedelta(seconds=3)
    with history.episode(at):
        history.task_completed(parse_again, {"profile": _dump(profile)}, at=at - timedelta(milliseconds=5))
        screen = history.task_scheduled(
            "screen_candidate",
            _dump(ScreenCandidateInput(instance_id=instance_id, job_id=JOB_ID, profile=profile)),
        )
    at += timedelta(seconds=2)
    with history.episode(at):
        history.task_completed(screen, {"result": _dump(screened)}, at=at - timedelta(milliseconds=5))
        review_deadline = at + timedelta(days=3)
        history.timer_created(review_deadline)
    return _ReviewOpen(history, instance_id, input_json, profile, screened, at, review_deadline)


def _record(opened: _ReviewOpen, runtime_status: str) -> dict[str, Any]:
    return {
        "orchestrator": "candidate_pipeline",
        "instance_id": opened.instance_id,
        "parent_instance_id": None,
        "input": opened.input_json,
        "upper_schema_version": 2,
        "runtime_status": runtime_status,
        "shape": "azure",
        "history": opened.history.events,
    }


def review_rejected_after_a_retry() -> dict[str, Any]:
    """``candidate_pipeline``: a throttled parse retried after its delay, a review, a recruiter's rejection.

    Covers the host's retry timer, the review deadline timer (cancelled when the decision arrives), an
    external event and the completion, each in Azure's episode shape.
    """
    opened = _until_review_opens()
    history, instance_id = opened.history, opened.instance_id
    decision = RecruiterDecision(decision="reject", recruiter="Linus", note="Not enough Kubernetes.")
    report = {
        "report_json": {"container": "reports", "name": f"{instance_id}/report.json"},
        "report_page": {"container": "reports", "name": f"{instance_id}/report.html"},
    }
    at = opened.at + timedelta(hours=2)
    with history.episode(at):
        history.event_raised("RecruiterDecision", _dump(decision), at=at - timedelta(milliseconds=30))
        write = history.task_scheduled(
            "write_candidate_report",
            _dump(
                WriteCandidateReportInput(
                    instance_id=instance_id,
                    job_id=JOB_ID,
                    outcome=CandidateOutcome.REJECTED_BY_RECRUITER,
                    contact=CONTACT,
                    resume=RESUME,
                    profile=opened.profile,
                    screening=opened.screened,
                    recruiter_decision=decision,
                    completed_at=at,
                )
            ),
        )
    at += timedelta(seconds=1)
    with history.episode(at):
        history.task_completed(write, report, at=at - timedelta(milliseconds=5))
        output = CandidateReport(
            instance_id=instance_id,
            job_id=JOB_ID,
            outcome=CandidateOutcome.REJECTED_BY_RECRUITER,
            stage=Stage.REJECTED,
            candidate_name=opened.profile.full_name,
            screening_score=opened.screened.score,
            screening_decision=opened.screened.decision,
            report_json=BlobRef.model_validate(report["report_json"]),
            report_page=BlobRef.model_validate(report["report_page"]),
        )
        history.execution_completed(ORCHESTRATION_STATUS_COMPLETED, _dump(output))
    return _record(opened, "Completed")


def terminated_in_review() -> dict[str, Any]:
    """``candidate_pipeline`` terminated while its review is open: the termination episode as Azure stores it.

    DurableTask.Core completes a terminated instance itself (``HandleExecutionTerminatedEvent``): the episode
    holds the ``ExecutionTerminated`` message and an ``ExecutionCompleted`` with status Terminated whose
    result is the reason.
    """
    opened = _until_review_opens()
    at = opened.at + timedelta(days=1)
    with opened.history.episode(at):
        opened.history.execution_terminated(TERMINATION_REASON, at=at - timedelta(milliseconds=50))
        opened.history.execution_completed(ORCHESTRATION_STATUS_TERMINATED, TERMINATION_REASON)
    return _record(opened, "Terminated")


def _expected(record: dict[str, Any]) -> dict[str, Any]:
    """What the orchestrator produces on the built history, after checking it agrees with the history."""
    result = replay(record)
    history = record["history"]
    assert result.scheduled_calls() == history_scheduled_calls(history), "actions disagree with the history"
    completed = [e for e in history if e["EventType"] == 1]
    if completed and completed[-1]["OrchestrationStatus"] == ORCHESTRATION_STATUS_COMPLETED:
        assert result.output == json.loads(completed[-1]["Result"]), (
            "output disagrees with ExecutionCompleted"
        )
    return {
        "output": result.output,
        "error": result.error,
        "custom_status": result.custom_status,
        "actions": result.actions,
        "schedule_order_comparable": True,
    }


BUILDERS = {
    "candidate_pipeline_azure_shape_review_rejected": review_rejected_after_a_retry,
    "candidate_pipeline_azure_shape_terminated": terminated_in_review,
}


def main() -> None:
    """Write each built history that is not committed yet."""
    for name, build in BUILDERS.items():
        path = HISTORIES_DIR / f"{name}.json"
        if path.exists():
            print(f"{path.name} is committed: left as it is")
            continue
        record = build()
        record["expected"] = _expected(record)
        path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"built {path.name}: {len(record['history'])} events")


if __name__ == "__main__":
    main()
