import httpx2 as httpx
import openai
import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from shared.errors import (
    ErrorCode,
    FailureInfo,
    PermanentError,
    TransientError,
    classify_exception,
    code_for_status,
    error_code_from_exception_message,
    format_error_message,
)


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1/openai/deployments/x/chat/completions")


def _status_error(status: int, body: object = None) -> openai.APIStatusError:
    response = httpx.Response(status, request=_request(), json=body or {"error": {"message": "boom"}})
    cls = {429: openai.RateLimitError, 400: openai.BadRequestError, 404: openai.NotFoundError}.get(
        status, openai.APIStatusError
    )
    if status >= 500:
        cls = openai.InternalServerError
    return cls("boom", response=response, body=body)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, ErrorCode.RATE_LIMITED),
        (408, ErrorCode.TIMEOUT),
        (500, ErrorCode.SERVICE_UNAVAILABLE),
        (503, ErrorCode.SERVICE_UNAVAILABLE),
        (400, ErrorCode.BAD_REQUEST),
        (401, ErrorCode.UNAUTHORIZED),
        (403, ErrorCode.FORBIDDEN),
        (404, ErrorCode.NOT_FOUND),
        (409, ErrorCode.CONFLICT),
        (413, ErrorCode.PAYLOAD_TOO_LARGE),
        (415, ErrorCode.UNSUPPORTED_MEDIA),
        (422, ErrorCode.BAD_REQUEST),
    ],
)
def test_status_codes_split_transient_from_permanent(status: int, code: ErrorCode) -> None:
    assert code_for_status(status) is code
    assert code.is_transient == (status in (408, 429) or status >= 500)


def test_code_survives_the_round_trip_through_a_plain_exception_message() -> None:
    error = TransientError(ErrorCode.RATE_LIMITED, "slow down")
    # The Durable SDK hands the orchestrator "<reason> \n <details>" of the activity's exception.
    message = f"Activity function 'screen_candidate' failed: {error} \n Traceback ..."
    assert error_code_from_exception_message(message) is ErrorCode.RATE_LIMITED
    assert str(error) == format_error_message(ErrorCode.RATE_LIMITED, "slow down")


def test_message_without_a_known_code_parses_to_none() -> None:
    assert error_code_from_exception_message(None) is None
    assert error_code_from_exception_message("plain crash") is None
    assert error_code_from_exception_message("[error:not_a_code] x") is None
    assert error_code_from_exception_message("[error:nope] then [error:timeout]") is ErrorCode.TIMEOUT


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, ErrorCode.RATE_LIMITED), (500, ErrorCode.SERVICE_UNAVAILABLE), (404, ErrorCode.NOT_FOUND)],
)
def test_openai_status_errors(status: int, code: ErrorCode) -> None:
    assert classify_exception(_status_error(status)).code is code


def test_openai_content_filter_is_permanent() -> None:
    body = {"error": {"code": "content_filter", "message": "filtered"}}
    classified = classify_exception(_status_error(400, body))
    assert classified.code is ErrorCode.CONTENT_FILTERED
    assert not classified.transient


def test_openai_context_length_is_permanent() -> None:
    error = _status_error(
        400, {"error": {"code": "context_length_exceeded", "message": "context_length_exceeded"}}
    )
    assert classify_exception(error).code is ErrorCode.CONTEXT_TOO_LONG


def test_openai_timeouts_and_connection_errors_are_transient() -> None:
    assert classify_exception(openai.APITimeoutError(request=_request())).code is ErrorCode.TIMEOUT
    connection = openai.APIConnectionError(request=_request())
    assert classify_exception(connection).code is ErrorCode.CONNECTION_FAILED
    assert classify_exception(connection).transient


def test_openai_finish_reason_errors() -> None:
    assert classify_exception(openai.ContentFilterFinishReasonError()).code is ErrorCode.CONTENT_FILTERED
    completion = openai.types.chat.ChatCompletion(
        id="x",
        choices=[],
        created=0,
        model="m",
        object="chat.completion",
    )
    assert (
        classify_exception(openai.LengthFinishReasonError(completion=completion)).code
        is ErrorCode.CONTEXT_TOO_LONG
    )


def test_azure_errors() -> None:
    throttled = HttpResponseError(message="throttled")
    throttled.status_code = 429
    assert classify_exception(throttled).code is ErrorCode.RATE_LIMITED
    bad = HttpResponseError(message="bad")
    bad.status_code = 400
    assert classify_exception(bad).code is ErrorCode.BAD_REQUEST
    unknown = HttpResponseError(message="no status")
    assert classify_exception(unknown).code is ErrorCode.SERVICE_UNAVAILABLE
    assert classify_exception(ServiceRequestError("refused")).code is ErrorCode.CONNECTION_FAILED
    assert classify_exception(ServiceResponseError("reset")).code is ErrorCode.CONNECTION_FAILED
    assert classify_exception(ServiceRequestTimeoutError("slow")).code is ErrorCode.TIMEOUT
    assert classify_exception(ServiceResponseTimeoutError("slow")).code is ErrorCode.TIMEOUT


def test_plain_python_errors() -> None:
    assert classify_exception(TimeoutError()).code is ErrorCode.TIMEOUT
    assert classify_exception(ConnectionResetError()).code is ErrorCode.CONNECTION_FAILED
    internal = classify_exception(KeyError("x"))
    assert internal.code is ErrorCode.INTERNAL
    assert not internal.transient
    assert "KeyError" in internal.message


def test_own_errors_keep_their_code_and_convert() -> None:
    permanent = PermanentError(ErrorCode.CORRUPT_DOCUMENT, "bad pdf")
    assert classify_exception(permanent).code is ErrorCode.CORRUPT_DOCUMENT
    assert permanent.to_failure() == FailureInfo(code=ErrorCode.CORRUPT_DOCUMENT, message="bad pdf")
    assert isinstance(classify_exception(permanent).to_exception(), PermanentError)
    assert isinstance(
        classify_exception(TransientError(ErrorCode.TIMEOUT, "t")).to_exception(), TransientError
    )


def test_failure_messages_are_capped() -> None:
    assert len(FailureInfo.of(ErrorCode.INTERNAL, "x" * 10_000).message) == 2000
