"""Composition of every emulated service into one process: a plain HTTP site and an HTTPS site.

Plain HTTP serves Azure OpenAI and Document Intelligence (both SDKs accept http endpoints); HTTPS serves ACS
Call Automation and recording downloads, because the ACS SDK always rewrites its endpoint to https. Both sites
answer `GET /health`, `GET /admin/stats`, `GET /admin/pending` and `POST /admin/faults`, and share one fault
injector.

Tests start everything in-process with `running_emulators(...)` (async) or `emulators_in_thread(...)` (sync).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from emulators.acs_service import AcsConfig, AcsEmulator
from emulators.docintel_service import MAX_DOCUMENT_BYTES, DocIntelConfig, DocIntelEmulator
from emulators.faults import FaultInjector, FaultSettings, Handler
from emulators.openai_service import (
    DEFAULT_API_VERSION,
    DEFAULT_CONTENT_FILTER_PHRASE,
    MAX_AUDIO_BYTES,
    Deployment,
    OpenAIConfig,
    OpenAIEmulator,
    default_deployments,
)
from emulators.tls import ensure_tls_material, server_ssl_context

LOGGER = logging.getLogger(__name__)
LOOPBACK = "127.0.0.1"
# At least big enough for a 25 MB audio part plus multipart framing; raised to the document limit so an
# oversized document reaches its handler and gets the service's own error instead of a bare 413.
_CLIENT_MAX_SIZE = 64 * 1024 * 1024


def _fixed_key(label: str, seed: int) -> str:
    """Derive a stable key per seed, so a restarted emulator keeps the settings an app already holds."""
    return hashlib.sha256(f"hireflow-emulator:{label}:{seed}".encode()).hexdigest()[:32]


@dataclass
class EmulatorOptions:
    """Everything that configures one emulator process; defaults suit tests (free ports, temp data dir)."""

    port: int = 0
    acs_port: int | None = None
    """None: `port + 1`, or a free port when `port` is 0."""
    events_url: str | None = None
    faults: str = ""
    seed: int = 0
    data_dir: Path | None = None
    personas: Path | None = None
    deployments: tuple[Deployment, ...] = field(default_factory=default_deployments)
    content_filter_phrases: tuple[str, ...] = (DEFAULT_CONTENT_FILTER_PHRASE,)
    rate_window_s: float = 60.0
    docintel_retry_after_s: int = 1
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_audio_bytes: int = MAX_AUDIO_BYTES
    recording_ready_delay_s: float = 1.0
    ring_delay_s: float = 0.05
    """Seconds a placed call rings before its outcome event (callers see ``connecting`` first)."""
    recording_voice: str = "auto"
    """``tones`` (instant), ``espeak-ng`` (speech) or ``auto`` (speech when espeak-ng is installed)."""
    fault_settings: FaultSettings = field(default_factory=FaultSettings)
    openai_api_key: str | None = None
    docintel_api_key: str | None = None


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _service_on_http_site(path: str) -> str | None:
    path = "/" + path.lstrip("/")
    if path.startswith("/openai/"):
        return "openai"
    if path.startswith("/documentintelligence/"):
        return "docintel"
    return None


def _service_on_https_site(path: str) -> str | None:
    if path == "/health" or path.startswith("/admin/"):
        return None
    return "acs"


@web.middleware
async def _never_crash(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn framework errors and bugs into JSON error bodies in the Azure shape instead of HTML or a reset."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge as error:
        body = {
            "error": {"code": "RequestEntityTooLarge", "message": error.text or "Request body too large."}
        }
        return web.json_response(body, status=413)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = "NotFound" if error.status == 404 else str(error.status)
        message = "Resource not found." if error.status == 404 else (error.reason or "Request failed.")
        return web.json_response({"error": {"code": code, "message": message}}, status=error.status)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        LOGGER.exception("emulator handler failed for %s %s", request.method, request.path)
        body = {"error": {"code": "InternalServerError", "message": "An unexpected error occurred."}}
        return web.json_response(body, status=500)


class EmulatorServer:
    """All emulated services on two loopback sites; `settings` holds what an app needs once started."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.options = options or EmulatorOptions()
        seed = self.options.seed
        self.faults = FaultInjector(seed, self.options.faults, self.options.fault_settings)
        self.openai = OpenAIEmulator(
            OpenAIConfig(
                api_key=self.options.openai_api_key or _fixed_key("openai", seed),
                deployments=self.options.deployments,
                content_filter_phrases=self.options.content_filter_phrases,
                rate_window_s=self.options.rate_window_s,
                max_audio_bytes=self.options.max_audio_bytes,
            )
        )
        self.faults.stats_sections["openai_usage"] = self.openai.usage
        self.docintel = DocIntelEmulator(
            DocIntelConfig(
                api_key=self.options.docintel_api_key or _fixed_key("docintel", seed),
                max_document_bytes=self.options.max_document_bytes,
                retry_after_s=self.options.docintel_retry_after_s,
            )
        )
        self.acs: AcsEmulator | None = None
        self._runners: list[web.AppRunner] = []
        self._temp_dir: tempfile.TemporaryDirectory[str] | None = None
        self.settings: dict[str, str] = {}
        self.http_port = 0
        self.https_port = 0

    def _base_app(self, service_of_path: Any) -> web.Application:
        app = web.Application(
            client_max_size=max(
                _CLIENT_MAX_SIZE,
                self.options.max_document_bytes + 1024 * 1024,
                self.options.max_audio_bytes * 2,
            ),
            middlewares=[_never_crash, self.faults.middleware(service_of_path)],
        )

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok", "emulated": True})

        app.router.add_get("/health", health)
        app.router.add_get("/admin/pending", self._pending)
        app.router.add_post("/admin/openai/limits", self._set_openai_limits)
        self.faults.add_admin_routes(app)
        return app

    async def _pending(self, request: web.Request) -> web.Response:
        """`{"pending": n}`: callbacks, Event Grid deliveries and recordings the emulators still owe the app.

        A host that skips time (devhost's ``--quiescence-url``) jumps to its next timer only when this is 0.
        """
        return web.json_response({"pending": self.acs.pending() if self.acs is not None else 0})

    async def _set_openai_limits(self, request: web.Request) -> web.Response:
        """`{"deployment": name, "requests_per_minute": n | null, "tokens_per_minute": n | null}`."""
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        names = {d.name for d in self.openai.deployments}
        limits = (
            [body.get("requests_per_minute"), body.get("tokens_per_minute")] if isinstance(body, dict) else []
        )
        if (
            not isinstance(body, dict)
            or body.get("deployment") not in names
            or not all(v is None or (isinstance(v, int) and v > 0) for v in limits)
        ):
            message = (
                f"Expected {{deployment: one of {sorted(names)}, requests_per_minute, tokens_per_minute}}."
            )
            return web.json_response({"error": {"code": "InvalidRequest", "message": message}}, status=400)
        self.openai.set_limits(body["deployment"], limits[0], limits[1])
        deployments = [
            {
                "name": d.name,
                "requests_per_minute": d.requests_per_minute,
                "tokens_per_minute": d.tokens_per_minute,
            }
            for d in self.openai.deployments
        ]
        return web.json_response({"deployments": deployments})

    async def start(self) -> dict[str, str]:
        """Bind both sites, start background work and return the settings an app needs."""
        options = self.options
        if options.data_dir is None:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="hireflow-emulators-")
            data_dir = Path(self._temp_dir.name)
        else:
            data_dir = options.data_dir
            data_dir.mkdir(parents=True, exist_ok=True)
        http_sock = _bind(options.port)
        self.http_port = int(http_sock.getsockname()[1])
        acs_port = (
            options.acs_port if options.acs_port is not None else (options.port + 1 if options.port else 0)
        )
        https_sock = _bind(acs_port)
        self.https_port = int(https_sock.getsockname()[1])
        tls = ensure_tls_material(data_dir / "tls")
        acs_key = base64.b64encode(hashlib.sha256(f"acs:{options.seed}".encode()).digest()).decode()
        self.acs = AcsEmulator(
            AcsConfig(
                access_key_b64=acs_key,
                events_url=options.events_url,
                personas_path=options.personas,
                recording_ready_delay_s=options.recording_ready_delay_s,
                ring_delay_s=options.ring_delay_s,
                voice=options.recording_voice,
                public_base_url=f"https://{LOOPBACK}:{self.https_port}",
                data_dir=data_dir,
            )
        )
        self.faults.stats_sections["acs_calls"] = self.acs.calls_summary
        http_app = self._base_app(_service_on_http_site)
        self.openai.add_routes(http_app)
        self.docintel.add_routes(http_app)
        https_app = self._base_app(_service_on_https_site)
        self.acs.add_routes(https_app)
        for app, sock, ssl_context in (
            (http_app, http_sock, None),
            (https_app, https_sock, server_ssl_context(tls)),
        ):
            runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            self._runners.append(runner)
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
        await self.acs.start()
        http_base = f"http://{LOOPBACK}:{self.http_port}"
        chat = next((d.name for d in options.deployments if d.kind == "chat"), "")
        transcription = next((d.name for d in options.deployments if d.kind == "transcription"), "")
        self.settings = {
            "AZURE_OPENAI_ENDPOINT": f"{http_base}/",
            "AZURE_OPENAI_API_KEY": self.openai.config.api_key,
            "AZURE_OPENAI_API_VERSION": DEFAULT_API_VERSION,
            "AZURE_OPENAI_CHAT_DEPLOYMENT": chat,
            "AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT": transcription,
            "DOCUMENT_INTELLIGENCE_ENDPOINT": f"{http_base}/",
            "DOCUMENT_INTELLIGENCE_API_KEY": self.docintel.config.api_key,
            "ACS_CONNECTION_STRING": self.acs.connection_string(),
            "ACS_ENDPOINT": f"https://{LOOPBACK}:{self.https_port}/",
            "ACS_RECORDING_PROXY_URL": self.acs.recording_proxy_url,
            "CA_BUNDLE": str(tls.ca_cert_path),
            "EMULATORS_HTTP_URL": http_base,
            "EMULATORS_HTTPS_URL": f"https://{LOOPBACK}:{self.https_port}",
        }
        return dict(self.settings)

    async def stop(self) -> None:
        """Stop background work, close both sites and remove a temporary data dir."""
        await self.docintel.stop()
        if self.acs is not None:
            await self.acs.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self._temp_dir is not None:
            self._temp_dir.cleanup()
            self._temp_dir = None


