"""How long the app's functions ran: ``devhost.function_time`` and ``GET /admin/stats``."""

import json

import pytest

from devhost.function_time import FunctionTime
from tests.devhost.host.support import InProcessHost, call, wait_until

WEBHOOK = "/runtime/webhooks/eventgrid?functionName="
NOTIFICATION = {"aeg-event-type": "Notification", "Content-Type": "application/json"}


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_overlapping_invocations_count_once_in_the_busy_time() -> None:
    clock = ManualClock()
    meter = FunctionTime(clock)

    with meter.measure("first"):  # 100 -> 103, with "second" running 101 -> 105
        clock.now = 101.0
        second = meter.measure("second")
        second.__enter__()
        clock.now = 103.0
    clock.now = 105.0
    second.__exit__(None, None, None)
    clock.now = 110.0  # idle time is nobody's
    with meter.measure("first"):
        clock.now = 112.0

    snapshot = meter.snapshot()
    assert snapshot["busy_s"] == pytest.approx(5.0 + 2.0)
    assert snapshot["invocations"] == 3
    assert snapshot["running"] == 0
    assert snapshot["by_function"] == {
        "first": {"count": 2, "seconds": pytest.approx(3.0 + 2.0)},
        "second": {"count": 1, "seconds": pytest.approx(4.0)},
    }


def test_a_failed_invocation_counts_and_a_running_one_is_busy_until_now() -> None:
    clock = ManualClock()
    meter = FunctionTime(clock)

    def fail_after_half_a_second() -> None:
        with meter.measure("broken"):
            clock.now = 100.5
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_half_a_second()
    running = meter.measure("slow")
    running.__enter__()
    clock.now = 102.0

    assert meter.busy_seconds == pytest.approx(0.5 + 1.5)
    assert meter.snapshot()["running"] == 1
    assert meter.snapshot()["by_function"]["broken"] == {"count": 1, "seconds": pytest.approx(0.5)}
    running.__exit__(None, None, None)
    assert meter.snapshot()["by_function"]["slow"]["count"] == 1


def _stats(host: InProcessHost) -> dict[str, object]:
    reply = call("GET", host.url("/admin/stats"))
    assert reply.status == 200
    functions: dict[str, object] = reply.json()["functions"]
    return functions


def _count(stats: dict[str, object], name: str) -> int:
    by_function = stats["by_function"]
    assert isinstance(by_function, dict)
    return int(by_function.get(name, {}).get("count", 0))


def test_admin_stats_count_triggers_and_activities_but_not_orchestrators(events_host: InProcessHost) -> None:
    before = _stats(events_host)
    reply = call(
        "POST",
        events_host.url(WEBHOOK + "start_from_event"),
        body=json.dumps([{"id": "ft-1", "eventType": "T", "subject": "s", "data": {"n": 1}}]),
        headers=NOTIFICATION,
    )
    assert reply.status == 202
    instance_id = events_host.module_value("start_from_event", "STARTED_INSTANCES")[-1]

    def completed() -> bool:
        status = call("GET", events_host.url(f"/runtime/webhooks/durabletask/instances/{instance_id}"))
        return bool(status.json().get("runtimeStatus") == "Completed")

    wait_until(completed, what="the orchestration the event started")

    def activity_counted() -> dict[str, object] | None:
        stats = _stats(events_host)
        return stats if _count(stats, "echo_activity") > _count(before, "echo_activity") else None

    after = wait_until(activity_counted, what="the activity to be counted")

    assert _count(after, "start_from_event") == _count(before, "start_from_event") + 1
    assert _count(after, "echo_activity") == _count(before, "echo_activity") + 1
    # Replays are the engine's work, not the app's: the orchestrator is never counted.
    assert _count(after, "echo_orchestrator") == 0
    assert float(str(after["busy_s"])) > float(str(before["busy_s"]))
    assert int(str(after["invocations"])) >= int(str(before["invocations"])) + 2
