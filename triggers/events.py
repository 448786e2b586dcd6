"""One view of an Event Grid delivery, whichever schema the subscription uses.

A subscription delivers either the Event Grid schema (``eventType``, ``topic``, ``eventTime``,
``dataVersion``) or CloudEvents 1.0 (``type``, ``source``, ``time``, ``specversion``). The Python worker
hands an ``eventGridTrigger`` function a ``func.EventGridEvent`` for the first and, with azure-functions
1.26, a ``func.CloudEvent`` for the second (chosen by the presence of ``specversion``), whatever the
parameter's annotation says. Libraries without ``CloudEvent`` build an ``EventGridEvent`` out of a
CloudEvent, with ``event_type`` and ``topic`` left empty. :func:`delivered_event` reads all three into
:class:`DeliveredEvent` without ever raising, so a function can log and acknowledge an event it cannot use
instead of failing it, which Event Grid would answer with redeliveries until the event expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class DeliveredEvent:
    """The fields read from an Event Grid or CloudEvents delivery; absent or mistyped ones are None."""

    id: str | None
    type: str | None
    subject: str | None
    source: str | None
    data: Any
    schema: Literal["EventGrid", "CloudEvents"]

    @property
    def label(self) -> str:
        """A short, log-safe name of the event (its id, bounded in length)."""
        return (self.id or "(no id)")[:128]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _attribute(event: Any, name: str) -> Any:
    try:
        return getattr(event, name, None)
    except Exception:  # a broken property must not fail the delivery
        return None


def _data(event: Any) -> Any:
    get_json = _attribute(event, "get_json")
    if not callable(get_json):
        return None
    try:
        return get_json()
    except Exception:  # the worker's objects return stored data; anything else is unreadable
        return None


def delivered_event(event: Any) -> DeliveredEvent:
    """Read ``event`` (an ``EventGridEvent``, a ``CloudEvent``, or a dict as posted) without raising."""
    if isinstance(event, dict):
        cloud = "specversion" in event
        return DeliveredEvent(
            id=_text(event.get("id")),
            type=_text(event.get("type" if cloud else "eventType")),
            subject=_text(event.get("subject")),
            source=_text(event.get("source" if cloud else "topic")),
            data=event.get("data"),
            schema="CloudEvents" if cloud else "EventGrid",
        )
    cloud = _attribute(event, "specversion") is not None
    return DeliveredEvent(
        id=_text(_attribute(event, "id")),
        type=_text(_attribute(event, "type" if cloud else "event_type")),
        subject=_text(_attribute(event, "subject")),
        source=_text(_attribute(event, "source" if cloud else "topic")),
        data=_data(event),
        schema="CloudEvents" if cloud else "EventGrid",
    )
