"""Azure Communication Services Call Automation on loopback, speaking the REST protocol the SDK uses.

Served paths (api-version is accepted as sent):

- ``POST /calling/callConnections`` create call → 201 ``CallConnectionProperties``
- ``GET|DELETE /calling/callConnections/{id}`` get call / hang up; ``POST .../{id}:terminate``
- ``POST /calling/callConnections/{id}:play`` and ``:recognize`` (text prompts; the callee answers)
- ``POST /calling/recordings`` start recording; ``GET|DELETE /calling/recordings/{id}``;
  ``POST /calling/recordings/{id}:pause`` / ``:resume``
- ``GET /v1/objects/{documentId}/content/audio`` (ranges), ``.../content/acsmetadata``;
  ``DELETE /v1/objects/{documentId}``

Every request must carry ACS's HMAC-SHA256 signature (401 otherwise). Mid-call events go to the call's
callback URI as CloudEvents. When a recording session ends, ``RecordingFileStatusUpdated`` goes to the
configured Event Grid webhook after ``recording_ready_delay_s``. The callee's behaviour comes from personas.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from emulators.acs_proxy import ConnectProxy
from emulators.acs_tokens import (
    DEFAULT_IMMUTABLE_RESOURCE_ID,
    JWKS_PATH,
    OPENID_CONFIGURATION_PATH,
    CallbackSigner,
    SignedCallbackPusher,
    process_signing_key,
)
from emulators.eventgrid_delivery import (
    DeliveryFailedError,
    EventPusher,
    RetryPolicy,
    cloud_event,
    event_grid_event,
    utc_now_iso,
)
from emulators.personas import Behaviour, Persona, PersonaBook, load_personas
from emulators.recording import (
    RecordingAudio,
    Turn,
    can_regenerate,
    default_voice,
    iter_wav_range,
    recording_metadata,
)

LOGGER = logging.getLogger(__name__)
# Task names of the per-call callback workers (they live as long as their call).
_CALLBACK_WORKER_PREFIX = "acs-callbacks-"

RECORDING_HOST = "local.asm.skype.com"
"""Host of emulated recording URLs; the SDK only accepts ``*.asm.skype.com`` (see ``emulators.acs_proxy``)."""
ACS_RESOURCE_TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulated"
    "/providers/Microsoft.Communication/communicationServices/emulated-acs"
)
_MAX_CLOCK_SKEW = dt.timedelta(minutes=15)
_DEFAULT_QUESTIONS = (
    "Hello, thank you for taking the time to talk today. Could you introduce yourself?",
    "Tell me about a recent project you are proud of.",
    "How do you make sure your work is correct?",
)
# Call Automation result codes (code / subCode): SIP-derived codes for callee outcomes.
_RESULT_SUCCESS = {"code": 200, "subCode": 0, "message": "Action completed successfully."}
_RESULT_BUSY = {"code": 486, "subCode": 560486, "message": "Callee is busy."}
_RESULT_NO_ANSWER = {"code": 480, "subCode": 560480, "message": "Callee did not answer."}
_RESULT_HUNG_UP = {"code": 200, "subCode": 7000, "message": "The conversation has ended (remote hang up)."}
_RESULT_CALL_ENDED = {"code": 200, "subCode": 7000, "message": "The conversation has ended."}
_RESULT_NO_CHOICE_MATCHED = {
    "code": 400,
    "subCode": 8547,
    "message": "Recognition failed, no choice matched.",
}
_RESULT_PLAY_FILE_FAILED = {
    "code": 400,
    "subCode": 8536,
    "message": "Action failed, file could not be downloaded.",
}


@dataclass
class AcsConfig:
    """Settings of the ACS emulator."""

    access_key_b64: str
    events_url: str | None
    personas_path: Path | None
    recording_ready_delay_s: float
    public_base_url: str
    data_dir: Path
    callback_retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=3, first_delay_s=0.2)
    )
    event_grid_retry: RetryPolicy = field(default_factory=RetryPolicy)
    ring_delay_s: float = 0.05
    """Pause between create call and its outcome event, so callers see the 'connecting' state first."""
    voice: str = "auto"
    """Recording voice: ``tones``, ``espeak-ng`` (speech) or ``auto`` (speech if espeak-ng is installed)."""
    immutable_resource_id: str = DEFAULT_IMMUTABLE_RESOURCE_ID
    """The emulated resource's immutable id: the audience of the JWT every callback carries."""
    repeatability_window: dt.timedelta = dt.timedelta(minutes=5)
    """How long ACS tracks a ``Repeatability-Request-ID`` (documented: five minutes)."""


@dataclass(frozen=True)
class _RepeatedRequest:
    """What a repeatable create call was sent as and answered with, kept for the tracked window."""

    first_sent: dt.datetime
    request_digest: str
    status: int
    body: bytes


def new_access_key() -> str:
    """Make a random base64 access key, like the ones ACS issues."""
    return base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


