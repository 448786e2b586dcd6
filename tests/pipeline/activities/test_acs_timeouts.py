"""The ACS client honours HTTP_TIMEOUT_SECONDS: a hung ACS request fails the attempt instead of the activity
waiting for minutes, and the retried attempt places one call in all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from activities.calls import operation_context_for
from emulators.server import EmulatorThread
from shared.errors import ErrorCode, TransientError
from tests.pipeline.activities.acs_helpers import place

pytestmark = pytest.mark.azurite

READ_TIMEOUT_S = 0.5
SERVICE_DELAY_S = 4.0


@pytest.fixture
def slow_acs(emulators: EmulatorThread, faults: Callable[[str], None]) -> Iterator[Callable[[], None]]:
    """Make every ACS request take SERVICE_DELAY_S before the emulator answers it; undone afterwards."""
    settings = emulators.server.faults.settings
    before = settings.slow_delay_s
    settings.slow_delay_s = SERVICE_DELAY_S
    yield lambda: faults("acs:slow=1")
    faults("")
    settings.slow_delay_s = before


def test_a_hung_acs_request_times_out_at_the_configured_read_timeout(
    configure: Callable[..., None], emulators: EmulatorThread, slow_acs: Callable[[], None]
) -> None:
    configure(HTTP_TIMEOUT_SECONDS=str(READ_TIMEOUT_S), HTTP_CONNECT_TIMEOUT_SECONDS="2")
    slow_acs()
    started = time.perf_counter()
    with pytest.raises(TransientError) as raised:
        place("hung")
    elapsed = time.perf_counter() - started
    assert raised.value.code in (ErrorCode.TIMEOUT, ErrorCode.SERVICE_UNAVAILABLE)
    # Well before the service answers; the margin covers the repeatability blob written before the request.
    assert elapsed < SERVICE_DELAY_S - 1.0, elapsed


def test_the_retry_after_a_timed_out_create_call_rings_once(
    configure: Callable[..., None], emulators: EmulatorThread, slow_acs: Callable[[], None]
) -> None:
    configure(HTTP_TIMEOUT_SECONDS=str(READ_TIMEOUT_S))
    slow_acs()
    with pytest.raises(TransientError):
        place("lost-answer")
    context = operation_context_for("lost-answer", 0)

    def created() -> int:
        async def read() -> int:
            assert emulators.server.acs is not None
            return int(emulators.server.acs.calls_summary()["per_operation_context"].get(context, 0))

        return int(emulators.call(read()))

    configure(HTTP_TIMEOUT_SECONDS="20")
    emulators.call(_no_faults(emulators))
    retried = place("lost-answer")
    assert retried.failure is None
    # Whether or not the service went on with the abandoned request, the retry carries the same
    # repeatability headers: there is one call for the attempt.
    assert created() == 1


async def _no_faults(emulators: EmulatorThread) -> None:
    emulators.server.faults.configure({})
