"""The Event Grid webhook ``/runtime/webhooks/eventgrid?functionName=NAME``, as the extension serves it.

Event Grid delivers either its own schema (``eventType``, ``eventTime``, ``dataVersion``, ``topic``) or
CloudEvents 1.0 (``specversion``, ``type``, ``source``, ``time``), one event (a JSON object, e.g.
``application/cloudevents+json``) or a JSON array (``application/cloudevents-batch+json``); the content type
does not matter, the JSON shape does. The ``aeg-event-type`` header says what a POST is:
``SubscriptionValidation`` (answer the ``validationCode`` as ``validationResponse``), ``Notification`` (invoke
the function once per event) or ``Unsubscribe`` (202); without it, or with another value, the extension
answers 400, and so does devhost. CloudEvents subscriptions validate with an HTTP OPTIONS handshake instead:
200 with ``WebHook-Allowed-Origin`` set to the ``WebHook-Request-Origin`` when it is one of Event Grid's
clouds (``eventgrid.azure.net`` otherwise).

Each event reaches the function exactly as on Azure: the host hands the worker the event's JSON and the
``azure.functions`` converter builds the object, so a CloudEvent arrives as ``azure.functions.CloudEvent``
(``id``, ``source``, ``type``, ``specversion``, ``time``, ``subject``, ``datacontenttype``, ``dataschema``,
``get_json()``, ``extension_attrs``) even when the parameter is annotated ``EventGridEvent``; nothing is
converted between the schemas. Notifications answer 202 once every event was handled, 500 if the function
failed (so Event Grid would retry), 400 with a reason for a body that is not events, 404 for an unknown
function.

Blob triggers declared with ``source="EventGrid"`` are fed the same way through
``/runtime/webhooks/blobs?functionName=Host.Functions.NAME`` (the URL the host documents for them); posting
``Microsoft.Storage.BlobCreated`` events for such a function to the Event Grid webhook works too.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from aiohttp import web
from azure.functions.eventgrid import EventGridEventInConverter
from azure.functions.meta import Datum

from devhost.functions import FunctionIndex, FunctionInfo
from devhost.http_triggers import JsonBodyError, parse_json_body
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.eventgrid")

EVENT_TYPE_HEADER = "aeg-event-type"
SUBSCRIPTION_VALIDATION = "subscriptionvalidation"  # header values compare case-insensitively
NOTIFICATION = "notification"
UNSUBSCRIBE = "unsubscribe"
REQUEST_ORIGIN_HEADER = "WebHook-Request-Origin"
ALLOWED_ORIGIN_HEADER = "WebHook-Allowed-Origin"
PUBLIC_CLOUD_ORIGIN = "eventgrid.azure.net"
EVENT_GRID_ORIGINS = frozenset(
    {
        PUBLIC_CLOUD_ORIGIN,
        "eventgrid.azure.us",
        "eventgrid.azure.eaglex.ic.gov",
        "eventgrid.azure.microsoft.scloud",
        "eventgrid.azure.cn",
    }
)
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
BLOB_CREATED_EVENT = "Microsoft.Storage.BlobCreated"
_FRACTION = re.compile(r"(\.\d{6})\d+")

BlobEventHandler = Callable[[FunctionInfo, dict[str, Any]], Awaitable[None]]


class EventGridBodyError(ValueError):
    """The request body is not an Event Grid or CloudEvents delivery."""


def parse_event_time(value: Any) -> datetime | None:
    """Parse an ISO-8601 event time (Event Grid sends up to 7 fractional digits and ``Z``)."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_cloud_event(event: dict[str, Any]) -> bool:
    """Tell whether ``event`` is a CloudEvents 1.0 envelope."""
    return "specversion" in event