class AcsError(Exception):
    """An error response in ACS's JSON error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> web.Response:
        """Build the HTTP response carrying this error."""
        return web.json_response({"error": {"code": self.code, "message": self.message}}, status=self.status)


@dataclass
class RecordingSession:
    """One recording of a call: its state and what was said while it was active."""

    recording_id: str
    call: Call
    state: str = "active"
    started_at: str = field(default_factory=utc_now_iso)
    turns: list[Turn] = field(default_factory=list)
    finished: bool = False
    state_callback_uri: str | None = None


@dataclass
class RecordingFile:
    """A finished recording as served from the emulated recording storage."""

    document_id: str
    audio: RecordingAudio
    metadata: dict[str, Any]
    deleted: bool = False


@dataclass
class Call:
    """One call connection and everything the emulator remembers about it."""

    call_connection_id: str
    server_call_id: str
    correlation_id: str
    callback_uri: str
    targets: list[dict[str, Any]]
    source: dict[str, Any] | None
    source_caller_id_number: dict[str, Any] | None
    operation_context: str | None
    persona: Persona
    state: str = "connecting"
    connected: bool = False
    questions_asked: int = 0
    turns: list[Turn] = field(default_factory=list)
    recording: RecordingSession | None = None
    outbox: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def properties(self) -> dict[str, Any]:
        """Build the ``CallConnectionProperties`` body."""
        body: dict[str, Any] = {
            "callConnectionId": self.call_connection_id,
            "serverCallId": self.server_call_id,
            "targets": self.targets,
            "callConnectionState": self.state,
            "callbackUri": self.callback_uri,
            "correlationId": self.correlation_id,
        }
        if self.source is not None:
            body["source"] = self.source
        if self.source_caller_id_number is not None:
            body["sourceCallerIdNumber"] = self.source_caller_id_number
        return body


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AcsEmulator:
    """The ACS Call Automation emulator: routes, call state, callbacks and Event Grid deliveries."""

    def __init__(self, config: AcsConfig) -> None:
        self.config = config
        self._key = base64.b64decode(config.access_key_b64)
        self._resource_host = urlsplit(config.public_base_url).netloc
        self._voice = default_voice() if config.voice == "auto" else config.voice
        self._personas: PersonaBook = load_personas(config.personas_path)
        self._calls: dict[str, Call] = {}
        self._calls_by_server_id: dict[str, Call] = {}
        self._recordings: dict[str, RecordingSession] = {}
        self._files: dict[str, RecordingFile] = {}
        self.signer = CallbackSigner(
            config.public_base_url, config.immutable_resource_id, process_signing_key()
        )
        self._callbacks: EventPusher = SignedCallbackPusher(self.signer, config.callback_retry)
        self._repeatable: dict[str, _RepeatedRequest] = {}
        self._event_grid = EventPusher(config.event_grid_retry, topic=ACS_RESOURCE_TOPIC)
        self._tasks: set[asyncio.Task[None]] = set()
        # Callbacks emitted and not yet delivered (or given up on): what a call still owes the app.
        self._callbacks_owed = 0
        self._proxy: ConnectProxy | None = None
        self.delivered_recording_events: list[dict[str, Any]] = []
        self.failed_deliveries: list[str] = []

    def calls_summary(self) -> dict[str, Any]:
        """Count the calls created so far (for ``/admin/stats``): all, connected, and per operation context.

        Apps key a call attempt by its operation context, so a count above 1 for one context is a duplicate.
        """
        per_context: dict[str, int] = {}
        for call in self._calls.values():
            context = call.operation_context or ""
            per_context[context] = per_context.get(context, 0) + 1
        return {
            "created": len(self._calls),
            "connected": sum(1 for call in self._calls.values() if call.connected),
            "per_operation_context": per_context,
        }

    # ----------------------------------------------------------------------------------------- lifecycle

    def connection_string(self) -> str:
        """Return ``endpoint=https://127.0.0.1:PORT/;accesskey=...`` for ``from_connection_string``."""
        return f"endpoint={self.config.public_base_url.rstrip('/')}/;accesskey={self.config.access_key_b64}"

    def app_settings(self) -> dict[str, str]:
        """Return the settings an app needs to validate the emulator's signed callbacks."""
        return {
            "ACS_IMMUTABLE_RESOURCE_ID": self.config.immutable_resource_id,
            "ACS_OPENID_CONFIGURATION_URL": f"{self.signer.issuer}{OPENID_CONFIGURATION_PATH}",
        }

    @property
    def recording_proxy_url(self) -> str:
        """The CONNECT proxy an app passes as ``proxies={"https": url}`` to reach recording URLs."""
        if self._proxy is None:
            raise RuntimeError("AcsEmulator.start() was not called")
        return self._proxy.url

    async def start(self) -> None:
        """Open outgoing HTTP sessions and the recording proxy."""
        await self._callbacks.start()
        await self._event_grid.start()
        port = _port_of(self.config.public_base_url)
        self._proxy = ConnectProxy(port)
        await self._proxy.start()

    async def stop(self) -> None:
        """Cancel every pending callback and Event Grid delivery, close sessions and the proxy."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._callbacks.close()
        await self._event_grid.close()
        if self._proxy is not None:
            await self._proxy.stop()
            self._proxy = None

    def pending(self) -> int:
        """Work still owed to the app: callbacks not yet delivered, rings, recordings, Event Grid pushes.

        A call's callback worker lives as long as the call; it counts only for the callbacks it holds, so a
        connected call that waits on the app owes nothing (``GET /admin/pending``).
        """
        background = sum(1 for task in self._tasks if not task.get_name().startswith(_CALLBACK_WORKER_PREFIX))
        return self._callbacks_owed + background

    def _spawn(self, coroutine: Awaitable[None], name: str) -> None:
        async def runner() -> None:
            await coroutine

        task = asyncio.get_running_loop().create_task(runner(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_routes(self, app: web.Application) -> None:
        """Register the Call Automation and recording storage routes on ``app``."""
        r = app.router
        # Published without authentication, as ACS publishes them: they hold only public keys.
        r.add_get(OPENID_CONFIGURATION_PATH, self._openid_configuration)
        r.add_get(JWKS_PATH, self._jwks)
        r.add_post("/calling/callConnections", self._guard(self._create_call_repeatable))
        r.add_get("/calling/callConnections/{call_id}", self._guard(self._get_call))
        r.add_delete("/calling/callConnections/{call_id}", self._guard(self._hang_up))
        r.add_post("/calling/callConnections/{call_action}", self._guard(self._call_action))
        r.add_post("/calling/recordings", self._guard(self._start_recording))
        r.add_get("/calling/recordings/{recording_id}", self._guard(self._get_recording))
        r.add_delete("/calling/recordings/{recording_id}", self._guard(self._stop_recording))
        r.add_post("/calling/recordings/{recording_action}", self._guard(self._recording_action))
        r.add_get("/v1/objects/{document_id}/content/audio", self._guard(self._download_audio))
        r.add_get("/v1/objects/{document_id}/content/acsmetadata", self._guard(self._download_metadata))
        r.add_delete("/v1/objects/{document_id}", self._guard(self._delete_recording))

    # -------------------------------------------------------------------------------------- auth & errors

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                body = await request.read()
                self._verify_signature(request, body)
                return await handler(request)
            except AcsError as error:
                return error.response()
            except web.HTTPRequestEntityTooLarge:
                return AcsError(413, "RequestEntityTooLarge", "The request body is too large.").response()
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                # Input shapes no check above foresaw: answer like the service would, never with a crash.
                LOGGER.warning("unexpected request shape for %s: %r", request.path, error)
                return AcsError(400, "BadRequest", f"The request is invalid: {error}").response()

        return guarded

    def _verify_signature(self, request: web.Request, body: bytes) -> None:
        """Check the ACS HMAC-SHA256 signature over verb, path and query, date, host and content hash."""
        authorization = request.headers.get("Authorization", "")
        match = re.fullmatch(r"HMAC-SHA256 SignedHeaders=([^&]+)&Signature=(.+)", authorization)
        if match is None:
            raise AcsError(401, "Denied", "Missing or malformed HMAC-SHA256 Authorization header.")
        signed_headers = match.group(1).lower().split(";")
        date = request.headers.get("x-ms-date") or request.headers.get("Date") or ""
        content_hash = request.headers.get("x-ms-content-sha256", "")
        expected_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if not hmac.compare_digest(content_hash, expected_hash):
            raise AcsError(401, "Denied", "x-ms-content-sha256 does not match the request body.")
        try:
            when = dt.datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
        except ValueError as error:
            raise AcsError(401, "Denied", "Missing or malformed x-ms-date header.") from error
        if abs(dt.datetime.now(dt.UTC) - when) > _MAX_CLOCK_SKEW:
            raise AcsError(401, "Denied", "x-ms-date is too far from the current time.")
        if set(signed_headers) != {"x-ms-date", "host", "x-ms-content-sha256"}:
            raise AcsError(401, "Denied", "SignedHeaders must be x-ms-date;host;x-ms-content-sha256.")
        # Recording storage requests arrive for another host (x-ms-host names the resource); the SDK still
        # signs them with the resource's host, so that is the other host a signature may name.
        for host in dict.fromkeys((request.host, self._resource_host)):
            for path in _signable_paths(request.raw_path):
                values = {"x-ms-date": date, "host": host, "x-ms-content-sha256": content_hash}
                string_to_sign = "\n".join(
                    [request.method.upper(), path, ";".join(values[h] for h in signed_headers)]
                )
                digest = hmac.new(self._key, string_to_sign.encode(), hashlib.sha256).digest()
                if hmac.compare_digest(base64.b64encode(digest).decode(), match.group(2)):
                    return
        raise AcsError(401, "Denied", "HMAC signature does not match.")

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise AcsError(415, "UnsupportedMediaType", "Content-Type must be application/json.")
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError as error:
            raise AcsError(400, "BadRequest", f"The request body is not valid JSON: {error}") from error
        if not isinstance(body, dict):
            raise AcsError(400, "BadRequest", "The request body must be a JSON object.")
        return body

    def _call(self, call_id: str) -> Call:
        call = self._calls.get(call_id)
        if call is None:
            raise AcsError(404, "8522", f"Call connection {call_id} not found.")
        return call

    async def _openid_configuration(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.signer.openid_configuration())

    async def _jwks(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.signer.jwks())

    # ------------------------------------------------------------------------------------------ calls

    async def _create_call_repeatable(self, request: web.Request) -> web.StreamResponse:
        """Create call with ACS's repeatable requests (OASIS Repeatable Requests 1.0, tracked 5 minutes).

        The same ``Repeatability-Request-ID`` with the same first-sent time and body, within the window,
        gets the first answer again and creates (rings) nothing; a first-sent time outside the window is
        412, malformed headers or a reused id with another request are 400. Every answer to a repeatable
        request says ``Repeatability-Result: accepted`` or ``rejected``.
        """
        request_id = request.headers.get("Repeatability-Request-ID")
        first_sent_text = request.headers.get("Repeatability-First-Sent")
        if request_id is None and first_sent_text is None:
            return await self._create_call(request)
        try:
            uuid.UUID(request_id or "")
        except ValueError:
            return _rejected(400, "Repeatability-Request-ID must be a GUID.")
        try:
            first_sent = dt.datetime.strptime(first_sent_text or "", "%a, %d %b %Y %H:%M:%S GMT").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            return _rejected(400, "Repeatability-First-Sent must be an IMF-fixdate.")
        now = dt.datetime.now(dt.UTC)
        window = self.config.repeatability_window
        if first_sent < now - window or first_sent > now + _MAX_CLOCK_SKEW:
            return _rejected(
                412, "The Repeatability-First-Sent header is not within the tracked duration of 5 minutes."
            )
        self._repeatable = {
            key: seen for key, seen in self._repeatable.items() if seen.first_sent >= now - window
        }
        digest = hashlib.sha256(await request.read()).hexdigest()
        assert request_id is not None
        seen = self._repeatable.get(request_id)
        if seen is not None:
            if seen.first_sent != first_sent or seen.request_digest != digest:
                return _rejected(400, "The repeated request does not match the request first sent.")
            LOGGER.info("repeated create call %s answered from its first execution", request_id)
            return web.Response(
                status=seen.status,
                body=seen.body,
                content_type="application/json",
                headers={"Repeatability-Result": "accepted"},
            )
        try:
            response = await self._create_call(request)
        except AcsError as error:
            response = error.response()
        body = response.body if isinstance(response, web.Response) else None
        # A 5xx is executed again when repeated; any other answer is the answer for the whole window.
        if isinstance(body, bytes) and response.status < 500:
            self._repeatable[request_id] = _RepeatedRequest(first_sent, digest, response.status, body)
        response.headers["Repeatability-Result"] = "accepted"
        return response

    async def _create_call(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        targets = body.get("targets")
        callback_uri = body.get("callbackUri")
        if not isinstance(targets, list) or not targets or not all(isinstance(t, dict) for t in targets):
            raise AcsError(400, "BadRequest", "The Targets field is required and must not be empty.")
        if not isinstance(callback_uri, str) or not callback_uri.startswith(("https://", "http://")):
            raise AcsError(400, "BadRequest", "The field CallbackUri is invalid.")
        target_id = _raw_id(targets[0])
        if target_id is None:
            raise AcsError(400, "BadRequest", "The target identifier is invalid.")
        if target_id.startswith("4:") and not isinstance(body.get("sourceCallerIdNumber"), dict):
            raise AcsError(400, "BadRequest", "SourceCallerIdNumber is required to call a phone number.")
        call_connection_id = str(uuid.uuid4())
        server_call_id = base64.urlsafe_b64encode(
            f"https://emulated.conv.skype.com/conv/{uuid.uuid4()}?i=1&e=0".encode()
        ).decode()
        operation_context = body.get("operationContext")
        call = Call(
            call_connection_id=call_connection_id,
            server_call_id=server_call_id,
            correlation_id=str(uuid.uuid4()),
            callback_uri=callback_uri,
            targets=targets,
            source=body.get("source"),
            source_caller_id_number=body.get("sourceCallerIdNumber"),
            operation_context=operation_context if isinstance(operation_context, str) else None,
            persona=self._personas.for_target(target_id),
        )
        self._calls[call_connection_id] = call
        self._calls_by_server_id[server_call_id] = call
        self._spawn(self._callback_worker(call), f"{_CALLBACK_WORKER_PREFIX}{call_connection_id}")
        self._spawn(self._ring(call), f"acs-ring-{call_connection_id}")
        return web.json_response(call.properties(), status=201)

    async def _ring(self, call: Call) -> None:
        await asyncio.sleep(self.config.ring_delay_s)
        if call.state != "connecting":  # hung up while ringing
            return
        behaviour = call.persona.behaviour
        if behaviour.answers_call:
            call.state = "connected"
            call.connected = True
            self._emit(call, "CallConnected", {})
            return
        result = _RESULT_BUSY if behaviour is Behaviour.BUSY else _RESULT_NO_ANSWER
        call.state = "disconnected"
        self._emit(call, "CreateCallFailed", {"resultInformation": result})
        self._emit(call, "CallDisconnected", {"resultInformation": result})
        self._close_outbox(call)

    def _emit(
        self, call: Call, event_name: str, data: dict[str, Any], operation_context: str | None = None
    ) -> None:
        payload = {
            "version": "2026-03-12",
            "callConnectionId": call.call_connection_id,
            "serverCallId": call.server_call_id,
            "correlationId": call.correlation_id,
            "publicEventType": f"Microsoft.Communication.{event_name}",
            **data,
        }
        context = operation_context if operation_context is not None else call.operation_context
        if context is not None:
            payload["operationContext"] = context
        event = cloud_event(
            source=f"calling/callConnections/{call.call_connection_id}",
            event_type=f"Microsoft.Communication.{event_name}",
            data=payload,
        )
        self._callbacks_owed += 1
        call.outbox.put_nowait(event)

    @staticmethod
    def _close_outbox(call: Call) -> None:
        call.outbox.put_nowait(None)

    async def _callback_worker(self, call: Call) -> None:
        # One worker per call keeps its callbacks in order, as ACS delivers them.
        while (event := await call.outbox.get()) is not None:
            try:
                await self._callbacks.deliver_cloud_events(call.callback_uri, [event])
            except DeliveryFailedError as error:
                self.failed_deliveries.append(str(error))
                LOGGER.warning("callback dropped: %s", error)
            finally:
                self._callbacks_owed -= 1
        # Anything emitted after the call's outbox closed is never delivered, so it is not owed either.
        while not call.outbox.empty():
            if call.outbox.get_nowait() is not None:
                self._callbacks_owed -= 1

    async def _get_call(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._call(request.match_info["call_id"]).properties())

    async def _hang_up(self, request: web.Request) -> web.StreamResponse:
        call = self._call(request.match_info["call_id"])
        self._end_call(call, _RESULT_CALL_ENDED)
        return web.Response(status=204)

    def _end_call(self, call: Call, result: dict[str, Any]) -> None:
        if call.state == "disconnected":
            return
        call.state = "disconnected"
        if call.recording is not None and not call.recording.finished:
            self._finish_recording(call.recording, "CallEnded")
        self._emit(call, "CallDisconnected", {"resultInformation": result})
        self._close_outbox(call)

    async def _call_action(self, request: web.Request) -> web.StreamResponse:
        call_id, _, action = request.match_info["call_action"].partition(":")
        call = self._call(call_id)
        if action == "terminate":
            self._end_call(call, _RESULT_CALL_ENDED)
            return web.Response(status=204)
        if action not in ("play", "recognize"):
            raise AcsError(404, "NotFound", f"Action {action!r} is not supported by the emulator.")
        body = await self._json_body(request)
        if call.state != "connected":
            raise AcsError(400, "8501", "Action is not valid when call is not in Established state.")
        context = body.get("operationContext") if isinstance(body.get("operationContext"), str) else None
        if action == "play":
            sources = body.get("playSources")
            if not isinstance(sources, list) or not sources:
                raise AcsError(400, "BadRequest", "The PlaySources field is required.")
            self._play(call, sources, context)
        else:
            prompt = body.get("playPrompt") or (body.get("playPrompts") or [None])[0]
            self._recognize(call, prompt if isinstance(prompt, dict) else None, body, context)
        return web.Response(status=202)

    def _say(self, call: Call, turn: Turn) -> None:
        call.turns.append(turn)
        if call.recording is not None and call.recording.state == "active":
            call.recording.turns.append(turn)

    def _answer_question(self, call: Call, question: str) -> str:
        self._say(call, Turn("interviewer", question))
        answer = call.persona.answer(call.questions_asked)
        call.questions_asked += 1
        self._say(call, Turn("candidate", answer))
        return answer

    def _maybe_hang_up(self, call: Call) -> None:
        persona = call.persona
        if (
            persona.behaviour is Behaviour.HANGS_UP_EARLY
            and call.questions_asked >= persona.hang_up_after_questions
        ):
            self._end_call(call, _RESULT_HUNG_UP)

    def _play(self, call: Call, sources: list[Any], context: str | None) -> None:
        texts = [_source_text(s) for s in sources]
        if any(t is None for t in texts):
            self._emit(call, "PlayFailed", {"resultInformation": _RESULT_PLAY_FILE_FAILED}, context)
            return
        self._emit(call, "PlayStarted", {"resultInformation": _RESULT_SUCCESS}, context)
        for text in texts:
            if text:
                self._answer_question(call, text)
        self._emit(call, "PlayCompleted", {"resultInformation": _RESULT_SUCCESS}, context)
        self._maybe_hang_up(call)

    def _recognize(
        self, call: Call, prompt: dict[str, Any] | None, body: dict[str, Any], context: str | None
    ) -> None:
        question = (_source_text(prompt) if prompt else None) or ""
        answer = (
            self._answer_question(call, question) if question else call.persona.answer(call.questions_asked)
        )
        input_type = str(body.get("recognizeInputType", "speech")).lower()
        data: dict[str, Any] = {"resultInformation": _RESULT_SUCCESS, "recognitionType": "speech"}
        if input_type == "choices":
            choices = _field(body.get("recognizeOptions"), "choices")
            choices = choices if isinstance(choices, list) else []
            matched = _best_choice(answer, choices)
            if matched is None:
                self._emit(call, "RecognizeFailed", {"resultInformation": _RESULT_NO_CHOICE_MATCHED}, context)
                self._maybe_hang_up(call)
                return
            data = {
                "resultInformation": _RESULT_SUCCESS,
                "recognitionType": "choices",
                "choiceResult": {"label": matched[0], "recognizedPhrase": matched[1]},
            }
        else:
            data["speechResult"] = {"speech": answer, "confidence": 0.92}
        self._emit(call, "RecognizeCompleted", data, context)
        self._maybe_hang_up(call)

    # -------------------------------------------------------------------------------------- recordings

    async def _start_recording(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        locator = body.get("callLocator")
        call: Call | None = None
        if isinstance(locator, dict) and isinstance(locator.get("serverCallId"), str):
            call = self._calls_by_server_id.get(locator["serverCallId"])
        elif isinstance(body.get("callConnectionId"), str):
            call = self._calls.get(body["callConnectionId"])
        else:
            raise AcsError(400, "BadRequest", "A call locator with a server call id is required.")
        if call is None:
            raise AcsError(404, "8522", "Call not found for the given call locator.")
        if call.state != "connected":
            raise AcsError(400, "8501", "Action is not valid when call is not in Established state.")
        if call.recording is not None and not call.recording.finished:
            raise AcsError(409, "8533", "Recording is already in progress for this call.")
        recording_id = base64.urlsafe_b64encode(
            json.dumps(
                {"platformEndpointId": str(uuid.uuid4()), "resourceSpecificId": str(uuid.uuid4())}
            ).encode()
        ).decode()
        # Real ACS records audio+mixed as mp3 or wav and audioVideo as mp4; the emulator writes PCM WAV only,
        # so it refuses what it would otherwise silently get wrong.
        wanted = {
            "content": str(body.get("recordingContentType") or "audio").lower(),
            "channel": str(body.get("recordingChannelType") or "mixed").lower(),
            "format": str(body.get("recordingFormatType") or "wav").lower(),
        }
        if wanted != {"content": "audio", "channel": "mixed", "format": "wav"}:
            raise AcsError(
                400,
                "BadRequest",
                "The emulator records audio, mixed, WAV only (asked for "
                f"{wanted['content']}, {wanted['channel']}, {wanted['format']}).",
            )
        callback = body.get("recordingStateCallbackUri")
        session = RecordingSession(
            recording_id=recording_id,
            call=call,
            state="inactive" if body.get("pauseOnStart") else "active",
            state_callback_uri=callback if isinstance(callback, str) else None,
        )
        call.recording = session
        self._recordings[recording_id] = session
        self._recording_state_changed(session)
        return web.json_response(self._recording_properties(session))

    @staticmethod
    def _recording_properties(session: RecordingSession) -> dict[str, Any]:
        return {
            "recordingId": session.recording_id,
            "recordingState": session.state,
            "recordingKind": "azureCommunicationServices",
        }

    def _recording_state_changed(self, session: RecordingSession) -> None:
        self._emit(
            session.call,
            "RecordingStateChanged",
            {
                "recordingId": session.recording_id,
                "state": session.state,
                "startDateTime": session.started_at,
                "recordingKind": "azureCommunicationServices",
                "resultInformation": _RESULT_SUCCESS,
            },
        )

    def _session(self, recording_id: str) -> RecordingSession:
        session = self._recordings.get(recording_id)
        if session is None:
            raise AcsError(404, "8522", f"Recording {recording_id} not found.")
        return session

    async def _get_recording(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request.match_info["recording_id"])
        return web.json_response(self._recording_properties(session))

    async def _stop_recording(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request.match_info["recording_id"])
        if not session.finished:
            self._finish_recording(session, "RecordingStopped")
        return web.Response(status=204)

    async def _recording_action(self, request: web.Request) -> web.StreamResponse:
        recording_id, _, action = request.match_info["recording_action"].partition(":")
        session = self._session(recording_id)
        if action not in ("pause", "resume"):
            raise AcsError(404, "NotFound", f"Recording action {action!r} is not supported.")
        if session.finished:
            raise AcsError(400, "8534", "Recording has already stopped.")
        session.state = "inactive" if action == "pause" else "active"
        self._recording_state_changed(session)
        return web.Response(status=202)

    def _finish_recording(self, session: RecordingSession, end_reason: str) -> None:
        session.finished = True
        session.state = "inactive"
        call = session.call
        if call.state != "disconnected":
            self._recording_state_changed(session)
        turns = list(session.turns)
        if not any(t.speaker == "interviewer" for t in turns):
            # Nothing was played while recording: the recording still holds a short default conversation.
            for index, question in enumerate(_DEFAULT_QUESTIONS):
                turns += [Turn("interviewer", question), Turn("candidate", call.persona.answer(index))]
        document_id = str(uuid.uuid4())
        self._spawn(
            self._publish_recording(session, document_id, turns, end_reason),
            f"acs-recording-ready-{document_id}",
        )

    async def _publish_recording(
        self, session: RecordingSession, document_id: str, turns: list[Turn], end_reason: str
    ) -> None:
        call = session.call
        # Speech synthesis takes a while for a long interview: keep it off the event loop.
        audios = await asyncio.to_thread(_recording_audio, document_id, turns, call.persona, self._voice)
        participants = [t for t in (_raw_id(x) for x in call.targets) if t is not None]
        chunks = []
        for index, audio in enumerate(audios):
            metadata = recording_metadata(
                audio,
                call_id=call.correlation_id,
                document_id=audio.recording_id,
                start_time=session.started_at,
                participants=participants,
                chunk_index=index,
            )
            self._files[audio.recording_id] = RecordingFile(audio.recording_id, audio, metadata)
            self._save_recording(self._files[audio.recording_id])
            chunks.append(
                {
                    "documentId": audio.recording_id,
                    "index": index,
                    # A long session is cut into chunks; only the last ends with the session.
                    "endReason": "SessionEnded" if index == len(audios) - 1 else "ChunkMaximumTimeExceeded",
                    "contentLocation": self.recording_url(audio.recording_id, "content/audio"),
                    "metadataLocation": self.recording_url(audio.recording_id, "content/acsmetadata"),
                    "deleteLocation": self.recording_url(audio.recording_id, ""),
                }
            )
        event = event_grid_event(
            topic=ACS_RESOURCE_TOPIC,
            subject=f"/recording/call/{call.correlation_id}/serverCallId/{call.server_call_id}",
            event_type="Microsoft.Communication.RecordingFileStatusUpdated",
            data={
                "recordingStorageInfo": {"recordingChunks": chunks},
                "recordingStartTime": session.started_at,
                "recordingDurationMs": round(sum(a.duration_s for a in audios) * 1000),
                "recordingContentType": "Audio",
                "recordingChannelType": "Mixed",
                "recordingFormatType": "Wav",
                "sessionEndReason": end_reason,
            },
        )
        await self._deliver_recording_event(event)

    def recording_url(self, document_id: str, suffix: str) -> str:
        """Return the public URL of a recording object (``suffix`` ``content/audio``; empty to delete)."""
        tail = f"/{suffix}" if suffix else ""
        return f"https://{RECORDING_HOST}/v1/objects/{document_id}{tail}"

    async def _deliver_recording_event(self, event: dict[str, Any]) -> None:
        await asyncio.sleep(self.config.recording_ready_delay_s)
        self.delivered_recording_events.append(event)
        if self.config.events_url is None:
            return
        try:
            await self._event_grid.deliver_event_grid(self.config.events_url, [event])
        except DeliveryFailedError as error:
            self.failed_deliveries.append(str(error))
            LOGGER.warning("Event Grid delivery dropped: %s", error)

    def _file(self, request: web.Request) -> RecordingFile:
        document_id = request.match_info["document_id"]
        found = self._files.get(document_id) or self._load_recording(document_id)
        if found is None or found.deleted:
            raise AcsError(404, "NotFound", "The recording does not exist or was deleted.")
        return found

    # A recording is fully described by its script, so storage keeps only that (a few KB even for hours of
    # audio) in the data dir: recordings outlive an emulator restart, as they outlive a call in ACS.
    def _recording_path(self, document_id: str) -> Path | None:
        if not re.fullmatch(r"[0-9a-f-]{36}", document_id):
            return None
        return self.config.data_dir / "recordings" / f"{document_id}.json"

    def _save_recording(self, file: RecordingFile) -> None:
        path = self._recording_path(file.document_id)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"script": json.loads(file.audio.script_json()), "metadata": file.metadata}
        path.write_text(json.dumps(record), encoding="utf-8")

    def _load_recording(self, document_id: str) -> RecordingFile | None:
        path = self._recording_path(document_id)
        if path is None or not path.is_file():
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
        audio = RecordingAudio.from_script_json(json.dumps(record["script"]).encode())
        found = RecordingFile(document_id, audio, record["metadata"])
        self._files[document_id] = found
        return found

    async def _download_metadata(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._file(request).metadata)

    async def _delete_recording(self, request: web.Request) -> web.StreamResponse:
        found = self._file(request)
        found.deleted = True
        path = self._recording_path(found.document_id)
        if path is not None:
            path.unlink(missing_ok=True)
        return web.Response(status=200)

    async def _download_audio(self, request: web.Request) -> web.StreamResponse:
        audio = self._file(request).audio
        if not can_regenerate(audio):
            raise AcsError(
                500,
                "InternalServerError",
                f"This recording was spoken by {audio.engine or 'espeak-ng'}, which this emulator lacks.",
            )
        size = audio.size
        start, end = 0, size  # end exclusive
        status = 200
        range_header = request.headers.get("Range")
        if range_header:
            parsed = _parse_range(range_header, size)
            if parsed is None:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            start, end = parsed
            status = 206
        response = web.StreamResponse(status=status)
        response.content_type = "audio/wav"
        response.content_length = end - start
        response.headers["Accept-Ranges"] = "bytes"
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        await response.prepare(request)
        # Generated and written piece by piece with backpressure, so memory stays flat for any recording size.
        # Rendering runs in a worker thread: speech evicted from the synthesis cache is re-spoken on demand,
        # which must not stall the event loop serving other requests.
        pieces = iter_wav_range(audio, start, end)
        while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
            await response.write(piece)
        await response.write_eof()
        return response


def _rejected(status: int, message: str) -> web.Response:
    response = AcsError(status, "BadRequest" if status == 400 else "PreconditionFailed", message).response()
    response.headers["Repeatability-Result"] = "rejected"
    return response


def _signable_paths(raw_path: str) -> dict[str, None]:
    """Forms of the request path a client may have signed.

    The SDK signs the URL it builds (path parameters quoted with ``quote(value, safe="")``), but aiohttp's URL
    normalisation then sends some of those characters unquoted (``%3D`` arrives as ``=``), and clients created
    with ``decode_url`` sign the decoded path. So the path as received, decoded, and re-quoted segment by
    segment are all accepted; each is still bound to the signature by the key.
    """
    path, mark, query = raw_path.partition("?")
    requoted = "/".join(quote(unquote(segment), safe=":") for segment in path.split("/"))
    return dict.fromkeys((raw_path, unquote(raw_path), requoted + mark + query))


def _port_of(url: str) -> int:
    match = re.match(r"https?://[^/:]+:(\d+)", url)
    return int(match.group(1)) if match else 443


def _raw_id(identifier: dict[str, Any]) -> str | None:
    raw = identifier.get("rawId")
    if isinstance(raw, str) and raw:
        return raw
    phone = identifier.get("phoneNumber")
    if isinstance(phone, dict) and isinstance(phone.get("value"), str):
        return "4:" + str(phone["value"])
    user = identifier.get("communicationUser")
    if isinstance(user, dict) and isinstance(user.get("id"), str):
        return str(user["id"])
    return None


def _field(value: Any, name: str) -> Any:
    """``value[name]`` when ``value`` is a JSON object, else None (bodies are untrusted)."""
    return value.get(name) if isinstance(value, dict) else None


def _source_text(source: Any) -> str | None:
    """Spoken text of a play source; None for sources the emulator cannot render (audio files)."""
    kind = str(_field(source, "kind") or "").lower()
    if kind == "text":
        text = _field(_field(source, "text"), "text")
        return text if isinstance(text, str) else ""
    if kind == "ssml":
        ssml = _field(_field(source, "ssml"), "ssmlText")
        return re.sub(r"<[^>]+>", " ", ssml).strip() if isinstance(ssml, str) else ""
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _best_choice(answer: str, choices: list[Any]) -> tuple[str, str] | None:
    """Return (label, phrase) of the first choice whose phrase is spoken in ``answer`` as whole words."""
    spoken = " " + " ".join(_words(answer)) + " "
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        phrases = [p for p in choice.get("phrases") or [] if isinstance(p, str) and _words(p)]
        for phrase in phrases:
            if f" {' '.join(_words(phrase))} " in spoken:
                return str(choice.get("label", "")), phrase
    return None


def _recording_audio(
    document_id: str, turns: list[Turn], persona: Persona, voice: str
) -> list[RecordingAudio]:
    """Describe the recording; a very long interview gets follow-up rounds up to the persona's minimum."""
    if persona.min_recording_s <= 0:
        return _chunked(RecordingAudio.create(document_id, turns, voice), persona.recording_chunks, voice)
    padded = list(turns)
    question_index = sum(1 for t in turns if t.speaker == "interviewer")
    while (audio := RecordingAudio.create(document_id, padded, voice)).duration_s < persona.min_recording_s:
        batch = []
        for _ in range(50):
            batch += [
                Turn("interviewer", "Could you tell me more?"),
                Turn("candidate", persona.answer(question_index)),
            ]
            question_index += 1
        padded += batch
    return _chunked(audio, persona.recording_chunks, voice)


def _chunked(audio: RecordingAudio, count: int, voice: str) -> list[RecordingAudio]:
    """Cut a recording into ``count`` chunks at turn boundaries; each chunk is its own document."""
    if count <= 1 or len(audio.turns) < 2:
        return [audio]
    count = min(count, len(audio.turns))
    bounds = [round(i * len(audio.turns) / count) for i in range(count + 1)]
    ids = [audio.recording_id] + [str(uuid.uuid4()) for _ in range(count - 1)]
    return [
        RecordingAudio.create(ids[i], audio.turns[bounds[i] : bounds[i + 1]], voice) for i in range(count)
    ]


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` → [start, end) within ``size``; None if unsatisfiable."""
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        length = int(last)
        return (max(0, size - length), size) if length > 0 else None
    start = int(first)
    end = min(size, int(last) + 1) if last else size
    if start >= size or end <= start:
        return None
    return start, end
