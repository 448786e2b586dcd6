"""``POST /admin/functions/{name}``: run a non-HTTP function by hand, as Core Tools' admin API does.

The body is ``{"input": ...}``; the answer is 202 as soon as the invocation is accepted, and the function runs
in the background (its failure is logged, as the host logs it). The input is converted to what the trigger
would deliver: a ``TimerRequest`` for a timer; for an Event Grid trigger the input is the event, handed over
as the worker's converter does (a ``CloudEvent`` when it has ``specversion``, else an ``EventGridEvent``); a
``QueueMessage`` for a queue trigger; the named blob as an ``InputStream`` for a blob trigger (the input is
``container/name``); and the raw input otherwise. A body that is not JSON devhost can read (malformed,
nested too deeply, numbers too long) is a 400 with the reason.

``GET /admin/host/status`` answers ``{"state": "Running", ...}`` (tools poll it for readiness),
``GET /admin/functions`` lists the functions with their triggers and ``GET /admin/stats`` says how long the
app's functions ran (``devhost/function_time.py``), so a benchmark can tell the app's work from the host's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.timer import TimerRequest

from devhost.blob_triggers import BlobTriggerService
from devhost.eventgrid import EventGridBodyError, parse_events, to_function_event
from devhost.functions import FunctionIndex, FunctionInfo
from devhost.http_triggers import JsonBodyError, parse_json_body
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.admin")

# Durable triggers are driven by the engine (start orchestrations through a client), never invoked by hand.
_NOT_INVOCABLE = {"httpTrigger", "orchestrationTrigger", "activityTrigger", "entityTrigger"}


class AdminInvoker:
    """Serves the admin invoke endpoint."""

    def __init__(
        self,
        index: FunctionIndex,
        invoker: FunctionInvoker,
        *,
        blobs: BlobTriggerService | None,
        authorize: Callable[[web.Request], bool],
    ) -> None:
        self.index = index
        self.invoker = invoker
        self.blobs = blobs
        self.authorize = authorize
        self._tasks: set[asyncio.Task[None]] = set()

    def add_routes(self, app: web.Application) -> None:
        """Mount the admin routes."""
        app.router.add_route("POST", "/admin/functions/{name}", self.handle)
        app.router.add_route("GET", "/admin/functions", self.list_functions)
        app.router.add_route("GET", "/admin/host/status", self.host_status)
        app.router.add_route("GET", "/admin/stats", self.stats)

    async def host_status(self, request: web.Request) -> web.Response:
        """Report that the host runs, as the Functions host's status endpoint does."""
        if not self.authorize(request):
            return web.json_response({"error": "the master key is required"}, status=401)
        return web.json_response(
            {
                "id": "devhost",
                "state": "Running",
                "version": "devhost",
                "functions": len(self.index.functions),
            }
        )

    async def stats(self, request: web.Request) -> web.Response:
        """How long the app's functions ran: ``{"functions": {"busy_s": ..., "by_function": {...}}}``."""
        if not self.authorize(request):
            return web.json_response({"error": "the master key is required"}, status=401)
        return web.json_response({"functions": self.invoker.function_time.snapshot()})

    async def list_functions(self, request: web.Request) -> web.Response:
        """List every function with its trigger type and trigger binding."""
        if not self.authorize(request):
            return web.json_response({"error": "the master key is required"}, status=401)
        return web.json_response(
            [
                {"name": info.name, "trigger": info.trigger_type, "binding": info.trigger}
                for info in self.index.functions.values()
            ]
        )

    async def handle(self, request: web.Request) -> web.Response:
        """Validate, convert the input and start the function in the background."""
        if not self.authorize(request):
            return web.json_response({"error": "the master key is required"}, status=401)
        name = request.match_info["name"]
        info = self.index.get(name)
        if info is None:
            return web.json_response({"error": f"no function named {name!r}"}, status=404)
        if info.trigger_type in _NOT_INVOCABLE:
            return web.json_response(
                {
                    "error": f"{name} has a {info.trigger_type}; the admin endpoint invokes "
                    "non-HTTP, non-durable functions only"
                },
                status=400,
            )
        raw = await request.read()
        try:
            document = parse_json_body(raw) if raw.strip() else {}
        except JsonBodyError as error:
            return web.json_response({"error": str(error)}, status=400)
        if not isinstance(document, dict):
            return web.json_response({"error": 'body must be a JSON object like {"input": ...}'}, status=400)
        payload = document.get("input")
        try:
            run = self._prepare(info, payload)
        except (ValueError, EventGridBodyError) as error:
            return web.json_response({"error": str(error)}, status=400)
        task = asyncio.create_task(self._run(info, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    def _prepare(self, info: FunctionInfo, payload: Any) -> Callable[[], Any]:
        trigger_type = info.trigger_type
        if trigger_type == "timerTrigger":
            timer = TimerRequest(past_due=False)
            return lambda: self.invoker.invoke(info, timer)
        if trigger_type == "eventGridTrigger":
            text = payload if isinstance(payload, str) else json.dumps(payload)
            event = to_function_event(parse_events(text.encode("utf-8"))[0])
            return lambda: self.invoker.invoke(info, event)
        if trigger_type == "queueTrigger":
            body = payload if isinstance(payload, str) else json.dumps(payload)
            message = func.QueueMessage(body=body)
            return lambda: self.invoker.invoke(info, message)
        if trigger_type == "blobTrigger":
            trigger = self.blobs.triggers.get(info.name) if self.blobs else None
            if trigger is None or self.blobs is None:
                raise ValueError(f"blob trigger {info.name} is not configured (see the start-up log)")
            blobs = self.blobs
            container, _, blob_name = str(payload or "").strip("/").partition("/")
            if container != trigger.path.container or not blob_name:
                raise ValueError(f'input must be "{trigger.path.container}/<blob name>"')
            return lambda: blobs.run_blob(trigger, blob_name, use_receipts=False)
        return lambda: self.invoker.invoke(info, payload)

    async def _run(self, info: FunctionInfo, run: Callable[[], Any]) -> None:
        try:
            await run()
            LOGGER.info("Executed 'Functions.%s' (Succeeded, admin invocation)", info.name)
        except Exception:
            LOGGER.exception("Executed 'Functions.%s' (Failed, admin invocation)", info.name)

    async def wait_idle(self) -> None:
        """Wait for every background invocation started so far."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