@contextlib.asynccontextmanager
async def running_emulators(options: EmulatorOptions | None = None) -> AsyncIterator[EmulatorServer]:
    """Run every emulator in the current event loop for the duration of the block."""
    server = EmulatorServer(options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class EmulatorThread:
    """Emulators running on their own event loop in a background thread (for synchronous tests and tools)."""

    def __init__(self, options: EmulatorOptions | None = None) -> None:
        self.server = EmulatorServer(options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulators", daemon=True)

    @property
    def settings(self) -> Mapping[str, str]:
        """The settings an app needs (after start)."""
        return self.server.settings

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the emulators' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=60)

    def start(self) -> Mapping[str, str]:
        """Start the loop thread and the emulators; return the settings."""
        self._thread.start()
        self.call(self.server.start())
        return self.settings

    async def _shutdown(self) -> None:
        await self.server.stop()
        # Idle keep-alive handlers outlive the sites; finish them here so none is destroyed while pending.
        current = asyncio.current_task()
        leftovers = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        """Stop the emulators and the loop thread."""
        try:
            self.call(self._shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


@contextlib.contextmanager
def emulators_in_thread(options: EmulatorOptions | None = None) -> Iterator[EmulatorThread]:
    """Start every emulator in a background thread for the duration of the block."""
    running = EmulatorThread(options)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def settings_json(settings: Mapping[str, str]) -> str:
    """Render the settings file (sorted keys, trailing newline)."""
    return json.dumps(dict(settings), indent=2, sort_keys=True) + "\n"
