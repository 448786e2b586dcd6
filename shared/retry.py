"""Named retry policies for ``call_activity_with_retry``, so the policy is visible at every call site.

The Durable SDK's ``RetryOptions`` has a first interval and a maximum number of attempts and nothing else: the
backoff coefficient stays at the extension's default of 1, so attempts are spaced evenly.
Only transient faults raise from activities, so every attempt spent here is an
attempt that may succeed; permanent faults come back as typed results and are never retried.
"""

from __future__ import annotations

import azure.durable_functions as df

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

# Downloading recording chunks: idempotent and resumable, so retry generously.
RECORDING_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=6)

# Scheduling reads and writes bookings in Blob.
SCHEDULING_RETRY = STORAGE_RETRY

# The report is the last step; losing it would lose the whole run's result.
REPORT_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2_000, max_number_of_attempts=8)
