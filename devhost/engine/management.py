"""Instance management: start, raise event, terminate, suspend, resume, rewind, restart, purge.

Also the status documents and paged queries of the Durable HTTP API.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from devhost.engine.errors import (
    EngineError,
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidContinuationTokenError,
    NotSupportedError,
    UnknownFunctionError,
)
from devhost.engine.events import (
    COMPLETED,
    EVENT_RAISED,
    EVENT_TYPE_NAMES,
    EXECUTION_FAILED,
    EXECUTION_RESUMED,
    EXECUTION_STARTED,
    EXECUTION_SUSPENDED,
    EXECUTION_TERMINATED,
    FAILED,
    GENERIC_EVENT,
    ORCHESTRATOR_STARTED,
    PENDING,
    RUNNING,
    SUB_ORCHESTRATION_COMPLETED,
    SUB_ORCHESTRATION_CREATED,
    SUB_ORCHESTRATION_FAILED,
    SUSPENDED,
    TASK_FAILED,
    TASK_SCHEDULED,
    TERMINATED,
    TIMER_CREATED,
    TIMER_FIRED,
    _check_json,
    _event,
    _iso,
    _parse_fire_at,
    _parse_json,
    _played,
    _status_time,
)
from devhost.engine.records import Instance, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine


DEFAULT_PAGE_SIZE = 100
MAXIMUM_PAGE_SIZE = 1000


def _encode_continuation(last_instance_id: str) -> str:
    document = json.dumps({"after": last_instance_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii")


def _decode_continuation(token: str) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8"))
        after = document["after"]
    except (ValueError, TypeError, KeyError, UnicodeError) as error:
        raise InvalidContinuationTokenError(f"The continuation token {token!r} is not valid.") from error
    if not isinstance(after, str):
        raise InvalidContinuationTokenError(f"The continuation token {token!r} is not valid.")
    return after


def _matches(
    instance: Instance,
    created_from: datetime | None,
    created_to: datetime | None,
    statuses: list[str] | None,
    prefix: str | None,
) -> bool:
    if created_from is not None and instance.created < created_from.timestamp():
        return False
    if created_to is not None and instance.created > created_to.timestamp():
        return False
    if statuses and instance.status.lower() not in {s.lower() for s in statuses}:
        return False
    return not (prefix and not instance.instance_id.startswith(prefix))


def _history_document(event: dict[str, Any], show_output: bool) -> dict[str, Any]:
    kind = int(event.get("EventType", -1))
    document: dict[str, Any] = {
        "EventType": EVENT_TYPE_NAMES.get(kind, str(kind)),
        "EventId": event.get("EventId"),
    }
    document["Timestamp"] = event.get("Timestamp")
    for key in (
        "Name",
        "TaskScheduledId",
        "TimerId",
        "FireAt",
        "InstanceId",
        "Reason",
        "OrchestrationStatus",
    ):
        if event.get(key) is not None:
            document["FunctionName" if key == "Name" and kind != EVENT_RAISED else key] = event[key]
    if show_output:
        if event.get("Result") is not None:
            document["Result"] = _parse_json(event["Result"])
        if event.get("Input") is not None:
            document["Input"] = _parse_json(event["Input"])
        if event.get("Details"):
            document["Details"] = event["Details"]
    return document


def _status_document(
    instance: Instance, show_input: bool, show_history: bool, show_output: bool
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.status,
        "input": _parse_json(instance.input) if show_input else None,
        "customStatus": _parse_json(instance.custom_status),
        "output": _parse_json(instance.output),
        "createdTime": _status_time(instance.created),
        "lastUpdatedTime": _status_time(instance.updated),
    }
    if show_history:
        events = [_history_document(json.loads(text), show_output) for text in instance.history]
        events = [e for e in events if e["EventType"] not in ("OrchestratorStarted", "OrchestratorCompleted")]
        document["historyEvents"] = events
        document["history"] = events
    return document


# ------------------------------------------------------------------ API operations


def _create_instance(
    engine: Engine,
    instance_id: str,
    name: str,
    input_: str | None,
    batch: Batch,
    parent: dict[str, Any] | None = None,
    version: str | None = None,
) -> Instance:
    now = engine.clock.timestamp()
    existing = engine._instances.get(instance_id)
    if existing is not None:
        engine._finish(existing, batch)
        batch.history_resets.add(instance_id)
        batch.history = [row for row in batch.history if row[0] != instance_id]
    instance = Instance(
        instance_id=instance_id,
        name=name,
        execution_id=uuid.uuid4().hex,
        status=PENDING,
        input=input_,
        created=now,
        updated=now,
        parent=parent,
        version=version or "",
    )
    engine._instances[instance_id] = instance
    engine._warn_if_large(input_, "orchestration input", name, instance_id)
    start = _event(
        EXECUTION_STARTED, -1, _iso(engine.clock.now()), Name=name, Input=input_, Version=version or ""
    )
    batch.instances[instance_id] = instance.row()
    engine._send(instance_id, {"execution": instance.execution_id, "event": start}, batch)
    return instance


async def start_new(
    engine: Engine,
    name: str,
    instance_id: str | None = None,
    input_json: str | None = None,
    version: str | None = None,
) -> str:
    """Start orchestrator ``name``; ``input_json`` is the input already JSON-encoded. Returns the id.

    Starting with the id of a running instance fails (``InstanceExistsError``) as on Azure; the id of a
    completed, failed or terminated one starts a fresh run. Without a ``version`` (or with an empty one)
    the instance gets host.json's ``defaultVersion``.
    """
    info = engine.index.get(name, "orchestrationTrigger")
    if info is None:
        raise UnknownFunctionError(
            f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator."
        )
    if instance_id is not None and (not instance_id or instance_id.startswith("@") or "/" in instance_id):
        raise EngineError(f"Invalid instance id {instance_id!r}.")
    new_id = instance_id or uuid.uuid4().hex
    _check_json(input_json)

    def command(batch: Batch, effects: _Effects) -> str:
        existing = engine._instances.get(new_id)
        if existing is not None and not existing.terminal:
            raise InstanceExistsError(
                f"An Orchestration instance with the status {existing.status} already exists."
            )
        stamped = version or engine.durable_settings.default_version
        _create_instance(engine, new_id, info.name, input_json, batch, version=stamped)
        return new_id

    return str(await engine._submit(command))


def _require(engine: Engine, instance_id: str) -> Instance:
    instance = engine._instances.get(instance_id)
    if instance is None:
        raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
    return instance


async def raise_event(
    engine: Engine, instance_id: str, event_name: str, data_json: str | None = None
) -> None:
    """Deliver an external event (buffered until the orchestration waits for it)."""
    _check_json(data_json)

    def command(batch: Batch, effects: _Effects) -> None:
        instance = _require(engine, instance_id)
        if instance.terminal:
            raise InstanceGoneError(f"Instance with ID {instance_id} is gone: either completed or failed")
        engine._warn_if_large(data_json, f"event '{event_name}' payload", instance.name, instance_id)
        event = _event(EVENT_RAISED, -1, _iso(engine.clock.now()), Name=event_name, Input=data_json)
        engine._send(instance_id, {"execution": None, "event": event}, batch)

    await engine._submit(command)


async def terminate(engine: Engine, instance_id: str, reason: str = "") -> None:
    """Terminate a running instance (``InstanceGoneError`` when it already finished)."""

    def command(batch: Batch, effects: _Effects) -> None:
        instance = _require(engine, instance_id)
        if instance.terminal:
            raise InstanceGoneError(f"Instance {instance_id} already finished.")
        timestamp = _iso(engine.clock.now())
        event = _event(EXECUTION_TERMINATED, -1, timestamp, Input=json.dumps(reason))
        instance.status = TERMINATED
        instance.output = json.dumps(reason)
        instance.updated = engine.clock.timestamp()
        engine._append_history(instance, [_played(json.dumps(event))], batch)
        engine._finish(instance, batch)
        batch.instances[instance_id] = instance.row()

    await engine._submit(command)


async def suspend(engine: Engine, instance_id: str, reason: str = "") -> None:
    """Suspend: messages stay queued until ``resume``."""

    def command(batch: Batch, effects: _Effects) -> None:
        instance = _require(engine, instance_id)
        if instance.terminal:
            raise InstanceGoneError(f"Instance {instance_id} already finished.")
        if instance.status == SUSPENDED:
            return
        if instance.history:
            event = _event(EXECUTION_SUSPENDED, -1, _iso(engine.clock.now()), Reason=reason)
            engine._append_history(instance, [_played(json.dumps(event))], batch)
        instance.status = SUSPENDED
        instance.updated = engine.clock.timestamp()
        engine._ready.pop(instance_id, None)
        batch.instances[instance_id] = instance.row()

    await engine._submit(command)


async def resume(engine: Engine, instance_id: str, reason: str = "") -> None:
    """Resume a suspended instance."""

    def command(batch: Batch, effects: _Effects) -> None:
        instance = _require(engine, instance_id)
        if instance.terminal:
            raise InstanceGoneError(f"Instance {instance_id} already finished.")
        if instance.status != SUSPENDED:
            return
        if instance.history:
            event = _event(EXECUTION_RESUMED, -1, _iso(engine.clock.now()), Reason=reason)
            engine._append_history(instance, [_played(json.dumps(event))], batch)
            instance.status = RUNNING
        else:
            instance.status = PENDING
        instance.updated = engine.clock.timestamp()
        engine._mark_ready(instance)
        batch.instances[instance_id] = instance.row()

    await engine._submit(command)


async def restart(engine: Engine, instance_id: str, *, new_instance_id: bool = True) -> str:
    """Start the orchestration again with its original input; returns the id of the new run."""
    instance = _require(engine, instance_id)
    return await start_new(engine, instance.name, None if new_instance_id else instance_id, instance.input)


async def rewind(engine: Engine, instance_id: str, reason: str = "") -> None:
    """Run a failed instance again from its last healthy point.

    The failed tasks of the episode that failed lose their failure events and run again; tasks that were
    still pending are dispatched again and finished sub-orchestrations report again; an orchestrator that
    failed in its own code is simply replayed. A failure that exhausted ``RetryOptions`` cannot be
    rewound here (the SDK's retry bookkeeping would disagree): ``NotSupportedError``, use restart.
    """

    def command(batch: Batch, effects: _Effects) -> None:
        instance = _require(engine, instance_id)
        if instance.status != FAILED:
            raise InstanceGoneError(
                "The rewind operation is only supported on failed orchestration instances."
            )
        _rewind(engine, instance, reason, batch, effects)

    await engine._submit(command)


def _rewind(engine: Engine, instance: Instance, reason: str, batch: Batch, effects: _Effects) -> None:
    events = [json.loads(text) for text in instance.history]
    last_start = max((i for i, e in enumerate(events) if e["EventType"] == ORCHESTRATOR_STARTED), default=0)
    action_ids = {task_id for task_id, _, _ in instance.actions if task_id >= 0}
    rewound: set[int] = set()
    for event in events[last_start:]:
        kind = event["EventType"]
        if kind == TIMER_FIRED and int(event["TimerId"]) not in action_ids:
            raise NotSupportedError(
                "Rewinding a failure that exhausted its retries is not supported; use restart."
            )
        if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
            rewound.add(int(event["TaskScheduledId"]))
    if rewound & set(instance.attempt_index) or any(
        g.current_id in rewound for g in instance.retries.values()
    ):
        raise NotSupportedError("Rewinding a task with RetryOptions is not supported; use restart.")
    kept = [
        e
        for i, e in enumerate(events)
        if e["EventType"] != EXECUTION_FAILED
        and not (i >= last_start and e["EventType"] in (TASK_FAILED, SUB_ORCHESTRATION_FAILED))
    ]
    timestamp = _iso(engine.clock.now())
    instance.history = []
    instance.replay_history = []
    batch.history_resets.add(instance.instance_id)
    batch.history = [row for row in batch.history if row[0] != instance.instance_id]
    engine._append_history(instance, [_played(json.dumps(e)) for e in kept], batch)
    instance.completed_ids = {k for k in (engine._completion_key(e) for e in kept) if k is not None}
    instance.status = RUNNING
    instance.output = None
    instance.updated = engine.clock.timestamp()
    fired = {int(e["TimerId"]) for e in kept if e["EventType"] == TIMER_FIRED}
    for event in kept:
        task_id = int(event.get("EventId", -1))
        if task_id < 0 or task_id in instance.completed_ids:
            continue
        kind = event["EventType"]
        if kind == TASK_SCHEDULED:
            engine._schedule_work(instance, task_id, str(event["Name"]), event.get("Input"), batch, effects)
        elif kind == TIMER_CREATED and task_id not in fired:
            engine._schedule_timer(instance, task_id, _parse_fire_at(str(event["FireAt"])), batch, effects)
        elif kind == SUB_ORCHESTRATION_CREATED:
            _resume_child(engine, instance, task_id, event, batch, timestamp)
    # A generic event gives the orchestrator an episode even when no task had to run again.
    nudge = _event(GENERIC_EVENT, -1, timestamp, Data=f"rewound: {reason}")
    engine._send(instance.instance_id, {"execution": instance.execution_id, "event": nudge}, batch)
    batch.instances[instance.instance_id] = instance.row()


def _resume_child(
    engine: Engine, parent: Instance, task_id: int, created: dict[str, Any], batch: Batch, timestamp: str
) -> None:
    child_id = str(created.get("InstanceId"))
    child = engine._instances.get(child_id)
    if child is not None and child.status == COMPLETED:
        done = _event(
            SUB_ORCHESTRATION_COMPLETED, -1, timestamp, TaskScheduledId=task_id, Result=child.output
        )
        engine._send(parent.instance_id, {"execution": parent.execution_id, "event": done}, batch)
    elif child is None or child.terminal:
        version = created.get("Version")
        engine._start_child(
            parent,
            task_id,
            str(created["Name"]),
            created.get("Input"),
            child_id,
            batch,
            timestamp,
            engine.durable_settings.default_version if version is None else str(version),
        )


async def purge(engine: Engine, instance_id: str) -> int:
    """Delete a finished instance and its history; returns how many were deleted (0 or 1)."""

    def command(batch: Batch, effects: _Effects) -> int:
        instance = engine._instances.get(instance_id)
        if instance is None:
            return 0
        if not instance.terminal:
            raise EngineError(
                f"Instance {instance_id} is still {instance.status}; terminate it before purging."
            )
        del engine._instances[instance_id]
        batch.purges.append(instance_id)
        batch.history = [row for row in batch.history if row[0] != instance_id]
        return 1

    return int(await engine._submit(command))


async def purge_by(
    engine: Engine,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    statuses: list[str] | None = None,
) -> int:
    """Delete finished instances created in the window (and of the given statuses); returns the count."""

    def command(batch: Batch, effects: _Effects) -> int:
        victims = [
            i.instance_id
            for i in engine._instances.values()
            if i.terminal and _matches(i, created_from, created_to, statuses, None)
        ]
        for instance_id in victims:
            del engine._instances[instance_id]
            batch.purges.append(instance_id)
        batch.history = [row for row in batch.history if row[0] not in set(victims)]
        return len(victims)

    return int(await engine._submit(command))


def status(
    engine: Engine,
    instance_id: str,
    *,
    show_input: bool = True,
    show_history: bool = False,
    show_history_output: bool = False,
) -> dict[str, Any]:
    """Return the status document of the Durable HTTP API for one instance."""
    return _status_document(_require(engine, instance_id), show_input, show_history, show_history_output)


def query(
    engine: Engine,
    *,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    statuses: list[str] | None = None,
    prefix: str | None = None,
    show_input: bool = False,
    top: int | None = None,
    continuation: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Return one page of matching status documents and the token of the next page (None on the last).

    As on Azure (the extension's ``OrchestrationStatusQueryCondition.PageSize``), a page holds 100
    instances unless ``top`` says otherwise, and never more than 1,000 (the most one Azure Storage table
    query returns). Pages follow instance ids in order, as the Azure Storage instances table does; the
    token names the last id of its page, so instances created or purged between two pages never shift
    another one in or out of view.
    """
    size = DEFAULT_PAGE_SIZE if top is None or top <= 0 else min(top, MAXIMUM_PAGE_SIZE)
    after = _decode_continuation(continuation) if continuation else None
    matching = sorted(
        (
            i
            for i in engine._instances.values()
            if (after is None or i.instance_id > after)
            and _matches(i, created_from, created_to, statuses, prefix)
        ),
        key=lambda i: i.instance_id,
    )
    page = matching[:size]
    token = _encode_continuation(page[-1].instance_id) if len(matching) > size else None
    return [_status_document(i, show_input, False, False) for i in page], token
