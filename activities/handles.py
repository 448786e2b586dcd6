"""Typed activity handles: an activity's registered name, its models and its retry policy, as one value.

A handle is declared once (:mod:`activities.contracts`) and used on both sides of the orchestration
boundary: the activity registers itself under ``handle.name`` (``@bp.function_name(HANDLE.name)``), and an
orchestrator calls it with ``yield from HANDLE.call(steps, Input(...))``, getting ``OutputT`` back typed.
The name is stored in every history that calls the activity, so it is spelled in one place only: a rename
changes both ends at once or neither.

A handle is data: calling it hands it to an :class:`ActivityCaller` (``orchestrators.steps.StepRunner``),
which yields the SDK tasks for the execution it belongs to. So this module imports no orchestrator code and
no SDK client, and both activities and orchestrators can depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import azure.durable_functions as df
from pydantic import BaseModel

from shared.models import ActivityOutput

InputT = TypeVar("InputT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=ActivityOutput)


class ActivityCaller(Protocol):
    """Runs a handle's activity inside an orchestrator: yields its tasks and returns its validated output."""

    def call_activity(
        self, handle: ActivityHandle[InputT, OutputT], payload: InputT
    ) -> Generator[Any, Any, OutputT]:
        """Schedule ``handle`` with ``payload`` and return its output (see ``orchestrators.steps``)."""
        ...


@dataclass(frozen=True)
class ActivityHandle(Generic[InputT, OutputT]):
    """One activity as orchestrators see it.

    ``name`` is the registered function name; ``input_model`` is what the activity validates on entry and
    ``output_model`` what the orchestrator validates its result as; ``retry`` is the named policy from
    :mod:`shared.retry` every call uses. ``prompt_tokens`` is set for the OpenAI activities only: it
    estimates a call's prompt tokens from its input, so that a run with a token budget reserves them on the
    deployment's budget before the call; ``requests`` estimates how many requests the call makes (one when
    unset) and ``budget`` names whose budget it reserves on: ``chat`` or ``transcription``.
    """

    name: str
    input_model: type[InputT]
    output_model: type[OutputT]
    retry: df.RetryOptions
    prompt_tokens: Callable[[InputT], int] | None = None
    requests: Callable[[InputT], int] | None = None
    budget: str = "chat"

    def call(self, caller: ActivityCaller, payload: InputT) -> Generator[Any, Any, OutputT]:
        """Call the activity with ``payload``; use as ``result = yield from HANDLE.call(steps, payload)``."""
        return caller.call_activity(self, payload)
