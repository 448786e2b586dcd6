"""HTTP triggers under the route prefix (``/api`` by default), mapped onto ``azure.functions`` objects.

Route templates follow the Functions host (ASP.NET Core routing): literal segments match case-insensitively,
``{id}`` matches one segment, ``{id:int}`` adds a constraint, ``{id?}`` is optional, ``{id=default}`` has a
default and ``{*rest}`` catches the remainder including slashes. When several templates match one path, the
more literal one wins, as in ASP.NET's route precedence.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import azure.functions as func
from aiohttp import web
from azure.functions.http import HttpRequest as WorkerHttpRequest

from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker, InvocationResult

LOGGER = logging.getLogger("devhost.http")

_PARAMETER = re.compile(r"\{([^{}]+)\}")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$|^\{?[0-9a-fA-F-]{36}\}?$")


_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


class RouteTemplateError(ValueError):
    """A route template that cannot be parsed."""


class JsonBodyError(ValueError):
    """A request body devhost had to read as JSON is not JSON it can hold; the message says why."""


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body as JSON, refusing what would otherwise escape as an internal error.

    ``json.loads`` raises more than ``JSONDecodeError`` on hostile input: ``RecursionError`` for thousands of
    nested brackets and a plain ``ValueError`` for an integer over Python's 4,300-digit conversion limit.
    Every such body is the caller's mistake (400), never the host's (500).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise JsonBodyError(f"body is not JSON: not UTF-8 ({error.reason} at byte {error.start})") from error
    try:
        return json.loads(text)
    except RecursionError as error:
        raise JsonBodyError("body is not JSON devhost accepts: nested too deeply") from error
    except json.JSONDecodeError as error:
        raise JsonBodyError(f"body is not JSON: {error}") from error
    except ValueError as error:
        # int() refusing a number with thousands of digits (CVE-2020-10735 limit), or similar.
        raise JsonBodyError(f"body is not JSON devhost accepts: {error}") from error


def _float_ok(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _datetime_ok(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _constraint_check(constraint: str) -> Callable[[str], bool]:
    """Return the predicate for one inline route constraint such as ``int`` or ``range(1,10)``."""
    name, _, argument_text = constraint.partition("(")
    name = name.strip().lower()
    argument = argument_text[:-1] if argument_text.endswith(")") else argument_text
    numbers = [a.strip() for a in argument.split(",")] if argument else []
    if name in ("int", "long"):
        return lambda v: re.fullmatch(r"-?\d+", v) is not None
    if name in ("double", "float", "decimal"):
        return _float_ok
    if name == "bool":
        return lambda v: v.lower() in ("true", "false")
    if name == "guid":
        return lambda v: _GUID.match(v) is not None
    if name == "datetime":
        return _datetime_ok
    if name == "alpha":
        return lambda v: re.fullmatch(r"[A-Za-z]+", v) is not None
    if name == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    if name == "minlength":
        return lambda v: len(v) >= int(numbers[0])
    if name == "maxlength":
        return lambda v: len(v) <= int(numbers[0])
    if name == "length":
        if len(numbers) == 2:
            return lambda v: int(numbers[0]) <= len(v) <= int(numbers[1])
        return lambda v: len(v) == int(numbers[0])
    if name in ("min", "max", "range"):
        low = int(numbers[0]) if name in ("min", "range") else None
        high = int(numbers[-1]) if name in ("max", "range") else None

        def in_range(v: str) -> bool:
            if re.fullmatch(r"-?\d+", v) is None:
                return False
            return (low is None or int(v) >= low) and (high is None or int(v) <= high)

        return in_range
    raise RouteTemplateError(f"unknown route constraint {constraint!r}")


@dataclass(frozen=True)
class _Parameter:
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: tuple[Callable[[str], bool], ...]


class RouteTemplate:
    """One compiled route template; ``match(path)`` returns its route parameters or ``None``."""

    def __init__(self, template: str) -> None:
        self.template = template.strip("/")
        self._parameters: dict[str, _Parameter] = {}
        self._group_names: dict[str, str] = {}
        pattern_parts: list[str] = []
        precedence: list[int] = []
        segments = self.template.split("/") if self.template else []
        for index, segment in enumerate(segments):
            segment_pattern, rank, parameter = self._compile_segment(segment)
            is_last = index == len(segments) - 1
            separator = "/" if index else ""
            # An optional or defaulted last segment, or a catch-all, may be absent together with its slash.
            may_be_absent = parameter is not None and (
                parameter.catch_all or (is_last and (parameter.optional or parameter.default is not None))
            )
            if may_be_absent:
                pattern_parts.append(f"(?:{separator}{segment_pattern})?")
            else:
                pattern_parts.append(separator + segment_pattern)
            precedence.append(rank)
        self._regex = re.compile("^" + "".join(pattern_parts) + "/?$", re.IGNORECASE)
        # Lower sorts first: literal segments (0) beat constrained parameters (1), then plain ones (2), then
        # catch-alls (3); longer templates beat shorter ones at equal precedence.
        self.precedence: tuple[Any, ...] = (tuple(precedence), -len(segments))

    def _compile_segment(self, segment: str) -> tuple[str, int, _Parameter | None]:
        """Compile one segment; the third value is its parameter when the segment is nothing else."""
        parts: list[str] = []
        position = 0
        rank = 0
        last: _Parameter | None = None
        for found in _PARAMETER.finditer(segment):
            parts.append(re.escape(segment[position : found.start()]))
            position = found.end()
            parameter = self._parse_parameter(found.group(1))
            self._parameters[parameter.name] = parameter
            last = parameter
            group_name = f"p{len(self._parameters)}"
            self._group_names[group_name] = parameter.name
            body = ".*" if parameter.catch_all else "[^/]+"
            parts.append(f"(?P<{group_name}>{body})")
            rank = max(rank, 3 if parameter.catch_all else (1 if parameter.checks else 2))
        parts.append(re.escape(segment[position:]))
        alone = last if _PARAMETER.fullmatch(segment) else None
        return "".join(parts), rank, alone

    @staticmethod
    def _parse_parameter(text: str) -> _Parameter:
        catch_all = text.startswith("*")
        text = text.lstrip("*")
        default: str | None = None
        if "=" in text:
            text, default = text.split("=", 1)
        optional = text.endswith("?")
        text = text.rstrip("?")
        name, *constraints = text.split(":")
        if not name:
            raise RouteTemplateError(f"route parameter without a name: {{{text}}}")
        if constraints and constraints[-1].endswith("?"):
            optional = True
            constraints[-1] = constraints[-1].rstrip("?")
        return _Parameter(
            name=name,
            optional=optional,
            catch_all=catch_all,
            default=default,
            checks=tuple(_constraint_check(c) for c in constraints if c),
        )

    def match(self, path: str) -> dict[str, str] | None:
        """Return the route parameters if ``path`` (without the prefix, no leading slash) matches."""
        found = self._regex.match(path.strip("/"))
        if found is None:
            return None
        values: dict[str, str] = {}
        for group_name, raw in found.groupdict().items():
            parameter = self._parameters[self._group_names[group_name]]
            if raw is None or raw == "":
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                elif not (parameter.optional or parameter.catch_all):
                    return None
                continue
            value = unquote(raw)
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values


@dataclass(frozen=True)
class HttpFunction:
    """An HTTP-triggered function with its compiled route, allowed methods and auth level."""

    info: FunctionInfo
    route: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str

    @property
    def output_binding(self) -> str:
        """The name of the ``http`` output binding (``$return`` unless the function names it)."""
        names = self.info.binding_names("http")
        return names[0] if names else "$return"


class HttpTriggerRouter:
    """Resolves ``(method, path)`` to an HTTP-triggered function."""

    def __init__(self, index: FunctionIndex) -> None:
        self.functions: list[HttpFunction] = []
        for info in index.of_type("httpTrigger"):
            methods = info.trigger.get("methods")
            self.functions.append(
                HttpFunction(
                    info=info,
                    route=RouteTemplate(str(info.trigger.get("route") or info.name)),
                    methods=frozenset(str(m).upper() for m in methods) if methods else None,
                    auth_level=str(info.trigger.get("authLevel") or "FUNCTION").lower(),
                )
            )
        self.functions.sort(key=lambda f: f.route.precedence)

    def resolve(self, method: str, path: str) -> tuple[HttpFunction, dict[str, str]] | None:
        """Return the function for ``method`` and ``path`` with its route parameters, or ``None``.

        A path whose template matches but whose methods do not is a miss, as on the Functions host (404).
        """
        for function in self.functions:
            if function.methods is not None and method.upper() not in function.methods:
                continue
            route_params = function.route.match(path)
            if route_params is not None:
                return function, route_params
        return None


def _joined_multi(source: Any) -> dict[str, str]:
    # The Functions host hands the worker one string per name; repeated names are joined with commas.
    joined: dict[str, str] = {}
    for key in source:
        if key in joined:
            continue
        joined[key] = ",".join(source.getall(key))
    return joined


async def to_function_request(request: web.Request, route_params: dict[str, str]) -> func.HttpRequest:
    """Build the worker's ``azure.functions.HttpRequest`` from an aiohttp request."""
    body = await request.read()
    headers: dict[str, str] = {}
    for key in request.headers:
        lowered = key.lower()
        if lowered not in headers:
            headers[lowered] = ", ".join(request.headers.getall(key))
    return WorkerHttpRequest(
        method=request.method,
        url=str(request.url),
        headers=headers,
        params=_joined_multi(request.query),
        route_params=route_params,
        body_type="bytes",
        body=body,
    )


