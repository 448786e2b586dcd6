"""A round or commit that fails half-way: every caller hears of it, and memory never runs ahead of the store.

Each test forces the failure at one named fault point (``devhost.engine.FAULT_POINTS``), not at random.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devhost.engine import (
    EVENT_RAISED,
    FAULT_COMMIT,
    FAULT_RELOAD,
    FAULT_ROUND_AFTER_COMMANDS,
    FAULT_ROUND_AFTER_EPISODES,
    EngineUnavailableError,
    RoundFailedError,
)
from devhost.store import Store
from devhost.testing import DurableTestHost
from tests.devhost.engine.conftest import BASIC_APP


class InjectedFaultError(Exception):
    pass


class FaultSwitch:
    """Raise at ``points`` while armed (or only on the listed hit numbers); record every hit."""

    def __init__(self, *points: str, on_hits: set[int] | None = None) -> None:
        self.points = set(points)
        self.on_hits = on_hits
        self.armed = True
        self.hits: Counter[str] = Counter()

    def __call__(self, name: str) -> None:
        if name not in self.points:
            return
        self.hits[name] += 1
        if self.armed and (self.on_hits is None or self.hits[name] in self.on_hits):
            raise InjectedFaultError(f"injected at {name}")


def stored_instance_ids(data_dir: Path) -> set[str]:
    store = Store(data_dir)
    try:
        return {row[0] for row in store.load_instances()}
    finally:
        store.close()


def memory_instance_ids(host: DurableTestHost) -> set[str]:
    return set(host.engine._instances)


def raised_events(host: DurableTestHost, instance_id: str) -> list[str]:
    return [e["Name"] for e in host.history(instance_id) if e["EventType"] == EVENT_RAISED]


def two_calls_in_one_round(host: DurableTestHost) -> list[Any]:
    engine = host.engine

    async def both() -> list[Any]:
        return await asyncio.gather(
            engine.start_new("two_events", "doomed"),
            engine.raise_event("steady", "first", json.dumps("early")),
            return_exceptions=True,
        )

    # A hang here is the defect under test: the timeout turns it into a failure instead.
    return host.run(both(), timeout=10)


@pytest.mark.parametrize("point", [FAULT_ROUND_AFTER_COMMANDS, FAULT_ROUND_AFTER_EPISODES, FAULT_COMMIT])
def test_a_failed_round_answers_every_caller_and_keeps_nothing(tmp_path: Path, point: str) -> None:
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as host:
        host.start("two_events", instance_id="steady")
        host.run_until_idle()
        switch = FaultSwitch(point)
        host.engine.fault_hook = switch

        outcomes = two_calls_in_one_round(host)

        assert switch.hits[point] >= 1
        assert all(isinstance(outcome, RoundFailedError) for outcome in outcomes), outcomes
        assert "nothing of it was kept" in str(outcomes[0])
        # Memory went back to the store's state: no half-started instance, no half-delivered event.
        assert memory_instance_ids(host) == stored_instance_ids(tmp_path) == {"steady"}
        assert host.engine.instance("doomed") is None
        assert raised_events(host, "steady") == []
        assert host.engine.instance("steady").inbox == []

        # The engine keeps serving, and the same requests now go through.
        switch.armed = False
        assert two_calls_in_one_round(host) == ["doomed", None]
        host.raise_event("steady", "second", "late")
        assert host.run_until_complete("steady").output == ["early", "late"]
        assert memory_instance_ids(host) == stored_instance_ids(tmp_path) == {"steady", "doomed"}


def test_a_round_failing_after_a_completion_loses_no_activity_result(tmp_path: Path) -> None:
    calls: Counter[int] = Counter()

    def counting_noop(step: int) -> int:
        calls[step] += 1
        return step

    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True, fakes={"noop": counting_noop}) as host:
        # The first episode round passes; the second, which carries step 0's result, fails after its episodes.
        switch = FaultSwitch(FAULT_ROUND_AFTER_EPISODES, on_hits={3})
        host.engine.fault_hook = switch
        instance_id = host.start("noop_chain", 3, instance_id="chain")
        result = host.run_until_complete(instance_id)
        assert switch.hits[FAULT_ROUND_AFTER_EPISODES] > 3
        assert result.output == 3
        history = host.history(instance_id)
        assert [e["TaskScheduledId"] for e in history if e["EventType"] == 5] == [0, 1, 2]
        assert [e["EventId"] for e in history if e["EventType"] == 4] == [0, 1, 2]
        # The voided round's result was lost with it, so that step ran again (at-least-once); every result
        # reached history exactly once.
        assert sum(calls.values()) == 4
        assert set(calls) == {0, 1, 2}


def test_a_store_that_cannot_be_read_back_stops_the_engine_with_a_clear_error(tmp_path: Path) -> None:
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as host:
        host.start("two_events", instance_id="steady")
        host.run_until_idle()
        host.engine.fault_hook = FaultSwitch(FAULT_COMMIT, FAULT_RELOAD)

        with pytest.raises(RoundFailedError):
            host.start("two_events", instance_id="lost")
        # From now on every caller gets the same clear error at once; nobody waits for an answer.
        with pytest.raises(EngineUnavailableError, match="restart devhost"):
            host.raise_event("steady", "first", "x")
        with pytest.raises(EngineUnavailableError):
            host.run(host.engine.wait_for_instance("steady", timeout=5), timeout=10)
    # What was committed survives for the next start.
    assert stored_instance_ids(tmp_path) == {"steady"}
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as restarted:
        restarted.raise_event("steady", "first", 1)
        restarted.raise_event("steady", "second", 2)
        assert restarted.run_until_complete("steady").output == [1, 2]


def test_a_failed_commit_also_voids_the_round_computed_on_top_of_it(tmp_path: Path) -> None:
    with DurableTestHost(BASIC_APP, data_dir=tmp_path, durable=True) as host:
        host.start("two_events", instance_id="steady")
        host.run_until_idle()
        next_round_computed = threading.Event()
        commit_entered = threading.Event()
        rounds = Counter[str]()

        def hook(name: str) -> None:
            rounds[name] += 1
            if name == FAULT_ROUND_AFTER_COMMANDS and rounds[name] == 2:
                next_round_computed.set()
            if name == FAULT_COMMIT and rounds[name] == 1:
                commit_entered.set()
                # The first round's commit fails only once the second round was replayed on top of it.
                assert next_round_computed.wait(timeout=10)
                raise InjectedFaultError("disk full")

        host.engine.fault_hook = hook
        engine = host.engine
        first = asyncio.run_coroutine_threadsafe(engine.start_new("two_events", "first"), host._loop)
        assert commit_entered.wait(timeout=10)
        second = asyncio.run_coroutine_threadsafe(engine.start_new("two_events", "second"), host._loop)
        for caller in (first, second):
            with pytest.raises(RoundFailedError, match="disk full"):
                caller.result(timeout=10)
        assert memory_instance_ids(host) == stored_instance_ids(tmp_path) == {"steady"}
        host.engine.fault_hook = None
        assert host.start("two_events", instance_id="second") == "second"
