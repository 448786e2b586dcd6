"""Orchestration semantics on the engine, through devhost.testing (the SDK's own replay, time skipped)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from devhost.testing import DurableTestHost, OrchestrationStuckError
from tests.devhost.engine.conftest import BASIC_APP, app_globals


def completions(history: list[dict[str, Any]]) -> list[int]:
    return [e["TaskScheduledId"] for e in history if e["EventType"] in (5, 6, 8, 9)]


def test_activity_chain_returns_each_result_in_order(host: DurableTestHost) -> None:
    instance_id = host.start("hello_sequence", ["Tokyo", "Lima"])
    result = host.run_until_complete(instance_id)
    assert result.runtime_status == "Completed"
    assert result.output == ["Hello Tokyo!", "Hello Lima!"]
    types = host.history_event_types(instance_id)
    assert types[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert host.activity_calls(instance_id) == [("say_hello", "Tokyo"), ("say_hello", "Lima")]
    assert types.count("TaskScheduled") == 2
    assert types[-1] == "ExecutionCompleted"


def test_fan_out_completions_ready_together_replay_in_one_episode(host: DurableTestHost) -> None:
    instance_id = host.start("fan_out", 40)
    result = host.run_until_complete(instance_id)
    assert result.output == sum(i * 2 for i in range(40))
    types = host.history_event_types(instance_id)
    # One episode schedules all 40, the next receives all 40 completions: two episodes in all.
    assert types.count("OrchestratorStarted") == 2
    assert types.count("TaskCompleted") == 40


def test_activity_retry_writes_timer_then_new_task_as_the_sdk_expects(
    host: DurableTestHost, attempts: dict[str, int]
) -> None:
    instance_id = host.start("retry_activity", {"key": "r1", "fail_times": 2})
    result = host.run_until_complete(instance_id)
    assert result.output == "r1 ok after 3"
    history = host.history(instance_id)
    scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
    timers = [e["EventId"] for e in history if e["EventType"] == 10]
    fired = [e["TimerId"] for e in history if e["EventType"] == 11]
    assert scheduled == [0, 2, 4]
    assert timers == [1, 3]
    assert fired == [1, 3]


def test_parallel_retries_keep_task_ids_in_step_with_the_sdk(
    host: DurableTestHost, attempts: dict[str, int]
) -> None:
    instance_id = host.start("retry_then_more")
    result = host.run_until_complete(instance_id)
    assert result.output == ["left ok after 2", "right ok after 2", "Hello after!"]


def test_retry_exhausted_reaches_the_orchestrator_as_an_exception(
    host: DurableTestHost, attempts: dict[str, int]
) -> None:
    instance_id = host.start("catch_retry_exhausted")
    result = host.run_until_complete(instance_id)
    assert result.output.startswith("gave up: Activity function 'flaky' failed: ConnectionError: E_TRANSIENT")
    assert attempts["never"] == 2


def test_sub_orchestrations_with_generated_and_given_ids(host: DurableTestHost) -> None:
    instance_id = host.start("parent", instance_id="family")
    result = host.run_until_complete(instance_id)
    assert result.output == ["Hello Paris!", "Hello Oslo!"]
    assert host.status("family-kid").output == ["Hello Oslo!"]
    created = [e["InstanceId"] for e in host.history(instance_id) if e["EventType"] == 7]
    assert created == ["family:0000", "family-kid"]


def test_failed_sub_orchestration_raises_in_the_parent(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("parent_of_failure"))
    assert result.output.startswith("child failed: Orchestrator function 'always_fails' failed: E_CHILD")


def test_sub_orchestration_retry(host: DurableTestHost, attempts: dict[str, int]) -> None:
    result = host.run_until_complete(host.start("retry_sub", {"key": "sub", "fail_times": 1}))
    assert result.output == "sub ok after 2"


def test_day_long_timer_passes_in_milliseconds_and_time_follows(host: DurableTestHost) -> None:
    instance_id = host.start("sleeper", 86_400)
    result = host.run_until_complete(instance_id, timeout=5)
    assert result.output >= 86_400
    types = host.history_event_types(instance_id)
    assert "TimerCreated" in types
    assert "TimerFired" in types


def test_event_raised_before_the_wait_is_buffered(host: DurableTestHost) -> None:
    instance_id = host.start("two_events")
    host.raise_event(instance_id, "second", 2)
    host.raise_event(instance_id, "first", 1)
    assert host.run_until_complete(instance_id).output == [1, 2]


def test_event_raised_after_the_wait(host: DurableTestHost) -> None:
    instance_id = host.start("two_events")
    host.run_until_idle()
    assert host.status(instance_id).runtime_status == "Running"
    host.raise_event(instance_id, "first", "a")
    host.raise_event(instance_id, "second", "b")
    assert host.run_until_complete(instance_id).output == ["a", "b"]


def test_event_beats_timer_and_the_cancelled_timer_does_not_hold_the_instance(host: DurableTestHost) -> None:
    instance_id = host.start("approval")
    host.raise_event(instance_id, "decision", "approved")
    result = host.run_until_complete(instance_id)
    assert result.output == {"decision": "approved"}
    assert host.engine.pending_timer_count() == 0


def test_timer_beats_missing_event(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("approval"))
    assert result.output == {"decision": "timed out"}


def test_waiting_forever_is_reported_not_hung(host: DurableTestHost) -> None:
    instance_id = host.start("two_events")
    with pytest.raises(OrchestrationStuckError):
        host.run_until_complete(instance_id, timeout=5)
    host.terminate(instance_id)


def test_custom_status_is_visible_while_running_and_after(host: DurableTestHost) -> None:
    instance_id = host.start("with_status")
    host.run_until_idle()
    assert host.status(instance_id).custom_status == {"stage": "waiting"}
    host.raise_event(instance_id, "go", 7)
    result = host.run_until_complete(instance_id)
    assert result.custom_status == {"stage": "done", "value": 7}


def test_continue_as_new_restarts_history_and_carries_unprocessed_events(host: DurableTestHost) -> None:
    instance_id = host.start("counter_loop")
    host.raise_event(instance_id, "tick", "t1")
    result = host.run_until_complete(instance_id)
    assert result.output == {"n": 3, "seen": ["t1"]}
    # The last execution's history starts fresh.
    assert host.history_event_types(instance_id)[:2] == ["OrchestratorStarted", "ExecutionStarted"]
    assert host.history_event_types(instance_id).count("ExecutionStarted") == 1


def test_unhandled_orchestrator_exception_fails_the_instance(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("crashes"))
    assert result.runtime_status == "Failed"
    assert "E_BOOM: the orchestrator broke" in result.output
    failed = [e for e in host.history(result.instance_id) if e["EventType"] == 2]
    assert failed
    assert "E_BOOM" in failed[0]["Reason"]


def test_activity_failure_carries_reason_and_details(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("activity_failure"))
    assert result.output.startswith("Activity function 'fail_always' failed: ValueError: E_BAD_INPUT")
    failure = next(e for e in host.history(result.instance_id) if e["EventType"] == 6)
    assert "E_BAD_INPUT" in failure["Reason"]
    assert "Traceback" in failure["Details"]


def test_unhandled_activity_failure_fails_the_orchestration(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("unhandled_activity_failure"))
    assert result.runtime_status == "Failed"
    assert "E_FATAL: gave up" in result.output


def test_non_deterministic_orchestrator_fails_without_hurting_the_engine(host: DurableTestHost) -> None:
    app_globals(host)["REPLAYS"]["count"] = 0
    result = host.run_until_complete(host.start("nondeterministic"))
    assert result.runtime_status == "Failed"
    assert "Non-Deterministic workflow detected" in result.output
    assert host.run_until_complete(host.start("hello_sequence", ["still fine"])).output == [
        "Hello still fine!"
    ]


def test_unknown_orchestrator_is_refused(host: DurableTestHost) -> None:
    from devhost.engine import UnknownFunctionError

    with pytest.raises(UnknownFunctionError):
        host.start("no_such_orchestrator")


def test_terminate_suspend_resume(host: DurableTestHost) -> None:
    waiting = host.start("with_status")
    host.run_until_idle()
    host.suspend(waiting, "hold on")
    host.raise_event(waiting, "go", 1)
    host.run_until_idle()
    assert host.status(waiting).runtime_status == "Suspended"
    host.resume(waiting, "carry on")
    assert host.run_until_complete(waiting).output == 1
    types = host.history_event_types(waiting)
    assert "ExecutionSuspended" in types
    assert "ExecutionResumed" in types

    doomed = host.start("two_events")
    host.run_until_idle()
    host.terminate(doomed, "no longer needed")
    status = host.status(doomed)
    assert status.runtime_status == "Terminated"
    assert status.output == "no longer needed"


def test_entities_signal_call_and_state(host: DurableTestHost) -> None:
    host.signal_entity("counter", "e1", "add", 3)
    host.run_until_idle()
    assert host.entity_state("counter", "e1") == 3
    result = host.run_until_complete(host.start("entity_user", "e1"))
    assert result.output == 18
    assert host.entity_state("counter", "e1") == 18


def test_large_payload_is_accepted_and_logged(
    host: DurableTestHost, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="devhost.engine"):
        result = host.run_until_complete(host.start("big_output"))
    assert len(result.output) == 70_000
    assert any("make_big" in r.getMessage() and "64 KB" in r.getMessage() for r in caplog.records)


def test_fakes_replace_activities_by_name() -> None:
    seen: list[Any] = []

    def fake_hello(name: str) -> str:
        seen.append(name)
        return f"fake {name}"

    with DurableTestHost(BASIC_APP, fakes={"say_hello": fake_hello}) as test_host:
        result = test_host.run_until_complete(test_host.start("hello_sequence", ["A", "B"]))
    assert result.output == ["fake A", "fake B"]
    assert seen == ["A", "B"]


def test_history_never_holds_a_duplicate_completion(host: DurableTestHost) -> None:
    instance_id = host.start("fan_out", 10)
    host.run_until_complete(instance_id)
    ids = completions(host.history(instance_id))
    assert sorted(ids) == list(range(10))


def test_activity_receives_a_durable_client_and_its_context() -> None:
    with DurableTestHost(BASIC_APP, serve_http=True) as test_host:
        result = test_host.run_until_complete(test_host.start("client_in_activity", "Quito"))
        assert result.output == {"started": "greeting-Quito", "info": "describe_invocation"}
        assert test_host.run_until_complete("greeting-Quito").output == ["Hello Quito!"]


def test_sdk_client_on_the_test_host() -> None:
    with DurableTestHost(BASIC_APP, serve_http=True) as test_host:
        client = test_host.client()
        instance_id = test_host.run(client.start_new("hello_sequence", None, ["Accra"]))
        assert test_host.run_until_complete(instance_id).output == ["Hello Accra!"]
        status = test_host.run(client.get_status(instance_id))
        assert status.output == ["Hello Accra!"]


def test_scaled_time_fires_timers_sooner() -> None:
    from devhost.clock import Clock

    with DurableTestHost(BASIC_APP, clock=Clock.scaled(600)) as test_host:
        started = time.perf_counter()
        result = test_host.run_until_complete(test_host.start("sleeper", 60), timeout=10)
        elapsed = time.perf_counter() - started
    assert result.output >= 60
    assert elapsed < 5


def test_retry_racing_an_event_keeps_task_ids_in_step(
    host: DurableTestHost, attempts: dict[str, int]
) -> None:
    instance_id = host.start("retry_races_event")
    result = host.run_until_complete(instance_id)
    assert result.output == ["race ok after 2", "Hello after race!"]


def test_entity_calls_mixed_with_activities_and_entity_errors(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("entities_with_activities", "mix"))
    assert result.output[:3] == [None, 42, 2]
    assert "E_ENTITY: refused" in result.output[3]


def test_calling_an_unknown_activity_fails_that_task_only(host: DurableTestHost) -> None:
    result = host.run_until_complete(host.start("calls_missing_activity"))
    assert result.runtime_status == "Completed"
    assert "The function 'no_such_activity' doesn't exist" in result.output


def test_malformed_orchestrator_output_fails_the_instance_not_the_engine() -> None:
    from devhost.functions import FunctionIndex, FunctionInfo

    def broken_handle(context: str) -> str:
        return '{"isDone": false, "actions": [[{"actionType": 0}]]}'

    def garbage_handle(context: str) -> str:
        return "not json at all"

    def info(name: str, handle: Any) -> FunctionInfo:
        trigger = {"type": "orchestrationTrigger", "name": "context"}
        return FunctionInfo(name, "orchestrationTrigger", trigger, [trigger], handle)

    index = FunctionIndex(
        None, {"broken": info("broken", broken_handle), "garbage": info("garbage", garbage_handle)}
    )
    with DurableTestHost(index) as test_host:
        broken = test_host.run_until_complete(test_host.start("broken"))
        garbage = test_host.run_until_complete(test_host.start("garbage"))
    assert broken.runtime_status == "Failed"
    assert "could not apply the orchestrator's actions" in broken.output
    assert garbage.runtime_status == "Failed"


def test_rewind_runs_the_failed_activity_again() -> None:
    with DurableTestHost(BASIC_APP) as test_host:
        instance_id = test_host.start("unhandled_activity_failure")
        assert test_host.run_until_complete(instance_id).runtime_status == "Failed"
        test_host.replace_activity("fail_always", lambda message: f"fixed: {message}")
        test_host.rewind(instance_id)
        result = test_host.run_until_complete(instance_id)
        assert result.runtime_status == "Completed"
        assert result.output == "unexpected"
        types = test_host.history_event_types(instance_id)
        assert "TaskFailed" not in types
        assert "ExecutionFailed" not in types
        assert types.count("TaskCompleted") == 1
