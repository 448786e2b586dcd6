"""Record the replay histories under ``tests/pipeline/histories/`` (run deliberately, never to fix a test).

``.venv/bin/python -m tests.pipeline.orchestrators.record_histories`` runs a few scenarios on devhost's
engine with the fake activities, then stores each finished instance's input and history with what the
orchestrator produced on it. ``test_replay.py`` replays them on every test run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
from tests.pipeline.orchestrators.fakes import ANSWER, DECLINE, PipelineFakes, failure
from tests.pipeline.orchestrators.replay import HISTORIES_DIR, history_scheduled_functions, replay


def _record(host: DurableTestHost, instance_id: str, name: str, *, retries: bool = False) -> None:
    status = host.status(instance_id)
    document = host.engine.status(instance_id, show_input=True)
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
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {path.name}: {status.runtime_status}, {len(record['history'])} events")


def _scenario(fakes: PipelineFakes, run: Callable[[DurableTestHost, PipelineFakes], None]) -> None:
    from function_app import app

    with DurableTestHost(app, fakes=fakes.activities()) as host:
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


def main() -> None:
    """Record every scenario's histories."""
    HISTORIES_DIR.mkdir(parents=True, exist_ok=True)
    _scenario(PipelineFakes(), happy_path)
    _scenario(PipelineFakes(decision="needs_review", score=0.5), review_approved)
    _scenario(PipelineFakes(), corrupt_resume)
    _scenario(PipelineFakes(call_script=[DECLINE, ANSWER]), no_answer_then_reschedule)
    _scenario(PipelineFakes(), small_batch)


if __name__ == "__main__":
    main()
