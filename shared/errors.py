r"""Error codes, the transient/permanent split, and classification of SDK exceptions.

Durable Functions loses the exception type when an activity fails: the orchestrator only sees a plain
``Exception("<reason> \n <details>")``. So every error this project raises carries its code inside its
message as ``[error:<code>]`` and :func:`error_code_from_exception_message` reads it back.

Transient faults (429, 5xx, timeouts, dropped connections) raise :class:`TransientError` so the built-in
retry policy retries them. Permanent faults (bad documents, other 4xx, content filter, schema violations
after repair) come back from activities as a typed :class:`FailureInfo`, so no retry is wasted.
"""

from __future__ import annotations

import re
import socket
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ClassifiedError",
    "ErrorCode",
    "FailureInfo",
    "PermanentError",
    "TransientError",
    "classify_exception",
    "error_code_from_exception_message",
    "format_error_message",
]


class ErrorCode(StrEnum):
    """Machine-readable failure codes; values are stable because they travel in history."""

    # Transient: retried by the orchestrator's RetryOptions.
    RATE_LIMITED = "rate_limited"
    SERVICE_UNAVAILABLE = "service_unavailable"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection_failed"
    # Permanent: returned as typed failures.
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA = "unsupported_media"
    CORRUPT_DOCUMENT = "corrupt_document"
    EMPTY_DOCUMENT = "empty_document"
    CONTENT_FILTERED = "content_filtered"
    SCHEMA_VIOLATION = "schema_violation"
    CONTEXT_TOO_LONG = "context_too_long"
    JOB_NOT_FOUND = "job_not_found"
    INVALID_INPUT = "invalid_input"
    NO_SLOT_AVAILABLE = "no_slot_available"
    CALL_FAILED = "call_failed"
    RECORDING_NOT_FOUND = "recording_not_found"
    INVALID_AUDIO = "invalid_audio"
    CONFIGURATION = "configuration"
    INTERNAL = "internal"

    @property
    def is_transient(self) -> bool:
        """Whether a retry of the same call may succeed."""
        return self in _TRANSIENT_CODES


_TRANSIENT_CODES = frozenset(
    {ErrorCode.RATE_LIMITED, ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.TIMEOUT, ErrorCode.CONNECTION_FAILED}
)

_CODE_PATTERN = re.compile(r"\[error:([a-z_]+)\]")


def format_error_message(code: ErrorCode, message: str) -> str:
    """Put the code where :func:`error_code_from_exception_message` will find it."""
    return f"[error:{code.value}] {message}"


def error_code_from_exception_message(message: str | None) -> ErrorCode | None:
    """Parse the code back out of a failure message, e.g. the ``TaskFailedError`` text an orchestrator gets.

    Returns ``None`` when the message carries no known code (an unexpected crash).
    """
    if not message:
        return None
    for match in _CODE_PATTERN.finditer(message):
        try:
            return ErrorCode(match.group(1))
        except ValueError:
            continue
    return None


class FailureInfo(BaseModel):
    """A permanent failure returned as data by an activity (field ``failure`` of its output model)."""

    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str

    @classmethod
    def of(cls, code: ErrorCode, message: str) -> FailureInfo:
        """Build a failure, capping the message so it stays small in history."""
        return cls(code=code, message=message[:2000])


class HireflowError(Exception):
    """Base of the project's own exceptions: a code plus a human message."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code = code
        self.detail = message
        super().__init__(format_error_message(code, message))


class TransientError(HireflowError):
    """A fault worth retrying. Activities raise it; the orchestrator's RetryOptions retry it."""


class PermanentError(HireflowError):
    """A fault no retry can fix. Service functions raise it; activities turn it into :class:`FailureInfo`."""

    def to_failure(self) -> FailureInfo:
        """Return the typed result an activity hands back instead of raising."""
        return FailureInfo.of(self.code, self.detail)


