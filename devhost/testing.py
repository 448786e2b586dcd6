"""Test orchestrations in-process on devhost's engine, with fake activities and skipped time.

``DurableTestHost`` runs the real engine (the SDK's own replay, the same store, retries and timers) on a
background event loop over a temporary data directory, and offers a plain synchronous API for pytest:

.. code-block:: python

    from devhost.testing import DurableTestHost
    from function_app import app


    def test_screening_waits_for_the_recruiter() -> None:
        with DurableTestHost(app, fakes={"score_resume": lambda resume: {"score": 0.9}}) as host:
            instance_id = host.start("screening", {"candidate": "c-1"})
            host.raise_event(instance_id, "recruiter_decision", {"approved": True})
            result = host.run_until_complete(instance_id)
            assert result.runtime_status == "Completed"
            assert result.output == {"hired": True}
            assert "TimerCreated" in host.history_event_types(instance_id)
            assert host.activity_calls(instance_id)[0] == ("score_resume", {"candidate": "c-1"})

Time is virtual and skipped: while a ``run_until_*`` call waits, durable timers fire as soon as nothing else
is runnable, so a three-day timeout passes in milliseconds. Outside those calls time does not jump, so a test
can start an orchestration and raise its events before a timeout would win. Fakes replace activities by name
and receive the decoded input, exactly what the real activity would get; they may be sync or async. Events
raised before the orchestration waits for them are buffered, as on Azure.

With ``serve_http=True`` the Durable HTTP API is also served on a free loopback port, so a test can drive the
SDK's real ``DurableOrchestrationClient``: ``host.run(host.client().start_new("screening", None, payload))``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import azure.functions as func
from aiohttp import web

from devhost.clock import Clock
from devhost.durable_api import add_durable_routes
from devhost.engine import EVENT_TYPE_NAMES, TERMINAL_STATUSES, Engine
from devhost.functions import FunctionIndex, index_app, load_app

T = TypeVar("T")

# Loops of abandoned hosts stay referenced: a crashed process never tidies up, and collecting their pending
# tasks would only log noise about tasks destroyed while pending.
_ABANDONED: list[tuple[asyncio.AbstractEventLoop, Engine]] = []


class OrchestrationStuckError(AssertionError):
    """The instance cannot progress: nothing is runnable and no timer is pending (waits for an event?)."""


@dataclass(frozen=True)
class OrchestrationResult:
    """The status of one instance, with JSON values already decoded."""

    instance_id: str
    name: str
    runtime_status: str
    input: Any
    output: Any
    custom_status: Any
    document: dict[str, Any]

    @property
    def completed(self) -> bool:
        """Whether the instance completed successfully."""
        return self.runtime_status == "Completed"


class DurableTestHost:
    """An in-process engine on a temporary store with time skipped; see the module docstring."""

    def __init__(
        self,
        app: func.FunctionRegister | FunctionIndex | str | Path,
        *,
        fakes: dict[str, Callable[..., Any]] | None = None,
        data_dir: Path | None = None,
        serve_http: bool = False,
        durable: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(app, FunctionIndex):
            self.index = app
        elif isinstance(app, func.FunctionRegister):
            self.index = index_app(app)
        else:
            self.index = load_app(Path(app))
        self._owns_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="devhost-test-")) if data_dir is None else data_dir
        self.clock = clock or Clock.skipping()
        self.engine = Engine(self.index, self.data_dir, clock=self.clock, durable=durable)
        self.engine.skip_timers_when_idle = False
        self.engine.activity_overrides.update(fakes or {})
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="devhost-test-loop", daemon=True)
        self._thread.start()
        self._closed = False
        # Activities with a durableClient binding call the Durable HTTP API, so it must be served for them.
        activities = self.index.of_type("activityTrigger")
        needs_http = any(info.binding_names("durableClient") for info in activities)
        try:
            self._call(self._start(serve_http or needs_http))
        except BaseException:
            self._stop_loop()
            raise

    # ------------------------------------------------------------------ plumbing

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    async def _start(self, serve_http: bool) -> None:
        if serve_http:
            web_app = web.Application()
            add_durable_routes(web_app, self.engine)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.base_events.Server)
            port = server.sockets[0].getsockname()[1]
            self.base_url = f"http://127.0.0.1:{port}"
            self.engine.base_url = self.base_url
        await self.engine.start()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run ``coroutine`` on the host's event loop (where SDK clients made by ``client()`` must run)."""
        return self._call(coroutine, timeout)

    def client(self) -> Any:
        """Return a real ``DurableOrchestrationClient`` pointed at this host (needs ``serve_http=True``)."""
        if self.base_url is None:
            raise RuntimeError("construct the host with serve_http=True to use the SDK client")
        from azure.durable_functions import DurableOrchestrationClient

        return DurableOrchestrationClient(self.engine.client_binding())

    # ------------------------------------------------------------------ arranging

    def replace_activity(self, name: str, fake: Callable[..., Any]) -> None:
        """Run ``fake(decoded_input)`` instead of activity ``name`` from now on."""
        self.engine.activity_overrides[name] = fake

    def start(self, orchestrator: str, input: Any = None, *, instance_id: str | None = None) -> str:
        """Start ``orchestrator`` with a JSON-able ``input``; returns the instance id."""
        payload = None if input is None else json.dumps(input)
        return self._call(self.engine.start_new(orchestrator, instance_id, payload))

    def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Raise an external event (buffered if the orchestration does not wait for it yet)."""
        self._call(self.engine.raise_event(instance_id, event_name, json.dumps(data)))

    def terminate(self, instance_id: str, reason: str = "terminated by test") -> None:
        """Terminate a running instance."""
        self._call(self.engine.terminate(instance_id, reason))

    def suspend(self, instance_id: str, reason: str = "") -> None:
        """Suspend a running instance."""
        self._call(self.engine.suspend(instance_id, reason))

    def resume(self, instance_id: str, reason: str = "") -> None:
        """Resume a suspended instance."""
        self._call(self.engine.resume(instance_id, reason))

    def rewind(self, instance_id: str, reason: str = "rewound by test") -> None:
        """Run a failed instance again from its last healthy point (see ``Engine.rewind``)."""
        self._call(self.engine.rewind(instance_id, reason))

    def signal_entity(self, name: str, key: str, operation: str, input: Any = None) -> None:
        """Send a one-way operation to an entity."""
        payload = None if input is None else json.dumps(input)
        self._call(self.engine.signal_entity(name, key, operation, payload))

    def entity_state(self, name: str, key: str) -> Any:
        """Return the entity's state (None when it does not exist)."""
        exists, state = self.engine.read_entity_state(name, key)
        return json.loads(state) if exists and state is not None else None

    def advance_time(self, delta: timedelta) -> None:
        """Move virtual time forward by ``delta``; timers that become due fire."""
        self.clock.advance_by(delta)
        self._call(self._nudge())

    async def _nudge(self) -> None:
        self.engine._notify_progress()

    def advance_to_next_timer(self) -> datetime | None:
        """Move time to the next armed durable timer, which then fires; return its time (None: no timer)."""
        fire_at = self._call(self._advance_to_next_timer())
        return None if fire_at is None else datetime.fromtimestamp(fire_at, UTC)

    async def _advance_to_next_timer(self) -> float | None:
        engine = self.engine
        fire_at = engine.advance_clock_to_next_timer()
        # Let the timer fire and its episode run (which may arm the next timer) before answering.
        await engine._wait(lambda: engine._is_idle() and not engine.due_timer_count(), 30)
        return fire_at

    # ------------------------------------------------------------------ running and inspecting

    def run_until_complete(self, instance_id: str, timeout: float = 30.0) -> OrchestrationResult:
        """Run (skipping time) until the instance completes, fails or is terminated; return its status.

        Raises ``OrchestrationStuckError`` when the instance can make no progress on its own.
        """
        self._call(self._run_until(instance_id, timeout), timeout + 5)
        return self.status(instance_id)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Run (skipping time) until nothing is runnable and no timer is pending."""
        self._call(self._run_until(None, timeout), timeout + 5)

    async def _run_until(self, instance_id: str | None, timeout: float) -> None:
        engine = self.engine
        engine.skip_timers_when_idle = True
        try:

            def settled() -> bool:
                if instance_id is not None:
                    instance = engine.instance(instance_id)
                    if instance is not None and instance.status in TERMINAL_STATUSES:
                        return True
                return engine._is_idle() and not engine.pending_timer_count()

            await engine._wait(settled, timeout)
        finally:
            engine.skip_timers_when_idle = False
        if instance_id is not None:
            instance = engine.instance(instance_id)
            if instance is None:
                raise OrchestrationStuckError(f"no instance {instance_id!r}")
            if instance.status not in TERMINAL_STATUSES:
                raise OrchestrationStuckError(
                    f"instance {instance_id} is {instance.status} and cannot progress on its own; "
                    "does it wait for an external event?"
                )

    def status(self, instance_id: str) -> OrchestrationResult:
        """Return the instance's current status."""
        document = self.engine.status(instance_id, show_input=True)
        return OrchestrationResult(
            instance_id=instance_id,
            name=document["name"],
            runtime_status=document["runtimeStatus"],
            input=document["input"],
            output=document["output"],
            custom_status=document["customStatus"],
            document=document,
        )

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """History events of the current execution (PascalCase keys as the SDK sees them)."""
        return self.engine.history(instance_id)

    def history_event_types(self, instance_id: str) -> list[str]:
        """Return the history event names, e.g. ``["OrchestratorStarted", "ExecutionStarted", ...]``."""
        return [
            EVENT_TYPE_NAMES.get(int(e["EventType"]), str(e["EventType"])) for e in self.history(instance_id)
        ]

    def activity_calls(self, instance_id: str) -> list[tuple[str, Any]]:
        """Return ``(activity name, decoded input)`` for every activity the current execution scheduled."""
        return [
            (str(e["Name"]), json.loads(e["Input"]) if e.get("Input") is not None else None)
            for e in self.history(instance_id)
            if e["EventType"] == 4
        ]

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        """Stop the engine and the HTTP server and delete the temporary store."""
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._shutdown(), 30)
        finally:
            self._stop_loop()
            if self._owns_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    async def _shutdown(self) -> None:
        await self.engine.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        await _reset_sdk_client_session()

    def abandon(self) -> None:
        """Simulate a crash: stop the loop without stopping the engine, keeping the data directory.

        Commits are atomic, so the store holds exactly the last committed round; a new host on the same
        ``data_dir`` recovers from it.
        """
        if self._closed:
            return
        self._closed = True
        engine = self.engine
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        _ABANDONED.append((self._loop, engine))
        # A commit already running in the store thread finishes (or not) atomically, as with kill -9.
        executor = engine._db_executor
        if executor is not None:
            executor.shutdown(wait=True)
        if engine._store is not None:
            engine._store.close()
        if engine._activity_pool is not None:
            engine._activity_pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> DurableTestHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def _reset_sdk_client_session() -> None:
    """Close the SDK client's module-wide aiohttp session, which is bound to this host's loop."""
    with contextlib.suppress(Exception):
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
        http_utils._client_session = None
