"""Per-deployment RPM/TPM limits: 429 with Azure's headers, then success once the advertised wait is over."""

from __future__ import annotations

import asyncio
import time

import openai
import pytest

from emulators.ratelimit import SlidingWindowLimiter
from emulators.server import EmulatorThread, emulators_in_thread
from tests.emulators.ai.helpers import (
    LIMITED_RPM,
    LIMITED_TPM,
    async_openai_client,
    emulator_options,
    openai_client,
    raw_request,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def test_rpm_limit_gives_429_with_azure_headers_then_recovers(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    first = client.chat.completions.with_raw_response.create(model=LIMITED_RPM, messages=MESSAGES)  # type: ignore[arg-type]
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    client.chat.completions.create(model=LIMITED_RPM, messages=MESSAGES)  # type: ignore[arg-type]
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model=LIMITED_RPM, messages=MESSAGES)  # type: ignore[arg-type]
    headers = raised.value.response.headers
    retry_after_ms = int(headers["retry-after-ms"])
    assert 0 < retry_after_ms <= 1000
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-remaining-tokens" in headers
    assert "exceeded call rate limit" in str(raised.value)
    time.sleep(retry_after_ms / 1000)  # honour exactly what the service advertised
    again = client.chat.completions.create(model=LIMITED_RPM, messages=MESSAGES)  # type: ignore[arg-type]
    assert again.choices[0].message.content


def test_sdk_retry_honours_retry_after_ms(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=3)
    started = time.monotonic()
    for _ in range(4):  # the third and fourth calls hit the limit and are retried by the SDK itself
        completion = client.chat.completions.create(model=LIMITED_RPM, messages=MESSAGES)  # type: ignore[arg-type]
        assert completion.choices
    assert time.monotonic() - started < 10


def test_tpm_limit_counts_prompt_and_max_tokens(emulator: EmulatorThread) -> None:
    async def scenario() -> int:
        client = async_openai_client(emulator.settings, max_retries=0)
        async with client:
            await client.chat.completions.create(model=LIMITED_TPM, messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]
            with pytest.raises(openai.RateLimitError) as raised:
                await client.chat.completions.create(model=LIMITED_TPM, messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]
            assert "exceeded token rate limit" in str(raised.value)
            wait_ms = int(raised.value.response.headers["retry-after-ms"])
            await asyncio.sleep(wait_ms / 1000)
            ok = await client.chat.completions.create(model=LIMITED_TPM, messages=MESSAGES, max_tokens=100)  # type: ignore[arg-type]
            assert ok.choices
            return wait_ms

    assert 0 < asyncio.run(scenario()) <= 1000


def test_sliding_window_arithmetic() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(
        requests_per_minute=2, tokens_per_minute=100, window_s=60, clock=lambda: now[0]
    )
    assert limiter.try_admit(40).allowed
    now[0] = 10
    assert limiter.try_admit(40).allowed
    now[0] = 20
    refused = limiter.try_admit(10)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(40)  # the first admission leaves the window at t=60
    now[0] = 60
    admitted = limiter.try_admit(50)
    assert admitted.allowed
    assert admitted.remaining_tokens == 10
    now[0] = 65
    too_big = limiter.try_admit(30)
    assert not too_big.allowed
    assert too_big.retry_after_s == pytest.approx(5)  # at t=70 the 40 tokens admitted at t=10 expire


def test_admin_endpoint_changes_limits_at_run_time() -> None:
    with emulators_in_thread(emulator_options()) as running:
        url = f"{running.settings['EMULATORS_HTTP_URL']}/admin/openai/limits"
        bad = raw_request(url, data=b'{"deployment": "nope"}')
        assert bad.status == 400
        assert "gpt-4o-mini" in bad.json()["error"]["message"]
        assert raw_request(url, data=b'{"deployment": "gpt-4o-mini", "requests_per_minute": 0}').status == 400
        ok = raw_request(url, data=b'{"deployment": "gpt-4o-mini", "requests_per_minute": 1}')
        assert ok.status == 200
        client = openai_client(running.settings, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # type: ignore[arg-type]
