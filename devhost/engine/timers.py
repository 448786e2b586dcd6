"""Durable timers: arming, the timer loop that fires them on the engine's clock, and clock moves."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from devhost.engine.events import TIMER_FIRED, _event, _iso
from devhost.engine.quiescence import DEFAULT_POLL_SECONDS
from devhost.engine.records import Instance, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine


# ------------------------------------------------------------------ timers


def _arm_timer(
    engine: Engine, fire_at: float, timer_key: str, instance_id: str, execution_id: str, timer_id: int
) -> None:
    engine._timer_bodies[timer_key] = (fire_at, instance_id, execution_id, timer_id)
    heapq.heappush(engine._timer_heap, (fire_at, timer_key))
    if engine._timer_wake is not None:
        engine._timer_wake.set()


def _next_timer(engine: Engine) -> tuple[float, str] | None:
    while engine._timer_heap:
        fire_at, key = engine._timer_heap[0]
        body = engine._timer_bodies.get(key)
        if body is None or body[0] != fire_at:
            heapq.heappop(engine._timer_heap)
            continue
        return fire_at, key
    return None


def _clock_changed(engine: Engine) -> None:
    # The timer loop may be sleeping until a timer that is now due, or waiting to skip in another mode.
    if engine._timer_wake is not None:
        engine._timer_wake.set()


async def _quiescent(engine: Engine) -> bool:
    """Whether nothing is in flight anywhere: outside services first, then (with no await after) the host."""
    if engine.outside_work is not None and await engine.outside_work.pending() > 0:
        return False
    # Read after the outside answers: a callback those services no longer count is in the engine by now.
    return engine._is_idle() and engine.host_work.pending() == 0


async def _timer_loop(engine: Engine) -> None:
    assert engine._timer_wake is not None
    while engine._running:
        engine._timer_wake.clear()
        upcoming = _next_timer(engine)
        if upcoming is None:
            await engine._timer_wake.wait()
            continue
        fire_at, key = upcoming
        if engine.clock.timestamp() >= fire_at:
            heapq.heappop(engine._timer_heap)
            _, instance_id, execution_id, timer_id = engine._timer_bodies.pop(key)
            engine._due_timers.append((key, instance_id, execution_id, timer_id, fire_at))
            engine._signal()
            continue
        if engine.clock.skips and engine.skip_timers_when_idle and engine._is_idle():
            quiet_left = engine.skip_timers_quiet_seconds - (time.monotonic() - engine._last_signal)
            if quiet_left > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(engine._timer_wake.wait(), timeout=quiet_left)
                continue
            if not await _quiescent(engine):
                poll = engine.outside_work.poll_seconds if engine.outside_work else DEFAULT_POLL_SECONDS
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(engine._timer_wake.wait(), timeout=poll)
                continue
            engine.clock.advance_to(fire_at)
            continue
        delay = engine.clock.real_seconds_until(fire_at)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(engine._timer_wake.wait(), timeout=min(delay, 60.0))


def _route_timer(
    engine: Engine,
    timer_key: str,
    instance_id: str,
    execution_id: str,
    timer_id: int,
    fire_at: float,
    batch: Batch,
) -> None:
    batch.delete_timer(timer_key)
    instance = engine._instances.get(instance_id)
    if instance is None or instance.terminal or instance.execution_id != execution_id:
        return
    if instance.timers.pop(timer_id, None) is None:
        return
    fire_text = _iso(datetime.fromtimestamp(fire_at, UTC))
    event = _event(TIMER_FIRED, -1, _iso(engine.clock.now()), TimerId=timer_id, FireAt=fire_text)
    engine._send(instance_id, {"execution": execution_id, "event": event}, batch)


def _timer_key(engine: Engine, instance: Instance, timer_id: int) -> str:
    return f"{instance.instance_id}\x1f{instance.execution_id}\x1f{timer_id}"


def _schedule_timer(
    engine: Engine, instance: Instance, timer_id: int, fire_at: float, batch: Batch, effects: _Effects
) -> None:
    key = _timer_key(engine, instance, timer_id)
    instance.timers[timer_id] = key
    body = json.dumps([instance.instance_id, instance.execution_id, timer_id])
    batch.timer_inserts[key] = (key, instance.instance_id, fire_at, body)
    effects.timers.append((fire_at, key, instance.instance_id, instance.execution_id, timer_id))
