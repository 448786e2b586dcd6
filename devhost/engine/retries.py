"""The host's half of ``call_*_with_retry``.

After a failed attempt, the retry timer and the fresh scheduling events the SDK expects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devhost.engine.events import (
    CALL_ACTIVITY_WITH_RETRY,
    SUB_ORCHESTRATION_COMPLETED,
    SUB_ORCHESTRATION_CREATED,
    SUB_ORCHESTRATION_FAILED,
    TASK_COMPLETED,
    TASK_FAILED,
    TASK_SCHEDULED,
    TIMER_CREATED,
    TIMER_FIRED,
    _event,
    _iso,
)
from devhost.engine.records import Instance, RetryGroup, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine


def _settle_retry(engine: Engine, instance: Instance, event: dict[str, Any]) -> None:
    """Forget a retry group once its task succeeded or its final failure reached the orchestrator."""
    kind = event["EventType"]
    if kind in (TASK_COMPLETED, SUB_ORCHESTRATION_COMPLETED):
        first = instance.attempt_index.pop(int(event["TaskScheduledId"]), None)
    elif kind == TIMER_FIRED:
        first = instance.timer_index.pop(int(event["TimerId"]), None)
    else:
        return
    if first is not None:
        instance.retries.pop(first, None)


def _consumes_retry_id(engine: Engine, instance: Instance, event: dict[str, Any]) -> bool:
    kind = event["EventType"]
    if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
        return int(event["TaskScheduledId"]) in instance.attempt_index
    if kind == TIMER_FIRED:
        first = instance.timer_index.get(int(event["TimerId"]))
        if first is not None:
            group = instance.retries[first]
            return group.attempts < group.max_attempts
    return False


def _register_retry(
    engine: Engine,
    instance: Instance,
    task_id: int,
    kind: int,
    name: str,
    input_: str | None,
    action: dict[str, Any],
    sub_instance_id: str | None,
) -> None:
    options = action.get("retryOptions") or {}
    group = RetryGroup(
        kind=kind,
        name=name,
        input=input_,
        max_attempts=int(options.get("maxNumberOfAttempts", 1)),
        interval_ms=int(options.get("firstRetryIntervalInMilliseconds", 0)),
        attempts=1,
        current_id=task_id,
        sub_instance_id=sub_instance_id or None,
    )
    instance.retries[task_id] = group
    instance.attempt_index[task_id] = task_id


def _apply_retries(
    engine: Engine,
    instance: Instance,
    late: list[dict[str, Any]],
    scheduled: list[dict[str, Any]],
    batch: Batch,
    effects: _Effects,
    now: datetime,
) -> None:
    timestamp = _iso(now)
    for event in late:
        kind = event["EventType"]
        if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
            first = instance.attempt_index.pop(int(event["TaskScheduledId"]))
            group = instance.retries[first]
            timer_id = instance.next_id
            instance.next_id += 1
            fire_at = now.timestamp() + group.interval_ms / 1000.0
            fire_text = _iso(datetime.fromtimestamp(fire_at, UTC))
            scheduled.append(_event(TIMER_CREATED, timer_id, timestamp, FireAt=fire_text))
            group.timer_id = timer_id
            instance.timer_index[timer_id] = first
            engine._schedule_timer(instance, timer_id, fire_at, batch, effects)
        else:
            first = instance.timer_index.pop(int(event["TimerId"]))
            group = instance.retries[first]
            task_id = instance.next_id
            instance.next_id += 1
            group.attempts += 1
            group.current_id = task_id
            group.timer_id = None
            instance.attempt_index[task_id] = first
            if group.kind == CALL_ACTIVITY_WITH_RETRY:
                scheduled.append(
                    _event(TASK_SCHEDULED, task_id, timestamp, Name=group.name, Input=group.input)
                )
                engine._schedule_work(instance, task_id, group.name, group.input, batch, effects)
            else:
                child_id = group.sub_instance_id or f"{instance.instance_id}:{task_id:04d}"
                version = (
                    group.version if group.version is not None else engine.durable_settings.default_version
                )
                scheduled.append(
                    _event(
                        SUB_ORCHESTRATION_CREATED,
                        task_id,
                        timestamp,
                        Name=group.name,
                        Input=group.input,
                        InstanceId=child_id,
                        Version=version,
                    )
                )
                engine._start_child(
                    instance, task_id, group.name, group.input, child_id, batch, timestamp, version
                )
