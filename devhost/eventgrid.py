"""The Event Grid webhook: ``/runtime/webhooks/eventgrid?functionName=NAME``.

Event Grid delivers either its own schema (``eventType``, ``eventTime``, ``dataVersion``, ``topic``) or
CloudEvents 1.0 (``specversion``, ``type``, ``source``, ``time``), one event or a JSON array. The
``aeg-event-type`` header says what a POST is: ``SubscriptionValidation`` (answer the ``validationCode`` as
``validationResponse``), ``Notification`` (invoke the function once per event) or ``Unsubscribe``. Event Grid
always sends the header; a hand-made POST without it is read by its content (a validation event answers the
handshake, anything else is a notification) so local tools need not know the header. CloudEvents
subscriptions validate with an HTTP OPTIONS handshake instead (``WebHook-Request-Origin`` echoed back as
``WebHook-Allowed-Origin``). Notifications answer 202 once every event was handled, 500 if the function
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

from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.eventgrid")

EVENT_TYPE_HEADER = "aeg-event-type"
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
    """Parse a delivery body into its events, checking the fields each schema requires."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EventGridBodyError(f"body is not JSON: {error}") from error
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


def to_function_event(event: dict[str, Any]) -> func.EventGridEvent:
    """Build the ``azure.functions.EventGridEvent`` the function receives.

    For CloudEvents, ``source`` becomes the topic, ``type`` the event type and ``time`` the event time, so a
    function reads the same properties whichever schema the subscription delivers.
    """
    if is_cloud_event(event):
        return func.EventGridEvent(
            id=str(event["id"]),
            data=event.get("data"),  # type: ignore[arg-type]
            topic=str(event.get("source", "")),
            subject=str(event.get("subject", "")),
            event_type=str(event["type"]),
            event_time=parse_event_time(event.get("time")),
            data_version=str(event.get("dataschema") or event.get("specversion") or ""),
        )
    return func.EventGridEvent(
        id=str(event["id"]),
        data=event.get("data"),  # type: ignore[arg-type]
        topic=str(event.get("topic", "")),
        subject=str(event.get("subject", "")),
        event_type=str(event["eventType"]),
        event_time=parse_event_time(event.get("eventTime")),
        data_version=str(event.get("dataVersion", "")),
    )


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
        """CloudEvents abuse protection: echo the origin back as allowed."""
        origin = request.headers.get("WebHook-Request-Origin")
        if not origin:
            return _reason(400, "OPTIONS without a WebHook-Request-Origin header")
        return web.Response(
            status=200, headers={"WebHook-Allowed-Origin": origin, "WebHook-Allowed-Rate": "*"}
        )

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
        kind = request.headers.get(EVENT_TYPE_HEADER, "")
        try:
            events = parse_events(await request.read())
        except EventGridBodyError as error:
            return _reason(400, str(error))
        if kind == "SubscriptionValidation" or (not kind and event_type_of(events[0]) == VALIDATION_EVENT):
            data = events[0].get("data")
            code = data.get("validationCode") if isinstance(data, dict) else None
            if event_type_of(events[0]) != VALIDATION_EVENT or not code:
                return _reason(400, "SubscriptionValidation without a validationCode")
            return web.json_response({"validationResponse": code})
        if kind == "Unsubscribe":
            return web.Response(status=202)
        if kind and kind != "Notification":
            return _reason(400, f"unknown {EVENT_TYPE_HEADER} header value {kind!r}")
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
