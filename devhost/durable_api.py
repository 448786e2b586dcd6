"""The Durable Functions HTTP API under ``/runtime/webhooks/durabletask/``, served by aiohttp over the engine.

It answers both callers the real extension answers: the SDK's ``DurableOrchestrationClient`` (which posts its
payloads double-encoded, a JSON string literal holding JSON, and reads every response as JSON) and plain HTTP
clients following the documented HTTP API (raw JSON bodies, ``top`` + ``x-ms-continuation-token`` paging).

Instance queries (``GET instances/``) are paged as on Azure: 100 instances per page unless ``top`` asks for
another size; when more match, the response carries ``x-ms-continuation-token`` and the next page is asked
for by sending that header back. The SDK's ``get_status_all`` / ``get_status_by`` (1.7) send no token, so
they see the first page only, on Azure as here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from devhost.engine import (
    TERMINAL_STATUSES,
    Engine,
    EngineError,
    InstanceNotFoundError,
    NotSupportedError,
    UnknownFunctionError,
)
from devhost.http_triggers import JsonBodyError, parse_json_body

PREFIX = "/runtime/webhooks/durabletask"
CONTINUATION_HEADER = "x-ms-continuation-token"

SYSTEM_KEY_NAME = "durabletask_extension"
_KEY_REQUIRED = f"the {SYSTEM_KEY_NAME} system key or the master key is required (code or x-functions-key)"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_durable_routes(
    app: web.Application, engine: Engine, authorize: Callable[[web.Request, str], bool] | None = None
) -> None:
    """Mount the Durable HTTP API routes of ``engine`` on ``app``.

    ``authorize(request, extension)``, the host's system-key check, guards the public routes; the same routes
    under ``/rpc/{engine.rpc_token}`` (only when keys are required) serve the client bindings, which cannot
    present a key.
    """
    api = _DurableApi(engine)
    routes: list[tuple[str, str, Handler]] = [
        ("POST", "/orchestrators/{function_name}", api.start),
        ("POST", "/orchestrators/{function_name}/{instance_id}", api.start),
        ("GET", "/instances", api.list_instances),
        ("GET", "/instances/", api.list_instances),
        ("DELETE", "/instances", api.purge_many),
        ("DELETE", "/instances/", api.purge_many),
        ("GET", "/instances/{instance_id}", api.get_instance),
        ("DELETE", "/instances/{instance_id}", api.purge_one),
        ("POST", "/instances/{instance_id}/raiseEvent/{event_name}", api.raise_event),
        *(
            ("POST", "/instances/{instance_id}/" + operation, getattr(api, operation))
            for operation in ("terminate", "suspend", "resume", "rewind", "restart")
        ),
        ("POST", "/entities/{entity_name}/{entity_key}", api.signal_entity),
        ("GET", "/entities/{entity_name}/{entity_key}", api.read_entity),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _guarded(handler, authorize) if authorize else handler)
        if engine.rpc_token:
            app.router.add_route(method, f"{PREFIX}/rpc/{engine.rpc_token}{path}", handler)


def _guarded(handler: Handler, authorize: Callable[[web.Request, str], bool]) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if not authorize(request, SYSTEM_KEY_NAME):
            return _json_response({"Message": _KEY_REQUIRED}, 401)
        return await handler(request)

    return guarded


def _json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body), status=status, content_type="application/json", headers=headers or None
    )


def _error(error: EngineError, status: int | None = None) -> web.Response:
    message = str(error)
    if isinstance(error, NotSupportedError):
        # The SDK's rewind raises the response body itself when it is a string.
        return _json_response(message, status or error.status)
    return _json_response({"Message": message, "ExceptionMessage": message}, status or error.status)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def _parse_time(text: str) -> datetime:
    cleaned = text.strip().replace(" ", "+")
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if "." in cleaned:
        head, _, rest = cleaned.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    moment = datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_DOTNET_INT = re.compile(r"[ \t\r\n]*[+-]?[0-9]+[ \t\r\n]*")
_INT32_MAX = 2**31 - 1


def _page_size(text: str | None) -> int | None:
    """Read ``top`` as the extension does (``int.TryParse``): ASCII digits in Int32 range, else ignored.

    An ignored or absent ``top`` leaves the page at its default size, as on Azure.
    """
    if text is None or not _DOTNET_INT.fullmatch(text):
        return None
    value = int(text.strip())
    return value if -_INT32_MAX - 1 <= value <= _INT32_MAX else None


class _BadRequestError(EngineError):
    status = 400


def _filters(request: web.Request) -> dict[str, Any]:
    try:
        created_from = request.query.get("createdTimeFrom")
        created_to = request.query.get("createdTimeTo")
        statuses = [s for s in request.query.get("runtimeStatus", "").split(",") if s.strip()]
        return {
            "created_from": _parse_time(created_from) if created_from else None,
            "created_to": _parse_time(created_to) if created_to else None,
            "statuses": [s.strip() for s in statuses] or None,
        }
    except ValueError as error:
        raise _BadRequestError(f"Invalid query: {error}") from error


async def _payload(request: web.Request) -> str | None:
    """Return the request body as JSON text, undoing the SDK client's double encoding when present."""
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        parsed = parse_json_body(raw)
    except JsonBodyError as error:
        raise _BadRequestError(f"The request body is not valid JSON: {error}") from error
    if isinstance(parsed, str):
        try:
            json.loads(parsed)
        except RecursionError as error:
            raise _BadRequestError("The request body is not valid JSON: nested too deeply") from error
        except ValueError:
            return json.dumps(parsed)
        return parsed
    return json.dumps(parsed)


