"""Seeded fault injection for every emulated service, applied by path prefix as an aiohttp middleware.

A fault spec reads `service:kind=rate[,kind=rate...][;service:...]`, e.g.
`openai:429=0.2,500=0.05;docintel:503=0.1`. Each service draws from its own RNG seeded from (seed, service),
so the sequence of faults a service injects depends only on the seed and on how many requests that service has
seen: a run is reproducible even when several services are called concurrently.

A test that needs a fault at an exact request (the second poll of an operation, the third range of a
download) scripts it instead: `POST /admin/faults {"script": {"docintel": [null, "503"]}}` makes the next
requests of that service take those outcomes in order (`null`: served normally) before the random draws
resume. Scripted requests do not consume random draws, so the seeded sequence after them is unchanged.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from aiohttp import web
from aiohttp.typedefs import Middleware

FaultKind = Literal["429", "500", "503", "slow", "timeout", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
SERVICES: tuple[str, ...] = ("openai", "docintel", "acs")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServiceOfPath = Callable[[str], str | None]


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed (unknown service or kind, a rate outside 0..1)."""


def parse_fault_spec(spec: str) -> dict[str, dict[FaultKind, float]]:
    """Parse a `--faults` spec into rates per service and kind."""
    plan: dict[str, dict[FaultKind, float]] = {}
    for service_part in filter(None, (p.strip() for p in spec.split(";"))):
        service, sep, kinds = service_part.partition(":")
        service = service.strip()
        if not sep or service not in SERVICES:
            raise FaultSpecError(
                f"expected service:kind=rate with a service in {SERVICES}, got {service_part!r}"
            )
        rates = plan.setdefault(service, {})
        for kind_part in filter(None, (p.strip() for p in kinds.split(","))):
            kind, eq, rate_text = kind_part.partition("=")
            kind = kind.strip()
            if not eq or kind not in FAULT_KINDS:
                raise FaultSpecError(f"expected kind=rate with a kind in {FAULT_KINDS}, got {kind_part!r}")
            try:
                rate = float(rate_text)
            except ValueError as error:
                raise FaultSpecError(f"rate {rate_text!r} is not a number") from error
            if not 0.0 <= rate <= 1.0:
                raise FaultSpecError(f"rate {rate} is outside 0..1")
            rates[kind] = rate
        if sum(rates.values()) > 1.0 + 1e-9:
            raise FaultSpecError(f"rates for {service} add up to more than 1")
    return plan


def _generic_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def openai_error(
    status: int, message: str, code: str | None = None, type_: str | None = None
) -> dict[str, Any]:
    """Azure OpenAI's error body for rate limits and server errors (`code` is the status as a string)."""
    return {"error": {"code": code or str(status), "message": message, "type": type_, "param": None}}


@dataclass
class FaultSettings:
    """How long `slow` delays, how long `timeout` holds a response, what retry-after a fault 429 gives."""

    slow_delay_s: float = 1.5
    timeout_hold_s: float = 120.0
    retry_after_s: float = 1.0


@dataclass
class ServiceCounters:
    """What one service served normally and what faults it injected."""

    served: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    served_s: float = 0.0
    """Seconds spent inside the service's handler for requests it served (injected delays included), so a
    benchmark can subtract the time a client spent waiting on the emulator from its own wall time."""


