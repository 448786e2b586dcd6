"""Replay recorded histories through the SDK's orchestrator handle, as the Functions host does.

A history file holds what devhost's engine stored for one finished instance (its input and every history
event) plus what the orchestrator produced on that history when it was recorded: the actions, the output
or the error, and the custom status. Replaying the same history must produce the same again; a change to an
orchestrator that would break instances already running (another activity order, another task kind, a
renamed function) shows up here as a different result.

Record (once, deliberately; never to make a failing replay pass):
``.venv/bin/python -m tests.pipeline.orchestrators.record_histories``
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.functions import index_app

HISTORIES_DIR = Path(__file__).resolve().parents[1] / "histories"
OUT_OF_PROC_MARKER = "$OutOfProcData$:"


@dataclass(frozen=True)
class ReplayResult:
    """What one replay of a whole history produced."""

    state: dict[str, Any]

    @property
    def output(self) -> Any:
        return self.state.get("output")

    @property
    def error(self) -> str | None:
        error = self.state.get("error")
        return None if error is None else str(error)

    @property
    def actions(self) -> Any:
        return self.state.get("actions")

    @property
    def custom_status(self) -> Any:
        return self.state.get("customStatus")

    def scheduled_functions(self) -> list[str]:
        """Activity and sub-orchestration names in the order the actions schedule them."""
        return [name for name, _ in self.scheduled_calls()]

    def scheduled_calls(self) -> list[tuple[str, Any]]:
        """``(function name, decoded input)`` of every activity and sub-orchestration action, in order."""
        return [
            (str(action["functionName"]), _decoded(action.get("input")))
            for action in _each_action(self.actions)
            if action.get("actionType") in (0, 1, 2, 3)
        ]

    def timers(self) -> list[tuple[str, bool]]:
        """``(fireAt, isCanceled)`` of every timer action, in order."""
        return [
            (str(action["fireAt"]), bool(action.get("isCanceled")))
            for action in _each_action(self.actions)
            if action.get("actionType") == 5
        ]


def _each_action(actions: Any) -> Iterator[dict[str, Any]]:
    """Every action dict in ``actions`` (V1 lists of lists, V2+ compound actions), depth first, in order."""
    if isinstance(actions, list):
        for item in actions:
            yield from _each_action(item)
    elif isinstance(actions, dict):
        yield actions
        for child in actions.get("compoundActions") or []:
            yield from _each_action(child)


def replay(record: dict[str, Any]) -> ReplayResult:
    """Replay ``record`` (a history file's content) through the app's orchestrator handle."""
    from function_app import app

    function = index_app(app).get(record["orchestrator"], "orchestrationTrigger")
    assert function is not None, f"no orchestrator {record['orchestrator']!r} in the app"
    context = {
        "history": record["history"],
        "instanceId": record["instance_id"],
        "isReplaying": True,
        "parentInstanceId": record.get("parent_instance_id"),
        "input": record["input"],
        "upperSchemaVersion": record.get("upper_schema_version", 2),
    }
    try:
        state_text = function.user_function(json.dumps(context))
    except Exception as failure:
        # An orchestrator that raised: the SDK reports its state after this marker, as the host reads it.
        message = str(failure)
        if OUT_OF_PROC_MARKER not in message:
            raise
        return ReplayResult(json.loads(message.split(OUT_OF_PROC_MARKER, 1)[1]))
    return ReplayResult(json.loads(state_text))


def history_scheduled_functions(history: list[dict[str, Any]]) -> list[str]:
    """Activity and sub-orchestration names in the order the history scheduled them (retries counted once)."""
    return [name for name, _ in history_scheduled_calls(history)]


def history_scheduled_calls(history: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """``(name, decoded input)`` of what the history scheduled, in order, each retried task counted once.

    A retry is the host's doing, not a new action of the orchestrator: after a failed attempt the host
    creates a timer for the retry delay (the next event but episode markers), and once that timer fired it
    schedules the same function and input again under a new EventId. Those re-schedulings are left out.
    """
    scheduled_by_id = {int(e["EventId"]): e for e in history if e["EventType"] in (4, 7)}
    calls: list[tuple[str, Any]] = []
    last_failed: tuple[str, str] | None = None
    retry_timers: dict[int, tuple[str, str]] = {}
    due_retries: list[tuple[str, str]] = []
    for event in history:
        kind = event["EventType"]
        if kind in (12, 13):  # OrchestratorStarted / OrchestratorCompleted
            continue
        if kind in (6, 9):  # TaskFailed / SubOrchestrationInstanceFailed
            failed = scheduled_by_id[int(event["TaskScheduledId"])]
            last_failed = (str(failed["Name"]), str(failed.get("Input")))
            continue
        if kind == 10 and last_failed is not None:  # TimerCreated right after a failure: a retry delay
            retry_timers[int(event["EventId"])] = last_failed
        elif kind == 11 and int(event["TimerId"]) in retry_timers:
            due_retries.append(retry_timers.pop(int(event["TimerId"])))
        elif kind in (4, 7):
            key = (str(event["Name"]), str(event.get("Input")))
            if key in due_retries:
                due_retries.remove(key)
            else:
                calls.append((str(event["Name"]), _decoded(event.get("Input"))))
        last_failed = None
    return calls


def _decoded(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def load(name: str) -> dict[str, Any]:
    """Read history file ``name`` (without ``.json``)."""
    loaded: dict[str, Any] = json.loads((HISTORIES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return loaded
