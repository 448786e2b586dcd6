"""The dispatch loop: rounds of episodes, group commit to the store, rollback of a failed round.

Also recovery from the store when the engine starts, and after a failed round.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import TYPE_CHECKING, Any

from devhost.engine.errors import (
    FAULT_RELOAD,
    FAULT_ROUND_AFTER_COMMANDS,
    FAULT_ROUND_AFTER_EPISODES,
    EngineError,
    EngineUnavailableError,
    RoundFailedError,
)
from devhost.engine.events import (
    COMPLETED,
    EXECUTION_STARTED,
    TERMINATED,
    _error_details,
    _iso,
    _replayed_by_sdk,
)
from devhost.engine.records import EntityRecord, Instance, Message, WorkItem, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine

logger = logging.getLogger("devhost.engine")


def _recover(engine: Engine) -> None:
    store = engine._require_store()
    rows = store.load_instances()
    histories = store.load_histories(row[0] for row in rows)
    for row in rows:
        (
            instance_id,
            name,
            execution_id,
            status,
            input_,
            output,
            custom,
            created,
            updated,
            parent,
            state,
        ) = row
        instance = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            status=status,
            input=input_,
            created=created,
            updated=updated,
            output=output,
            custom_status=custom,
            parent=json.loads(parent) if parent else None,
        )
        instance.history = histories.get(instance_id, [])
        instance.replay_history = [text for text in instance.history if _replayed_by_sdk(text)]
        if status not in (COMPLETED, TERMINATED):
            instance.load_engine_state(state)
            for text in instance.history:
                event = json.loads(text)
                if event.get("EventType") == EXECUTION_STARTED:
                    instance.version = str(event.get("Version") or "")
                completed = engine._completion_key(event)
                if completed is not None:
                    instance.completed_ids.add(completed)
        engine._instances[instance_id] = instance
    for entity_id, name, key, state_text, present, updated in store.load_entities():
        engine._entities[entity_id] = EntityRecord(entity_id, name, key, state_text, bool(present), updated)
    last_msg = 0
    for msg_id, target, body in store.load_inbox():
        last_msg = max(last_msg, msg_id)
        message = Message(msg_id, json.loads(body))
        if target.startswith("@"):
            entity = engine._entity(target)
            entity.inbox.append(message)
            engine._ready[target] = None
        elif target in engine._instances:
            instance = engine._instances[target]
            event = message.body.get("event") or {}
            if event.get("EventType") == EXECUTION_STARTED and not instance.history:
                instance.version = str(event.get("Version") or "")
            instance.inbox.append(message)
            engine._mark_ready(instance)
    engine._msg_ids = itertools.count(last_msg + 1)
    for timer_key, _instance_id, fire_at, body in store.load_timers():
        instance_id, execution_id, timer_id = json.loads(body)
        engine._arm_timer(fire_at, timer_key, instance_id, execution_id, int(timer_id))
    engine._recovered_work = [WorkItem.from_json(work_id, body) for work_id, body in store.load_work()]


async def _dispatch_loop(engine: Engine) -> None:
    assert engine._wake is not None
    if engine._recovered_work:
        _start_recovered_work(engine)
    while engine._running:
        if not engine._has_runnable():
            if engine._pending_commit is not None:
                # Keep going as soon as new work arrives (an inline activity completing, say) instead
                # of waiting for the fsync: the next round is replayed while this one is written.
                woken: asyncio.Future[Any] = asyncio.ensure_future(engine._wake.wait())
                committed: asyncio.Future[Any] = engine._pending_commit[0]
                await asyncio.wait((woken, committed), return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                if committed.done():
                    await _finish_commit(engine)
                continue
            engine._notify_progress()
            await engine._wake.wait()
        engine._wake.clear()
        if not engine._has_runnable():
            continue
        effects = _Effects()
        try:
            batch = _compute_round(engine, effects)
        except Exception as failure:
            # Per-instance failures are handled inside; a round that fails as a whole has already changed
            # memory (commands ran, messages were taken), so memory goes back to the store's state and
            # every caller of the round hears of the failure.
            logger.exception("a dispatch round failed; going back to the last committed state")
            await _roll_back(engine, failure, effects)
            continue
        # Work and timers may start before their round is durable: if the commit is lost, the consumed
        # messages are still in the store, the episode runs again and schedules them again
        # (at-least-once), and their completions can only be committed by a later round anyway.
        for item in effects.work:
            engine._start_work(item)
        for fire_at, timer_key, instance_id, execution_id, timer_id in effects.timers:
            engine._arm_timer(fire_at, timer_key, instance_id, execution_id, timer_id)
        if not await _finish_commit(engine, effects):
            # This round was computed on top of one that never reached the store: it went with it.
            continue
        assert engine._loop is not None
        future = engine._loop.run_in_executor(engine._db_executor, engine._require_store().commit, batch)
        engine._pending_commit = (future, effects)


async def _finish_commit(engine: Engine, next_round: _Effects | None = None) -> bool:
    """Wait for the pending commit and answer its callers; False when it failed (memory was rolled back).

    ``next_round`` is a round computed on top of the pending one; when the pending commit fails it is
    void as well, and its callers hear of the failure too.
    """
    if engine._pending_commit is None:
        return True
    future, effects = engine._pending_commit
    try:
        await future
    except Exception as commit_error:
        engine._pending_commit = None
        logger.exception("committing a dispatch round failed; going back to the last committed state")
        await _roll_back(engine, commit_error, effects, *([next_round] if next_round else []))
        return False
    engine._pending_commit = None
    # Callers hear back only once their change is durable.
    for waiter, result, command_error in effects.futures:
        if waiter.done():
            continue
        if command_error is not None:
            waiter.set_exception(command_error)
        else:
            waiter.set_result(result)
    engine._notify_progress()
    return True


async def _roll_back(engine: Engine, cause: BaseException, *voided: _Effects) -> None:
    """Bring memory back to the store's last committed state after a failed round or commit.

    Every caller of a voided round gets ``RoundFailedError`` (nothing of their change was kept). Commands,
    completions and due timers not yet taken into a round stay queued. If the store cannot even be read
    back, the engine stops serving: every caller, now and later, gets ``EngineUnavailableError``.
    """
    failure = RoundFailedError(
        f"devhost could not save this change ({type(cause).__name__}: {cause}); nothing of it was kept "
        "and the engine went back to its last saved state, so the request can be sent again."
    )
    # A round still being written is older than the failure: its callers get its own outcome first.
    await _finish_commit(engine)
    try:
        # On the loop, blocking it for the read: nothing may look at memory while it is rebuilt, and the
        # store thread is idle now that no commit is pending.
        _reload(engine)
    except Exception as reload_error:
        _fail_callers(failure, voided)
        logger.exception("the store cannot be read back; the engine stops serving")
        _stop_serving(
            engine,
            EngineUnavailableError(
                f"devhost's durable engine stopped: a change could not be saved ({cause}) and the store "
                f"could not be read back ({reload_error}); restart devhost to recover from the store."
            ),
        )
        return
    # Callers hear of the failure only once memory is back to the store's state, so a retry sees it.
    _fail_callers(failure, voided)
    _start_recovered_work(engine)
    engine._signal()
    engine._notify_progress()


def _fail_callers(failure: EngineError, voided: tuple[_Effects, ...]) -> None:
    for effects in voided:
        for waiter, _, _ in effects.futures:
            if not waiter.done():
                waiter.set_exception(failure)


def _reload(engine: Engine) -> None:
    engine._fault_point(FAULT_RELOAD)
    engine._instances = {}
    engine._entities = {}
    engine._ready = {}
    engine._timer_heap = []
    engine._timer_bodies = {}
    _recover(engine)


def _start_recovered_work(engine: Engine) -> None:
    work, engine._recovered_work = engine._recovered_work, []
    for item in work:
        # An activity still running from before a roll-back completes as it is; only lost work restarts.
        if item.work_id not in engine._running_work:
            engine._start_work(item)


def _stop_serving(engine: Engine, failure: EngineUnavailableError) -> None:
    engine._failure = failure
    engine._running = False
    commands, engine._commands = engine._commands, []
    for _, waiter in commands:
        if not waiter.done():
            waiter.set_exception(failure)
    if engine._wake is not None:
        engine._wake.set()
    engine._notify_progress()


def _compute_round(engine: Engine, effects: _Effects) -> Batch:
    batch = Batch()
    commands, engine._commands = engine._commands, []
    for command, waiter in commands:
        try:
            result = command(batch, effects)
            effects.futures.append((waiter, result, None))
        except Exception as error:
            effects.futures.append((waiter, None, error))
    engine._fault_point(FAULT_ROUND_AFTER_COMMANDS)
    completions, engine._completions = engine._completions, []
    for item, event in completions:
        engine._route_completion(item, event, batch)
    due, engine._due_timers = engine._due_timers, []
    for timer_key, instance_id, execution_id, timer_id, fire_at in due:
        engine._route_timer(timer_key, instance_id, execution_id, timer_id, fire_at, batch)
    ready, engine._ready = list(engine._ready), {}
    for target in ready:
        try:
            if target.startswith("@"):
                engine._entity_episode(target, batch)
            else:
                instance = engine._instances.get(target)
                if instance is not None and instance.inbox:
                    engine._orchestration_episode(instance, batch, effects)
        except Exception as failure:
            logger.exception("engine error while running %s", target)
            broken = engine._instances.get(target)
            if broken is not None and not broken.terminal:
                reason = f"devhost engine error: {type(failure).__name__}: {failure}"
                engine._fail(broken, reason, _error_details(failure), [], _iso(engine.clock.now()), batch)
                batch.instances[target] = broken.row()
    engine._fault_point(FAULT_ROUND_AFTER_EPISODES)
    return batch
