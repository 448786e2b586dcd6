"""Named retry policies for ``call_activity_with_retry``, so the policy is visible at every call site.

The Durable SDK's ``RetryOptions`` has a first interval and a maximum number of attempts and nothing else: the
backoff coefficient stays at the extension's default of 1, so attempts are spaced evenly.
Only transient faults raise from activities, so every attempt spent here is an
attempt that may succeed; permanent faults come back as typed results and are never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import azure.durable_functions as df

from shared.errors import classify_exception
from shared.logging import get_logger

T = TypeVar("T")
LOGGER = get_logger("hireflow.retry")

__all__ = [
    "AI_RETRY",
    "CALL_RETRY",
    "DOCUMENT_RETRY",
    "RECORDING_RETRY",
    "REPORT_RETRY",
    "REQUEST_RETRY",
    "SCHEDULING_RETRY",
    "STORAGE_RETRY",
    "TRANSCRIPTION_RETRY",
    "RequestRetry",
    "call_with_request_retries",
    "retry_after_seconds",
]

# Blob reads and writes (job definitions, bookings): Azure Storage recovers within seconds.
STORAGE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1_000, max_number_of_attempts=5)

# Document Intelligence analyze: a long-running operation that is usually throttled rather than down.
DOCUMENT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=5)

# Chat completions: 429 with retry-after is the common fault; tokens-per-minute windows are 60 s wide.
AI_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10_000, max_number_of_attempts=6)

# Audio transcription: longer requests, same throttling.
TRANSCRIPTION_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=15_000, max_number_of_attempts=5)

# Placing a call: few attempts, because a retried create must not ring the candidate twice (the activity is
# idempotent through its operation context, but a late duplicate is still a bad experience).
CALL_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)

# Downloading recording chunks: idempotent and resumable, so retry generously.
RECORDING_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=6)

# Scheduling reads and writes bookings in Blob.
SCHEDULING_RETRY = STORAGE_RETRY

# The report is the last step; losing it would lose the whole run's result.
REPORT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=8)


# ---------------------------------------------------------------------------------------------------------
# Retries inside one activity attempt.


@dataclass(frozen=True)
class RequestRetry:
    """How often one HTTP request is tried inside an activity attempt before the attempt gives up.

    ``tries`` is the total per request (first try included); the pause between tries honours the service's
    ``retry-after-ms`` / ``Retry-After`` when it sends one, else doubles from ``base_delay_s``, and is never
    longer than ``max_delay_s`` (the orchestrator's retry is the place for long waits).
    """

    tries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0

    def delay(self, failed_tries: int, error: BaseException) -> float:
        """Seconds to wait after ``failed_tries`` consecutive failures, the last being ``error``."""
        hinted = retry_after_seconds(error)
        if hinted is None:
            hinted = self.base_delay_s * (2 ** (failed_tries - 1))
        return max(0.0, min(hinted, self.max_delay_s))


REQUEST_RETRY = RequestRetry()
"""Per-request budget of every in-attempt retry (Document Intelligence submit and polls, recording ranges)."""

pause: Callable[[float], None] = time.sleep
"""How an in-attempt retry waits; tests replace it to record the waits instead of sleeping."""


def retry_after_seconds(error: BaseException) -> float | None:
    """Return the wait a throttled or unavailable service asked for (``retry-after-ms`` first), if any."""
    response: Any = getattr(error, "response", None)
    headers: Any = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("Retry-After", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) * scale
        except (TypeError, ValueError):
            continue  # an HTTP date: not worth parsing for a wait capped at seconds
    return None


def call_with_request_retries(
    request: Callable[[], T], *, what: str, policy: RequestRetry = REQUEST_RETRY
) -> T:
    """Run ``request``, trying again after transient faults (429, 408, 5xx, connection errors, timeouts).

    A permanent fault, or a transient one on the last try, propagates unchanged: the activity's own
    classification then decides between a typed failure and the orchestrator's retry.
    """
    failed = 0
    while True:
        try:
            return request()
        except Exception as error:
            failed += 1
            if failed >= policy.tries or not classify_exception(error).transient:
                raise
            wait = policy.delay(failed, error)
            LOGGER.info("%s: transient fault (%s); try %d of %d in %.2f s", what, error, failed + 1,
                        policy.tries, wait)  # fmt: skip
            pause(wait)