def event_type_of(event: dict[str, Any]) -> str:
    """Return the event type in either schema."""
    return str(event.get("type") if is_cloud_event(event) else event.get("eventType") or "")


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """Parse a delivery body into its events, checking the fields each schema requires.

    The extension itself checks no field (Event Grid validated the events when they were published); devhost
    refuses a hand-made event that lacks one, so a local tool's mistake is a 400 with a reason rather than a
    function reading ``None``.
    """
    try:
        document = parse_json_body(body)
    except JsonBodyError as error:
        raise EventGridBodyError(str(error)) from error
    events = document if isinstance(document, list) else [document]
    if not events:
        raise EventGridBodyError("no events in the body")
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise EventGridBodyError(f"event {position} is not a JSON object")
        required = ("id", "source", "type") if is_cloud_event(event) else ("id", "eventType")
        missing = [key for key in required if not event.get(key)]
        # The Event Grid schema requires ``subject`` to be present, but real Event Grid sends it empty in a
        # SubscriptionValidationEvent: only its absence (or a non-string value) is an error.
        if not is_cloud_event(event) and not isinstance(event.get("subject"), str):
            missing.append("subject")
        if missing:
            schema = "CloudEvents" if is_cloud_event(event) else "Event Grid"
            raise EventGridBodyError(f"event {position} lacks {', '.join(missing)} ({schema} schema)")
    return events


def to_function_event(event: dict[str, Any]) -> func.EventGridEvent | func.CloudEvent:
    """Build what the function receives for ``event``, as the worker does.

    The host passes the event's JSON to the worker, whose ``azure.functions`` converter returns a
    ``CloudEvent`` when the event has ``specversion`` and an ``EventGridEvent`` otherwise. Running that same
    converter keeps both schemas exactly as Azure delivers them (times parsed by the library, CloudEvent
    extension attributes kept). An unparseable time raises ``ValueError``, failing the invocation as there.
    """
    datum = Datum(value=json.dumps(event), type="json")
    converted: func.EventGridEvent | func.CloudEvent = EventGridEventInConverter.decode(
        datum, trigger_metadata={}
    )
    return converted


def validation_code(events: list[dict[str, Any]]) -> str | None:
    """Return the ``validationCode`` of a SubscriptionValidation delivery (``None`` when it has none).

    In a CloudEvents-shaped validation event the data may arrive double-encoded (a JSON string of JSON), as
    the extension's handshake code allows.
    """
    data: Any = events[0].get("data")
    if isinstance(data, str):
        try:
            data = parse_json_body(data.encode("utf-8"))
        except JsonBodyError:
            return None
    code = data.get("validationCode") if isinstance(data, dict) else None
    return str(code) if code else None


def allowed_origin(request_origin: str | None) -> str:
    """Answer a CloudEvents handshake as the extension does: Event Grid's own cloud origins only."""
    if request_origin in EVENT_GRID_ORIGINS:
        return str(request_origin)
    return PUBLIC_CLOUD_ORIGIN


