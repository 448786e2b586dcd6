"""Running activity functions (async inline, sync on a thread pool) and routing their completions back."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from azure.functions._durable_functions import df_dumps, df_loads

from devhost.engine.errors import UnknownFunctionError
from devhost.engine.events import TASK_COMPLETED, TASK_FAILED, _error_details, _event, _iso
from devhost.engine.records import Instance, WorkItem, _Effects
from devhost.store import Batch

if TYPE_CHECKING:
    from devhost.engine.core import Engine

logger = logging.getLogger("devhost.engine")

LARGE_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class _InvocationContext:
    """What ``azure.functions.Context`` offers an activity: invocation id, function name and directory."""

    invocation_id: str
    function_name: str
    function_directory: str


_CONTEXT_PARAMETER_CACHE: weakref.WeakKeyDictionary[Callable[..., Any], bool] = weakref.WeakKeyDictionary()


def _accepts_context(fn: Callable[..., Any]) -> bool:
    known = _CONTEXT_PARAMETER_CACHE.get(fn)
    if known is None:
        try:
            known = "context" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            known = False
        with contextlib.suppress(TypeError):
            _CONTEXT_PARAMETER_CACHE[fn] = known
    return known


AsyncCallable = Callable[..., Awaitable[Any]]

# ------------------------------------------------------------------ activities


def _start_work(engine: Engine, item: WorkItem) -> None:
    assert engine._loop is not None
    engine._in_flight += 1
    engine._running_work.add(item.work_id)
    task = engine._loop.create_task(_run_work(engine, item))
    engine._activity_tasks.add(task)
    task.add_done_callback(engine._activity_tasks.discard)


async def _run_work(engine: Engine, item: WorkItem) -> None:
    now = _iso(engine.clock.now())
    try:
        with engine.function_time.measure(item.name):
            result = await _invoke_activity(engine, item.name, item.input)
        event = _event(TASK_COMPLETED, -1, now, TaskScheduledId=item.task_id, Result=result)
        _warn_if_large(engine, result, "activity result", item.name, item.instance_id)
    except asyncio.CancelledError:
        engine._in_flight -= 1
        engine._running_work.discard(item.work_id)
        raise
    except Exception as error:
        reason = f"Activity function '{item.name}' failed: {type(error).__name__}: {error}"
        event = _event(
            TASK_FAILED,
            -1,
            now,
            TaskScheduledId=item.task_id,
            Reason=reason,
            Details=_error_details(error),
        )
    engine._in_flight -= 1
    # The result is the engine's from here: a roll-back before it is committed runs the work again.
    engine._running_work.discard(item.work_id)
    if engine._running:
        engine._completions.append((item, event))
        engine._signal()


async def _invoke_activity(engine: Engine, name: str, input_json: str | None) -> str:
    try:
        decoded = df_loads(input_json) if input_json is not None else None
    except json.JSONDecodeError:
        # The worker's activity trigger converter falls back to the raw string for non-JSON input.
        decoded = input_json
    fake = _override(engine, name)
    if fake is not None:
        outcome = await _call_maybe_async(engine, fake, (decoded,), {})
        return str(df_dumps(outcome))
    info = engine.index.get(name, "activityTrigger")
    if info is None:
        raise UnknownFunctionError(
            f"The function '{name}' doesn't exist, is disabled, or is not an activity."
        )
    kwargs: dict[str, Any] = {info.trigger_parameter: decoded}
    for client_name in info.binding_names("durableClient"):
        kwargs[client_name] = engine.client_binding()
    if _accepts_context(info.user_function) and "context" not in kwargs:
        # The worker passes the invocation context to any function with a parameter named ``context``.
        kwargs["context"] = _InvocationContext(uuid.uuid4().hex, info.name, str(engine.index.app_path or ""))
    outcome = await _call_maybe_async(engine, info.user_function, (), kwargs)
    return str(df_dumps(outcome))


def _override(engine: Engine, name: str) -> Callable[..., Any] | None:
    fake = engine.activity_overrides.get(name)
    if fake is None:
        lowered = name.lower()
        fake = next((f for n, f in engine.activity_overrides.items() if n.lower() == lowered), None)
    return fake


async def _call_maybe_async(
    engine: Engine, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # Async activities run inline on the loop (no thread hop); sync ones in the pool, as the worker does.
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    assert engine._loop is not None
    outcome = await engine._loop.run_in_executor(engine._activity_pool, partial(fn, *args, **kwargs))
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


def _route_completion(engine: Engine, item: WorkItem, event: dict[str, Any], batch: Batch) -> None:
    batch.delete_work(item.work_id)
    instance = engine._instances.get(item.instance_id)
    if instance is None or instance.terminal or instance.execution_id != item.execution_id:
        return
    engine._send(item.instance_id, {"execution": item.execution_id, "event": event}, batch)


def _warn_if_large(
    engine: Engine, payload: str | None, what: str, function_name: str, instance_id: str
) -> None:
    if payload is not None and len(payload) > LARGE_PAYLOAD_BYTES:
        logger.warning(
            "%s of '%s' is %d bytes (instance %s): payloads over 64 KB in history are costly on Azure",
            what,
            function_name,
            len(payload),
            instance_id,
        )


def _schedule_work(
    engine: Engine,
    instance: Instance,
    task_id: int,
    name: str,
    input_: str | None,
    batch: Batch,
    effects: _Effects,
) -> None:
    work_id = f"{instance.instance_id}\x1f{instance.execution_id}\x1f{task_id}"
    item = WorkItem(work_id, instance.instance_id, instance.execution_id, task_id, name, input_)
    batch.work_inserts[work_id] = (work_id, item.to_json())
    effects.work.append(item)
