"""Push delivery of Event Grid events (Event Grid schema) and ACS CloudEvents callbacks, with bounded retries.

Event Grid validates a webhook before it delivers anything to it: it POSTs a ``SubscriptionValidationEvent``
with header ``aeg-event-type: SubscriptionValidation`` and expects ``200 {"validationResponse": <code>}``.
Notifications then carry ``aeg-event-type: Notification`` and ``aeg-delivery-count``; a non-2xx answer or a
network error is retried with exponential backoff, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

LOGGER = logging.getLogger(__name__)


def loggable_url(url: str) -> str:
    """Return ``url`` without its query and fragment, which carry webhook keys and callback tokens."""
    parts = urlsplit(url)
    hidden = "?[query hidden]" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + hidden


SUBSCRIPTION_NAME = "HIREFLOW-EMULATED-SUBSCRIPTION"
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried."""

    max_attempts: int = 6
    first_delay_s: float = 0.5
    multiplier: float = 2.0
    max_delay_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_delay_s, self.first_delay_s * self.multiplier ** (attempt - 1)))


class DeliveryFailedError(RuntimeError):
    """The subscriber did not accept an event after every allowed attempt."""


def utc_now_iso() -> str:
    """Return the current UTC time the way Azure writes it in events."""
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


class EventPusher:
    """Sends events to webhooks over one shared aiohttp session."""

    def __init__(self, retry: RetryPolicy | None = None, topic: str = "") -> None:
        self._retry = retry or RetryPolicy()
        self._topic = topic
        self._session: aiohttp.ClientSession | None = None
        self._validated: set[str] = set()
        self._validation_lock = asyncio.Lock()

    async def start(self) -> None:
        """Open the HTTP session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("EventPusher.start() was not called")
        return self._session

    async def _post_with_retry(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> aiohttp.ClientResponse:
        last_error = "no attempt made"
        for attempt in range(1, self._retry.max_attempts + 1):
            attempt_headers = {**headers, "aeg-delivery-count": str(attempt - 1)}
            try:
                response = await self._client().post(url, data=body, headers=attempt_headers)
                await response.read()
                if 200 <= response.status < 300:
                    return response
                last_error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as error:
                last_error = f"{type(error).__name__}: {error}"
            LOGGER.info("delivery to %s failed (attempt %d): %s", loggable_url(url), attempt, last_error)
            if attempt < self._retry.max_attempts:
                await asyncio.sleep(self._retry.delay(attempt))
        raise DeliveryFailedError(
            f"{loggable_url(url)}: gave up after {self._retry.max_attempts} attempts ({last_error})"
        )

    async def _ensure_validated(self, url: str) -> None:
        async with self._validation_lock:
            if url in self._validated:
                return
            code = str(uuid.uuid4())
            event = {
                "id": str(uuid.uuid4()),
                "topic": self._topic,
                "subject": "",
                "data": {"validationCode": code, "validationUrl": None},
                "eventType": VALIDATION_EVENT_TYPE,
                "eventTime": utc_now_iso(),
                "metadataVersion": "1",
                "dataVersion": "2",
            }
            response = await self._post_with_retry(
                url, json.dumps([event]).encode(), self._headers("SubscriptionValidation")
            )
            try:
                answer = json.loads(await response.read())
            except ValueError as error:
                raise DeliveryFailedError(f"{url}: validation answer is not JSON") from error
            if not isinstance(answer, dict) or answer.get("validationResponse") != code:
                raise DeliveryFailedError(f"{url}: validation answer does not echo the validation code")
            self._validated.add(url)

    def _headers(self, event_type: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json; charset=utf-8",
            "aeg-event-type": event_type,
            "aeg-subscription-name": SUBSCRIPTION_NAME,
            "aeg-data-version": "1.0",
            "aeg-metadata-version": "1",
        }

    async def deliver_event_grid(self, url: str, events: Sequence[dict[str, Any]]) -> None:
        """Validate the subscription (once per URL), then deliver ``events`` as one batch, with retries."""
        await self._ensure_validated(url)
        await self._post_with_retry(url, json.dumps(list(events)).encode(), self._headers("Notification"))

    async def deliver_cloud_events(self, url: str, events: Sequence[dict[str, Any]]) -> None:
        """POST CloudEvents (a JSON array, as Call Automation sends its mid-call callbacks), with retries."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        await self._post_with_retry(url, json.dumps(list(events)).encode(), headers)


def event_grid_event(*, topic: str, subject: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One event in the Event Grid schema."""
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": subject,
        "data": data,
        "eventType": event_type,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": utc_now_iso(),
    }


def cloud_event(*, source: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """One CloudEvents 1.0 event as Call Automation sends it to a callback URI."""
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "data": data,
        "time": utc_now_iso(),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": source,
    }
