"""What the orchestrators share: activity calls, typed step failures, the event inbox and deadline waits.

Everything here runs inside orchestrator generators, so it obeys their rules: no I/O, no clock but
``context.current_utc_datetime``, nothing random. Helpers are generators used with ``yield from`` so the
tasks they create are yielded by the orchestrator itself, in a fixed order on every replay.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import azure.durable_functions as df
from pydantic import BaseModel

from activities.handles import ActivityHandle
from shared.errors import ErrorCode, FailureInfo, error_code_from_exception_message, format_error_message
from shared.logging import get_logger
from shared.models import ActivityOutput
from shared.token_bucket import ChatUsage, Grant, ReserveRequest, SettleRequest

LOGGER = get_logger("hireflow.orchestrators")

InputT = TypeVar("InputT", bound=BaseModel)
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


def await_task(
    context: df.DurableOrchestrationContext, inbox: EventInbox | None, task: Any
) -> Generator[Any, Any, Any]:
    """Yield ``task`` and return its result, registering the inbox's fresh event waits on the way.

    A wait only counts as open once it has been yielded, so fresh waits ride along in a ``task_any`` with
    ``task``; whichever finishes first, ``task`` is then awaited on its own (at once if already done).
    """
    if inbox is not None and (fresh := inbox.unregistered()):
        yield context.task_any([task, *fresh])
        inbox.mark_registered(fresh)
    return (yield task)


@dataclass(frozen=True)
class StepRunner:
    """Runs activity handles for one orchestrator execution (``yield from HANDLE.call(steps, payload)``).

    It holds what every call of the execution shares: the context, the event inbox whose fresh waits ride
    along with each task, and the budgets the OpenAI handles reserve on: ``token_budget`` for the chat
    deployment, ``transcription_budget`` for the transcription one (``None``: no budget, as for instances
    started before that budget existed). Each call is one ``call_activity_with_retry`` with the
    handle's name, retry policy and ``payload.model_dump(mode="json")``, so the actions are the ones the
    histories of running instances recorded.
    """

    context: df.DurableOrchestrationContext
    inbox: EventInbox | None = None
    token_budget: df.EntityId | None = None
    transcription_budget: df.EntityId | None = None

    def call_activity(self, handle: ActivityHandle[InputT, OutputT], payload: InputT) -> Step[OutputT]:
        """Call ``handle``'s activity with its retry policy and return its validated output.

        Raises :class:`StepFailedError` when the activity returned a typed failure (permanent: never
        retried) or still raised after its last retry (transient faults that did not heal).
        """
        budget = self._budget_for(handle)
        if budget is not None and handle.prompt_tokens is not None:
            prompt_tokens = handle.prompt_tokens(payload)
            return (yield from self._call_budgeted(handle, payload, budget, prompt_tokens))
        task = self._schedule(handle, payload)
        try:
            raw = yield from await_task(self.context, self.inbox, task)
        except Exception as error:  # the SDK raises a bare Exception for a task that failed all its attempts
            raise StepFailedError(handle.name, failure_from_task_error(handle.name, error)) from error
        return _checked_output(handle, raw)

    def _budget_for(self, handle: ActivityHandle[InputT, OutputT]) -> df.EntityId | None:
        if handle.prompt_tokens is None:
            return None
        return self.transcription_budget if handle.budget == "transcription" else self.token_budget

    def _schedule(self, handle: ActivityHandle[InputT, OutputT], payload: InputT) -> Any:
        return self.context.call_activity_with_retry(
            handle.name, handle.retry, payload.model_dump(mode="json")
        )

    def _call_budgeted(
        self,
        handle: ActivityHandle[InputT, OutputT],
        payload: InputT,
        budget: df.EntityId,
        prompt_tokens: int,
    ) -> Step[OutputT]:
        """Call an OpenAI activity: reserve its estimated tokens first, settle what it was charged after.

        The settle is a one-way signal (nothing to wait for). A step that failed settles with unknown usage,
        which keeps its estimate in the window for one more window: its calls, if any, were charged.
        """
        requests = handle.requests(payload) if handle.requests is not None else 1
        reservation_id = yield from reserve_tokens(
            self.context, budget, prompt_tokens, kind=handle.name, inbox=self.inbox, requests=requests
        )
        task = self._schedule(handle, payload)
        try:
            raw = yield from await_task(self.context, self.inbox, task)
        except Exception as error:  # the SDK raises a bare Exception for a task that failed all its attempts
            self.context.signal_entity(
                budget, "settle", SettleRequest(id=reservation_id).model_dump(mode="json")
            )
            raise StepFailedError(handle.name, failure_from_task_error(handle.name, error)) from error
        usage = parse_model(_UsageCarrier, raw).usage
        self.context.signal_entity(
            budget, "settle", SettleRequest(id=reservation_id, usage=usage).model_dump(mode="json")
        )
        return _checked_output(handle, raw)


def _checked_output(handle: ActivityHandle[InputT, OutputT], raw: Any) -> OutputT:
    """Validate an activity's result as the handle's output model; a typed failure fails the step."""
    output = parse_model(handle.output_model, raw)
    if output.failure is not None:
        raise StepFailedError(handle.name, output.failure)
    return output


class _UsageCarrier(BaseModel):
    """The ``usage`` an OpenAI activity adds to its output (absent from outputs recorded before budgets)."""

    usage: ChatUsage | None = None


def reserve_tokens(
    context: df.DurableOrchestrationContext,
    budget: df.EntityId,
    prompt_tokens: int,
    *,
    kind: str = "",
    inbox: EventInbox | None = None,
    requests: int = 1,
) -> Generator[Any, Any, str]:
    """Wait until the ``budget`` entity grants room for ``requests`` requests; returns the reservation id.

    Each refusal says how long to wait: a durable timer, then the entity is asked again. The id comes from
    ``context.new_uuid()``, the same on every replay, so a reservation is never taken twice. ``kind`` (the
    activity) lets the entity correct the estimate by what the last request of that kind was charged.
    """
    reservation = ReserveRequest(
        id=context.new_uuid(), prompt_tokens=prompt_tokens, requests=max(1, requests), kind=kind
    )
    while True:
        task = context.call_entity(budget, "reserve", reservation.model_dump(mode="json"))
        grant = parse_model(Grant, (yield from await_task(context, inbox, task)))
        if grant.granted:
            return reservation.id
        wake_at = context.current_utc_datetime + timedelta(seconds=grant.wait_s)
        yield from await_task(context, inbox, context.create_timer(as_utc(wake_at)))


def require(value: ValueT | None, step: str, what: str) -> ValueT:
    """Return ``value``, or fail the step when a successful activity output lacks a field it promises."""
    if value is None:
        raise StepFailedError(step, FailureInfo.of(ErrorCode.INTERNAL, f"{step} returned no {what}"))
    return value


class EventInbox:
    """Keeps one open wait per external event name an orchestration listens to, for its whole life.

    Three quirks of the SDK's replay (azure-functions-durable 1.x) shape this:

    - An event that arrives while no wait of its name is open is buffered, and the buffered event is then
      handed to *every* wait of that name created later in the execution, not just the first: a second
      wait would see the old event again. So a wait for every name must be open before any event of that
      name can arrive, and a consumed wait is replaced right away; then an event is buffered only as below.
    - A wait is open only once it has been yielded. Fresh waits therefore ride along with the next task
      the orchestrator yields (:func:`await_task`, :func:`wait_for_events`).
    - The SDK closes a wait as soon as its event arrives, so a second event of the same name that arrives
      before the orchestrator has consumed the first (and opened the replacement) is still buffered. The
      replacement receives it when it is yielded, but the SDK never forgets it: every later wait of that
      name would return it again, and a loop that skips an irrelevant event (a late event of an earlier
      call) would spin on it forever, down to a ``RecursionError`` in the SDK's replay. So once a fresh
      wait has received the buffered event, the inbox drops the buffer entry (``deferred_tasks``).

    An event that arrives while the orchestrator does something else completes its open wait and stays
    there, so the next wait for that name returns it at once, and is delivered once. The buffer holds one
    event per name, though: a third event of a name arriving before the first is consumed replaces the
    second, which is lost.
    """

    def __init__(self, context: df.DurableOrchestrationContext, names: Sequence[str]) -> None:
        self._context = context
        self._pending: dict[str, Any] = {}
        self._unregistered: list[Any] = []
        # Buffered events (the SDK's deferred completions, by event name) that the fresh waits about to be
        # yielded will receive; snapshotted before the yield because a newer one may replace them after it.
        self._buffered_at_yield: dict[str, Any] = {}
        for name in names:
            self._open(name)

    def _open(self, name: str) -> None:
        task = self._context.wait_for_external_event(name)
        self._pending[name] = task
        self._unregistered.append(task)

    def wait(self, name: str) -> Any:
        """Return the open wait task for ``name`` (a name the inbox was created with)."""
        return self._pending[name]

    def take(self, task: Any) -> str:
        """Consume ``task`` (a wait that completed), open its replacement and return the event name."""
        for name, pending in self._pending.items():
            if pending is task:
                self._open(name)
                return name
        raise KeyError("task is not an open event wait of this inbox")

    def arrived(self, name: str) -> tuple[bool, Any]:
        """Consume an event of ``name`` that already arrived, without waiting: ``(True, payload)`` or not.

        Whether it arrived depends only on the history replayed so far: the same answer on every replay.
        """
        task = self._pending[name]
        if not task.is_completed:
            return False, None
        self.take(task)
        return True, as_json_value(task.result)

    def unregistered(self) -> list[Any]:
        """Return the waits not yet yielded: they must go out with the next yield."""
        buffered = self._context.deferred_tasks
        self._buffered_at_yield = {
            name: buffered[name]
            for name, task in self._pending.items()
            if name in buffered and any(task is t for t in self._unregistered)
        }
        return list(self._unregistered)

    def mark_registered(self, tasks: Sequence[Any]) -> None:
        """Record that ``tasks`` were yielded (the SDK now delivers their events to them).

        A buffered event that was waiting when a fresh wait went out has been handed to that wait: drop
        it, unless a newer event has replaced it in the buffer since (that one still belongs to the next
        wait of its name).
        """
        buffered = self._context.deferred_tasks
        for name, delivered in self._buffered_at_yield.items():
            if any(self._pending[name] is t for t in tasks) and buffered.get(name) is delivered:
                del buffered[name]
        self._buffered_at_yield = {}
        self._unregistered = [task for task in self._unregistered if all(task is not t for t in tasks)]


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
    wanted = [inbox.wait(name) for name in names]
    fresh = [task for task in inbox.unregistered() if all(task is not w for w in wanted)]
    winner = yield context.task_any([*wanted, timer, *fresh])
    inbox.mark_registered([*wanted, *fresh])
    while winner is not timer and all(winner is not w for w in wanted):
        winner = yield context.task_any([*wanted, timer])  # another name's event arrived: keep it for later
    if winner is timer:
        return None, None
    timer.cancel()
    name = inbox.take(winner)
    return name, as_json_value(winner.result)


def log_progress(context: df.DurableOrchestrationContext, message: str, *args: object) -> None:
    """Log once per step: replays re-run the generator, and their duplicates would bury the real trail."""
    if not context.is_replaying:
        LOGGER.info("[%s] " + message, context.instance_id, *args)
