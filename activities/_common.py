"""The one wrapper every activity goes through: validate input, run the service, type the failure.

Transient faults leave as :class:`~shared.errors.TransientError` (so the orchestrator's RetryOptions retry
them, with the code in the message); permanent faults come back as the output model's ``failure``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ErrorCode, FailureInfo, TransientError, classify_exception
from shared.logging import get_logger, log_context
from shared.models import ActivityOutput

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
    try:
        data = input_model.model_validate(payload)
    except ValidationError as error:
        failure = FailureInfo.of(ErrorCode.INVALID_INPUT, f"{name}: invalid input: {error}")
        return output_model(failure=failure).model_dump(mode="json")
    instance_id = getattr(data, "instance_id", None)
    with log_context(instance_id=instance_id, activity=name):
        try:
            output = service(data)
        except Exception as error:
            classified = classify_exception(error)
            if classified.transient:
                LOGGER.warning("%s: transient fault %s: %s", name, classified.code, classified.message)
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
    return output.model_dump(mode="json")
