"""``openai_token_budget``: one Durable Entity per OpenAI deployment, the token bucket every instance shares.

Entity key
    The deployment name (``gpt-4o-mini``): one budget per deployment, whatever Function App instance asks.
Operations
    ``reserve`` (:class:`shared.token_bucket.ReserveRequest` → :class:`shared.token_bucket.Grant`): called
    by an orchestrator (``context.call_entity``) before an OpenAI activity; granted, or the seconds to wait
    (the orchestrator waits on a durable timer and asks again).
    ``settle`` (:class:`shared.token_bucket.SettleRequest`): signalled (``context.signal_entity``) after the
    activity with the usage it reported, so the window holds what the service really charged.
    ``configure`` (:class:`shared.token_bucket.BudgetLimits`): the deployment's quota per window. A new
    budget starts from the settings ``AZURE_OPENAI_CHAT_TOKENS_PER_MINUTE`` and
    ``AZURE_OPENAI_CHAT_REQUESTS_PER_MINUTE`` (the Bicep derives them from the deployment's capacity); the
    transcription deployment's (key :data:`TRANSCRIPTION_DEPLOYMENT`) from
    ``AZURE_OPENAI_TRANSCRIPTION_REQUESTS_PER_MINUTE``, requests only, as its quota counts; whoever
    knows better (an operator, the benchmark) reconfigures it through the Durable HTTP API
    (``POST /runtime/webhooks/durabletask/entities/openai_token_budget/<deployment>?op=configure``).
    ``get``: the state, for people and tests.
Why an entity
    Entities run one operation at a time per key, across every instance of the app, so two orchestrations
    can never both take the last room in the window: no lease, lock or storage race to get right.
Time
    The entity reads the wall clock, not orchestration time: the quota it mirrors is kept by the service in
    real time, while orchestration time may be skipped (devhost) or be an episode's start. Entities are not
    replayed, so reading the clock is safe here (never in an orchestrator).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import azure.durable_functions as df

from shared.logging import get_logger
from shared.settings import get_settings
from shared.token_bucket import (
    BudgetLimits,
    BudgetState,
    ReserveRequest,
    SettleRequest,
    configure,
    reserve,
    settle,
)

ENTITY_NAME = "openai_token_budget"
TRANSCRIPTION_DEPLOYMENT = "whisper"
"""The budget key of the transcription deployment (the app's default one), whose quota counts requests."""
LOGGER = get_logger("hireflow.token_budget")

bp = df.Blueprint()

clock: Callable[[], float] = time.time
"""Where the entity reads the time (POSIX seconds); tests put a clock they control here."""


def budget_entity_id(deployment: str) -> df.EntityId:
    """Return the budget entity of ``deployment``."""
    return df.EntityId(ENTITY_NAME, deployment)


def initial_limits(deployment: str = "") -> BudgetLimits:
    """Return the limits a new budget of ``deployment`` starts with: its quota per minute (settings).

    The transcription deployment's quota counts requests; every other key is a chat deployment's.
    """
    try:
        settings = get_settings()
    except ValueError as error:
        # The budget only throttles (the activities still handle 429s); an app whose settings cannot be read
        # fails loudly in every activity, so the entity starts unlimited rather than failing the caller too.
        LOGGER.warning("%s: settings unreadable, the budget starts unlimited: %s", ENTITY_NAME, error)
        return BudgetLimits()
    if deployment == TRANSCRIPTION_DEPLOYMENT:
        return BudgetLimits(
            requests_per_window=settings.openai_transcription_requests_per_minute, window_s=60.0
        )
    return BudgetLimits(
        tokens_per_window=settings.openai_chat_tokens_per_minute,
        requests_per_window=settings.openai_chat_requests_per_minute,
        window_s=60.0,
    )


def _load(context: df.DurableEntityContext) -> BudgetState:
    raw = context.get_state(lambda: None)
    if raw is not None:
        return BudgetState.model_validate(raw)
    return BudgetState(limits=initial_limits(context.entity_key))


def apply_operation(context: df.DurableEntityContext) -> None:
    """Run one operation on the budget state (the entity function's body)."""
    state = _load(context)
    operation = context.operation_name
    payload = context.get_input()
    if operation == "reserve":
        state, grant = reserve(state, ReserveRequest.model_validate(payload), clock())
        context.set_result(grant.model_dump(mode="json"))
    elif operation == "settle":
        state = settle(state, SettleRequest.model_validate(payload), clock())
    elif operation == "configure":
        state = configure(state, BudgetLimits.model_validate(payload or {}))
    elif operation == "get":
        context.set_result(state.model_dump(mode="json"))
    else:
        raise ValueError(f"{ENTITY_NAME}: unknown operation {operation!r} (reserve, settle, configure, get)")
    context.set_state(state.model_dump(mode="json"))


@bp.entity_trigger(context_name="context", entity_name=ENTITY_NAME)
def openai_token_budget(context: df.DurableEntityContext) -> None:
    """Reserve, settle and configure one deployment's token budget (see the module doc)."""
    apply_operation(context)
