"""``/admin/clock``: people read and move the engine's clock while the host runs.

A stack started with skipped time finishes its scripted runs fast; switched to real time afterwards, human
deadlines wait for humans, and people fast-forward on purpose. Guarded like every ``/admin`` route: with
``--require-keys`` only the master key (``code`` query parameter or ``x-functions-key`` header) is accepted.

- ``GET /admin/clock``: ``{"mode": "skip"|"real"|"scaled", "now": ISO time, "pendingTimers": n,
  "nextTimer": {"instanceId", "timerId", "fireAt", "dueInSeconds"} or null}``.
- ``POST /admin/clock/advance`` with ``{"to": "next"}`` (jump to the next durable timer, which then fires;
  409 when none is pending), ``{"to": ISO time}`` (a time ahead of now), or ``{"by": "1d"}`` (a duration:
  ``1d``, ``2h30m``, ``90s``..., or a number of seconds). Answers the clock's state as ``GET`` does, plus
  ``advancedSeconds`` and ``dueTimers`` (how many timers the jump made due). Time never moves backwards.
- ``POST /admin/clock/mode`` with ``{"mode": "real"}`` or ``{"mode": "skip"}``: the clock goes on from the
  current time in that mode (skip: the engine jumps to the next timer whenever it is idle).

Errors are ``{"error": message}`` with 400 (bad body), 401 (key) or 409 (no timer to advance to).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from devhost.clock import REAL, SCALED, SKIPPING
from devhost.engine import Engine

# The API's names for the clock's modes.
_MODE_NAMES = {SKIPPING: "skip", REAL: "real", SCALED: "scaled"}
_MODES_BY_NAME = {"skip": SKIPPING, "skipping": SKIPPING, "real": REAL}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
# Far enough for any deadline a person would skip to, near enough for datetime arithmetic to stay valid.
MAXIMUM_ADVANCE = timedelta(days=3_650)
_KEY_REQUIRED = "the master key is required"


class ClockRequestError(ValueError):
    """A request body the clock API cannot act on; the message says why."""


def add_clock_routes(app: web.Application, engine: Engine, authorize: Callable[[web.Request], bool]) -> None:
    """Mount ``/admin/clock`` on ``app``; ``authorize`` is the host's master-key check."""
    api = _ClockApi(engine, authorize)
    app.router.add_route("GET", "/admin/clock", api.read)
    app.router.add_route("POST", "/admin/clock/advance", api.advance)
    app.router.add_route("POST", "/admin/clock/mode", api.switch_mode)


def parse_duration(value: Any) -> timedelta:
    """Read ``1d``, ``2h30m``, ``90s``, ``1.5h`` or a number of seconds as a positive duration."""
    if isinstance(value, bool):
        raise ClockRequestError('\'by\' must be a duration such as "1d", "2h30m" or a number of seconds')
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(f"(?:{_DURATION_PART.pattern})+", text):
            seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
        else:
            raise ClockRequestError(
                f'\'by\' must be a duration such as "1d", "2h30m" or "90s", not {value!r}'
            )
    else:
        raise ClockRequestError('\'by\' must be a duration such as "1d", "2h30m" or a number of seconds')
    if not math.isfinite(seconds) or seconds <= 0:
        raise ClockRequestError("'by' must be a positive duration: the clock never moves backwards")
    if seconds > MAXIMUM_ADVANCE.total_seconds():
        raise ClockRequestError(f"'by' may skip at most {MAXIMUM_ADVANCE.days} days at once")
    return timedelta(seconds=seconds)


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ClockRequestError(f"'to' must be \"next\" or an ISO 8601 time, not {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


class _ClockApi:
    def __init__(self, engine: Engine, authorize: Callable[[web.Request], bool]) -> None:
        self.engine = engine
        self.authorize = authorize

    def state(self) -> dict[str, Any]:
        clock = self.engine.clock
        now = clock.timestamp()
        upcoming = self.engine.next_timer()
        next_timer: dict[str, Any] | None = None
        if upcoming is not None:
            fire_at, instance_id, timer_id = upcoming
            next_timer = {
                "instanceId": instance_id,
                "timerId": timer_id,
                "fireAt": _iso(fire_at),
                "dueInSeconds": round(max(0.0, fire_at - now), 3),
            }
        document: dict[str, Any] = {
            "mode": _MODE_NAMES[clock.mode],
            "now": _iso(now),
            "pendingTimers": self.engine.pending_timer_count(),
            "nextTimer": next_timer,
        }
        if clock.mode == SCALED:
            document["factor"] = clock.factor
        return document

    async def read(self, request: web.Request) -> web.Response:
        if not self.authorize(request):
            return web.json_response({"error": _KEY_REQUIRED}, status=401)
        return web.json_response(self.state())

    async def advance(self, request: web.Request) -> web.Response:
        if not self.authorize(request):
            return web.json_response({"error": _KEY_REQUIRED}, status=401)
        try:
            body = await _body(request)
            target = body.get("to")
            by = body.get("by")
            if (target is None) == (by is None):
                raise ClockRequestError('send either {"to": "next"} (or an ISO time) or {"by": "1d"}')
            before = self.engine.clock.timestamp()
            if by is not None:
                self.engine.advance_clock_by(parse_duration(by))
            elif target == "next":
                if self.engine.advance_clock_to_next_timer() is None:
                    return web.json_response({"error": "no durable timer is pending"}, status=409)
            elif isinstance(target, str):
                moment = _parse_time(target)
                if moment.timestamp() <= before:
                    raise ClockRequestError(f"'to' is not ahead of the clock ({_iso(before)})")
                if moment.timestamp() - before > MAXIMUM_ADVANCE.total_seconds():
                    raise ClockRequestError(f"'to' may be at most {MAXIMUM_ADVANCE.days} days ahead")
                self.engine.advance_clock_to(moment.timestamp())
            else:
                raise ClockRequestError("'to' must be \"next\" or an ISO 8601 time")
        except ClockRequestError as error:
            return web.json_response({"error": str(error)}, status=400)
        document = self.state()
        document["advancedSeconds"] = round(self.engine.clock.timestamp() - before, 3)
        document["dueTimers"] = self.engine.due_timer_count()
        return web.json_response(document)

    async def switch_mode(self, request: web.Request) -> web.Response:
        if not self.authorize(request):
            return web.json_response({"error": _KEY_REQUIRED}, status=401)
        try:
            body = await _body(request)
            name = body.get("mode")
            mode = _MODES_BY_NAME.get(name) if isinstance(name, str) else None
            if mode is None:
                raise ClockRequestError(f'\'mode\' must be "real" or "skip", not {name!r}')
        except ClockRequestError as error:
            return web.json_response({"error": str(error)}, status=400)
        self.engine.set_clock_mode(mode)
        return web.json_response(self.state())


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        document = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ClockRequestError(f"the body is not JSON: {type(error).__name__}") from error
    if not isinstance(document, dict):
        raise ClockRequestError("the body must be a JSON object")
    return document