def to_web_response(value: Any, function_name: str) -> web.Response:
    """Map what the function produced for its http output onto an aiohttp response.

    The worker accepts an ``HttpResponse`` or a ``str`` for an http output; anything else is a function error.
    """
    if isinstance(value, func.HttpResponse):
        response = web.Response(status=value.status_code, body=value.get_body())
        has_content_type = False
        for name, header_value in value.headers.items():
            if name.lower() in _FRAMING_HEADERS:
                # The body's framing is the server's job; a stale length from the function would corrupt it.
                continue
            if name.lower() == "content-type":
                has_content_type = True
                response.headers["Content-Type"] = header_value
            else:
                response.headers.add(name, header_value)
        if not has_content_type:
            mimetype = value.mimetype
            response.headers["Content-Type"] = (
                f"{mimetype}; charset={value.charset}" if mimetype.startswith("text/") else mimetype
            )
        return response
    if isinstance(value, str):
        return web.Response(status=200, text=value, content_type="text/plain")
    if value is None:
        return web.Response(status=204)
    raise TypeError(
        f"{function_name}: an http output must be azure.functions.HttpResponse or str, "
        f"got {type(value).__name__}"
    )


def binding_metadata(request: func.HttpRequest) -> dict[str, Any]:
    """Collect what binding expressions may use for an HTTP trigger: body properties, ``Query.x``, route.

    Later sources win, so a route parameter shadows a body property of the same name.
    """
    metadata: dict[str, Any] = {}
    body = request.get_body()
    if body[:1] == b"{":
        try:
            document = parse_json_body(body)
        except JsonBodyError:
            # Not JSON devhost can read: the function gets the body as it is and decides.
            document = None
        if isinstance(document, dict):
            metadata.update({str(k): v for k, v in document.items() if not isinstance(v, (dict, list))})
    metadata.update({f"Query.{key}": value for key, value in request.params.items()})
    metadata.update(request.route_params)
    return metadata


