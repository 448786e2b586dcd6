"""Named retry policies for ``call_activity_with_retry``, so the policy is visible at every call site.

The Durable SDK's ``RetryOptions`` has a first interval and a maximum number of attempts and nothing else: the
backoff coefficient stays at the extension's default of 1, so attempts are spaced evenly.
Only transient faults raise from activities, so every attempt spent here is an
attempt that may succeed; permanent faults come back as typed results and are never retried.

Sizing the budgets from the fault rate they absorb
--------------------------------------------------
Take every request to Document Intelligence, OpenAI and ACS failing transiently and independently with
probability ``p`` (20% below). A step is lost when every one of its attempts is lost, so
``P(step) = P(attempt) ** attempts``, and a candidate is lost when any step is:
``P(candidate) = 1 - prod(1 - P(step))``. An attempt is lost when one of its requests fails past the retries
made inside the attempt (``REQUEST_RETRY``: 4 tries per request) or by the client (OpenAI's
``AZURE_OPENAI_MAX_RETRIES``, ``r`` below; the Azure SDK clients have theirs off).

=======================  ========  =======================================  ===============  ===============
step                     attempts  requests per attempt                     P(step), r=0     P(step), r=2
=======================  ========  =======================================  ===============  ===============
extract_resume_text      5         submit (4 tries) + 2 polls (3 failures   4.0e-11          4.0e-11
                                   in all, the operation resumed after each)
parse_candidate_profile  6         1 chat completion (1 + r tries)          0.2**6 = 6.4e-5  0.008**6 = 3e-13
screen_candidate         6         1 chat completion                        6.4e-5           3e-13
place_interview_call     3 x 3     1 create call (``CALL_ROUNDS`` rounds)   0.2**9 = 5.1e-7  5.1e-7
start_call_recording     3 x 3     1 start recording                        5.1e-7           5.1e-7
fetch_call_recording     6         1 range + 1 metadata read (4 tries       1e-15            1e-15
                                   each; staged ranges survive attempts)
transcribe_recording     5         1 transcription (1 + r tries)            0.2**5 = 3.2e-4  3e-11
score_transcript         6         1 chat completion                        6.4e-5           3e-13
=======================  ========  =======================================  ===============  ===============

At ``p = 0.2`` a candidate is lost with probability 5.1e-4 (1 in 1,950) with ``r = 0`` and 1.0e-6 (1 in a
million) with ``r = 2``; the OpenAI client's own retries are what keep the last four steps negligible, so
``AZURE_OPENAI_MAX_RETRIES`` is 2 by default (locally and in the Bicep) and should stay at least 2. Before
requests were retried inside an attempt, one extract attempt (a submit and two polls) was lost with
``1 - 0.8**3 = 0.49``, so 2.8% of candidates failed there, and each ACS step lost 0.8%.
:func:`candidate_failure_probability` computes the table for any ``p`` and ``r``; hang-ups are best effort and
blob storage is not counted (Azurite injects no faults). The question flow's prompts during the call are
retried in its own module.
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

# The named policies, what call sites pass to ``call_activity_with_retry``; the in-attempt helpers and the
# arithmetic below are imported by name.
__all__ = [
    "AI_RETRY",
    "CALL_RETRY",
    "DOCUMENT_RETRY",
    "RECORDING_RETRY",
    "REPORT_RETRY",
    "SCHEDULING_RETRY",
    "STORAGE_RETRY",
    "TRANSCRIPTION_RETRY",
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

CALL_ROUNDS = 3
"""Rounds of ``CALL_RETRY`` the interview spends on placing a call and starting its recording.

Each ACS request is one attempt (the client's own retries are off), so three attempts lose the step to
three faults in a row: 0.2**3 = 0.8% per step at a 20% fault rate; three rounds make it 0.2**9 = 5e-7. The
interview schedules a round only after a round failed, so histories that never failed replay unchanged."""

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


# ---------------------------------------------------------------------------------------------------------
# The arithmetic of the module docstring.


def _lost_before(successes: int, failures_allowed: int, fault_rate: float) -> float:
    """Return P(at least ``failures_allowed + 1`` transient failures come before ``successes`` successes)."""
    from math import comb

    kept = sum(
        comb(failures + successes - 1, failures) * fault_rate**failures * (1 - fault_rate) ** successes
        for failures in range(failures_allowed + 1)
    )
    return max(0.0, 1.0 - kept)


def step_failure_probabilities(fault_rate: float, *, openai_max_retries: int = 0) -> dict[str, float]:
    """Return, per pipeline step, the probability that it is lost at ``fault_rate`` per request."""
    tries = REQUEST_RETRY.tries
    per_request = fault_rate**tries
    submit_lost = per_request
    polls_lost = _lost_before(2, tries - 1, fault_rate)
    extract_attempt = 1 - (1 - submit_lost) * (1 - polls_lost)
    chat_attempt = fault_rate ** (1 + openai_max_retries)
    call_attempts = CALL_RETRY.max_number_of_attempts * CALL_ROUNDS
    recording_attempt = 1 - (1 - per_request) ** 2
    return {
        "extract_resume_text": extract_attempt**DOCUMENT_RETRY.max_number_of_attempts,
        "parse_candidate_profile": chat_attempt**AI_RETRY.max_number_of_attempts,
        "screen_candidate": chat_attempt**AI_RETRY.max_number_of_attempts,
        "place_interview_call": fault_rate**call_attempts,
        "start_call_recording": fault_rate**call_attempts,
        "fetch_call_recording": recording_attempt**RECORDING_RETRY.max_number_of_attempts,
        "transcribe_recording": chat_attempt**TRANSCRIPTION_RETRY.max_number_of_attempts,
        "score_transcript": chat_attempt**AI_RETRY.max_number_of_attempts,
    }


def candidate_failure_probability(fault_rate: float, *, openai_max_retries: int = 0) -> float:
    """Return the share of candidates lost end to end at ``fault_rate`` per request (module docstring)."""
    kept = 1.0
    for lost in step_failure_probabilities(fault_rate, openai_max_retries=openai_max_retries).values():
        kept *= 1 - lost
    return 1 - kept
