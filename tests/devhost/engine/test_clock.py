"""The engine's clock modes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from devhost.clock import Clock


def test_skipping_clock_jumps_forward_and_never_back() -> None:
    clock = Clock.skipping()
    before = clock.timestamp()
    clock.advance_to(before + 86_400)
    assert clock.timestamp() >= before + 86_400
    clock.advance_to(before)
    assert clock.timestamp() >= before + 86_400
    clock.advance_by(timedelta(hours=1))
    assert clock.timestamp() >= before + 86_400 + 3_600


def test_real_clock_ignores_skips() -> None:
    clock = Clock.real()
    clock.advance_to(clock.timestamp() + 3_600)
    assert abs(clock.timestamp() - time.time()) < 1


def test_scaled_clock_runs_faster_and_shortens_waits() -> None:
    clock = Clock.scaled(1000)
    target = clock.timestamp() + 3_600
    assert clock.real_seconds_until(target) == pytest.approx(3.6, abs=0.1)
    assert clock.now().tzinfo is not None


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Clock.scaled(0)
