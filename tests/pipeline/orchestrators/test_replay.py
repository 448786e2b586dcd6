"""Replay the committed histories through the SDK's handle: same actions, same output, same status.

The files under ``tests/pipeline/histories/`` were recorded once from devhost's engine (see
``record_histories.py``). They stand for instances already running in production: an orchestrator change
that makes them replay differently would break those instances, so it must fail here. Never re-record to
make this pass; version the orchestrator instead.
"""

from __future__ import annotations

import pytest

from tests.pipeline.orchestrators.replay import (
    HISTORIES_DIR,
    history_scheduled_calls,
    history_scheduled_functions,
    load,
    replay,
)

HISTORIES = sorted(path.stem for path in HISTORIES_DIR.glob("*.json"))


def test_histories_are_committed() -> None:
    assert {
        "candidate_pipeline_interviewed",
        "candidate_pipeline_review_approved",
        "candidate_pipeline_failed",
        "interview_recorded",
        "interview_rescheduled_no_answer_then_recorded",
        "batch_screening_three",
        "candidate_pipeline_retried_then_rejected",
        "candidate_pipeline_retries_exhausted",
        "candidate_pipeline_interview_failed",
        "candidate_pipeline_terminated_in_review",
        "candidate_pipeline_azure_shape_review_rejected",
        "candidate_pipeline_azure_shape_terminated",
        "interview_no_slot_available",
    } <= set(HISTORIES)


@pytest.mark.parametrize("name", HISTORIES)
def test_replay_reproduces_the_recorded_result(name: str) -> None:
    record = load(name)
    expected = record["expected"]

    result = replay(record)

    # A failed orchestrator is not "done": the SDK reports its error instead, and the host fails the instance.
    assert result.state["isDone"] is (record["runtime_status"] == "Completed")
    assert result.output == expected["output"]
    assert result.error == expected["error"]
    assert result.custom_status == expected["custom_status"]
    assert result.actions == expected["actions"]
    if expected["schedule_order_comparable"]:
        assert result.scheduled_functions() == history_scheduled_functions(record["history"])
    # Every activity and sub-orchestration the history scheduled is asked for again, in the same order (the
    # host's retries aside), with the same input: stricter than the hosts' determinism check, which compares
    # action kinds and names only, because a changed input reaches a running instance's activities too.
    assert result.scheduled_calls() == history_scheduled_calls(record["history"])


def test_failed_history_replays_to_its_machine_readable_reason() -> None:
    result = replay(load("candidate_pipeline_failed"))

    assert result.error is not None
    assert result.error.startswith("[error:corrupt_document] extract_resume_text:")
    assert result.custom_status["stage"] == "failed"


def test_replay_of_a_partial_history_waits_where_the_instance_waited() -> None:
    record = load("interview_recorded")
    history = record["history"]
    # Cut the history after the first episode that booked the slot: the replay must now wait for the slot.
    task_completed, orchestrator_started = 5, 12
    booked = next(i for i, e in enumerate(history) if e["EventType"] == task_completed)
    end = next(i for i in range(booked, len(history)) if history[i]["EventType"] == orchestrator_started)
    partial = {**record, "history": history[:end]}

    result = replay(partial)

    assert result.state["isDone"] is False
    assert result.custom_status["stage"] == "waiting_for_slot"
    assert result.scheduled_functions() == ["schedule_interview"]
