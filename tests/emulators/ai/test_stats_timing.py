"""`/admin/stats` reports the seconds each service spent serving and what the OpenAI limiters admitted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from emulators.faults import FaultSettings
from emulators.ratelimit import SlidingWindowLimiter
from emulators.server import EmulatorThread, emulators_in_thread
from tests.emulators.ai.helpers import LIMITED_TPM, emulator_options, openai_client, raw_request

CHAT = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def emulator() -> Iterator[EmulatorThread]:
    settings = FaultSettings(slow_delay_s=0.3)
    with emulators_in_thread(emulator_options(fault_settings=settings)) as running:
        yield running


def _stats(emulator: EmulatorThread) -> dict[str, Any]:
    stats: dict[str, Any] = raw_request(
        f"{emulator.settings['EMULATORS_HTTP_URL']}/admin/stats", method="GET"
    ).json()
    return stats


def test_served_seconds_grow_with_each_request_and_include_injected_delays(emulator: EmulatorThread) -> None:
    before = _stats(emulator)["services"]["openai"]
    assert before["served_s"] == 0.0

    client = openai_client(emulator.settings, max_retries=0)
    client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    after_one = _stats(emulator)["services"]["openai"]
    assert after_one["served"] == 1
    assert 0.0 < after_one["served_s"] < 0.3

    emulator.server.faults.configure({"openai": {"slow": 1.0}})
    client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    after_slow = _stats(emulator)["services"]["openai"]
    assert after_slow["served_s"] - after_one["served_s"] >= 0.3
    assert _stats(emulator)["services"]["docintel"]["served_s"] == 0.0


def test_openai_usage_counts_admitted_and_refused_tokens(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    client.chat.completions.create(model=LIMITED_TPM, messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=LIMITED_TPM, messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]

    usage = _stats(emulator)["openai_usage"][LIMITED_TPM]
    assert usage["admitted_requests"] == 1
    assert usage["refused_requests"] == 1
    assert usage["admitted_tokens"] > 100  # the prompt plus max_tokens is reserved at admission
    assert usage["tokens_per_minute"] is not None
    assert _stats(emulator)["openai_usage"][CHAT]["admitted_requests"] == 0


def test_limiter_usage_spans_first_to_last_admission() -> None:
    now = [100.0]
    limiter = SlidingWindowLimiter(None, 50, window_s=10.0, clock=lambda: now[0])
    assert limiter.try_admit(30).allowed
    now[0] = 104.0
    assert not limiter.try_admit(30).allowed
    now[0] = 110.5
    assert limiter.try_admit(30).allowed

    usage = limiter.usage()
    assert usage["admitted_tokens"] == 60
    assert usage["admitted_requests"] == 2
    assert usage["refused_requests"] == 1
    assert usage["admitted_span_s"] == pytest.approx(10.5)
    assert usage["window_s"] == 10.0