class ClassifiedError(BaseModel):
    """What :func:`classify_exception` decided about an exception."""

    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str

    @property
    def transient(self) -> bool:
        """Whether the fault should be retried."""
        return self.code.is_transient

    def to_exception(self) -> HireflowError:
        """Return the exception to raise (transient) or to convert to a failure (permanent)."""
        if self.transient:
            return TransientError(self.code, self.message)
        return PermanentError(self.code, self.message)


_STATUS_CODES: dict[int, ErrorCode] = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA,
}


def _classified(code: ErrorCode, message: str) -> ClassifiedError:
    return ClassifiedError(code=code, message=message)


def code_for_status(status: int) -> ErrorCode:
    """Map an HTTP status to a code: 408/429 and 5xx transient, every other 4xx permanent."""
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status == 408:
        return ErrorCode.TIMEOUT
    if status >= 500:
        return ErrorCode.SERVICE_UNAVAILABLE
    return _STATUS_CODES.get(status, ErrorCode.BAD_REQUEST)


_FILTER_CODES = frozenset({"content_filter", "ResponsibleAIPolicyViolation"})


def _is_content_filter(body: Any, text: str) -> bool:
    # Azure OpenAI reports filtered prompts as 400 with code "content_filter"; filtered completions come back
    # as finish_reason "content_filter" (handled where the completion is read).
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("code") in _FILTER_CODES:
            return True
    return "content_filter" in text or "ResponsibleAIPolicyViolation" in text


def _classify_openai(exc: BaseException) -> ClassifiedError | None:
    import openai

    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return _classified(ErrorCode.CONTENT_FILTERED, message="completion stopped by the content filter")
    if isinstance(exc, openai.LengthFinishReasonError):
        return _classified(ErrorCode.CONTEXT_TOO_LONG, message="completion hit the token limit")
    if isinstance(exc, openai.APITimeoutError):
        return _classified(ErrorCode.TIMEOUT, message="OpenAI request timed out")
    if isinstance(exc, openai.APIConnectionError):
        return _classified(ErrorCode.CONNECTION_FAILED, message=f"OpenAI connection failed: {exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 400 and _is_content_filter(exc.body, str(exc)):
            return _classified(ErrorCode.CONTENT_FILTERED, message="prompt rejected by the content filter")
        if status == 400 and "context_length_exceeded" in f"{exc} {exc.code} {exc.body}":
            return _classified(ErrorCode.CONTEXT_TOO_LONG, message="prompt exceeds the context window")
        return _classified(code_for_status(status), message=f"OpenAI returned {status}: {exc.message}")
    return None


def _classify_azure(exc: BaseException) -> ClassifiedError | None:
    from azure.core import exceptions as azure_errors

    if isinstance(exc, azure_errors.ServiceResponseTimeoutError | azure_errors.ServiceRequestTimeoutError):
        return _classified(ErrorCode.TIMEOUT, message=f"Azure request timed out: {exc}")
    if isinstance(exc, azure_errors.ServiceRequestError | azure_errors.ServiceResponseError):
        return _classified(ErrorCode.CONNECTION_FAILED, message=f"Azure connection failed: {exc}")
    if isinstance(exc, azure_errors.HttpResponseError):
        status = exc.status_code or (exc.response.status_code if exc.response is not None else 0)
        if not status:
            return _classified(ErrorCode.SERVICE_UNAVAILABLE, message=f"Azure call failed: {exc.message}")
        return _classified(code_for_status(status), message=f"Azure returned {status}: {exc.message}")
    return None


def classify_exception(exc: BaseException) -> ClassifiedError:
    """Decide the code and transience of any exception an SDK call may raise."""
    if isinstance(exc, HireflowError):
        return _classified(exc.code, message=exc.detail)
    for classify in (_classify_openai, _classify_azure):
        classified = classify(exc)
        if classified is not None:
            return classified
    if isinstance(exc, TimeoutError | socket.timeout):
        return _classified(ErrorCode.TIMEOUT, message=f"timed out: {exc}")
    if isinstance(exc, ConnectionError):
        return _classified(ErrorCode.CONNECTION_FAILED, message=f"connection failed: {exc}")
    return _classified(ErrorCode.INTERNAL, message=f"{type(exc).__name__}: {exc}")
