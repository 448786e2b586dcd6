"""Azure OpenAI on loopback: chat completions (structured outputs, tools, streaming) and audio transcriptions.

Speaks the data-plane REST protocol under `/openai/deployments/{deployment}/...?api-version=...` so
`AzureOpenAI` and `AsyncAzureOpenAI` work unchanged. Answers come from the deterministic brain
(`emulators.brain`); structured outputs are validated against the requested schema before they are sent, so
they always conform.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from aiohttp import web

from emulators import brain
from emulators.brain.schema import SchemaError, strict_mode_problems, validate
from emulators.openai_tokens import count_prompt_tokens, count_tokens, message_text
from emulators.ratelimit import RateDecision, SlidingWindowLimiter, retry_after_headers

DEFAULT_API_VERSION = "2024-10-21"
DEFAULT_CHAT_DEPLOYMENT = "gpt-4o-mini"
DEFAULT_TRANSCRIPTION_DEPLOYMENT = "whisper"
DEFAULT_CONTENT_FILTER_PHRASE = "trigger content filter"
SYSTEM_FINGERPRINT = "fp_hireflow_emulator"
MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_CHAT_BODY_BYTES = 16 * 1024 * 1024

DeploymentKind = Literal["chat", "transcription"]


@dataclass(frozen=True)
class Deployment:
    """One model deployment and its limits (None: unlimited)."""

    name: str
    model: str
    kind: DeploymentKind
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


def default_deployments() -> tuple[Deployment, ...]:
    """Return a chat deployment and a transcription deployment, unlimited."""
    return (
        Deployment(DEFAULT_CHAT_DEPLOYMENT, "gpt-4o-mini", "chat"),
        Deployment(DEFAULT_TRANSCRIPTION_DEPLOYMENT, "whisper", "transcription"),
    )


@dataclass
class OpenAIConfig:
    """Key, deployments, content-filter phrases and the rate-limit window of the emulated resource."""

    api_key: str
    deployments: tuple[Deployment, ...] = field(default_factory=default_deployments)
    content_filter_phrases: tuple[str, ...] = (DEFAULT_CONTENT_FILTER_PHRASE,)
    rate_window_s: float = 60.0
    max_audio_bytes: int = MAX_AUDIO_BYTES


def _error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    type_: str | None = "invalid_request_error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def _unauthorized() -> web.Response:
    # Azure answers a missing or wrong key with this exact body (code is the status as a string).
    body = {
        "error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
            "provide a valid key for an active subscription and use a correct regional API endpoint for "
            "your resource.",
        }
    }
    return web.json_response(body, status=401)


def _content_filter_result(triggered: bool) -> dict[str, Any]:
    safe = {"filtered": False, "severity": "safe"}
    return {
        "hate": safe,
        "self_harm": safe,
        "sexual": safe,
        "violence": {"filtered": True, "severity": "high"} if triggered else safe,
        "jailbreak": {"filtered": False, "detected": False},
    }


@dataclass
class _Answer:
    content: str | None
    tool_calls: list[dict[str, Any]] | None
    finish_reason: str


class OpenAIEmulator:
    """The Azure OpenAI data plane for a set of deployments, with per-deployment RPM/TPM limits."""

    def __init__(self, config: OpenAIConfig) -> None:
        self.config = config
        self._deployments = {d.name: d for d in config.deployments}
        self._limiters = {d.name: self._limiter_for(d) for d in config.deployments}
        self._sequence = itertools.count(1)

    def _limiter_for(self, deployment: Deployment) -> SlidingWindowLimiter:
        return SlidingWindowLimiter(
            deployment.requests_per_minute, deployment.tokens_per_minute, window_s=self.config.rate_window_s
        )

    @property
    def deployments(self) -> Sequence[Deployment]:
        """The configured deployments."""
        return tuple(self._deployments.values())

    def set_limits(
        self, deployment: str, requests_per_minute: int | None, tokens_per_minute: int | None
    ) -> None:
        """Change a deployment's limits at run time (resets its window)."""
        updated = replace(
            self._deployments[deployment],
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
        )
        self._deployments[deployment] = updated
        self._limiters[deployment] = self._limiter_for(updated)

    def usage(self) -> dict[str, Any]:
        """Per deployment: its limits and the requests and tokens its limiter admitted and refused.

        The token and request limits apply per ``window_s`` (60 s unless the window was shortened).
        """
        return {name: limiter.usage() for name, limiter in self._limiters.items()}

    def add_routes(self, app: web.Application) -> None:
        """Register the data-plane routes on `app`."""
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/audio/transcriptions", self._transcription)

    # ---- common checks
    # -------------------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        if request.headers.get("api-key") == self.config.api_key:
            return True
        authorization = request.headers.get("Authorization", "")
        # Entra tokens cannot be verified offline; any bearer token stands in for one.
        return authorization.lower().startswith("bearer ") and len(authorization) > len("bearer ")

    def _precheck(self, request: web.Request, kind: DeploymentKind) -> web.Response | Deployment:
        if not self._authorized(request):
            return _unauthorized()
        if not request.query.get("api-version"):
            return web.json_response({"error": {"code": "404", "message": "Resource not found"}}, status=404)
        deployment = self._deployments.get(request.match_info["deployment"])
        if deployment is None:
            body = {
                "error": {
                    "code": "DeploymentNotFound",
                    "message": "The API deployment for this resource does not exist. If you created the "
                    "deployment within the last 5 minutes, please wait a moment and try again.",
                }
            }
            return web.json_response(body, status=404)
        if deployment.kind != kind:
            return _error(
                400,
                f"The {kind} operation does not work with the specified model, {deployment.model}. Please "
                "choose different model and try again.",
                code="OperationNotSupported",
            )
        return deployment

    def _admit(self, deployment: Deployment, tokens: int) -> tuple[RateDecision, web.Response | None]:
        decision = self._limiters[deployment.name].try_admit(tokens)
        if decision.allowed:
            return decision, None
        seconds = max(1, round(decision.retry_after_s))
        message = (
            f"Requests to the {deployment.kind} operation under Azure OpenAI API version "
            f"{DEFAULT_API_VERSION} have exceeded {decision.limit} rate limit of the emulated deployment "
            f"{deployment.name}. Please retry after {seconds} seconds."
        )
        body = {"error": {"code": "429", "message": message}}
        return decision, web.json_response(body, status=429, headers=retry_after_headers(decision))

    def _next_id(self, prefix: str, seed: bytes) -> str:
        digest = hashlib.sha256(seed + str(next(self._sequence)).encode()).hexdigest()[:24]
        return f"{prefix}-{digest}"

    # ---- chat completions
    # ----------------------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        checked = self._precheck(request, "chat")
        if isinstance(checked, web.Response):
            return checked
        deployment = checked
        if request.content_length is not None and request.content_length > MAX_CHAT_BODY_BYTES:
            return _error(413, f"The request body exceeds the limit of {MAX_CHAT_BODY_BYTES} bytes.")
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                "sent was not valid JSON.)",
            )
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' is a required property", param="messages")
        if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
            return _error(400, "Each message must be an object with a 'role'.", param="messages")
        conversation = "\n".join(message_text(m.get("content")) for m in messages)
        lowered = conversation.lower()
        if any(phrase.lower() in lowered for phrase in self.config.content_filter_phrases if phrase):
            return self._content_filtered()
        try:
            answer = self._answer(body, messages)
        except _BadRequestError as bad:
            return _error(400, str(bad), param=bad.param)
        prompt_tokens = count_prompt_tokens(
            messages, [body.get("tools"), (body.get("response_format") or {}).get("json_schema")]
        )
        completion_text = answer.content or json.dumps(answer.tool_calls or [])
        completion_tokens = count_tokens(completion_text)
        requested_n = body.get("n")
        choices_count = requested_n if isinstance(requested_n, int) and requested_n > 0 else 1
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        reserved = prompt_tokens + (
            max_tokens if isinstance(max_tokens, int) else completion_tokens * choices_count
        )
        decision, limited = self._admit(deployment, reserved)
        if limited is not None:
            return limited
        completion_id = self._next_id("chatcmpl", raw)
        headers = {
            "x-ratelimit-remaining-requests": str(decision.remaining_requests),
            "x-ratelimit-remaining-tokens": str(decision.remaining_tokens),
            "x-ms-region": "Emulated",
            # The SDK exposes x-request-id as `_request_id`; support cases quote apim-request-id.
            "x-request-id": completion_id,
            "apim-request-id": completion_id,
        }
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens * choices_count,
            "total_tokens": prompt_tokens + completion_tokens * choices_count,
        }
        if body.get("stream") is True:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await self._stream(
                request,
                completion_id,
                deployment,
                answer,
                choices_count,
                usage if include_usage else None,
                headers,
            )
        message: dict[str, Any] = {"role": "assistant", "content": answer.content, "refusal": None}
        if answer.tool_calls:
            message["tool_calls"] = answer.tool_calls
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": deployment.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "prompt_filter_results": [
                {"prompt_index": 0, "content_filter_results": _content_filter_result(False)}
            ],
            "choices": [
                {
                    "index": index,
                    "message": message,
                    "finish_reason": answer.finish_reason,
                    "logprobs": None,
                    "content_filter_results": _content_filter_result(False),
                }
                for index in range(choices_count)
            ],
            "usage": usage,
        }
        return web.json_response(payload, headers=headers)

    def _content_filtered(self) -> web.Response:
        body = {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy. Please modify your prompt and retry. To learn more about our content "
                "filtering policies please read our documentation: "
                "https://go.microsoft.com/fwlink/?linkid=2198766",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {
                    "code": "ResponsibleAIPolicyViolation",
                    "content_filter_result": _content_filter_result(True),
                },
            }
        }
        return web.json_response(body, status=400)

    def _answer(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> _Answer:
        user_messages = [m for m in messages if m.get("role") == "user"]
        prompt = message_text(user_messages[-1].get("content")) if user_messages else ""
        conversation = "\n".join(message_text(m.get("content")) for m in messages)
        if not prompt.strip():
            prompt = conversation
        for declared in body.get("tools") or []:
            function = declared.get("function") if isinstance(declared, dict) else None
            if isinstance(function, dict) and function.get("strict") is True:
                problems = strict_mode_problems(function.get("parameters") or {})
                if problems:
                    raise _BadRequestError(
                        f"Invalid schema for function '{function.get('name')}': {problems[0]}", "tools"
                    )
        tool = self._tool_to_call(body, messages)
        if tool is not None:
            function = tool.get("function") or {}
            parameters = function.get("parameters") or {"type": "object", "properties": {}}
            arguments = brain.tool_arguments(str(function.get("name", "tool")), parameters, prompt)
            call_id = (
                "call_" + hashlib.sha256(json.dumps(arguments, sort_keys=True).encode()).hexdigest()[:24]
            )
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": function.get("name"), "arguments": json.dumps(arguments)},
            }
            return _Answer(None, [call], "tool_calls")
        response_format = body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema")
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise _BadRequestError(
                    "Missing required parameter: 'response_format.json_schema.name'.", "response_format"
                )
            schema = spec.get("schema") or {"type": "object", "properties": {}}
            if not isinstance(schema, dict):
                raise _BadRequestError(
                    "Invalid schema for response_format: must be an object.", "response_format"
                )
            if spec.get("strict") is True and (problems := strict_mode_problems(schema)):
                raise _BadRequestError(
                    f"Invalid schema for response_format '{spec['name']}': {problems[0]}", "response_format"
                )
            value = brain.structured_answer(spec["name"], schema, prompt)
            try:
                problems = validate(value, schema)
            except SchemaError as error:
                raise _BadRequestError(
                    f"Invalid schema for response_format '{spec['name']}': {error}", "response_format"
                ) from error
            if problems:
                raise _BadRequestError(
                    f"Invalid schema for response_format '{spec['name']}': {problems[0]}", "response_format"
                )
            return _Answer(json.dumps(value), None, "stop")
        if isinstance(response_format, dict) and response_format.get("type") == "json_object":
            return _Answer(json.dumps(brain.json_object_answer(prompt)), None, "stop")
        text = brain.text_answer(prompt)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(max_tokens, int) and 0 < max_tokens < count_tokens(text):
            words = text.split(" ")
            while words and count_tokens(" ".join(words)) > max_tokens:
                words.pop()
            return _Answer(" ".join(words), None, "length")
        return _Answer(text, None, "stop")

    def _tool_to_call(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
        if not tools:
            return None
        choice = body.get("tool_choice", "auto")
        if choice == "none":
            return None
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            named = [t for t in tools if (t.get("function") or {}).get("name") == wanted]
            if not named:
                raise _BadRequestError(
                    f"Invalid value for 'tool_choice': no function named '{wanted}'.", "tool_choice"
                )
            return named[0]
        # With `auto`, answer in text once a tool result came back, so a tool loop always ends.
        if choice == "auto" and messages[-1].get("role") == "tool":
            return None
        return tools[0]

    async def _stream(
        self,
        request: web.Request,
        completion_id: str,
        deployment: Deployment,
        answer: _Answer,
        choices_count: int,
        usage: dict[str, int] | None,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **headers}
        )
        await response.prepare(request)
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            base: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": deployment.model,
                "system_fingerprint": SYSTEM_FINGERPRINT,
                "choices": choices,
            }
            if usage is not None:
                base["usage"] = None
            base.update(extra)
            return base

        async def send(payload: dict[str, Any]) -> None:
            await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

        # Azure opens every stream with the prompt filter results in a chunk without choices.
        await send(
            {
                "id": "",
                "object": "",
                "created": 0,
                "model": "",
                "choices": [],
                "prompt_filter_results": [
                    {"prompt_index": 0, "content_filter_results": _content_filter_result(False)}
                ],
            }
        )
        for index in range(choices_count):
            await send(
                chunk(
                    [{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
                )
            )
            if answer.tool_calls:
                for call_index, call in enumerate(answer.tool_calls):
                    arguments = call["function"]["arguments"]
                    head = {
                        "index": call_index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["function"]["name"], "arguments": ""},
                    }
                    await send(
                        chunk([{"index": index, "delta": {"tool_calls": [head]}, "finish_reason": None}])
                    )
                    for piece in _pieces(arguments):
                        delta = {"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]}
                        await send(chunk([{"index": index, "delta": delta, "finish_reason": None}]))
            else:
                for piece in _pieces(answer.content or ""):
                    await send(chunk([{"index": index, "delta": {"content": piece}, "finish_reason": None}]))
            await send(chunk([{"index": index, "delta": {}, "finish_reason": answer.finish_reason}]))
        if usage is not None:
            await send(chunk([], usage=usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    # ---- audio transcriptions
    # ------------------------------------------------------------------------------------

    async def _transcription(self, request: web.Request) -> web.StreamResponse:
        checked = self._precheck(request, "transcription")
        if isinstance(checked, web.Response):
            return checked
        deployment = checked
        limit = self.config.max_audio_bytes
        if request.content_length is not None and request.content_length > limit + 64 * 1024:
            return _error(
                413,
                f"Maximum content size limit ({limit}) exceeded ({request.content_length} bytes read)",
                type_=None,
            )
        if not request.content_type.startswith("multipart/form-data"):
            return _error(400, "Invalid Content-Type header: the request must be multipart/form-data.")
        try:
            form = await request.post()
        except ValueError as error:
            return _error(400, f"Could not parse multipart form: {error}")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(400, "'file' is a required property", param="file")
        audio = upload.file.read()
        if len(audio) > limit:
            return _error(
                413, f"Maximum content size limit ({limit}) exceeded ({len(audio)} bytes read)", type_=None
            )
        response_format = str(form.get("response_format") or "json")
        if response_format not in ("json", "text", "verbose_json", "srt", "vtt"):
            return _error(
                400,
                f"Invalid value '{response_format}' for response_format; use json, text, srt, verbose_json "
                "or vtt.",
                param="response_format",
            )
        # The recording bridge is imported late: only transcriptions need it.
        from emulators import recording

        try:
            segments = recording.transcribe_wav(audio)
        except recording.UndecodableAudio as error:
            return _error(
                400,
                f"Audio file might be corrupted or unsupported: {error}",
                code="invalid_value",
                param="file",
            )
        decision, limited = self._admit(deployment, 0)
        if limited is not None:
            return limited
        headers = {
            "x-ratelimit-remaining-requests": str(decision.remaining_requests),
            "x-ratelimit-remaining-tokens": str(decision.remaining_tokens),
        }
        text = "\n".join(f"{s.speaker.capitalize()}: {s.text}" for s in segments)
        if response_format == "text":
            return web.Response(text=text + "\n", content_type="text/plain", headers=headers)
        if response_format in ("srt", "vtt"):
            return web.Response(
                text=_subtitles(segments, response_format), content_type="text/plain", headers=headers
            )
        if response_format == "json":
            return web.json_response({"text": text}, headers=headers)
        duration = max((s.end_s for s in segments), default=0.0)
        verbose = {
            "task": "transcribe",
            "language": str(form.get("language") or "english"),
            "duration": round(duration, 2),
            "text": text,
            "segments": [
                {
                    "id": index,
                    "seek": 0,
                    "start": round(s.start_s, 2),
                    "end": round(s.end_s, 2),
                    "text": s.text,
                    "speaker": s.speaker,
                    "tokens": [],
                    "temperature": 0.0,
                    "avg_logprob": -0.05,
                    "compression_ratio": 1.0,
                    "no_speech_prob": 0.0,
                }
                for index, s in enumerate(segments)
            ],
        }
        return web.json_response(verbose, headers=headers)


class _BadRequestError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _pieces(text: str, size: int = 24) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _subtitles(segments: Sequence[Any], kind: str) -> str:
    separator = "," if kind == "srt" else "."
    blocks = [
        f"{index + 1}\n{_timestamp(s.start_s, separator)} --> {_timestamp(s.end_s, separator)}\n{s.text}\n"
        if kind == "srt"
        else f"{_timestamp(s.start_s, separator)} --> {_timestamp(s.end_s, separator)}\n{s.text}\n"
        for index, s in enumerate(segments)
    ]
    return ("WEBVTT\n\n" if kind == "vtt" else "") + "\n".join(blocks)
