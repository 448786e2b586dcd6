import logging

import pytest

from activities._common import run_activity
from shared.errors import ErrorCode, FailureInfo, PermanentError, TransientError
from shared.models import ActivityOutput, JobDefinition, _Model


class LoadJobInput(_Model):
    """A small activity contract for the wrapper's tests (any input and output model would do)."""

    job_id: str


class LoadJobOutput(ActivityOutput):
    job: JobDefinition | None = None


def _run(service: object) -> dict[str, object]:
    return run_activity("load_job", {"job_id": "j"}, LoadJobInput, LoadJobOutput, service)  # type: ignore[arg-type]


def test_permanent_errors_become_typed_failures() -> None:
    def service(_: LoadJobInput) -> LoadJobOutput:
        raise PermanentError(ErrorCode.JOB_NOT_FOUND, "no job j")

    assert _run(service) == {"failure": {"code": "job_not_found", "message": "no job j"}, "job": None}


def test_transient_errors_propagate_with_their_code() -> None:
    def raises_own(_: LoadJobInput) -> LoadJobOutput:
        raise TransientError(ErrorCode.RATE_LIMITED, "later")

    def raises_timeout(_: LoadJobInput) -> LoadJobOutput:
        raise TimeoutError("read timed out")

    with pytest.raises(TransientError, match=r"\[error:rate_limited\]"):
        _run(raises_own)
    with pytest.raises(TransientError, match=r"\[error:timeout\]") as raised:
        _run(raises_timeout)
    assert isinstance(raised.value.__cause__, TimeoutError)


def test_unexpected_errors_are_logged_and_returned_as_internal(caplog: pytest.LogCaptureFixture) -> None:
    def crashes(_: LoadJobInput) -> LoadJobOutput:
        raise KeyError("boom")

    with caplog.at_level(logging.ERROR, logger="hireflow.activities"):
        out = LoadJobOutput.model_validate(_run(crashes))
    assert out.failure is not None
    assert out.failure.code is ErrorCode.INTERNAL
    assert any("unexpected error" in r.getMessage() for r in caplog.records)


def test_returned_failures_pass_through_and_invalid_input_is_typed() -> None:
    def declines(_: LoadJobInput) -> LoadJobOutput:
        return LoadJobOutput(failure=FailureInfo.of(ErrorCode.NO_SLOT_AVAILABLE, "full"))

    assert LoadJobOutput.model_validate(_run(declines)).failure == FailureInfo.of(
        ErrorCode.NO_SLOT_AVAILABLE, "full"
    )
    out = LoadJobOutput.model_validate(run_activity("load_job", {}, LoadJobInput, LoadJobOutput, declines))
    assert out.failure is not None
    assert out.failure.code is ErrorCode.INVALID_INPUT
