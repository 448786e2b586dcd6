"""The one wrapper every activity goes through: validate input, run the service, type the failure.

Transient faults leave as :class:`~shared.errors.TransientError` (so the orchestrator's RetryOptions retry
them, with the code in the message); permanent faults come back as the output model's ``failure``. Every
execution is one OpenTelemetry span (``activity <name>``) carrying the instance id, and so is every external
call made inside it (see :mod:`shared.telemetry`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry.trace import Span, Status, StatusCode
from pydantic import BaseModel, ValidationError

from shared.errors import ErrorCode, FailureInfo, TransientError, classify_exception
from shared.logging import get_logger, log_context
from shared.models import ActivityOutput
from shared.telemetry import OUTCOME_ATTRIBUTE, activity_span, ensure_telemetry

InputT = TypeVar("InputT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=ActivityOutput)

LOGGER = get_logger("hireflow.activities")


def run_activity(
    name: str,
    payload: Any,
    input_model: type[InputT],
    output_model: type[OutputT],
    service: Callable[[InputT], OutputT],
) -> dict[str, Any]:
    """Run ``service`` on the validated ``payload`` and return the dumped output model."""
    # Lazily, on the first activity of the process: indexing the app never depends on telemetry settings.
    ensure_telemetry()
    instance_id = payload.get("instance_id") if isinstance(payload, dict) else None
    with activity_span(name, instance_id if isinstance(instance_id, str) else None) as span:
        try:
            data = input_model.model_validate(payload)
        except ValidationError as error:
            failure = FailureInfo.of(ErrorCode.INVALID_INPUT, f"{name}: invalid input: {error}")
            _record_outcome(span, f"failure:{ErrorCode.INVALID_INPUT}")
            return output_model(failure=failure).model_dump(mode="json")
        return _run_validated(name, data, output_model, service, span)


def _run_validated(
    name: str,
    data: InputT,
    output_model: type[OutputT],
    service: Callable[[InputT], OutputT],
    span: Span,
) -> dict[str, Any]:
    instance_id = getattr(data, "instance_id", None)
    with log_context(instance_id=instance_id, activity=name):
        try:
            output = service(data)
        except Exception as error:
            classified = classify_exception(error)
            if classified.transient:
                LOGGER.warning("%s: transient fault %s: %s", name, classified.code, classified.message)
                _record_outcome(span, f"transient:{classified.code}")
                if isinstance(error, TransientError):
                    raise
                raise TransientError(classified.code, classified.message) from error
            if classified.code is ErrorCode.INTERNAL:
                LOGGER.exception("%s: unexpected error", name)
            else:
                LOGGER.warning("%s: permanent failure %s: %s", name, classified.code, classified.message)
            output = output_model(failure=FailureInfo.of(classified.code, classified.message))
        else:
            if output.failure is not None:
                LOGGER.warning("%s: permanent failure %s", name, output.failure.code)
    _record_outcome(span, "ok" if output.failure is None else f"failure:{output.failure.code}")
    return output.model_dump(mode="json")


def _record_outcome(span: Span, outcome: str) -> None:
    # The error code only: failure messages may quote a document, and telemetry carries no personal data.
    span.set_attribute(OUTCOME_ATTRIBUTE, outcome)
    if outcome != "ok":
        span.set_status(Status(StatusCode.ERROR, outcome))
