"""Skipped time with a quiet period: an event from outside that lands a moment later beats the deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from devhost.testing import DurableTestHost
from tests.devhost.engine.conftest import BASIC_APP

QUIET_SECONDS = 1.0


@pytest.fixture
def quiet_host() -> Iterator[DurableTestHost]:
    with DurableTestHost(BASIC_APP) as test_host:
        test_host.engine.skip_timers_quiet_seconds = QUIET_SECONDS
        yield test_host


def test_an_event_raised_within_the_quiet_period_beats_a_three_day_deadline(
    quiet_host: DurableTestHost,
) -> None:
    instance_id = quiet_host.start("approval")
    # Stands in for a callback from another service, which lands a moment after the orchestration waits.
    late_event = threading.Timer(0.2, quiet_host.raise_event, (instance_id, "decision", "advance"))
    late_event.start()
    try:
        result = quiet_host.run_until_complete(instance_id, timeout=10)
    finally:
        late_event.join()
    assert result.output == {"decision": "advance"}


def test_without_an_event_the_deadline_is_skipped_to_after_the_quiet_period(
    quiet_host: DurableTestHost,
) -> None:
    started = time.monotonic()
    result = quiet_host.run_until_complete(quiet_host.start("approval"), timeout=10)
    elapsed = time.monotonic() - started
    assert result.output == {"decision": "timed out"}
    assert QUIET_SECONDS <= elapsed < QUIET_SECONDS + 5
