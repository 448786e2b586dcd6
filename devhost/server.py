"""The host's aiohttp application: HTTP triggers, webhooks, the admin API and the Durable HTTP API together.

Routes, in resolution order: the Durable HTTP API (``/runtime/webhooks/durabletask/...``, from the
engine half), the Event Grid and blob webhooks, ``/admin/functions/{name}``, and last every HTTP trigger
under the route prefix (``/api`` unless ``host.json`` sets ``extensions.http.routePrefix``).

The engine needs the host's own URL before it starts (client bindings and management URLs point at it), so
``serve`` binds the listening socket first, learns the real port (port 0 works), sets ``engine.base_url`` and
only then runs the app's start-up hooks, which start the engine and the blob pollers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from azure.durable_functions.models.utils import http_utils as sdk_http_utils

from devhost.admin import AdminInvoker
from devhost.blob_bindings import BlobBindings
from devhost.blob_triggers import BlobTriggerService
from devhost.clock_api import add_clock_routes
from devhost.durable_api import SYSTEM_KEY_NAME as DURABLE_SYSTEM_KEY_NAME
from devhost.durable_api import add_durable_routes
from devhost.engine import Engine
from devhost.eventgrid import EventGridWebhook
from devhost.functions import FunctionIndex
from devhost.host_config import load_host_config
from devhost.http_triggers import HttpFunction, HttpTriggerHandler, HttpTriggerRouter
from devhost.invoke import FunctionInvoker
from devhost.keys import HostKeys, load_or_create_keys, request_key
from devhost.queue_triggers import QueueTriggerService
from devhost.timer_triggers import TimerTriggerService

LOGGER = logging.getLogger("devhost.server")

DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's default request size limit

HOST_KEYS: web.AppKey[HostKeys | None] = web.AppKey("devhost_keys", HostKeys)
BLOBS: web.AppKey[BlobTriggerService] = web.AppKey("devhost_blobs", BlobTriggerService)
ADMIN: web.AppKey[AdminInvoker] = web.AppKey("devhost_admin", AdminInvoker)
HTTP_ROUTER: web.AppKey[HttpTriggerRouter] = web.AppKey("devhost_http_router", HttpTriggerRouter)
QUEUES: web.AppKey[QueueTriggerService] = web.AppKey("devhost_queues", QueueTriggerService)
TIMERS: web.AppKey[TimerTriggerService] = web.AppKey("devhost_timers", TimerTriggerService)
ROUTE_PREFIX: web.AppKey[str] = web.AppKey("devhost_route_prefix", str)


@dataclass
class HostOptions:
    """How the host serves one app."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 7071
    require_keys: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    blob_poll_interval: float = 1.0
    queue_poll_interval: float = 1.0
    timer_triggers: bool = True  # run timer triggers on their schedules, as func start does
    cors_origins: tuple[
        str, ...
    ] = ()  # allowed browser origins ("*" for any), as local.settings.json Host.CORS
    cors_credentials: bool = False
    route_prefix: str | None = None  # None: read host.json beside the app, default "api"
    worker_threads: int = field(
        default_factory=lambda: int(
            os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT") or min(32, (os.cpu_count() or 1) + 4)
        )
    )


def route_prefix_for(index: FunctionIndex) -> str:
    """``extensions.http.routePrefix`` from ``host.json`` beside the app, else ``api``.

    ``load_app`` has already refused a ``host.json`` the host would refuse; an index built in-process from an
    app object (no path) gets the default.
    """
    app_dir = index.app_path.parent if index.app_path is not None else None
    return load_host_config(app_dir).route_prefix


async def release_sdk_client_session() -> None:
    """Close the Durable SDK's process-wide HTTP session when the host that used it stops.

    The SDK caches one ``aiohttp.ClientSession`` (and an ``asyncio.Lock``) at module level, bound to the loop
    that first used them. The Python worker has one loop for its lifetime; a process that runs several hosts
    one after another (tests, an in-process restart) would otherwise hand the next host a session whose loop
    is closed. A session bound to another host's loop (two hosts alive at once in one process) is left alone.
    """
    session = getattr(sdk_http_utils, "_client_session", None)
    if session is None or getattr(session, "_loop", None) is not asyncio.get_running_loop():
        return
    if not session.closed:
        await session.close()
    sdk_http_utils._client_session = None
    sdk_http_utils._session_lock = asyncio.Lock()


@web.middleware
async def _never_crash(request: web.Request, handler: Any) -> web.StreamResponse:
    # Whatever goes wrong in one request becomes that request's 500; the host keeps serving.
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except Exception:
        LOGGER.exception("unhandled error serving %s %s", request.method, request.path)
        return web.json_response({"error": "internal error; see the host log"}, status=500)


def cors_middleware(origins: tuple[str, ...], *, credentials: bool) -> Any:
    """Answer CORS preflights and label responses for allowed origins, as ``func start --cors`` does."""
    allowed = {origin.rstrip("/").lower() for origin in origins}

    def allow_origin(origin: str) -> str | None:
        if "*" in allowed:
            return "*" if not credentials else origin
        return origin if origin.rstrip("/").lower() in allowed else None

    @web.middleware
    async def cors(request: web.Request, handler: Any) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        granted = allow_origin(origin) if origin else None
        if granted and request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = web.Response(status=204)
            preflight.headers["Access-Control-Allow-Methods"] = request.headers[
                "Access-Control-Request-Method"
            ]
            if "Access-Control-Request-Headers" in request.headers:
                preflight.headers["Access-Control-Allow-Headers"] = request.headers[
                    "Access-Control-Request-Headers"
                ]
            response: web.StreamResponse = preflight
        else:
            response = await handler(request)
        if granted:
            response.headers["Access-Control-Allow-Origin"] = granted
            if granted != "*":
                response.headers.add("Vary", "Origin")
            if credentials:
                response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    return cors


