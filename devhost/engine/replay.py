"""One orchestration episode: the context JSON the SDK's replay reads, the SDK's handle, and its result."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import warnings
from typing import TYPE_CHECKING, Any

from devhost.engine.actions import _flatten_actions, _NonDeterminismError
from devhost.engine.events import (
    COMPLETED,
    EXECUTION_COMPLETED,
    EXECUTION_STARTED,
    ORCHESTRATOR_STARTED,
    OUT_OF_PROC_MARKER,
    RUNNING,
    SUB_ORCHESTRATION_COMPLETED,
    SUB_ORCHESTRATION_FAILED,
    TASK_COMPLETED,
    TASK_FAILED,
    TIMER_FIRED,
    _error_details,
    _event,
    _iso,
    _played,
    _replayed_by_sdk,
)
from devhost.engine.records import Instance, _Effects
from devhost.engine.settings import MAX_MESSAGES_PER_EPISODE
from devhost.engine.versioning import VERSION_FAILURE_FAIL, VERSION_FAILURE_REJECT, VERSION_MISMATCH_REASON
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine

logger = logging.getLogger("devhost.engine")

# ------------------------------------------------------------------ orchestration episodes


def _completion_key(event: dict[str, Any]) -> int | None:
    kind = event.get("EventType")
    if kind in (TASK_COMPLETED, TASK_FAILED, SUB_ORCHESTRATION_COMPLETED, SUB_ORCHESTRATION_FAILED):
        return int(event["TaskScheduledId"])
    if kind == TIMER_FIRED:
        return int(event["TimerId"])
    return None


def _orchestration_episode(engine: Engine, instance: Instance, batch: Batch, effects: _Effects) -> None:
    verdict = engine.durable_settings.version_verdict(instance.version)
    if verdict == VERSION_FAILURE_REJECT:
        # As the framework abandons such a work item, its messages stay queued for a host whose version
        # matches (devhost started again with another defaultVersion); a new message looks again.
        logger.warning(
            "instance %s has version %r, which this host (defaultVersion %r, versionMatchStrategy %s) "
            "does not run; its work waits for a host whose version matches",
            instance.instance_id,
            instance.version,
            engine.durable_settings.default_version,
            engine.durable_settings.version_match_strategy,
        )
        return
    messages = instance.inbox[:MAX_MESSAGES_PER_EPISODE]
    del instance.inbox[: len(messages)]
    start: dict[str, Any] | None = None
    normal: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    for message in messages:
        batch.delete_inbox(message.msg_id)
        body = message.body
        execution = body.get("execution")
        if execution is not None and execution != instance.execution_id:
            continue
        event = body["event"]
        kind = event["EventType"]
        if kind == EXECUTION_STARTED:
            if not instance.history and start is None:
                start = event
            continue
        if not instance.history and start is None:
            # The start message always comes first in an inbox; anything before it is stale.
            continue
        key = _completion_key(event)
        if key is not None:
            # Dedupe: an activity that ran twice (at-least-once) completes its task only once.
            if key in instance.completed_ids or key >= instance.next_id:
                continue
            instance.completed_ids.add(key)
            if engine._consumes_retry_id(instance, event):
                late.append(event)
                continue
            engine._settle_retry(instance, event)
        normal.append(event)
    if start is None and not normal and not late:
        return
    _replay(engine, instance, start, normal, late, batch, effects)


def _replay(
    engine: Engine,
    instance: Instance,
    start: dict[str, Any] | None,
    normal: list[dict[str, Any]],
    late: list[dict[str, Any]],
    batch: Batch,
    effects: _Effects,
) -> None:
    now = engine.clock.now()
    timestamp = _iso(now)
    new_events = [_event(ORCHESTRATOR_STARTED, -1, timestamp)]
    if start is not None:
        new_events.append(start)
        instance.status = RUNNING
    new_events.extend(normal)
    new_events.extend(late)
    new_unplayed = [json.dumps(event) for event in new_events]
    orchestrator = engine.index.get(instance.name, "orchestrationTrigger")
    appended: list[str] = [_played(text) for text in new_unplayed]
    state: dict[str, Any] = {}
    error: str | None = None
    details = ""
    if engine.durable_settings.version_verdict(instance.version) == VERSION_FAILURE_FAIL:
        instance.updated = now.timestamp()
        engine._fail(instance, "", "VersionMismatch", appended, timestamp, batch, VERSION_MISMATCH_REASON)
        batch.instances[instance.instance_id] = instance.row()
        return
    if orchestrator is None:
        error = f"The orchestrator function '{instance.name}' doesn't exist."
    else:
        context = "".join(
            (
                '{"history":[',
                ",".join(itertools.chain(instance.replay_history, new_unplayed)),
                '],"instanceId":',
                json.dumps(instance.instance_id),
                ',"isReplaying":',
                "true" if instance.history else "false",
                ',"parentInstanceId":',
                json.dumps(instance.parent["instance_id"] if instance.parent else None),
                ',"input":',
                json.dumps(instance.input),
                engine.durable_settings.context_fields(),
            )
        )
        try:
            with warnings.catch_warnings():
                # The SDK warns on every replay about events raised before their wait, which it
                # buffers by design (and duplicates never reach it: the engine dedupes completions).
                warnings.filterwarnings("ignore", message="Potential duplicate Task completion")
                state = json.loads(orchestrator.user_function(context))
        except Exception as failure:
            message = str(failure)
            head, marker, tail = message.partition(OUT_OF_PROC_MARKER)
            if marker:
                with contextlib.suppress(ValueError):
                    state = json.loads(tail)
            error = str(state.get("error") or head or type(failure).__name__)
            details = _error_details(failure)
    custom = state.get("customStatus")
    if custom is not None:
        instance.custom_status = json.dumps(custom)
    continue_input: str | None = None
    continued = False
    scheduled: list[dict[str, Any]] = []
    if error is None:
        actions = list(_flatten_actions(state.get("actions")))
        try:
            continued, continue_input = engine._apply_actions(
                instance, actions, scheduled, batch, effects, timestamp
            )
            engine._apply_retries(instance, late, scheduled, batch, effects, now)
        except _NonDeterminismError as nondeterminism:
            error = str(nondeterminism)
            details = ""
        except Exception as malformed:
            # Actions the engine cannot apply fail this instance, never the engine.
            logger.exception("cannot apply the actions of %s", instance.instance_id)
            error = f"devhost could not apply the orchestrator's actions: {malformed!r}"
            details = _error_details(malformed)
    scheduled_unplayed = [json.dumps(event) for event in scheduled]
    appended.extend(_played(text) for text in scheduled_unplayed)
    instance.updated = now.timestamp()
    if error is not None:
        engine._fail(instance, error, details, appended, timestamp, batch)
    elif continued:
        _append_history(engine, instance, appended, batch)
        engine._continue_as_new(instance, continue_input, batch)
    elif state.get("isDone"):
        output = state.get("output")
        result = json.dumps(output)
        engine._warn_if_large(result, "orchestration output", instance.name, instance.instance_id)
        appended.append(
            _played(
                json.dumps(
                    _event(EXECUTION_COMPLETED, -1, timestamp, OrchestrationStatus=COMPLETED, Result=result)
                )
            )
        )
        instance.status = COMPLETED
        instance.output = result
        _append_history(engine, instance, appended, batch)
        engine._finish(instance, batch)
        if instance.parent:
            engine._notify_parent(
                instance, _event(SUB_ORCHESTRATION_COMPLETED, -1, timestamp, Result=result), batch
            )
    else:
        _append_history(engine, instance, appended, batch)
    batch.instances[instance.instance_id] = instance.row()


def _append_history(engine: Engine, instance: Instance, events: list[str], batch: Batch) -> None:
    base = len(instance.history)
    instance.history.extend(events)
    instance.replay_history.extend(text for text in events if _replayed_by_sdk(text))
    batch.history.extend((instance.instance_id, base + i, text) for i, text in enumerate(events))
