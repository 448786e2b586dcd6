"""The ``Engine``: the engine's state, its start and stop, and its public surface.

Each phase's work is a function in its own module; the methods here hand over to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from devhost.clock import Clock
from devhost.engine.actions import (
    _apply_actions,
    _continue_as_new,
    _fail,
    _finish,
    _notify_parent,
    _start_child,
)
from devhost.engine.activities import _route_completion, _schedule_work, _start_work, _warn_if_large
from devhost.engine.dispatch import _dispatch_loop, _recover
from devhost.engine.entities import _entity, _entity_episode, read_entity_state, signal_entity
from devhost.engine.errors import EngineUnavailableError
from devhost.engine.events import SUSPENDED
from devhost.engine.management import (
    _create_instance,
    _require,
    purge,
    purge_by,
    query,
    raise_event,
    restart,
    resume,
    rewind,
    start_new,
    status,
    suspend,
    terminate,
)
from devhost.engine.quiescence import HostWork, OutsideWork
from devhost.engine.records import Command, EntityRecord, Instance, Message, WorkItem, _Effects
from devhost.engine.replay import _append_history, _completion_key, _orchestration_episode
from devhost.engine.retries import _apply_retries, _consumes_retry_id, _register_retry, _settle_retry
from devhost.engine.settings import DurableTaskSettings
from devhost.engine.timers import (
    _arm_timer,
    _clock_changed,
    _next_timer,
    _route_timer,
    _schedule_timer,
    _timer_key,
    _timer_loop,
)
from devhost.function_time import FunctionTime
from devhost.functions import FunctionIndex
from devhost.store import Batch, Store


class Engine:
    """An embedded Durable Functions backend for one indexed app.

    The host sets ``base_url`` (and, when keys are required, ``system_key`` and ``rpc_token``) before
    ``start()``. Tests may set ``activity_overrides`` (name -> callable taking the decoded input) to replace
    activities with fakes.
    """

    def __init__(
        self,
        index: FunctionIndex,
        data_dir: Path,
        *,
        clock: Clock,
        task_hub: str = "DevHostHub",
        durable: bool = True,
    ) -> None:
        self.index = index
        self.data_dir = data_dir
        self.clock = clock
        self.task_hub = task_hub
        self.durable = durable
        self.durable_settings = DurableTaskSettings.from_host_json(
            index.app_path.parent if index.app_path else None
        )
        self.base_url: str | None = None
        self.system_key: str | None = None
        # When keys are required, client bindings reach the API through ``/rpc/{rpc_token}/`` under the
        # webhook prefix: the SDK's client cannot add ``code=`` to the URLs it builds from ``rpcBaseUrl``, so
        # that path plays the part of the Functions host's loopback-only RPC endpoint and is never printed.
        self.rpc_token: str | None = None
        self.activity_overrides: dict[str, Callable[..., Any]] = {}
        # Tests turn this off while they arrange events, so a timer is not skipped before they get to it.
        self.skip_timers_when_idle = True
        # Real seconds the engine must stay quiet (no command, completion or timer) before a timer is skipped
        # to: the fallback for callbacks from outside that nobody can observe. With 0 a timer is skipped the
        # moment nothing is in flight (see ``quiescence``): the engine is idle, ``host_work`` is 0 and every
        # ``outside_work`` URL answers that nothing is pending.
        self.skip_timers_quiet_seconds = 0.0
        self.host_work = HostWork()
        # Seconds the app's activities (and, through the host's invoker, its triggers) ran: /admin/stats.
        self.function_time = FunctionTime()
        self.outside_work: OutsideWork | None = None
        self._last_signal = time.monotonic()
        self._store: Store | None = None
        self._instances: dict[str, Instance] = {}
        self._entities: dict[str, EntityRecord] = {}
        self._ready: dict[str, None] = {}
        self._commands: list[tuple[Command, asyncio.Future[Any]]] = []
        self._completions: list[tuple[WorkItem, dict[str, Any]]] = []
        self._due_timers: list[tuple[str, str, str, int, float]] = []
        self._recovered_work: list[WorkItem] = []
        self._timer_heap: list[tuple[float, str]] = []
        self._timer_bodies: dict[str, tuple[float, str, str, int]] = {}
        self._msg_ids = itertools.count(1)
        self._in_flight = 0
        self._pending_commit: tuple[asyncio.Future[None], _Effects] | None = None
        self._running = False
        self._wake: asyncio.Event | None = None
        self._timer_wake: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._activity_tasks: set[asyncio.Future[Any]] = set()
        self._db_executor: ThreadPoolExecutor | None = None
        self._activity_pool: ThreadPoolExecutor | None = None
        self._running_work: set[str] = set()
        # Set once the engine cannot go on (a failed commit whose store could not be read back).
        self._failure: EngineUnavailableError | None = None
        # Tests fail the engine at a named window (FAULT_POINTS) by making this raise; None in normal use.
        self.fault_hook: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover persisted state and start dispatching, timers and activity workers."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devhost-store")
        self._activity_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="devhost-activity")
        self._store = await self._loop.run_in_executor(
            self._db_executor, partial(Store, self.data_dir, durable=self.durable)
        )
        self._store.fault_hook = self._fault_point
        await self._loop.run_in_executor(self._db_executor, partial(_recover, self))
        self._running = True
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="devhost-dispatch"),
            asyncio.create_task(self._timer_loop(), name="devhost-timers"),
        ]
        self._wake.set()

    async def stop(self) -> None:
        """Stop cleanly; in-flight work stays persisted and resumes on the next start."""
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for pending in list(self._activity_tasks):
            pending.cancel()
        if self._activity_pool is not None:
            self._activity_pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None and self._db_executor is not None and self._loop is not None:
            await self._loop.run_in_executor(self._db_executor, self._store.close)
        if self._db_executor is not None:
            self._db_executor.shutdown(wait=True)
        self._store = None
        if self.outside_work is not None:
            await self.outside_work.close()

    def _require_store(self) -> Store:
        if self._store is None:
            raise RuntimeError("engine is not started")
        return self._store

    # ------------------------------------------------------------------ client binding

    def client_binding(self) -> str:
        """Return the JSON string a ``durableClient`` binding parameter receives."""
        base = (self.base_url or "http://127.0.0.1:7071").rstrip("/")
        webhooks = f"{base}/runtime/webhooks/durabletask"
        query = f"taskHub={self.task_hub}&connection=Storage"
        if self.system_key:
            query += f"&code={self.system_key}"
        instance = f"{webhooks}/instances/INSTANCEID"
        management = {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        }
        creation = {
            "createNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
            "createAndWaitOnNewInstancePostUri": (
                f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}&{query}"
            ),
        }
        required = f"code={self.system_key}" if self.system_key else ""
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": creation,
                "managementUrls": management,
                "baseUrl": webhooks,
                "requiredQueryStringParameters": required,
                "rpcBaseUrl": f"{webhooks}/rpc/{self.rpc_token}/" if self.rpc_token else f"{webhooks}/",
                "httpBaseUrl": webhooks,
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    # ------------------------------------------------------------------ dispatch machinery

    def _signal(self) -> None:
        self._last_signal = time.monotonic()
        if self._wake is not None:
            self._wake.set()

    def _mark_ready(self, instance: Instance) -> None:
        if instance.inbox and instance.status != SUSPENDED and not instance.terminal:
            self._ready[instance.instance_id] = None

    def _has_runnable(self) -> bool:
        return bool(self._ready or self._commands or self._completions or self._due_timers)

    def _is_idle(self) -> bool:
        return not self._has_runnable() and self._in_flight == 0 and self._pending_commit is None

    def _fault_point(self, name: str) -> None:
        """Let a test fail the engine at the named window (see ``FAULT_POINTS``); a no-op otherwise."""
        if self.fault_hook is not None:
            self.fault_hook(name)

    def _notify_progress(self) -> None:
        if self._progress is not None:
            self._progress.set()
        if self._timer_wake is not None:
            self._timer_wake.set()

    async def _submit(self, command: Command) -> Any:
        if self._failure is not None:
            raise self._failure
        if not self._running or self._loop is None:
            raise RuntimeError("engine is not running")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._commands.append((command, future))
        self._signal()
        return await future

    def _send(self, target: str, body: dict[str, Any], batch: Batch) -> None:
        msg_id = next(self._msg_ids)
        message = Message(msg_id, body)
        if target.startswith("@"):
            self._entity(target).inbox.append(message)
            self._ready[target] = None
        else:
            instance = self._instances.get(target)
            if instance is None or instance.terminal:
                return
            instance.inbox.append(message)
            self._mark_ready(instance)
        batch.inbox_inserts[msg_id] = (msg_id, target, body)

    def pending_timer_count(self) -> int:
        """Durable timers armed and not yet fired."""
        return len(self._timer_bodies)

    # Clock control for people (``devhost.clock_api``); call these on the engine's event loop.

    def next_timer(self) -> tuple[float, str, int] | None:
        """Return ``(fire_at, instance_id, timer_id)`` of the next armed timer, or None."""
        upcoming = self._next_timer()
        if upcoming is None:
            return None
        fire_at, key = upcoming
        _, instance_id, _, timer_id = self._timer_bodies[key]
        return fire_at, instance_id, timer_id

    def due_timer_count(self) -> int:
        """Timers whose time has come and that have not fired into their instance yet."""
        now = self.clock.timestamp()
        return len(self._due_timers) + sum(1 for body in self._timer_bodies.values() if body[0] <= now)

    def advance_clock_to_next_timer(self) -> float | None:
        """Move the clock to the next armed timer, which then fires; returns its time (None: no timer)."""
        upcoming = self._next_timer()
        if upcoming is None:
            return None
        self.advance_clock_to(upcoming[0])
        return upcoming[0]

    def advance_clock_to(self, target: float) -> None:
        """Move the clock forward to ``target`` (POSIX seconds), whatever its mode; due timers fire."""
        self.clock.jump_to(target)
        self._clock_changed()

    def advance_clock_by(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``, whatever its mode; due timers fire."""
        self.clock.jump_by(delta)
        self._clock_changed()

    def set_clock_mode(self, mode: str) -> None:
        """Switch the clock between real and skipping time (see ``Clock.set_mode``)."""
        self.clock.set_mode(mode)
        self._clock_changed()

    def instance(self, instance_id: str) -> Instance | None:
        """Return the live instance (read-only use)."""
        return self._instances.get(instance_id)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """Return the current execution's history events as dicts (PascalCase keys, int ``EventType``)."""
        instance = self._require(instance_id)
        return [json.loads(text) for text in instance.history]

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Return when nothing is runnable (and, when skipping time, no timer is pending)."""
        await self._wait(lambda: self._is_idle() and not (self.clock.skips and self._timer_bodies), timeout)

    async def wait_for_instance(self, instance_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the instance is completed, failed or terminated; returns its status document."""

        def finished() -> bool:
            instance = self._instances.get(instance_id)
            return instance is not None and instance.terminal

        await self._wait(finished, timeout)
        return self.status(instance_id)

    async def _wait(self, condition: Callable[[], bool], timeout: float | None) -> None:
        assert self._progress is not None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        # Memory runs ahead of the store by at most one round; answer only from committed state.
        while not (condition() and self._pending_commit is None):
            if self._failure is not None:
                raise self._failure
            self._progress.clear()
            if self._timer_wake is not None:
                self._timer_wake.set()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("timed out waiting for the engine")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), timeout=min(remaining or 0.05, 0.05))

    def _recover(self) -> None:
        return _recover(self)

    async def _dispatch_loop(self) -> None:
        return await _dispatch_loop(self)

    def _arm_timer(
        self, fire_at: float, timer_key: str, instance_id: str, execution_id: str, timer_id: int
    ) -> None:
        return _arm_timer(self, fire_at, timer_key, instance_id, execution_id, timer_id)

    def _next_timer(self) -> tuple[float, str] | None:
        return _next_timer(self)

    def _clock_changed(self) -> None:
        # The timer loop may be sleeping until a timer that is now due, or waiting to skip in another mode.
        return _clock_changed(self)

    async def _timer_loop(self) -> None:
        return await _timer_loop(self)

    def _route_timer(
        self, timer_key: str, instance_id: str, execution_id: str, timer_id: int, fire_at: float, batch: Batch
    ) -> None:
        return _route_timer(self, timer_key, instance_id, execution_id, timer_id, fire_at, batch)

    def _start_work(self, item: WorkItem) -> None:
        return _start_work(self, item)

    def _route_completion(self, item: WorkItem, event: dict[str, Any], batch: Batch) -> None:
        return _route_completion(self, item, event, batch)

    def _warn_if_large(self, payload: str | None, what: str, function_name: str, instance_id: str) -> None:
        return _warn_if_large(self, payload, what, function_name, instance_id)

    @staticmethod
    def _completion_key(event: dict[str, Any]) -> int | None:
        return _completion_key(event)

    def _orchestration_episode(self, instance: Instance, batch: Batch, effects: _Effects) -> None:
        return _orchestration_episode(self, instance, batch, effects)

    def _settle_retry(self, instance: Instance, event: dict[str, Any]) -> None:
        return _settle_retry(self, instance, event)

    def _consumes_retry_id(self, instance: Instance, event: dict[str, Any]) -> bool:
        return _consumes_retry_id(self, instance, event)

    def _append_history(self, instance: Instance, events: list[str], batch: Batch) -> None:
        return _append_history(self, instance, events, batch)

    def _apply_actions(
        self,
        instance: Instance,
        actions: list[dict[str, Any]],
        scheduled: list[dict[str, Any]],
        batch: Batch,
        effects: _Effects,
        timestamp: str,
    ) -> tuple[bool, str | None]:
        return _apply_actions(self, instance, actions, scheduled, batch, effects, timestamp)

    def _register_retry(
        self,
        instance: Instance,
        task_id: int,
        kind: int,
        name: str,
        input_: str | None,
        action: dict[str, Any],
        sub_instance_id: str | None,
    ) -> None:
        return _register_retry(self, instance, task_id, kind, name, input_, action, sub_instance_id)

    def _apply_retries(
        self,
        instance: Instance,
        late: list[dict[str, Any]],
        scheduled: list[dict[str, Any]],
        batch: Batch,
        effects: _Effects,
        now: datetime,
    ) -> None:
        return _apply_retries(self, instance, late, scheduled, batch, effects, now)

    def _schedule_work(
        self, instance: Instance, task_id: int, name: str, input_: str | None, batch: Batch, effects: _Effects
    ) -> None:
        return _schedule_work(self, instance, task_id, name, input_, batch, effects)

    def _timer_key(self, instance: Instance, timer_id: int) -> str:
        return _timer_key(self, instance, timer_id)

    def _schedule_timer(
        self, instance: Instance, timer_id: int, fire_at: float, batch: Batch, effects: _Effects
    ) -> None:
        return _schedule_timer(self, instance, timer_id, fire_at, batch, effects)

    def _start_child(
        self,
        parent: Instance,
        task_id: int,
        name: str,
        input_: str | None,
        child_id: str,
        batch: Batch,
        timestamp: str,
        version: str,
    ) -> None:
        return _start_child(self, parent, task_id, name, input_, child_id, batch, timestamp, version)

    def _notify_parent(self, instance: Instance, event: dict[str, Any], batch: Batch) -> None:
        return _notify_parent(self, instance, event, batch)

    def _fail(
        self,
        instance: Instance,
        error: str,
        details: str,
        appended: list[str],
        timestamp: str,
        batch: Batch,
        reason: str | None = None,
    ) -> None:
        return _fail(self, instance, error, details, appended, timestamp, batch, reason)

    def _finish(self, instance: Instance, batch: Batch, *, keep_bookkeeping: bool = False) -> None:
        return _finish(self, instance, batch, keep_bookkeeping=keep_bookkeeping)

    def _continue_as_new(self, instance: Instance, new_input: str | None, batch: Batch) -> None:
        return _continue_as_new(self, instance, new_input, batch)

    def _entity(self, entity_id: str) -> EntityRecord:
        return _entity(self, entity_id)

    def _entity_episode(self, entity_id: str, batch: Batch) -> None:
        return _entity_episode(self, entity_id, batch)

    def _create_instance(
        self,
        instance_id: str,
        name: str,
        input_: str | None,
        batch: Batch,
        parent: dict[str, Any] | None = None,
        version: str | None = None,
    ) -> Instance:
        return _create_instance(self, instance_id, name, input_, batch, parent, version)

    async def start_new(
        self,
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
        return await start_new(self, name, instance_id, input_json, version)

    def _require(self, instance_id: str) -> Instance:
        return _require(self, instance_id)

    async def raise_event(self, instance_id: str, event_name: str, data_json: str | None = None) -> None:
        """Deliver an external event (buffered until the orchestration waits for it)."""
        return await raise_event(self, instance_id, event_name, data_json)

    async def terminate(self, instance_id: str, reason: str = "") -> None:
        """Terminate a running instance (``InstanceGoneError`` when it already finished)."""
        return await terminate(self, instance_id, reason)

    async def suspend(self, instance_id: str, reason: str = "") -> None:
        """Suspend: messages stay queued until ``resume``."""
        return await suspend(self, instance_id, reason)

    async def resume(self, instance_id: str, reason: str = "") -> None:
        """Resume a suspended instance."""
        return await resume(self, instance_id, reason)

    async def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        """Start the orchestration again with its original input; returns the id of the new run."""
        return await restart(self, instance_id, new_instance_id=new_instance_id)

    async def rewind(self, instance_id: str, reason: str = "") -> None:
        """Run a failed instance again from its last healthy point.

        The failed tasks of the episode that failed lose their failure events and run again; tasks that were
        still pending are dispatched again and finished sub-orchestrations report again; an orchestrator that
        failed in its own code is simply replayed. A failure that exhausted ``RetryOptions`` cannot be
        rewound here (the SDK's retry bookkeeping would disagree): ``NotSupportedError``, use restart.
        """
        return await rewind(self, instance_id, reason)

    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; returns how many were deleted (0 or 1)."""
        return await purge(self, instance_id)

    async def purge_by(
        self,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> int:
        """Delete finished instances created in the window (and of the given statuses); returns the count."""
        return await purge_by(self, created_from, created_to, statuses)

    async def signal_entity(self, name: str, key: str, operation: str, input_json: str | None = None) -> None:
        """Queue a one-way operation on entity ``name``/``key``."""
        return await signal_entity(self, name, key, operation, input_json)

    def read_entity_state(self, name: str, key: str) -> tuple[bool, str | None]:
        """(exists, state JSON) of an entity."""
        return read_entity_state(self, name, key)

    def status(
        self,
        instance_id: str,
        *,
        show_input: bool = True,
        show_history: bool = False,
        show_history_output: bool = False,
    ) -> dict[str, Any]:
        """Return the status document of the Durable HTTP API for one instance."""
        return status(
            self,
            instance_id,
            show_input=show_input,
            show_history=show_history,
            show_history_output=show_history_output,
        )

    def query(
        self,
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
        return query(
            self,
            created_from=created_from,
            created_to=created_to,
            statuses=statuses,
            prefix=prefix,
            show_input=show_input,
            top=top,
            continuation=continuation,
        )