def error_response(status: int, message: str) -> web.Response:
    """Build a small JSON error body, so callers can read why."""
    return web.json_response({"error": message}, status=status)


class HttpTriggerHandler:
    """The aiohttp handler serving every HTTP trigger under the route prefix."""

    def __init__(
        self,
        router: HttpTriggerRouter,
        invoker: FunctionInvoker,
        *,
        route_prefix: str,
        authorize: Callable[[web.Request, HttpFunction], bool],
    ) -> None:
        self.router = router
        self.invoker = invoker
        self.route_prefix = route_prefix.strip("/")
        self.authorize = authorize

    def function_path(self, request_path: str) -> str | None:
        """Return the part of ``request_path`` after the route prefix, or ``None`` outside it."""
        path = request_path.lstrip("/")
        if not self.route_prefix:
            return path
        if path.lower() == self.route_prefix.lower():
            return ""
        if path.lower().startswith(self.route_prefix.lower() + "/"):
            return path[len(self.route_prefix) + 1 :]
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Resolve, authorize, invoke and map one request."""
        path = self.function_path(request.path)
        resolved = self.router.resolve(request.method, path) if path is not None else None
        if resolved is None:
            return error_response(404, f"no HTTP function for {request.method} {request.path}")
        function, route_params = resolved
        if not self.authorize(request, function):
            return error_response(401, "a function key is required (code query parameter or x-functions-key)")
        function_request = await to_function_request(request, route_params)
        invocation_id = uuid.uuid4().hex[:12]
        began = time.perf_counter()
        try:
            metadata = binding_metadata(function_request)
            result: InvocationResult = await self.invoker.invoke(
                function.info, function_request, metadata=metadata
            )
            response = to_web_response(result.output(function.output_binding), function.info.name)
        except Exception:
            LOGGER.exception("Executed 'Functions.%s' (Failed, Id=%s)", function.info.name, invocation_id)
            return error_response(500, f"function {function.info.name} failed; see the host log")
        LOGGER.info(
            "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)",
            function.info.name,
            invocation_id,
            (time.perf_counter() - began) * 1000,
        )
        return response
