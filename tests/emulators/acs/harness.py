"""Host the ACS emulator, a callback receiver and an Event Grid webhook on loopback for tests.

Everything runs on one event loop in a background thread, so sync SDK clients can block in the test thread
while async clients run in their own loop. Ports are bound as port 0 sockets, so parallel tests never collide.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from emulators.acs_service import AcsConfig, AcsEmulator, new_access_key
from emulators.eventgrid_delivery import RetryPolicy
from emulators.tls import TlsMaterial, server_ssl_context

T = TypeVar("T")


def _loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Receiver:
    """Collects what the emulator POSTs to the app: callbacks and Event Grid deliveries."""

    callbacks: list[dict[str, Any]] = field(default_factory=list)
    event_grid_posts: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)
    event_grid_failures_left: int = 0
    callback_failures_left: int = 0
    callback_attempts: int = 0
    callback_authorizations: list[str] = field(default_factory=list)
    echo_validation_code: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def on_callback(self, request: web.Request) -> web.Response:
        events = await request.json()
        with self.lock:
            self.callback_attempts += 1
            self.callback_authorizations.append(request.headers.get("Authorization", ""))
            if self.callback_failures_left > 0:
                self.callback_failures_left -= 1
                return web.Response(status=503, text="app restarting")
            self.callbacks.extend(events)
        return web.Response(status=200)

    async def on_event_grid(self, request: web.Request) -> web.Response:
        kind = request.headers.get("aeg-event-type", "")
        events = await request.json()
        with self.lock:
            self.event_grid_posts.append((kind, request.headers.get("aeg-delivery-count", ""), events))
            if kind == "Notification" and self.event_grid_failures_left > 0:
                self.event_grid_failures_left -= 1
                return web.Response(status=500, text="subscriber failing on purpose")
        if kind == "SubscriptionValidation":
            code = events[0]["data"]["validationCode"] if self.echo_validation_code else "not-the-code"
            return web.json_response({"validationResponse": code})
        return web.Response(status=200)

    def callback_types(self, call_connection_id: str) -> list[str]:
        with self.lock:
            return [
                e["type"].removeprefix("Microsoft.Communication.")
                for e in self.callbacks
                if e["data"]["callConnectionId"] == call_connection_id
            ]

    def callbacks_of(self, call_connection_id: str, event_type: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                e
                for e in self.callbacks
                if e["data"]["callConnectionId"] == call_connection_id
                and e["type"] == f"Microsoft.Communication.{event_type}"
            ]

    def notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for kind, _, events in self.event_grid_posts if kind == "Notification" for e in events]

    def deliveries(self) -> list[tuple[str, str]]:
        """(aeg-event-type, aeg-delivery-count) of every Event Grid POST, in order."""
        with self.lock:
            return [(kind, count) for kind, count, _ in self.event_grid_posts]


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class RunningAcs:
    """A running emulator plus the app-side receivers, and how to reach them."""

    emulator: AcsEmulator
    receiver: Receiver
    tls: TlsMaterial
    callback_url: str
    events_url: str
    loop: asyncio.AbstractEventLoop

    @property
    def connection_string(self) -> str:
        return self.emulator.connection_string()

    @property
    def ca(self) -> str:
        return str(self.tls.ca_cert_path)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)


@contextlib.contextmanager
def running_acs(
    tls: TlsMaterial,
    data_dir: Path,
    *,
    personas_path: Path | None = None,
    recording_ready_delay_s: float = 0.05,
    event_grid_retry: RetryPolicy | None = None,
    access_key: str | None = None,
    voice: str = "auto",
    immutable_resource_id: str | None = None,
) -> Iterator[RunningAcs]:
    """Start the emulator (HTTPS) and the receivers (HTTP) on free loopback ports; stop everything on exit."""
    acs_sock, app_sock = _loopback_socket(), _loopback_socket()
    acs_port, app_port = acs_sock.getsockname()[1], app_sock.getsockname()[1]
    receiver = Receiver()
    config = AcsConfig(
        access_key_b64=access_key or new_access_key(),
        events_url=f"http://127.0.0.1:{app_port}/events",
        personas_path=personas_path,
        recording_ready_delay_s=recording_ready_delay_s,
        public_base_url=f"https://127.0.0.1:{acs_port}",
        data_dir=data_dir,
        event_grid_retry=event_grid_retry or RetryPolicy(max_attempts=4, first_delay_s=0.05),
        voice=voice,
    )
    if immutable_resource_id is not None:
        config.immutable_resource_id = immutable_resource_id
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="acs-emulator", daemon=True)
    thread.start()
    emulator = AcsEmulator(config)
    runners: list[web.AppRunner] = []

    async def start() -> None:
        acs_app = web.Application()
        emulator.add_routes(acs_app)
        app = web.Application()
        app.router.add_post("/callbacks", receiver.on_callback)
        app.router.add_post("/events", receiver.on_event_grid)
        for application, sock, ssl_context in (
            (acs_app, acs_sock, server_ssl_context(tls)),
            (app, app_sock, None),
        ):
            # A short shutdown timeout: a client may keep a connection open after an early error response.
            runner = web.AppRunner(application, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
            runners.append(runner)
        await emulator.start()

    async def stop() -> None:
        await emulator.stop()
        for runner in runners:
            await runner.cleanup()

    asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield RunningAcs(
            emulator=emulator,
            receiver=receiver,
            tls=tls,
            callback_url=f"http://127.0.0.1:{app_port}/callbacks",
            events_url=config.events_url or "",
            loop=loop,
        )
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        acs_sock.close()
        app_sock.close()


@dataclass
class RunningReceiver:
    """App-side receivers alone, for emulators hosted elsewhere (e.g. the composed emulator server)."""

    receiver: Receiver
    callback_url: str
    events_url: str


@contextlib.contextmanager
def running_receiver() -> Iterator[RunningReceiver]:
    """Serve the callback and Event Grid receivers over plain HTTP on a free loopback port."""
    sock = _loopback_socket()
    port = sock.getsockname()[1]
    receiver = Receiver()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="acs-receiver", daemon=True)
    thread.start()
    app = web.Application()
    app.router.add_post("/callbacks", receiver.on_callback)
    app.router.add_post("/events", receiver.on_event_grid)
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield RunningReceiver(
            receiver, f"http://127.0.0.1:{port}/callbacks", f"http://127.0.0.1:{port}/events"
        )
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        sock.close()
