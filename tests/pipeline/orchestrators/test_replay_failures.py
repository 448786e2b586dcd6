"""Replays of the committed histories where things went wrong: retries, exhausted retries, a failed
sub-orchestration and a termination. Each asserts what the orchestrator decides on that history (the next
actions, the outcome, the reason) and that the history itself shows the host's side of it (the retry timers
with their delays, the failure events), so neither a change of the orchestrator nor a misread history passes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.pipeline.orchestrators.replay import load, replay

ORCHESTRATOR_STARTED, TASK_SCHEDULED, TASK_COMPLETED, TASK_FAILED = 12, 4, 5, 6
SUB_ORCHESTRATION_CREATED, SUB_ORCHESTRATION_FAILED = 7, 9
TIMER_CREATED, TIMER_FIRED, EXECUTION_TERMINATED = 10, 11, 3


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _of_type(history: list[dict[str, Any]], event_type: int) -> list[dict[str, Any]]:
    return [event for event in history if event["EventType"] == event_type]


def _episode_start_before(history: list[dict[str, Any]], event: dict[str, Any]) -> datetime:
    index = history.index(event)
    started = next(e for e in reversed(history[:index]) if e["EventType"] == ORCHESTRATOR_STARTED)
    return _time(started["Timestamp"])


def _retry_delays(history: list[dict[str, Any]]) -> list[timedelta]:
    """The delay of every retry timer: from the episode that saw the failure to the timer's FireAt."""
    return [
        _time(timer["FireAt"]) - _episode_start_before(history, timer)
        for timer in _of_type(history, TIMER_CREATED)
    ]


def _retry_options(record: dict[str, Any], function_name: str) -> tuple[timedelta, int]:
    """The retry policy the orchestrator asked for when the history was recorded: (first interval, attempts).

    Read from the recorded actions, not from today's ``shared.retry``: the host retried by the policy in the
    actions it was given, and a later change of a policy does not change a history already written.
    """

    def walk(action: Any) -> dict[str, Any] | None:
        if isinstance(action, list):
            return next((found for item in action if (found := walk(item)) is not None), None)
        if isinstance(action, dict):
            if action.get("functionName") == function_name and "retryOptions" in action:
                options: dict[str, Any] = action["retryOptions"]
                return options
            return walk(action.get("compoundActions") or [])
        return None

    options = walk(record["expected"]["actions"])
    assert options is not None, f"no retried call of {function_name} in the recorded actions"
    return timedelta(milliseconds=options["firstRetryIntervalInMilliseconds"]), options["maxNumberOfAttempts"]


def _cut_after(history: list[dict[str, Any]], event: dict[str, Any]) -> list[dict[str, Any]]:
    """The history up to (and with) the episode that holds ``event``, as the host had it at that point."""
    index = history.index(event)
    next_start = next(
        (i for i in range(index + 1, len(history)) if history[i]["EventType"] == ORCHESTRATOR_STARTED),
        len(history),
    )
    return history[:next_start]


def test_transient_faults_are_retried_after_the_policys_delay_and_then_the_run_goes_on() -> None:
    record = load("candidate_pipeline_retried_then_rejected")
    history = record["history"]

    failed = _of_type(history, TASK_FAILED)
    assert len(failed) == 2
    assert all("[error:service_unavailable]" in event["Reason"] for event in failed)
    # The host answered each failure with a timer of the policy's first interval, then scheduled again.
    retry_delay, _ = _retry_options(record, "extract_resume_text")
    assert _retry_delays(history) == [retry_delay, retry_delay]
    fired = [event["TimerId"] for event in _of_type(history, TIMER_FIRED)]
    assert fired == [event["EventId"] for event in _of_type(history, TIMER_CREATED)]
    extract_attempts = [e for e in _of_type(history, TASK_SCHEDULED) if e["Name"] == "extract_resume_text"]
    assert len(extract_attempts) == 3
    assert len({e["Input"] for e in extract_attempts}) == 1  # every attempt gets the same input

    result = replay(record)

    assert result.state["isDone"] is True
    assert result.error is None
    assert result.output["outcome"] == "rejected_at_screening"
    assert result.custom_status["stage"] == "rejected"
    assert result.scheduled_functions() == [
        "extract_resume_text",
        "parse_candidate_profile",
        "screen_candidate",
        "write_candidate_report",
    ]


def test_between_a_failed_attempt_and_its_retry_the_orchestrator_asks_for_nothing_new() -> None:
    record = load("candidate_pipeline_retried_then_rejected")
    history = record["history"]
    first_failure = _of_type(history, TASK_FAILED)[0]

    result = replay({**record, "history": _cut_after(history, first_failure)})

    # Retrying is the host's job: the SDK still waits on the same retried task and fails nothing.
    assert result.state["isDone"] is False
    assert result.error is None
    assert result.scheduled_functions() == ["extract_resume_text"]
    assert result.custom_status["stage"] == "extracting"