def _reason(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class EventGridWebhook:
    """Serves the Event Grid webhook and the blob extension's Event Grid webhook."""

    def __init__(
        self,
        index: FunctionIndex,
        invoker: FunctionInvoker,
        *,
        blob_event_handler: BlobEventHandler | None = None,
        authorize: Callable[[web.Request, str], bool],
    ) -> None:
        self.index = index
        self.invoker = invoker
        self.blob_event_handler = blob_event_handler
        self.authorize = authorize

    def add_routes(self, app: web.Application) -> None:
        """Mount both webhooks on ``app``."""
        app.router.add_route("POST", "/runtime/webhooks/eventgrid", self.handle_eventgrid)
        app.router.add_route("OPTIONS", "/runtime/webhooks/eventgrid", self.handle_cloud_event_handshake)
        app.router.add_route("POST", "/runtime/webhooks/blobs", self.handle_blobs)
        app.router.add_route("OPTIONS", "/runtime/webhooks/blobs", self.handle_cloud_event_handshake)

    async def handle_cloud_event_handshake(self, request: web.Request) -> web.Response:
        """CloudEvents abuse protection (HTTP OPTIONS) for a known function: 200 and the allowed origin."""
        extension = "blobs_extension" if request.path.endswith("/blobs") else "eventgrid_extension"
        if not self.authorize(request, extension):
            return _reason(401, "a system key is required (code query parameter or x-functions-key)")
        if self._target(request) is None:
            name = request.query.get("functionName", "")
            return _reason(404, f"cannot find function: {name!r}")
        origin = allowed_origin(request.headers.get(REQUEST_ORIGIN_HEADER))
        return web.Response(status=200, headers={ALLOWED_ORIGIN_HEADER: origin})

    def _target(self, request: web.Request) -> FunctionInfo | None:
        name = request.query.get("functionName", "")
        if request.path.endswith("/blobs"):
            info = self.index.get(name.removeprefix("Host.Functions."), "blobTrigger")
            return info if info is not None and _is_event_grid_blob(info) else None
        info = self.index.get(name)
        if info is None or info.trigger_type not in ("eventGridTrigger", "blobTrigger"):
            return None
        if info.trigger_type == "blobTrigger" and not _is_event_grid_blob(info):
            return None
        return info

    async def handle_eventgrid(self, request: web.Request) -> web.Response:
        """Deliver events to an ``eventGridTrigger`` (or an Event Grid sourced blob trigger)."""
        if not self.authorize(request, "eventgrid_extension"):
            return _reason(401, "a system key is required (code query parameter or x-functions-key)")
        name = request.query.get("functionName", "")
        info = self.index.get(name)
        if info is None or info.trigger_type not in ("eventGridTrigger", "blobTrigger"):
            return _reason(404, f"no Event Grid triggered function named {name!r}")
        if info.trigger_type == "blobTrigger" and not _is_event_grid_blob(info):
            return _reason(
                404, f"blob trigger {name!r} is polled, not fed by Event Grid (source is not EventGrid)"
            )
        return await self._deliver(request, info)

    async def handle_blobs(self, request: web.Request) -> web.Response:
        """Deliver BlobCreated events to a blob trigger declared with ``source="EventGrid"``."""
        if not self.authorize(request, "blobs_extension"):
            return _reason(401, "a system key is required (code query parameter or x-functions-key)")
        name = request.query.get("functionName", "")
        name = name.removeprefix("Host.Functions.")
        info = self.index.get(name, "blobTrigger")
        if info is None or not _is_event_grid_blob(info):
            return _reason(404, f"no blob trigger with source EventGrid named {name!r}")
        return await self._deliver(request, info)

    async def _deliver(self, request: web.Request, info: FunctionInfo) -> web.Response:
        kind = request.headers.get(EVENT_TYPE_HEADER, "").lower()
        if kind not in (SUBSCRIPTION_VALIDATION, NOTIFICATION, UNSUBSCRIBE):
            # The extension dispatches on this header alone; Event Grid always sends it.
            shown = request.headers.get(EVENT_TYPE_HEADER)
            return _reason(
                400,
                f"{EVENT_TYPE_HEADER} header must be SubscriptionValidation, Notification or Unsubscribe"
                + (f", not {shown!r}" if shown is not None else " (it is missing)"),
            )
        if kind == UNSUBSCRIBE:
            return web.Response(status=202)
        try:
            events = parse_events(await request.read())
        except EventGridBodyError as error:
            return _reason(400, str(error))
        if kind == SUBSCRIPTION_VALIDATION:
            code = validation_code(events)
            if code is None:
                return _reason(400, "SubscriptionValidation without a validationCode")
            return web.json_response({"validationResponse": code})
        for event in events:
            try:
                if info.trigger_type == "blobTrigger":
                    if event_type_of(event) != BLOB_CREATED_EVENT:
                        # The blob extension acts on BlobCreated only; other storage events are acknowledged.
                        continue
                    if self.blob_event_handler is None:
                        return _reason(503, "blob triggers are not running on this host")
                    await self.blob_event_handler(info, event)
                else:
                    await self.invoker.invoke(info, to_function_event(event))
            except Exception as error:
                LOGGER.exception("Executed 'Functions.%s' (Failed) for event %s", info.name, event.get("id"))
                return _reason(500, f"function {info.name} failed on event {event.get('id')}: {error}")
        return web.Response(status=202)


def _is_event_grid_blob(info: FunctionInfo) -> bool:
    return str(info.trigger.get("source", "")).lower() == "eventgrid"
