"""Histories in the full shape Azure's host delivers, replayed through the SDK against ``candidate_pipeline``.

They were built by hand from the protocol (see ``full_shape_histories.py``), not recorded on devhost, so they
check what devhost's trimmed histories cannot: that the orchestrator decides the same on the events devhost
leaves out (``OrchestratorCompleted``, ``TaskScheduled``, ``TimerCreated``, the execution's end) and on every
property DurableTask.Core serializes, and on the final episode as the worker receives it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pytest

from tests.pipeline.orchestrators.replay import history_scheduled_calls, load, replay

AZURE_SHAPED = ["candidate_pipeline_azure_shape_review_rejected", "candidate_pipeline_azure_shape_terminated"]
EXECUTION_STARTED, EXECUTION_COMPLETED, EXECUTION_TERMINATED = 0, 1, 3
TASK_SCHEDULED, TASK_FAILED, TIMER_CREATED, TIMER_FIRED = 4, 6, 10, 11
ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED, EVENT_RAISED = 12, 13, 15
# What devhost's stored form leaves out of what it hands the SDK (devhost/engine/events.py, _IGNORED_BY_SDK).
LEFT_OUT_BY_DEVHOST = {1, 2, 3, 4, 7, 10, 13, 19, 20}
NET_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")


def _episodes(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    episodes: list[list[dict[str, Any]]] = []
    for event in history:
        if event["EventType"] == ORCHESTRATOR_STARTED:
            episodes.append([])
        episodes[-1].append(event)
    return episodes


def _time(text: str) -> datetime:
    """Parse a UTC timestamp with up to seven fractional digits (Json.NET's) or six (the SDK's)."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6].ljust(6, '0')}+00:00")


@pytest.mark.parametrize("name", AZURE_SHAPED)
def test_the_history_has_the_shape_azures_host_stores(name: str) -> None:
    record = load(name)
    history = record["history"]

    assert record["shape"] == "azure"
    for episode in _episodes(history):
        assert episode[0]["EventType"] == ORCHESTRATOR_STARTED
        assert episode[-1]["EventType"] == ORCHESTRATOR_COMPLETED
        assert [e["EventType"] for e in episode].count(ORCHESTRATOR_COMPLETED) == 1
    for event in history:
        assert all(re.match(r"^[A-Z][A-Za-z]*$", key) for key in event), event
        assert NET_TIMESTAMP.match(event["Timestamp"]), event["Timestamp"]
    started = history[1]
    assert started["EventType"] == EXECUTION_STARTED
    assert started["OrchestrationInstance"]["InstanceId"] == record["instance_id"]
    assert started["Version"] == ""
    assert started["Input"] == record["input"]
    # Task and timer ids: one counter, in the order the actions and the host's retry timers were created.
    numbered = [e["EventId"] for e in history if e["EventType"] in (TASK_SCHEDULED, TIMER_CREATED)]
    assert numbered == list(range(len(numbered)))


def test_full_shape_replays_to_the_output_its_execution_completed_holds() -> None:
    record = load("candidate_pipeline_azure_shape_review_rejected")
    history = record["history"]
    (completed,) = [e for e in history if e["EventType"] == EXECUTION_COMPLETED]
    (review_timer,) = [e for e in history if e["EventType"] == TIMER_CREATED and e["EventId"] > 2]

    result = replay(record)

    assert result.state["isDone"] is True
    assert result.error is None
    assert result.output == json.loads(completed["Result"])
    assert result.output["outcome"] == "rejected_by_recruiter"
    assert result.custom_status["stage"] == "rejected"
    assert result.scheduled_calls() == history_scheduled_calls(history)
    # The retry happened once (two parse attempts in the history) and the orchestrator asked for it once.
    assert [name for name, _ in result.scheduled_calls()].count("parse_candidate_profile") == 1
    # The recruiter's decision won over the review deadline: that timer is cancelled, at the time created.
    ((fire_at, cancelled),) = result.timers()
    assert cancelled is True
    assert _time(fire_at) == _time(review_timer["FireAt"])
    (decision,) = [e for e in history if e["EventType"] == EVENT_RAISED]
    report_name, report_input = result.scheduled_calls()[-1]
    assert report_name == "write_candidate_report"
    assert report_input["recruiter_decision"] == json.loads(decision["Input"])


def test_final_episode_as_the_worker_receives_it_completes_the_instance() -> None:
    record = load("candidate_pipeline_azure_shape_review_rejected")
    history = record["history"]
    last_start = max(i for i, e in enumerate(history) if e["EventType"] == ORCHESTRATOR_STARTED)
    # The host sends the past events (played) and the episode's new messages (not played); the events the
    # episode itself produces (ExecutionCompleted, OrchestratorCompleted) do not exist yet.
    new_messages = [
        {**e, "IsPlayed": False}
        for e in history[last_start:]
        if e["EventType"] not in (TASK_SCHEDULED, TIMER_CREATED, EXECUTION_COMPLETED, ORCHESTRATOR_COMPLETED)
    ]
    delivered = history[:last_start] + new_messages
    assert [e["EventType"] for e in new_messages] == [ORCHESTRATOR_STARTED, 5]

    result = replay({**record, "history": delivered})

    assert result.state["isDone"] is True
    assert result.output == replay(record).output


@pytest.mark.parametrize("name", AZURE_SHAPED)
def test_devhosts_trimmed_form_of_the_same_history_replays_alike(name: str) -> None:
    record = load(name)
    trimmed = [
        {key: value for key, value in event.items() if value is not None}
        for event in record["history"]
        if event["EventType"] not in LEFT_OUT_BY_DEVHOST
    ]

    full = replay(record)
    short = replay({**record, "history": trimmed})

    assert short.state["isDone"] is full.state["isDone"]
    assert short.output == full.output
    assert short.custom_status == full.custom_status
    assert short.actions == full.actions


def test_full_shape_termination_replays_to_the_open_review() -> None:
    record = load("candidate_pipeline_azure_shape_terminated")
    history = record["history"]
    last_episode = _episodes(history)[-1]

    assert [e["EventType"] for e in last_episode] == [
        ORCHESTRATOR_STARTED,
        EXECUTION_TERMINATED,
        EXECUTION_COMPLETED,
        ORCHESTRATOR_COMPLETED,
    ]
    assert last_episode[2]["OrchestrationStatus"] == 5  # DurableTask.Core's Terminated
    assert json.loads(last_episode[2]["Result"]) == json.loads(last_episode[1]["Input"]) == "position closed"

    result = replay(record)

    # The SDK ignores the termination and the host's ExecutionCompleted: the orchestrator stands where it was
    # stopped, waiting for the recruiter with the review deadline pending.
    assert result.state["isDone"] is False
    assert result.error is None
    assert result.custom_status["stage"] == "awaiting_review"
    (review_timer,) = [e for e in history if e["EventType"] == TIMER_CREATED and e["EventId"] > 2]
    ((fire_at, cancelled),) = result.timers()
    assert cancelled is False
    assert _time(fire_at) == _time(review_timer["FireAt"])
    failed = [e for e in history if e["EventType"] == TASK_FAILED]
    fired = [e for e in history if e["EventType"] == TIMER_FIRED]
    assert len(failed) == len(fired) == 1  # the throttled parse and its retry delay
