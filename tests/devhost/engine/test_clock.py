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


def test_people_jump_any_clock_forward_but_never_back() -> None:
    for clock in (Clock.real(), Clock.skipping(), Clock.scaled(10)):
        before = clock.timestamp()
        clock.jump_by(timedelta(days=2))
        assert clock.timestamp() >= before + 2 * 86_400
        clock.jump_to(before)
        assert clock.timestamp() >= before + 2 * 86_400
        with pytest.raises(ValueError, match="backwards"):
            clock.jump_by(timedelta(seconds=-1))


def test_switching_modes_goes_on_from_the_current_time() -> None:
    clock = Clock.skipping()
    clock.advance_by(timedelta(days=3))
    ahead = clock.timestamp()
    clock.set_mode("real")
    assert not clock.skips
    assert ahead <= clock.timestamp() < ahead + 1
    clock.advance_by(timedelta(days=1))  # the engine's idle skips no longer move a real clock
    assert clock.timestamp() < ahead + 1
    clock.set_mode("skipping")
    assert clock.skips
    assert ahead <= clock.timestamp() < ahead + 1
    scaled = Clock.scaled(1000)
    scaled.jump_by(timedelta(hours=1))
    moment = scaled.timestamp()
    scaled.set_mode("real")
    assert moment <= scaled.timestamp() < moment + 5
    assert scaled.factor == 1.0
    with pytest.raises(ValueError, match="switches to real or skipping only"):
        scaled.set_mode("scaled")