def is_disabled(function_name: str) -> bool:
    """Tell whether the app setting ``AzureWebJobs.<name>.Disabled`` turns the function off, as on Azure."""
    value = os.environ.get(f"AzureWebJobs.{function_name}.Disabled", "")
    return value.strip().lower() in ("true", "1")


def enabled_triggers(index: FunctionIndex) -> FunctionIndex:
    """Return the functions whose triggers the host serves: all but those disabled by app setting."""
    functions = {name: info for name, info in index.functions.items() if not is_disabled(name)}
    return FunctionIndex(app_path=index.app_path, functions=functions)


def create_host_app(index: FunctionIndex, engine: Engine, options: HostOptions) -> web.Application:
    """Compose the host's application; start-up starts the engine and blob pollers, clean-up stops them.

    The engine gets the whole index; the host's triggers skip functions disabled by app setting.
    """
    middlewares: list[Any] = [_never_crash]
    if options.cors_origins:
        middlewares.insert(0, cors_middleware(options.cors_origins, credentials=options.cors_credentials))
    app = web.Application(client_max_size=options.max_body_bytes, middlewares=middlewares)
    keys = load_or_create_keys(options.data_dir) if options.require_keys else None
    app[HOST_KEYS] = keys
    if keys is not None:
        engine.system_key = keys.system_keys[DURABLE_SYSTEM_KEY_NAME]
        engine.rpc_token = secrets.token_urlsafe(32)
    executor = ThreadPoolExecutor(max_workers=options.worker_threads, thread_name_prefix="devhost-fn")
    blob_bindings = BlobBindings()
    invoker = FunctionInvoker(
        executor=executor,
        client_binding=engine.client_binding,
        app_dir=index.app_path.parent if index.app_path else None,
        blob_bindings=blob_bindings,
        function_time=engine.function_time,
    )
    index = enabled_triggers(index)
    blobs = BlobTriggerService(index, invoker, options.data_dir, poll_interval=options.blob_poll_interval)
    app[BLOBS] = blobs
    engine.host_work.add_counter(blobs.in_flight)
    timers = TimerTriggerService(index, invoker)
    app[TIMERS] = timers
    queues = QueueTriggerService(index, invoker, poll_interval=options.queue_poll_interval)
    app[QUEUES] = queues

    def authorize_system(request: web.Request, extension: str) -> bool:
        return keys is None or keys.accepts_system(extension, request_key(request))

    def authorize_admin(request: web.Request) -> bool:
        return keys is None or keys.accepts_admin_level(request_key(request))

    def authorize_function(request: web.Request, function: HttpFunction) -> bool:
        if keys is None or function.auth_level == "anonymous":
            return True
        if function.auth_level in ("admin", "system"):
            return keys.accepts_admin_level(request_key(request))
        return keys.accepts_function_level(request_key(request))

    add_durable_routes(app, engine, authorize=authorize_system)
    EventGridWebhook(
        index, invoker, blob_event_handler=blobs.handle_blob_created, authorize=authorize_system
    ).add_routes(app)
    admin = AdminInvoker(index, invoker, blobs=blobs, authorize=authorize_admin)
    admin.add_routes(app)
    add_clock_routes(app, engine, authorize=authorize_admin)
    app[ADMIN] = admin
    router = HttpTriggerRouter(index)
    app[HTTP_ROUTER] = router
    prefix = options.route_prefix if options.route_prefix is not None else route_prefix_for(index)
    app[ROUTE_PREFIX] = prefix
    http_handler = HttpTriggerHandler(router, invoker, route_prefix=prefix, authorize=authorize_function)
    app.router.add_route("*", "/{tail:.*}", http_handler.handle)

    async def start(_: web.Application) -> None:
        await engine.start()
        await blobs.start()
        await queues.start()
        if options.timer_triggers:
            await timers.start()

    async def stop(_: web.Application) -> None:
        await timers.stop()
        await queues.stop()
        await blobs.stop()
        await admin.wait_idle()
        await engine.stop()
        await blob_bindings.close()
        executor.shutdown(wait=False, cancel_futures=True)
        await release_sdk_client_session()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


@dataclass
class RunningHost:
    """A host serving on a bound port; ``close()`` stops it (engine included)."""

    runner: web.AppRunner
    app: web.Application
    base_url: str
    port: int

    async def close(self) -> None:
        """Stop accepting requests, then stop pollers and the engine."""
        await self.runner.cleanup()


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket up front, so port 0 resolves to a real port before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(index: FunctionIndex, engine: Engine, options: HostOptions) -> RunningHost:
    """Bind, point the engine at the real URL, start everything and serve; returns once serving."""
    sock = bind_socket(options.host, options.port)
    port = int(sock.getsockname()[1])
    url_host = f"[{options.host}]" if ":" in options.host else options.host
    base_url = f"http://{url_host}:{port}"
    engine.base_url = base_url
    app = create_host_app(index, engine, options)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        await runner.cleanup()
        sock.close()
        raise
    return RunningHost(runner=runner, app=app, base_url=base_url, port=port)


async def run_host(
    index: FunctionIndex,
    engine: Engine,
    options: HostOptions,
    *,
    on_ready: Callable[[RunningHost], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (the engine's in-flight work stays persisted).

    ``on_ready(running_host)`` is called once the host serves (the CLI prints the functions and ``ready``).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    running = await serve(index, engine, options)
    try:
        if on_ready is not None:
            on_ready(running)
        await stop.wait()
        LOGGER.info("shutting down")
    finally:
        await running.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
