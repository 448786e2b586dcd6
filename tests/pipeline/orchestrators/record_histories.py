"""Record the replay histories under ``tests/pipeline/histories/`` (run deliberately, never to fix a test).

``.venv/bin/python -m tests.pipeline.orchestrators.record_histories [scenario ...]`` runs scenarios on
devhost's engine with the fake activities, then stores each instance's input and history with what the
orchestrator produced on it. ``test_replay.py`` replays them on every test run. A history file that exists
is never overwritten: it stands for an instance already running, and a test that stops replaying it has
found a breaking change, not a stale file. Name new scenarios to record only those.

``full_shape_histories.py`` beside this module builds the history in the shape Azure's host delivers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from devhost.clock import Clock
from devhost.testing import DurableTestHost
from orchestrators.identity import (
    batch_child_instance_id,
    batch_instance_id,
    candidate_instance_id,
    interview_instance_id,
)
from shared.errors import ErrorCode
from shared.models import BatchCandidate, BatchScreeningInput, BlobRef, CandidateContact
from tests.pipeline.orchestrators.conftest import JOB_ID, pipeline_input
from tests.pipeline.orchestrators.fakes import ANSWER, DECLINE, PipelineFakes, failure, transient_then
from tests.pipeline.orchestrators.replay import HISTORIES_DIR, history_scheduled_functions, replay


def _record(host: DurableTestHost, instance_id: str, name: str, *, retries: bool = False) -> None:
    status = host.status(instance_id)
    document = host.engine.status(instance_id, show_input=True)
    terminal = status.runtime_status in ("Completed", "Failed", "Terminated")
    assert terminal, f"{name}: recorded while {status.runtime_status}"
    record: dict[str, Any] = {
        "orchestrator": status.name,
        "instance_id": instance_id,
        "parent_instance_id": instance_id.rsplit(".", 1)[0] if status.name == "interview" else None,
        "input": json.dumps(document["input"]),
        "upper_schema_version": 2,
        "runtime_status": status.runtime_status,
        "history": host.history(instance_id),
    }
    replayed = replay(record)
    if status.runtime_status == "Completed":
        assert replayed.output == status.output, f"{name}: replay disagrees with the engine's output"
    record["expected"] = {
        "output": replayed.output,
        "error": replayed.error,
        "custom_status": replayed.custom_status,
        "actions": replayed.actions,
        "schedule_order_comparable": not retries,
    }
    if not retries:
        assert replayed.scheduled_functions() == history_scheduled_functions(record["history"]), name
    path = HISTORIES_DIR / f"{name}.json"
    if path.exists():
        raise FileExistsError(f"{path.name} is committed: it is never re-recorded (version the orchestrator)")
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {path.name}: {status.runtime_status}, {len(record['history'])} events")


def _scenario(
    fakes: PipelineFakes, run: Callable[[DurableTestHost, PipelineFakes], None], clock: Clock | None = None
) -> None:
    from function_app import app

    with DurableTestHost(app, fakes=fakes.activities(), clock=clock) as host:
        fakes.raise_event = host.raise_event
        run(host, fakes)


def _start_candidate(host: DurableTestHost, resume: str) -> str:
    data = pipeline_input(resume)
    instance_id = candidate_instance_id(JOB_ID, resume)
    host.start("candidate_pipeline", data.model_dump(mode="json"), instance_id=instance_id)
    return instance_id


def happy_path(host: DurableTestHost, fakes: PipelineFakes) -> None:
    instance_id = _start_candidate(host, f"{JOB_ID}/happy.pdf")
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_interviewed")
    _record(host, interview_instance_id(instance_id), "interview_recorded")


def review_approved(host: DurableTestHost, fakes: PipelineFakes) -> None:
    instance_id = _start_candidate(host, f"{JOB_ID}/review.pdf")
    host.raise_event(instance_id, "RecruiterDecision", {"decision": "advance"})
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_review_approved")


def corrupt_resume(host: DurableTestHost, fakes: PipelineFakes) -> None:
    fakes.overrides["extract_resume_text"] = lambda _: failure(ErrorCode.CORRUPT_DOCUMENT, "not a PDF")
    instance_id = _start_candidate(host, f"{JOB_ID}/corrupt.pdf")
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_failed")


def no_answer_then_reschedule(host: DurableTestHost, fakes: PipelineFakes) -> None:
    def reschedule_once(payload: dict[str, Any]) -> None:
        if payload["attempt"] == 0:
            fakes.raise_event(str(payload["instance_id"]), "RescheduleRequested", {"reason": "clash"})

    fakes.on_schedule = reschedule_once
    instance_id = _start_candidate(host, f"{JOB_ID}/busy.pdf")
    host.run_until_complete(instance_id)
    _record(host, interview_instance_id(instance_id), "interview_rescheduled_no_answer_then_recorded")


def small_batch(host: DurableTestHost, fakes: PipelineFakes) -> None:
    names = [f"{JOB_ID}/{person}.pdf" for person in ("ann", "bob", "cat")]
    batch_id = batch_instance_id(JOB_ID, names)
    fakes.screening_by_resume = {batch_child_instance_id(batch_id, names[1]): ("reject", 0.1)}
    batch = BatchScreeningInput(
        job_id=JOB_ID,
        candidates=[
            BatchCandidate(
                resume=BlobRef(container="resumes", name=n), contact=CandidateContact(phone="+15550100001")
            )
            for n in names
        ],
        max_concurrency=2,
    )
    host.start("batch_screening", batch.model_dump(mode="json"), instance_id=batch_id)
    host.run_until_complete(batch_id)
    _record(host, batch_id, "batch_screening_three")


def retried_then_rejected(host: DurableTestHost, fakes: PipelineFakes) -> None:
    """Two transient faults reading the resume, healed by the retry policy; screening then rejects."""
    fakes.overrides["extract_resume_text"] = transient_then(2, PipelineFakes._extract)
    instance_id = _start_candidate(host, f"{JOB_ID}/flaky.pdf")
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_retried_then_rejected", retries=True)


def retries_exhausted(host: DurableTestHost, fakes: PipelineFakes) -> None:
    """Every attempt at reading the resume fails: the last failure reaches the orchestrator, which fails."""
    fakes.overrides["extract_resume_text"] = transient_then(1_000, PipelineFakes._extract)
    instance_id = _start_candidate(host, f"{JOB_ID}/unreachable.pdf")
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_retries_exhausted", retries=True)


def interview_crashed(host: DurableTestHost, fakes: PipelineFakes) -> None:
    """The interview sub-orchestration fails (a booking it cannot read): the parent fails with its reason."""
    fakes.overrides["schedule_interview"] = lambda _: {"slot": {"start": "not a time"}}
    instance_id = _start_candidate(host, f"{JOB_ID}/crash.pdf")
    host.run_until_complete(instance_id)
    _record(host, instance_id, "candidate_pipeline_interview_failed")


def terminated_in_review(host: DurableTestHost, fakes: PipelineFakes) -> None:
    """A recruiter review that is still open when an operator terminates the instance."""
    instance_id = _start_candidate(host, f"{JOB_ID}/terminated.pdf")
    # On a real clock the three-day review deadline cannot pass: idle means waiting for the recruiter.
    host.run(host.engine.wait_idle(30))
    assert host.status(instance_id).custom_status["stage"] == "awaiting_review"
    host.terminate(instance_id, "position closed")
    _record(host, instance_id, "candidate_pipeline_terminated_in_review")


def no_slot_available(host: DurableTestHost, fakes: PipelineFakes) -> None:
    """No interview slot can be booked: the interview ends with a typed failure, which fails the candidate."""
    fakes.overrides["schedule_interview"] = lambda _: failure(ErrorCode.NO_SLOT_AVAILABLE, "no free slot")
    instance_id = _start_candidate(host, f"{JOB_ID}/no-slot.pdf")
    host.run_until_complete(instance_id)
    _record(host, interview_instance_id(instance_id), "interview_no_slot_available")


_Scenario = Callable[[DurableTestHost, PipelineFakes], None]
SCENARIOS: dict[str, tuple[Callable[[], PipelineFakes], _Scenario, Callable[[], Clock] | None]] = {
    "happy_path": (PipelineFakes, happy_path, None),
    "review_approved": (lambda: PipelineFakes(decision="needs_review", score=0.5), review_approved, None),
    "corrupt_resume": (PipelineFakes, corrupt_resume, None),
    "no_answer_then_reschedule": (
        lambda: PipelineFakes(call_script=[DECLINE, ANSWER]),
        no_answer_then_reschedule,
        None,
    ),
    "small_batch": (PipelineFakes, small_batch, None),
    "retried_then_rejected": (
        lambda: PipelineFakes(decision="reject", score=0.2),
        retried_then_rejected,
        None,
    ),
    "retries_exhausted": (PipelineFakes, retries_exhausted, None),
    "interview_crashed": (PipelineFakes, interview_crashed, None),
    "no_slot_available": (PipelineFakes, no_slot_available, None),
    "terminated_in_review": (
        lambda: PipelineFakes(decision="needs_review", score=0.5),
        terminated_in_review,
        Clock.real,
    ),
}


def main(names: list[str]) -> None:
    """Record the named scenarios' histories (all of them when none is named)."""
    HISTORIES_DIR.mkdir(parents=True, exist_ok=True)
    for name in names or list(SCENARIOS):
        make_fakes, run, make_clock = SCENARIOS[name]
        try:
            _scenario(make_fakes(), run, make_clock() if make_clock else None)
        except FileExistsError as committed:
            print(f"{name}: {committed}")


if __name__ == "__main__":
    main(sys.argv[1:])
