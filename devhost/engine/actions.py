"""Applying the actions a replay returns, with the determinism check.

Also completing, failing and continuing instances, and starting sub-orchestrations.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from devhost.engine.events import (
    ACTION_NAMES,
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_ENTITY,
    CALL_HTTP,
    CALL_SUB_ORCHESTRATOR,
    CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    CONTINUE_AS_NEW_ACTION,
    CONTINUED_AS_NEW,
    CREATE_TIMER,
    ENTITY_RESPONSE_PREFIX,
    EVENT_RAISED,
    EVENT_SENT,
    EXECUTION_FAILED,
    EXECUTION_STARTED,
    FAILED,
    SIGNAL_ENTITY,
    SUB_ORCHESTRATION_CREATED,
    SUB_ORCHESTRATION_FAILED,
    TASK_SCHEDULED,
    TIMER_CREATED,
    WAIT_FOR_EXTERNAL_EVENT,
    WHEN_ALL,
    WHEN_ANY,
    _event,
    _iso,
    _parse_fire_at,
    _played,
)
from devhost.engine.records import Instance, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine

logger = logging.getLogger("devhost.engine")


def _flatten_actions(actions: Any) -> Iterator[dict[str, Any]]:
    for action in actions or []:
        if isinstance(action, list):
            yield from _flatten_actions(action)
        elif isinstance(action, dict):
            if action.get("actionType") in (WHEN_ANY, WHEN_ALL):
                yield from _flatten_actions(action.get("compoundActions"))
            else:
                yield action


def _action_name(action: dict[str, Any]) -> str:
    kind = action.get("actionType")
    if kind == WAIT_FOR_EXTERNAL_EVENT:
        return str(action.get("externalEventName", ""))
    if kind in (CALL_ENTITY, SIGNAL_ENTITY):
        return f"{action.get('instanceId')}:{action.get('operation')}"
    if kind in (CREATE_TIMER, CONTINUE_AS_NEW_ACTION):
        return ""
    return str(action.get("functionName", ""))


class _NonDeterminismError(Exception):
    pass


def _apply_actions(
    engine: Engine,
    instance: Instance,
    actions: list[dict[str, Any]],
    scheduled: list[dict[str, Any]],
    batch: Batch,
    effects: _Effects,
    timestamp: str,
) -> tuple[bool, str | None]:
    known = instance.actions
    for position in range(min(len(actions), len(known))):
        action = actions[position]
        task_id, kind, name = known[position]
        if action.get("actionType") != kind or _action_name(action) != name:
            raise _NonDeterminismError(
                "Non-Deterministic workflow detected: the orchestrator scheduled "
                f"{ACTION_NAMES.get(action.get('actionType', -1), '?')} '{_action_name(action)}' as its "
                f"action #{position}, but its history holds {ACTION_NAMES.get(kind, '?')} '{name}'. "
                "Orchestrator code must be deterministic."
            )
        if kind == CREATE_TIMER and action.get("isCanceled") and task_id in instance.timers:
            batch.delete_timer(instance.timers.pop(task_id))
            engine._timer_bodies.pop(engine._timer_key(instance, task_id), None)
    continued = False
    continue_input: str | None = None
    for action in actions[len(known) :]:
        kind = int(action.get("actionType", -1))
        if kind == WAIT_FOR_EXTERNAL_EVENT:
            known.append([-1, kind, _action_name(action)])
            continue
        task_id = instance.next_id
        instance.next_id += 1
        known.append([task_id, kind, _action_name(action)])
        if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
            name = str(action["functionName"])
            input_ = action.get("input")
            engine._warn_if_large(input_, "activity input", name, instance.instance_id)
            scheduled.append(_event(TASK_SCHEDULED, task_id, timestamp, Name=name, Input=input_))
            engine._schedule_work(instance, task_id, name, input_, batch, effects)
            if kind == CALL_ACTIVITY_WITH_RETRY:
                engine._register_retry(instance, task_id, kind, name, input_, action, None)
        elif kind in (CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            name = str(action["functionName"])
            input_ = action.get("input")
            child_id = action.get("instanceId") or f"{instance.instance_id}:{task_id:04d}"
            # As on Azure, a child started without a version of its own gets host.json's defaultVersion,
            # not its parent's version.
            version = str(action.get("version") or engine.durable_settings.default_version)
            scheduled.append(
                _event(
                    SUB_ORCHESTRATION_CREATED,
                    task_id,
                    timestamp,
                    Name=name,
                    Input=input_,
                    InstanceId=child_id,
                    Version=version,
                )
            )
            _start_child(engine, instance, task_id, name, input_, str(child_id), batch, timestamp, version)
            if kind == CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                engine._register_retry(
                    instance, task_id, kind, name, input_, action, str(action.get("instanceId") or "")
                )
                instance.retries[task_id].version = version
        elif kind == CREATE_TIMER:
            fire_at_text = str(action["fireAt"])
            scheduled.append(_event(TIMER_CREATED, task_id, timestamp, FireAt=fire_at_text))
            if not action.get("isCanceled"):
                fire_at = _parse_fire_at(fire_at_text)
                engine._schedule_timer(instance, task_id, fire_at, batch, effects)
        elif kind in (CALL_ENTITY, SIGNAL_ENTITY):
            target = str(action["instanceId"])
            request_key = f"{instance.instance_id}/{instance.execution_id}/{task_id}"
            request_id = f"{ENTITY_RESPONSE_PREFIX}{uuid.uuid5(uuid.NAMESPACE_URL, request_key)}"
            operation = str(action.get("operation"))
            signal = kind == SIGNAL_ENTITY
            payload = {"id": request_id, "op": operation, "signal": signal, "input": action.get("input")}
            scheduled.append(
                _event(
                    EVENT_SENT,
                    task_id,
                    timestamp,
                    InstanceId=target,
                    Name="op",
                    Input=json.dumps(payload),
                )
            )
            engine._send(
                target,
                {
                    "op": operation,
                    "input": action.get("input"),
                    "id": request_id,
                    "signal": signal,
                    "parent": None if signal else instance.instance_id,
                    "parent_execution": instance.execution_id,
                },
                batch,
            )
        elif kind == CONTINUE_AS_NEW_ACTION:
            continued = True
            continue_input = action.get("input")
        elif kind == CALL_HTTP:
            raise _NonDeterminismError("Durable HTTP calls (call_http) are not supported by devhost.")
    return continued, continue_input


def _start_child(
    engine: Engine,
    parent: Instance,
    task_id: int,
    name: str,
    input_: str | None,
    child_id: str,
    batch: Batch,
    timestamp: str,
    version: str,
) -> None:
    existing = engine._instances.get(child_id)
    if existing is not None and not existing.terminal:
        failure = _event(
            SUB_ORCHESTRATION_FAILED,
            -1,
            timestamp,
            TaskScheduledId=task_id,
            Reason=f"An orchestration instance with id '{child_id}' is already running.",
            Details="",
        )
        engine._send(parent.instance_id, {"execution": parent.execution_id, "event": failure}, batch)
        return
    link = {"instance_id": parent.instance_id, "execution_id": parent.execution_id, "task_id": task_id}
    engine._create_instance(child_id, name, input_, batch, parent=link, version=version)


def _notify_parent(engine: Engine, instance: Instance, event: dict[str, Any], batch: Batch) -> None:
    assert instance.parent is not None
    event["TaskScheduledId"] = instance.parent["task_id"]
    engine._send(
        instance.parent["instance_id"],
        {"execution": instance.parent["execution_id"], "event": event},
        batch,
    )


def _fail(
    engine: Engine,
    instance: Instance,
    error: str,
    details: str,
    appended: list[str],
    timestamp: str,
    batch: Batch,
    reason: str | None = None,
) -> None:
    reason = reason or f"Orchestrator function '{instance.name}' failed: {error}"
    appended.append(
        _played(
            json.dumps(
                _event(
                    EXECUTION_FAILED,
                    -1,
                    timestamp,
                    OrchestrationStatus=FAILED,
                    Reason=reason,
                    Details=details,
                )
            )
        )
    )
    instance.status = FAILED
    instance.output = json.dumps(reason)
    engine._append_history(instance, appended, batch)
    # A failed instance keeps its replay bookkeeping: rewind needs it.
    _finish(engine, instance, batch, keep_bookkeeping=True)
    logger.warning("instance %s failed: %s", instance.instance_id, reason)
    if instance.parent:
        _notify_parent(
            engine,
            instance,
            _event(SUB_ORCHESTRATION_FAILED, -1, timestamp, Reason=reason, Details=details),
            batch,
        )


def _finish(engine: Engine, instance: Instance, batch: Batch, *, keep_bookkeeping: bool = False) -> None:
    """Release what a finished instance still holds: pending timers, unconsumed messages, bookkeeping."""
    for key in instance.timers.values():
        batch.delete_timer(key)
        engine._timer_bodies.pop(key, None)
    instance.timers.clear()
    for message in instance.inbox:
        batch.delete_inbox(message.msg_id)
    instance.inbox.clear()
    if keep_bookkeeping:
        return
    instance.actions = []
    instance.retries.clear()
    instance.attempt_index.clear()
    instance.timer_index.clear()
    instance.completed_ids.clear()


def _continue_as_new(engine: Engine, instance: Instance, new_input: str | None, batch: Batch) -> None:
    first = json.loads(instance.history[1]) if len(instance.history) > 1 else {}
    version = str(first.get("Version") or "")
    waits: dict[str, int] = {}
    for _, kind, name in instance.actions:
        if kind == WAIT_FOR_EXTERNAL_EVENT:
            waits[name] = waits.get(name, 0) + 1
    raised: dict[str, list[dict[str, Any]]] = {}
    for text in instance.history:
        if '"EventType": 15,' in text:
            event = json.loads(text)
            name = str(event.get("Name"))
            if not name.startswith(ENTITY_RESPONSE_PREFIX):
                raised.setdefault(name, []).append(event)
    # Events that arrived but were never waited for carry over to the new execution, oldest first.
    carried = [event for name, events in raised.items() for event in events[waits.get(name, 0) :]]
    pending_events = [m for m in instance.inbox if m.body["event"]["EventType"] == EVENT_RAISED]
    for key in instance.timers.values():
        batch.delete_timer(key)
        engine._timer_bodies.pop(key, None)
    for message in instance.inbox:
        batch.delete_inbox(message.msg_id)
    instance.inbox = []
    instance.execution_id = uuid.uuid4().hex
    instance.input = new_input
    instance.status = CONTINUED_AS_NEW
    instance.history = []
    instance.replay_history = []
    instance.completed_ids = set()
    instance.next_id = 0
    instance.actions = []
    instance.retries = {}
    instance.attempt_index = {}
    instance.timer_index = {}
    instance.timers = {}
    batch.history_resets.add(instance.instance_id)
    batch.history = [row for row in batch.history if row[0] != instance.instance_id]
    timestamp = _iso(engine.clock.now())
    start = _event(EXECUTION_STARTED, -1, timestamp, Name=instance.name, Input=new_input, Version=version)
    engine._send(instance.instance_id, {"execution": instance.execution_id, "event": start}, batch)
    for event in carried:
        event["IsPlayed"] = False
        engine._send(instance.instance_id, {"execution": None, "event": event}, batch)
    for message in pending_events:
        engine._send(instance.instance_id, message.body, batch)
