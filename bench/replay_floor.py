"""The replay floor: what the Durable SDK's own replay costs for a chain, with no engine around it.

A replaying engine runs the orchestrator once per episode, each time over the whole history so far. For an
N-step chain that is N + 1 episodes whose histories grow by one scheduled/completed pair each. This module
builds exactly those histories, times the SDK's ``handle`` calls over them alone, and then checks that the
SDK's answers are the ones a chain gives (one more activity per episode, the result at the end).

Two floors come out of the same histories:

- the *floor*: the histories as the Durable extension delivers them (every event), the cost of the SDK's
  replay on Azure's path;
- the *as-fed floor*: the same histories without the event types devhost's engine leaves out of what it hands
  the SDK (``devhost.engine._IGNORED_BY_SDK``: events the SDK's replay never reads, e.g. ``TaskScheduled``).
  An engine that trims histories beats the first floor by doing less replay; against the second, the ratio
  shows the engine's own overhead. If the engine stops trimming, the two floors coincide.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.df_app import CHAIN_ORCHESTRATOR, NOOP_ACTIVITY, bench_index

# History event types (the Durable extension's numbering).
EXECUTION_STARTED = 0
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13

# Schema V3 (value 2) is the newest the SDK understands; it is what a current Durable extension negotiates.
UPPER_SCHEMA_VERSION = 2

OrchestratorHandle = Callable[[str], str]


def chain_handle() -> OrchestratorHandle:
    """The SDK's ``handle`` for the benchmark's chain orchestrator, as the worker would index it."""
    handle: OrchestratorHandle = bench_index().functions[CHAIN_ORCHESTRATOR].user_function
    return handle


def _timestamp(moment: datetime) -> str:
    # The same ISO-8601 shape the Durable extension writes (and the SDK parses with dateutil).
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event(event_type: int, moment: datetime, *, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    return {
        "EventType": event_type,
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": _timestamp(moment),
        **fields,
    }


def engine_omitted_event_types() -> frozenset[int]:
    """The event types devhost's engine does not hand the SDK (none if it hands over every event)."""
    from devhost import engine

    omitted: frozenset[int] = getattr(engine, "_IGNORED_BY_SDK", frozenset())
    return omitted


def chain_episode_contexts(steps: int, omit_event_types: frozenset[int] = frozenset()) -> list[str]:
    """Build the context JSON of every episode of a ``steps``-long chain.

    Episode k's history holds everything before it (marked played) plus the new OrchestratorStarted and the
    completion that woke the orchestration, as the Durable extension delivers them, minus any event of the
    types in ``omit_event_types``. ``check_chain_replay`` proves the SDK agrees with these histories.
    """
    clock = datetime(2026, 1, 1, tzinfo=UTC)
    history: list[dict[str, Any]] = [
        _event(ORCHESTRATOR_STARTED, clock),
        _event(EXECUTION_STARTED, clock, Name=CHAIN_ORCHESTRATOR, Input=json.dumps(steps), Version=""),
    ]
    contexts: list[str] = []
    for step in range(steps + 1):
        if step > 0:
            # The activity scheduled in the previous episode completes and wakes this one.
            done = step - 1
            history = [{**event, "IsPlayed": True} for event in history]
            clock += timedelta(milliseconds=1)
            history.append(_event(TASK_SCHEDULED, clock, event_id=done, Name=NOOP_ACTIVITY))
            history.append(_event(ORCHESTRATOR_COMPLETED, clock))
            clock += timedelta(milliseconds=1)
            history.append(_event(ORCHESTRATOR_STARTED, clock))
            history.append(_event(TASK_COMPLETED, clock, TaskScheduledId=done, Result=json.dumps(done)))
        contexts.append(
            json.dumps(
                {
                    "history": [event for event in history if event["EventType"] not in omit_event_types],
                    "instanceId": "replay-floor",
                    "isReplaying": step > 0,
                    "parentInstanceId": None,
                    "input": json.dumps(steps),
                    "upperSchemaVersion": UPPER_SCHEMA_VERSION,
                }
            )
        )
    return contexts


def check_chain_replay(steps: int, states: list[str]) -> None:
    """Fail unless the SDK scheduled one more activity per episode and finished with ``steps`` at the end."""
    if len(states) != steps + 1:
        raise AssertionError(f"{len(states)} episodes for a {steps}-step chain")
    for step, text in enumerate(states):
        state = json.loads(text)
        if step == steps:
            if not state.get("isDone") or state.get("output") != steps:
                raise AssertionError(f"last episode: {text[:300]}")
            continue
        actions = [action for group in state["actions"] for action in _flatten(group)]
        last = actions[-1] if actions else {}
        if state.get("isDone") or len(actions) != step + 1 or last.get("functionName") != NOOP_ACTIVITY:
            raise AssertionError(f"episode {step}: {text[:300]}")


def _flatten(group: Any) -> list[dict[str, Any]]:
    # Schema V1 returns a list of actions per yield; V2+ returns one action (possibly compound) per yield.
    if isinstance(group, list):
        return [action for item in group for action in _flatten(item)]
    return [group]


def replay_seconds(handle: OrchestratorHandle, contexts: list[str]) -> tuple[float, list[str]]:
    """Time the SDK's ``handle`` over every episode context, back to back; also return what it answered."""
    states: list[str] = []
    started = time.perf_counter()
    for context in contexts:
        states.append(handle(context))
    return time.perf_counter() - started, states


def measure_floor(steps: int, warm_up_steps: int, omit_event_types: frozenset[int] = frozenset()) -> float:
    """Seconds the SDK spends replaying every episode of a ``steps``-long chain (warm-up excluded)."""
    handle = chain_handle()
    replay_seconds(handle, chain_episode_contexts(warm_up_steps, omit_event_types))
    seconds, states = replay_seconds(handle, chain_episode_contexts(steps, omit_event_types))
    check_chain_replay(steps, states)
    return seconds
