"""The arithmetic of an OpenAI deployment's shared token budget: reserve, settle, and how long to wait.

A deployment's quota is a number of tokens and of requests per window (a minute on Azure; the emulator's
window may be shorter). The service charges each request, when it admits it, the prompt's tokens plus the
``max_tokens`` reserved for the answer, and refuses (429) a request that would push the last window over
the quota. The budget is a token bucket shaped to match: its capacity is the quota, and the tokens a request
took return to it one window after the service admitted the request, not at a steady refill rate (a steadily
refilled bucket lets up to twice the quota through one window after an idle spell, which the service would
refuse).

A reservation holds its estimate from the moment it is granted until the caller settles it with what the
service actually charged and when (the end of the call: never earlier than the real admission). Settled
charges then occupy the window that follows that moment. A reservation never settled (its orchestration
was terminated mid-call) is forgotten :data:`UNSETTLED_LEASE_WINDOWS` windows after it was granted.

Waiting is a queue, not a scramble: a request that does not fit is booked for the moment it will, and that
booking holds its room from then on, so later callers are booked behind it and every waiter wakes once, at
its turn (a herd of waiters all asking again when one request leaves the window would only make work for
the orchestrations and the entity). A booked caller that asks at its time is granted once the room is
really there; a call still in flight that took longer than foreseen moves the booking back.

Estimates learn: a request's prompt is estimated before it is rendered (the orchestrator cannot read the
blobs it is made of), and the service's charge for the last single-request call of the same ``kind`` (the
activity) corrects the next estimate of that kind by the difference. Requests of one kind share their
template, schema and job, which is most of what an estimate misses; a budget that over-reserves leaves a
request's worth of the quota unused in every window, one that under-reserves meets 429s.

Everything here is pure: state in, state out, ``now`` given as POSIX seconds. The Durable Entity in
``orchestrators.token_budget`` stores the state; these functions are its whole behaviour.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_MAX_OUTPUT_TOKENS",
    "DEFAULT_WINDOW_S",
    "MIN_WAIT_S",
    "UNSETTLED_LEASE_WINDOWS",
    "BudgetLimits",
    "BudgetState",
    "ChatUsage",
    "Grant",
    "Hold",
    "ReserveRequest",
    "SettleRequest",
    "configure",
    "reserve",
    "settle",
]

DEFAULT_WINDOW_S = 60.0
"""Azure OpenAI quotas are per minute."""
DEFAULT_MAX_OUTPUT_TOKENS = 4_096
"""The ``max_tokens`` the app sends unless ``AZURE_OPENAI_MAX_OUTPUT_TOKENS`` says otherwise; settles say."""
MIN_WAIT_S = 0.05
"""The shortest wait named: asking again sooner would only find the same answer."""
UNSETTLED_LEASE_WINDOWS = 5
"""Windows after which a reservation nobody settled stops counting."""


class _Boundary(BaseModel):
    # Entity and activity payloads: unknown fields are ignored so newer callers don't break older code.
    model_config = ConfigDict(extra="ignore")


class BudgetLimits(_Boundary):
    """The deployment's quota per window; ``None`` means unlimited."""

    tokens_per_window: int | None = Field(default=None, gt=0)
    requests_per_window: int | None = Field(default=None, gt=0)
    window_s: float = Field(default=DEFAULT_WINDOW_S, gt=0)


class Hold(_Boundary):
    """Tokens and requests one reservation holds: pending until settled, then charged at ``at``."""

    id: str
    tokens: int = Field(ge=0)
    requests: int = Field(ge=0)
    at: float
    settled: bool = False
    booked: bool = False
    """A place in the queue: room promised from ``at`` (future when booked) to a caller told to wait."""
    kind: str = ""
    estimate: int = Field(default=0, ge=0)
    """The estimate before correction (what the next correction of its kind is measured against)."""