def test_exhausted_retries_fail_the_run_with_the_faults_code_after_a_failure_report() -> None:
    record = load("candidate_pipeline_retries_exhausted")
    history = record["history"]

    retry_delay, attempts = _retry_options(record, "extract_resume_text")
    failed = _of_type(history, TASK_FAILED)
    assert len(failed) == attempts
    # A timer follows every failure, the last one included. DurableTask.Core's retry interceptor keeps that
    # last timer for old histories' sake (today it fires at once; older versions, and this recording, waited a
    # full delay): either way the orchestrator hears of the failure only once it fired.
    *retries, last = _retry_delays(history)
    assert retries == [retry_delay] * (attempts - 1)
    assert timedelta(0) <= last <= retry_delay
    last_timer_fired = _of_type(history, TIMER_FIRED)[-1]
    assert history.index(last_timer_fired) < history.index(_of_type(history, TASK_SCHEDULED)[-1])

    result = replay(record)

    assert result.state["isDone"] is False  # failed, not done: the host fails the instance
    assert result.error is not None
    assert result.error.startswith(
        "[error:service_unavailable] extract_resume_text: extract_resume_text failed"
    )
    assert result.custom_status["stage"] == "failed"
    assert result.custom_status["failure"]["code"] == "service_unavailable"
    report_name, report_input = result.scheduled_calls()[-1]
    assert report_name == "write_candidate_report"
    assert report_input["outcome"] == "failed"
    assert report_input["failure"]["code"] == "service_unavailable"


def test_a_failed_interview_sub_orchestration_fails_the_candidate_with_its_reason() -> None:
    record = load("candidate_pipeline_interview_failed")
    history = record["history"]

    (created,) = _of_type(history, SUB_ORCHESTRATION_CREATED)
    (failed,) = _of_type(history, SUB_ORCHESTRATION_FAILED)
    assert created["Name"] == "interview"
    assert created["InstanceId"] == f"{record['instance_id']}.interview"
    assert failed["TaskScheduledId"] == created["EventId"]

    result = replay(record)

    assert result.error is not None
    assert result.error.startswith("[error:internal] interview: ")
    assert "Orchestrator function 'interview' failed" in result.error
    assert result.custom_status["stage"] == "failed"
    assert result.custom_status["detail"] == "failed at scheduling"
    interview_name, interview_input = result.scheduled_calls()[3]
    assert interview_name == "interview"
    assert interview_input["parent_instance_id"] == record["instance_id"]
    assert result.scheduled_calls()[-1][0] == "write_candidate_report"
    assert result.scheduled_calls()[-1][1]["outcome"] == "failed"


def test_replay_of_a_history_cut_before_the_sub_orchestration_failed_waits_for_the_interview() -> None:
    record = load("candidate_pipeline_interview_failed")
    history = record["history"]
    (created,) = _of_type(history, SUB_ORCHESTRATION_CREATED)

    result = replay({**record, "history": _cut_after(history, created)})

    assert result.state["isDone"] is False
    assert result.error is None
    assert result.custom_status["stage"] == "scheduling"
    assert result.scheduled_functions()[-1] == "interview"


def test_a_terminated_history_replays_to_the_wait_it_was_terminated_in() -> None:
    record = load("candidate_pipeline_terminated_in_review")
    history = record["history"]

    terminated = history[-1]
    assert terminated["EventType"] == EXECUTION_TERMINATED
    assert json.loads(terminated["Input"]) == "position closed"
    (review_timer,) = _of_type(history, TIMER_CREATED)
    review_opened = _episode_start_before(history, review_timer)
    assert _time(review_timer["FireAt"]) - review_opened == timedelta(days=3)

    result = replay(record)

    # The SDK ignores the termination (the host ends the instance); the orchestrator was waiting for the
    # recruiter, with the review deadline as its only timer, still pending.
    assert result.state["isDone"] is False
    assert result.error is None
    assert result.output is None
    assert result.custom_status["stage"] == "awaiting_review"
    assert result.timers() == [(review_timer["FireAt"], False)]
    waits = _waits(result.actions[-1])
    assert {"RecruiterDecision", "CandidateWithdrew"} <= set(waits)


def _waits(action: Any) -> list[str]:
    if isinstance(action, list):
        return [name for item in action for name in _waits(item)]
    if not isinstance(action, dict):
        return []
    names = [str(action["externalEventName"])] if action.get("actionType") == 6 else []
    for child in action.get("compoundActions") or []:
        names.extend(_waits(child))
    return names


def test_an_interview_that_cannot_book_a_slot_ends_with_its_typed_failure_as_data() -> None:
    record = load("interview_no_slot_available")
    history = record["history"]
    (scheduled,) = _of_type(history, TASK_SCHEDULED)
    assert scheduled["Name"] == "schedule_interview"
    assert json.loads(scheduled["Input"])["instance_id"] == record["instance_id"]

    result = replay(record)

    # A permanent failure is not an orchestrator failure: the interview completes and says why.
    assert result.state["isDone"] is True
    assert result.error is None
    assert result.output["outcome"] == "failed"
    assert result.output["failure"] == {"code": "no_slot_available", "message": "no free slot"}
    assert result.output["call_attempts"] == 0
    assert result.custom_status["stage"] == "failed"
    assert result.custom_status["detail"] == "failed at schedule_interview"
