"""Abandon a running engine (as kill -9 would) and recover on the same data directory."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

from devhost.testing import DurableTestHost
from tests.devhost.engine.conftest import BASIC_APP


def assert_clean_history(host: DurableTestHost, instance_id: str, steps: int) -> None:
    history = host.history(instance_id)
    completed = [e["TaskScheduledId"] for e in history if e["EventType"] in (5, 6)]
    scheduled = [e["EventId"] for e in history if e["EventType"] == 4]
    assert completed == list(range(steps)), f"{instance_id}: completions {completed}"
    assert scheduled == list(range(steps))


def test_in_flight_activity_runs_again_after_a_crash(tmp_path: Path) -> None:
    calls: Counter[Any] = Counter()
    blocked = threading.Event()
    release = threading.Event()

    def stuck_noop(value: Any) -> Any:
        calls[value] += 1
        if value == 1 and calls[value] == 1:
            blocked.set()
            release.wait(timeout=10)
        return value

    first = DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True, fakes={"noop": stuck_noop})
    instance_id = first.start("noop_chain", 3, instance_id="survivor")
    assert blocked.wait(timeout=10)
    first.abandon()

    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True, fakes={"noop": stuck_noop}) as second:
        result = second.run_until_complete(instance_id)
        release.set()
        assert result.output == 3
        assert calls[1] == 2  # at-least-once: the step in flight at the crash ran again
        assert calls[0] == 1  # a committed completion is never redone
        assert_clean_history(second, instance_id, 3)


def test_repeated_crashes_lose_nothing_and_never_duplicate_a_completion(tmp_path: Path) -> None:
    instances = [f"chain-{i}" for i in range(20)]
    steps = 10
    invocations = Counter[str]()
    lock = threading.Lock()
    reached = threading.Event()
    # Past each round's target the fake hangs, so the crash always hits a run with work in flight.
    gate = threading.Event()
    target = {"calls": 0}

    def counting_noop(value: Any) -> Any:
        with lock:
            invocations["all"] += 1
            hit = invocations["all"] >= target["calls"]
        if hit:
            reached.set()
            gate.wait(timeout=30)
        return value

    try:
        for crash in range(4):
            reached.clear()
            target["calls"] = invocations["all"] + 25
            host = DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True, fakes={"noop": counting_noop})
            if crash == 0:
                for instance_id in instances:
                    host.start("noop_chain", steps, instance_id=instance_id)
            host.engine.skip_timers_when_idle = True
            assert reached.wait(timeout=10)
            unfinished = [i for i in instances if host.status(i).runtime_status != "Completed"]
            host.abandon()
            assert unfinished, "every chain finished before the crash"

        target["calls"] = 10**9
        with DurableTestHost(
            BASIC_APP, data_dir=tmp_path, durable=True, fakes={"noop": counting_noop}
        ) as final:
            for instance_id in instances:
                result = final.run_until_complete(instance_id)
                assert result.output == steps
                assert_clean_history(final, instance_id, steps)
    finally:
        gate.set()
    assert invocations["all"] >= len(instances) * steps


def test_a_failed_instance_can_be_rewound_after_a_restart(tmp_path: Path) -> None:
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as first:
        instance_id = first.start("unhandled_activity_failure", instance_id="rewind-later")
        assert first.run_until_complete(instance_id).runtime_status == "Failed"
    with DurableTestHost(
        BASIC_APP, data_dir=tmp_path, durable=True, fakes={"fail_always": lambda message: "fine now"}
    ) as second:
        second.rewind(instance_id)
        assert second.run_until_complete(instance_id).output == "unexpected"


def test_queued_messages_and_pending_timers_survive_a_restart(tmp_path: Path) -> None:
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as first:
        waiting = first.start("with_status", instance_id="queued")
        sleeping = first.start("sleeper", 86_400, instance_id="sleeping")
        first.engine.skip_timers_when_idle = False
        first.suspend(waiting)
        first.raise_event(waiting, "go", "kept")
        assert first.engine.pending_timer_count() == 1
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as second:
        assert second.status(waiting).runtime_status == "Suspended"
        second.resume(waiting)
        assert second.run_until_complete(waiting).output == "kept"
        assert second.run_until_complete(sleeping).output >= 86_400