class BudgetState(_Boundary):
    """What the entity stores: the limits, the answer size it reserves for, and the holds that still count."""

    limits: BudgetLimits = BudgetLimits()
    max_output_tokens: int = Field(default=DEFAULT_MAX_OUTPUT_TOKENS, ge=0)
    holds: list[Hold] = []
    corrections: dict[str, int] = {}
    """Per kind of request: the last charge minus its uncorrected estimate."""
    granted: int = 0
    """Reservations granted since the entity was created (for the curious: the bench reads it)."""
    deferred: int = 0
    """Reservations answered with a wait."""


class ReserveRequest(_Boundary):
    """Reserve room for one request: its id (deterministic, from the orchestration) and its prompt size."""

    id: str
    prompt_tokens: int = Field(ge=0)
    requests: int = Field(default=1, ge=1)
    kind: str = ""
    """What asks (the activity's name): estimates of one kind are corrected by its last charge."""


class Grant(_Boundary):
    """The answer to a reservation: granted, or how many seconds to wait before asking again."""

    granted: bool
    wait_s: float = 0.0
    tokens: int = 0


class ChatUsage(_Boundary):
    """What an activity's OpenAI calls cost against the quota: requests admitted and tokens charged.

    ``tokens`` counts what the service charges at admission (prompt tokens plus the ``max_tokens``
    reserved for the answer), ``finished_at`` is when the last answer arrived (POSIX seconds), and the
    ``limit_*`` fields carry the quota the service announced in its ``x-ratelimit-limit-*`` headers, if any.
    """

    requests: int = Field(default=0, ge=0)
    tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    max_output_tokens: int | None = Field(default=None, ge=0)
    finished_at: float | None = None
    limit_tokens: int | None = Field(default=None, gt=0)
    limit_requests: int | None = Field(default=None, gt=0)


class SettleRequest(_Boundary):
    """Settle reservation ``id`` with what its calls were charged (``usage`` ``None``: unknown, failed)."""

    id: str
    usage: ChatUsage | None = None


def _expire(state: BudgetState, now: float) -> list[Hold]:
    window = state.limits.window_s
    lease = window * UNSETTLED_LEASE_WINDOWS
    return [
        hold
        for hold in state.holds
        if (hold.settled and hold.at > now - window) or (not hold.settled and hold.at > now - lease)
    ]


def _fits(limits: BudgetLimits, holds: list[Hold], tokens: int, requests: int) -> bool:
    if not holds:
        # An empty window admits any single request, however large, as the service does.
        return True
    used_tokens = sum(hold.tokens for hold in holds)
    used_requests = sum(hold.requests for hold in holds)
    if limits.tokens_per_window is not None and used_tokens + tokens > limits.tokens_per_window:
        return False
    return not (
        limits.requests_per_window is not None and used_requests + requests > limits.requests_per_window
    )


def _wait_s(limits: BudgetLimits, holds: list[Hold], tokens: int, requests: int, now: float) -> float:
    """Seconds until enough holds may have left the window for the request to fit.

    A settled hold leaves one window after its charge; one still in flight leaves no sooner than one window
    after its grant (it cannot have been admitted earlier), so that is when asking again can first succeed.
    """
    leaving = sorted(holds, key=lambda hold: hold.at)
    remaining = list(leaving)
    for hold in leaving:
        remaining.remove(hold)
        if _fits(limits, remaining, tokens, requests):
            return max(MIN_WAIT_S, hold.at + limits.window_s - now)
    return MIN_WAIT_S  # unreachable: an empty window fits anything