class _DurableApi:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _management_payload(self, request: web.Request, instance_id: str) -> dict[str, str]:
        binding = json.loads(self.engine.client_binding())
        origin = f"{request.scheme}://{request.host}"
        base = (self.engine.base_url or origin).rstrip("/")
        payload: dict[str, str] = {"id": instance_id}
        for key, url in binding["managementUrls"].items():
            if key != "id":
                payload[key] = url.replace(base, origin, 1).replace("INSTANCEID", instance_id)
        return payload

    async def start(self, request: web.Request) -> web.Response:
        name = request.match_info["function_name"]
        instance_id = request.match_info.get("instance_id")
        try:
            payload = await _payload(request)
            new_id = await self.engine.start_new(name, instance_id, payload, request.query.get("version"))
        except UnknownFunctionError as error:
            return _error(error, 400)
        except EngineError as error:
            return _error(error)
        body = self._management_payload(request, new_id)
        return _json_response(body, 202, {"Location": body["statusQueryGetUri"], "Retry-After": "10"})

    async def get_instance(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        try:
            status = self.engine.status(
                instance_id,
                show_input=_flag(request, "showInput", True),
                show_history=_flag(request, "showHistory", False),
                show_history_output=_flag(request, "showHistoryOutput", False),
            )
        except InstanceNotFoundError as error:
            return _error(error)
        runtime_status = status["runtimeStatus"]
        code = 200 if runtime_status in TERMINAL_STATUSES else 202
        if runtime_status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure", False):
            code = 500
        headers = {} if code != 202 else {"Location": str(request.url), "Retry-After": "10"}
        return _json_response(status, code, headers)

    async def list_instances(self, request: web.Request) -> web.Response:
        try:
            filters = _filters(request)
            documents, token = self.engine.query(
                **filters,
                prefix=request.query.get("instanceIdPrefix") or None,
                show_input=_flag(request, "showInput", False),
                top=_page_size(request.query.get("top")),
                continuation=request.headers.get(CONTINUATION_HEADER) or None,
            )
        except EngineError as error:
            return _error(error)
        headers = {CONTINUATION_HEADER: token} if token else {}
        return _json_response(documents, 200, headers)

    async def purge_one(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        try:
            deleted = await self.engine.purge(instance_id)
        except EngineError as error:
            return _error(error)
        if deleted == 0:
            return _json_response({"instancesDeleted": 0}, 404)
        return _json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.Response:
        try:
            filters = _filters(request)
            deleted = await self.engine.purge_by(**filters)
        except EngineError as error:
            return _error(error)
        return _json_response({"instancesDeleted": deleted}, 200 if deleted else 404)

    async def raise_event(self, request: web.Request) -> web.Response:
        try:
            payload = await _payload(request)
            await self.engine.raise_event(
                request.match_info["instance_id"], request.match_info["event_name"], payload
            )
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        try:
            await self.engine.terminate(request.match_info["instance_id"], request.query.get("reason", ""))
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        try:
            await self.engine.suspend(request.match_info["instance_id"], request.query.get("reason", ""))
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        try:
            await self.engine.resume(request.match_info["instance_id"], request.query.get("reason", ""))
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def rewind(self, request: web.Request) -> web.Response:
        try:
            await self.engine.rewind(request.match_info["instance_id"], request.query.get("reason", ""))
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        try:
            new_id = await self.engine.restart(
                instance_id, new_instance_id=_flag(request, "restartWithNewInstanceId", True)
            )
        except EngineError as error:
            return _error(error)
        payload = self._management_payload(request, new_id)
        return _json_response(new_id, 202, {"Location": payload["statusQueryGetUri"]})

    async def signal_entity(self, request: web.Request) -> web.Response:
        operation = request.query.get("op")
        if not operation:
            return _error(_BadRequestError("The 'op' query parameter is required."))
        try:
            payload = await _payload(request)
            await self.engine.signal_entity(
                request.match_info["entity_name"], request.match_info["entity_key"], operation, payload
            )
        except EngineError as error:
            return _error(error)
        return web.Response(status=202)

    async def read_entity(self, request: web.Request) -> web.Response:
        exists, state = self.engine.read_entity_state(
            request.match_info["entity_name"], request.match_info["entity_key"]
        )
        if not exists:
            return _json_response({"Message": "entity not found"}, 404)
        return web.Response(text=state if state is not None else "null", content_type="application/json")
