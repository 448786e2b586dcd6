"""Building blocks the orchestrators share: retried activity steps, typed step failures and deadline waits.

Everything here runs inside orchestrator generators, so it obeys their rules: no I/O, no clock but
``context.current_utc_datetime``, nothing random. Helpers are generators used with ``yield from`` so the
tasks they create are yielded by the orchestrator itself, in a fixed order on every replay.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import azure.durable_functions as df
from pydantic import BaseModel

from shared.errors import ErrorCode, FailureInfo, error_code_from_exception_message, format_error_message
from shared.logging import get_logger
from shared.models import ActivityOutput

LOGGER = get_logger("hireflow.orchestrators")

OutputT = TypeVar("OutputT", bound=ActivityOutput)
ModelT = TypeVar("ModelT", bound=BaseModel)
ValueT = TypeVar("ValueT")

# What an orchestrator generator yields and is sent back: SDK tasks in, task results out.
Step = Generator[Any, Any, OutputT]


class StepFailedError(Exception):
    """A step ended in a permanent failure; the orchestration stops there with a machine-readable reason.

    The message is ``[error:<code>] <step>: <message>``, so when it ends an orchestration as Failed, the
    instance's output carries a code that ``shared.errors.error_code_from_exception_message`` reads back.
    """

    def __init__(self, step: str, failure: FailureInfo) -> None:
        self.step = step
        self.failure = failure
        super().__init__(format_error_message(failure.code, f"{step}: {failure.message}"))


def as_json_value(value: Any) -> Any:
    """Return ``value`` as parsed JSON: activity results and inputs arrive as dicts or as JSON strings."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def parse_model(model: type[ModelT], value: Any) -> ModelT:
    """Validate ``value`` (a dict or JSON text) as ``model``: boundary data is re-validated on entry."""
    return model.model_validate(as_json_value(value))


def failure_from_task_error(activity: str, error: BaseException) -> FailureInfo:
    r"""Turn the plain ``Exception("<reason> \\n <details>")`` a failed task raises into a typed failure.

    The SDK drops the exception type, so the code comes from the ``[error:<code>]`` marker in the message;
    a failure without one is an unexpected crash of the activity (``internal``).
    """
    message = str(error)
    code = error_code_from_exception_message(message) or ErrorCode.INTERNAL
    first_line = message.strip().splitlines()[0] if message.strip() else type(error).__name__
    return FailureInfo.of(code, f"{activity} failed after its retries: {first_line}")


def call_step(
    context: df.DurableOrchestrationContext,
    activity: str,
    retry: df.RetryOptions,
    payload: BaseModel,
    output_model: type[OutputT],
    *,
    step: str | None = None,
) -> Step[OutputT]:
    """Call ``activity`` with its retry policy and return its validated output.

    Raises :class:`StepFailedError` when the activity returned a typed failure (permanent: never retried)
    or still raised after its last retry (transient faults that did not heal).
    """
    try:
        raw = yield context.call_activity_with_retry(activity, retry, payload.model_dump(mode="json"))
    except Exception as error:  # the SDK raises a bare Exception for a task that failed all its attempts
        raise StepFailedError(step or activity, failure_from_task_error(activity, error)) from error
    output = parse_model(output_model, raw)
    if output.failure is not None:
        raise StepFailedError(step or activity, output.failure)
    return output


def require(value: ValueT | None, step: str, what: str) -> ValueT:
    """Return ``value``, or fail the step when a successful activity output lacks a field it promises."""
    if value is None:
        raise StepFailedError(step, FailureInfo.of(ErrorCode.INTERNAL, f"{step} returned no {what}"))
    return value


class EventInbox:
    """One pending wait per external event name, reused until its event arrives.

    The SDK hands a raised event to the newest open wait of that name. A wait created and then abandoned
    (another task won the race) stays open, so creating a fresh wait every time would let an event that
    arrives between two waits land in an abandoned task and be lost. Reusing the one pending task per name
    keeps every event for the next wait that asks for it.
    """

    def __init__(self, context: df.DurableOrchestrationContext) -> None:
        self._context = context
        self._pending: dict[str, Any] = {}

    def wait(self, name: str) -> Any:
        """Return the pending wait task for ``name``, creating it if none is open."""
        task = self._pending.get(name)
        if task is None:
            task = self._context.wait_for_external_event(name)
            self._pending[name] = task
        return task

    def take(self, task: Any) -> str:
        """Mark ``task`` (a wait that completed) as consumed and return its event name."""
        for name, pending in self._pending.items():
            if pending is task:
                del self._pending[name]
                return name
        raise KeyError("task is not a pending event wait of this inbox")


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC: the SDK writes a timer's ``fireAt`` with a literal ``Z`` (no offset)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def wait_for_events(
    context: df.DurableOrchestrationContext,
    inbox: EventInbox,
    names: Sequence[str],
    deadline: datetime,
) -> Generator[Any, Any, tuple[str | None, Any]]:
    """Wait for the first of ``names`` or the deadline, whichever comes first.

    Returns ``(event name, parsed payload)``, or ``(None, None)`` when the durable timer fired first. The
    timer is cancelled when an event wins, so the instance does not linger waiting for it.
    """
    timer = context.create_timer(as_utc(deadline))
    waits = [inbox.wait(name) for name in names]
    winner = yield context.task_any([*waits, timer])
    if winner is timer:
        return None, None
    timer.cancel()
    name = inbox.take(winner)
    return name, as_json_value(winner.result)


def log_progress(context: df.DurableOrchestrationContext, message: str, *args: object) -> None:
    """Log once per step: replays re-run the generator, and their duplicates would bury the real trail."""
    if not context.is_replaying:
        LOGGER.info("[%s] " + message, context.instance_id, *args)