def reserve(state: BudgetState, request: ReserveRequest, now: float) -> tuple[BudgetState, Grant]:
    """Grant ``request`` if the window has room for its prompt and answer, else book it and name the wait.

    Asking again with the id of a reservation already granted answers granted again (an operation delivered
    twice must not hold twice); with the id of a booking, it is granted from its time on.
    """
    holds = _expire(state, now)
    estimate = request.prompt_tokens + state.max_output_tokens
    tokens = max(0, estimate + state.corrections.get(request.kind, 0))
    existing = next((hold for hold in holds if hold.id == request.id), None)
    if existing is not None and not existing.booked:
        return state.model_copy(update={"holds": holds}), Grant(granted=True, tokens=existing.tokens)
    if existing is not None:
        others = [hold for hold in holds if hold is not existing]
        # Bookings behind this one were made counting it in; they do not count against it.
        ahead = [hold for hold in others if not (hold.booked and hold.at > existing.at)]
        if now < existing.at and not _fits(state.limits, ahead, existing.tokens, existing.requests):
            # Woken early (skipped time) and no settle has freed room since: the booking stands.
            wait = max(MIN_WAIT_S, existing.at - now)
            return state.model_copy(update={"holds": holds}), Grant(granted=False, wait_s=round(wait, 3))
        if _fits(state.limits, ahead, existing.tokens, existing.requests):
            granted = existing.model_copy(update={"booked": False, "at": now})
            update = {"holds": [*others, granted], "granted": state.granted + 1}
            return state.model_copy(update=update), Grant(granted=True, tokens=granted.tokens)
        # A call in flight ran longer than the booking assumed: the booking moves back.
        wait = _wait_s(state.limits, ahead, existing.tokens, existing.requests, now)
        moved = existing.model_copy(update={"at": now + wait})
        update = {"holds": [*others, moved], "deferred": state.deferred + 1}
        return state.model_copy(update=update), Grant(
            granted=False, wait_s=round(wait, 3), tokens=moved.tokens
        )
    hold = Hold(
        id=request.id, tokens=tokens, requests=request.requests, at=now, kind=request.kind, estimate=estimate
    )
    if _fits(state.limits, holds, tokens, request.requests):
        updated = state.model_copy(update={"holds": [*holds, hold], "granted": state.granted + 1})
        return updated, Grant(granted=True, tokens=tokens)
    wait = _wait_s(state.limits, holds, tokens, request.requests, now)
    booking = hold.model_copy(update={"booked": True, "at": now + wait})
    updated = state.model_copy(update={"holds": [*holds, booking], "deferred": state.deferred + 1})
    return updated, Grant(granted=False, wait_s=round(wait, 3), tokens=tokens)


def settle(state: BudgetState, request: SettleRequest, now: float) -> BudgetState:
    """Replace reservation ``request.id``'s estimate with what the service charged, from when it finished.

    Unknown usage (the activity failed) keeps the estimate, charged from ``now``: the calls it made, if any,
    were admitted before now. Limits and the answer size the service reports are adopted for what follows.
    """
    holds = _expire(state, now)
    usage = request.usage
    updated_holds: list[Hold] = []
    corrections = dict(state.corrections)
    for hold in holds:
        if hold.id != request.id or hold.settled:
            updated_holds.append(hold)
        elif usage is None:
            updated_holds.append(hold.model_copy(update={"settled": True, "at": now}))
        elif usage.requests > 0:
            if usage.requests == 1 and hold.estimate:
                # One request, no repair round: its charge tells how far off this kind's estimate was.
                corrections[hold.kind] = usage.tokens - hold.estimate
            at = usage.finished_at if usage.finished_at is not None else now
            updated_holds.append(
                hold.model_copy(
                    update={"settled": True, "tokens": usage.tokens, "requests": usage.requests, "at": at}
                )
            )
        # A settled reservation whose activity made no call (it found an earlier result) frees its hold.
    update: dict[str, object] = {"holds": updated_holds, "corrections": corrections}
    if usage is not None:
        if usage.max_output_tokens is not None:
            update["max_output_tokens"] = usage.max_output_tokens
        if usage.limit_tokens is not None or usage.limit_requests is not None:
            update["limits"] = state.limits.model_copy(
                update={
                    "tokens_per_window": usage.limit_tokens or state.limits.tokens_per_window,
                    "requests_per_window": usage.limit_requests or state.limits.requests_per_window,
                }
            )
    return state.model_copy(update=update)


def configure(state: BudgetState, limits: BudgetLimits) -> BudgetState:
    """Adopt the deployment's quota (an operator's or deployment script's word); the holds stay."""
    return state.model_copy(update={"limits": limits})