class FaultInjector:
    """Chooses and applies faults per service; shared by every site so one `/admin/stats` sees everything."""

    def __init__(self, seed: int = 0, spec: str = "", settings: FaultSettings | None = None) -> None:
        self.settings = settings or FaultSettings()
        self._seed = seed
        self._plan: dict[str, dict[FaultKind, float]] = parse_fault_spec(spec)
        self._rngs: dict[str, random.Random] = {}
        self._scripts: dict[str, list[FaultKind | None]] = {}
        self._counters: dict[str, ServiceCounters] = {service: ServiceCounters() for service in SERVICES}
        self.stats_sections: dict[str, Callable[[], Any]] = {}
        """Extra sections of `/admin/stats` (name → snapshot function), e.g. the OpenAI quota usage."""

    def _rng(self, service: str) -> random.Random:
        if service not in self._rngs:
            self._rngs[service] = random.Random(f"{self._seed}:{service}")
        return self._rngs[service]

    def configure(self, plan: Mapping[str, Mapping[FaultKind, float]], seed: int | None = None) -> None:
        """Replace the fault rates (and optionally reseed, restarting every service's sequence)."""
        self._plan = {service: dict(rates) for service, rates in plan.items()}
        if seed is not None:
            self._seed = seed
            self._rngs.clear()

    def script(self, service: str, outcomes: Sequence[FaultKind | None]) -> None:
        """Queue the outcomes of the next requests of ``service`` (``None``: served normally), in order."""
        if service not in SERVICES:
            raise FaultSpecError(f"unknown service {service!r}; expected one of {SERVICES}")
        for outcome in outcomes:
            if outcome is not None and outcome not in FAULT_KINDS:
                raise FaultSpecError(f"unknown fault kind {outcome!r}; expected one of {FAULT_KINDS} or null")
        self._scripts[service] = list(outcomes)

    def scripted(self) -> dict[str, int]:
        """How many scripted outcomes each service has left."""
        return {service: len(queue) for service, queue in self._scripts.items() if queue}

    def plan(self) -> dict[str, dict[str, float]]:
        """Return the current rates per service and kind."""
        return {service: {str(k): v for k, v in rates.items()} for service, rates in self._plan.items()}

    def choose(self, service: str) -> FaultKind | None:
        """Draw the fault (or none) for the next request of `service`; one draw per unscripted request."""
        queue = self._scripts.get(service)
        if queue:
            return queue.pop(0)
        draw = self._rng(service).random()
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += self._plan.get(service, {}).get(kind, 0.0)
            if draw < cumulative:
                return kind
        return None

    def stats(self) -> dict[str, Any]:
        """Return counts of what each service served and injected, plus the active plan and seed."""
        stats: dict[str, Any] = {
            "seed": self._seed,
            "faults": self.plan(),
            "scripted": self.scripted(),
            "services": {
                service: {"served": c.served, "injected": dict(c.injected), "served_s": round(c.served_s, 6)}
                for service, c in self._counters.items()
            },
        }
        for name, section in self.stats_sections.items():
            stats[name] = section()
        return stats

    def count_served(self, service: str) -> None:
        """Record a request that reached the service's handler."""
        self._counters.setdefault(service, ServiceCounters()).served += 1

    def _count_served_time(self, service: str, seconds: float) -> None:
        self._counters.setdefault(service, ServiceCounters()).served_s += seconds

    def _count_injected(self, service: str, kind: str) -> None:
        counters = self._counters.setdefault(service, ServiceCounters())
        counters.injected[kind] = counters.injected.get(kind, 0) + 1

    def _fault_response(self, service: str, kind: FaultKind) -> web.Response:
        retry_after = self.settings.retry_after_s
        if kind == "429":
            message = (
                "Requests have exceeded the rate limit of the emulated service (injected fault). Please "
                f"retry after {retry_after:g} seconds."
            )
            body = openai_error(429, message) if service == "openai" else _generic_error(429, "429", message)
            headers = {
                "retry-after": str(max(1, round(retry_after))),
                "retry-after-ms": str(int(retry_after * 1000)),
            }
            return web.json_response(body, status=429, headers=headers)
        if kind == "500":
            message = "The server had an error while processing your request (injected fault)."
            body = (
                openai_error(500, message, type_="server_error")
                if service == "openai"
                else _generic_error(500, "InternalServerError", "An unexpected error occurred.")
            )
            return web.json_response(body, status=500)
        message = "The service is temporarily unavailable (injected fault). Please retry."
        body = (
            openai_error(503, message, type_="server_error")
            if service == "openai"
            else _generic_error(503, "ServiceUnavailable", "A transient error has occurred. Try again.")
        )
        return web.json_response(body, status=503, headers={"retry-after": str(max(1, round(retry_after)))})

    def middleware(self, service_of_path: ServiceOfPath) -> Middleware:
        """Return an aiohttp middleware that injects faults into requests whose path maps to a service."""

        @web.middleware
        async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
            service = service_of_path(request.path)
            if service is None:
                return await handler(request)
            kind = self.choose(service)
            if kind is None:
                self.count_served(service)
                return await self._timed(service, handler, request, time.perf_counter())
            self._count_injected(service, kind)
            if kind == "slow":
                started = time.perf_counter()
                await asyncio.sleep(self.settings.slow_delay_s)
                return await self._timed(service, handler, request, started)
            if kind == "timeout":
                # Hold the response past any sane client read timeout, then answer normally: the client has
                # given up by then, which is exactly the read-timeout path it must survive.
                await asyncio.sleep(self.settings.timeout_hold_s)
                return await handler(request)
            if kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError  # the connection is gone; nothing can be written to it
            return self._fault_response(service, kind)

        return inject_faults

    async def _timed(
        self, service: str, handler: Handler, request: web.Request, started: float
    ) -> web.StreamResponse:
        # A streamed answer (a recording download) is written inside the handler, so its time is counted;
        # a plain response's body is written after, which for small JSON bodies is negligible.
        try:
            return await handler(request)
        finally:
            self._count_served_time(service, time.perf_counter() - started)

    def add_admin_routes(self, app: web.Application) -> None:
        """`POST /admin/faults` (spec string or rates object, optional seed) and `GET /admin/stats`."""

        async def get_stats(request: web.Request) -> web.Response:
            return web.json_response(self.stats())

        async def post_faults(request: web.Request) -> web.Response:
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                return web.json_response(
                    _generic_error(400, "InvalidRequest", "Body must be JSON."), status=400
                )
            if not isinstance(body, dict):
                return web.json_response(
                    _generic_error(400, "InvalidRequest", "Body must be an object."), status=400
                )
            try:
                if isinstance(body.get("spec"), str):
                    plan = parse_fault_spec(body["spec"])
                else:
                    rates = body.get("faults", {})
                    spec = ";".join(
                        f"{service}:" + ",".join(f"{kind}={rate}" for kind, rate in dict(kinds).items())
                        for service, kinds in dict(rates).items()
                    )
                    plan = parse_fault_spec(spec)
            except (FaultSpecError, TypeError, ValueError) as error:
                return web.json_response(_generic_error(400, "InvalidRequest", str(error)), status=400)
            script = body.get("script")
            if script is not None:
                try:
                    if not isinstance(script, dict) or not all(isinstance(v, list) for v in script.values()):
                        raise FaultSpecError("script must map a service to a list of fault kinds or null")
                    for service, outcomes in script.items():
                        self.script(str(service), outcomes)
                except FaultSpecError as error:
                    return web.json_response(_generic_error(400, "InvalidRequest", str(error)), status=400)
                if "spec" not in body and "faults" not in body:
                    return web.json_response(self.stats())
            seed = body.get("seed")
            for name in ("slow_delay_s", "timeout_hold_s", "retry_after_s"):
                if isinstance(body.get(name), int | float):
                    setattr(self.settings, name, float(body[name]))
            self.configure(plan, seed if isinstance(seed, int) else None)
            return web.json_response(self.stats())

        app.router.add_get("/admin/stats", get_stats)
        app.router.add_post("/admin/faults", post_faults)
