"""The token budget's arithmetic: reserve, settle, waits, and the limits no window may exceed."""

from __future__ import annotations

import random

import pytest

from shared.decisions import estimate_prompt_tokens, uses_token_budget, uses_transcription_budget
from shared.token_bucket import (
    MIN_WAIT_S,
    UNSETTLED_LEASE_WINDOWS,
    BudgetLimits,
    BudgetState,
    ChatUsage,
    ReserveRequest,
    SettleRequest,
    configure,
    reserve,
    settle,
)

WINDOW = 10.0
ANSWER = 4_096


def budget(tokens: int | None = 20_000, requests: int | None = None) -> BudgetState:
    limits = BudgetLimits(tokens_per_window=tokens, requests_per_window=requests, window_s=WINDOW)
    return configure(BudgetState(max_output_tokens=ANSWER), limits)


def charged(tokens: int, at: float, requests: int = 1) -> ChatUsage:
    return ChatUsage(requests=requests, tokens=tokens, max_output_tokens=ANSWER, finished_at=at)


def test_a_reservation_holds_prompt_plus_answer_until_the_window_is_full() -> None:
    state = budget(tokens=3 * (1_000 + ANSWER))
    grants = []
    for number in range(4):
        state, grant = reserve(state, ReserveRequest(id=f"r{number}", prompt_tokens=1_000), now=0.0)
        grants.append(grant)
    assert [grant.granted for grant in grants] == [True, True, True, False]
    assert grants[0].tokens == 1_000 + ANSWER
    # Nothing settled yet: the three in flight cannot leave the window before one window after their grant.
    assert grants[3].wait_s == WINDOW
    assert (state.granted, state.deferred) == (3, 1)


def test_the_wait_ends_when_the_oldest_charge_leaves_the_window() -> None:
    state = budget(tokens=2 * (1_000 + ANSWER))
    state, _ = reserve(state, ReserveRequest(id="a", prompt_tokens=1_000), now=0.0)
    state, _ = reserve(state, ReserveRequest(id="b", prompt_tokens=1_000), now=0.5)
    state = settle(state, SettleRequest(id="a", usage=charged(5_000, at=1.0)), now=1.5)
    state = settle(state, SettleRequest(id="b", usage=charged(5_000, at=2.0)), now=2.5)

    state, refused = reserve(state, ReserveRequest(id="c", prompt_tokens=1_000), now=3.0)
    assert not refused.granted
    assert refused.wait_s == pytest.approx(1.0 + WINDOW - 3.0)

    state, granted = reserve(state, ReserveRequest(id="c", prompt_tokens=1_000), now=1.0 + WINDOW + 0.001)
    assert granted.granted


def test_settling_replaces_the_estimate_and_frees_what_was_overestimated() -> None:
    state = budget(tokens=10_000)
    state, _ = reserve(state, ReserveRequest(id="big", prompt_tokens=5_000, kind="parse"), now=0.0)
    state, refused = reserve(state, ReserveRequest(id="next", prompt_tokens=1_000, kind="screen"), now=0.1)
    assert not refused.granted
    state = settle(state, SettleRequest(id="big", usage=charged(4_500, at=0.2)), now=0.3)
    state, granted = reserve(state, ReserveRequest(id="next", prompt_tokens=1_000, kind="screen"), now=0.4)
    assert granted.granted
    assert [hold.tokens for hold in state.holds] == [4_500, 1_000 + ANSWER]


def test_an_estimate_learns_from_the_last_charge_of_its_kind() -> None:
    state = budget(tokens=None)
    state, first = reserve(state, ReserveRequest(id="p1", prompt_tokens=1_500, kind="parse"), now=0.0)
    state = settle(state, SettleRequest(id="p1", usage=charged(5_000, at=0.5)), now=0.6)
    state, second = reserve(state, ReserveRequest(id="p2", prompt_tokens=1_500, kind="parse"), now=1.0)
    state, other = reserve(state, ReserveRequest(id="s1", prompt_tokens=1_500, kind="screen"), now=1.0)
    assert first.tokens == 1_500 + ANSWER
    assert second.tokens == 5_000
    assert other.tokens == 1_500 + ANSWER
    # A repair round (two requests) says nothing about one request's size: the correction stays.
    state = settle(state, SettleRequest(id="p2", usage=charged(11_000, at=1.5, requests=2)), now=1.6)
    state, third = reserve(state, ReserveRequest(id="p3", prompt_tokens=1_500, kind="parse"), now=2.0)
    assert third.tokens == 5_000


def test_a_wait_is_never_shorter_than_the_floor() -> None:
    state = budget(tokens=1_000 + ANSWER)
    state, _ = reserve(state, ReserveRequest(id="a", prompt_tokens=1_000), now=0.0)
    state, refused = reserve(state, ReserveRequest(id="b", prompt_tokens=1_000), now=WINDOW - 0.001)
    assert not refused.granted
    assert refused.wait_s == MIN_WAIT_S


def test_a_repair_round_is_charged_as_two_requests() -> None:
    state = budget(tokens=None, requests=2)
    state, _ = reserve(state, ReserveRequest(id="repaired", prompt_tokens=100), now=0.0)
    state = settle(state, SettleRequest(id="repaired", usage=charged(9_000, at=1.0, requests=2)), now=1.0)
    state, refused = reserve(state, ReserveRequest(id="next", prompt_tokens=100), now=1.5)
    assert not refused.granted
    assert refused.wait_s == pytest.approx(1.0 + WINDOW - 1.5)


def test_unknown_usage_keeps_the_estimate_from_the_settle_on() -> None:
    state = budget(tokens=1_000 + ANSWER)
    state, _ = reserve(state, ReserveRequest(id="failed", prompt_tokens=1_000), now=0.0)
    state = settle(state, SettleRequest(id="failed"), now=4.0)
    state, refused = reserve(state, ReserveRequest(id="next", prompt_tokens=1_000), now=5.0)
    assert not refused.granted
    assert refused.wait_s == pytest.approx(4.0 + WINDOW - 5.0)


def test_an_activity_that_made_no_call_frees_its_reservation() -> None:
    state = budget(tokens=1_000 + ANSWER)
    state, _ = reserve(state, ReserveRequest(id="remembered", prompt_tokens=1_000), now=0.0)
    state = settle(state, SettleRequest(id="remembered", usage=ChatUsage()), now=0.5)
    assert state.holds == []


def test_a_reservation_asked_twice_holds_once() -> None:
    state = budget(tokens=1_000 + ANSWER)
    state, first = reserve(state, ReserveRequest(id="same", prompt_tokens=1_000), now=0.0)
    state, second = reserve(state, ReserveRequest(id="same", prompt_tokens=1_000), now=0.1)
    assert first.granted
    assert second.granted
    assert len(state.holds) == 1


def test_a_request_larger_than_the_quota_gets_an_empty_window() -> None:
    state = budget(tokens=1_000)
    state, grant = reserve(state, ReserveRequest(id="huge", prompt_tokens=50_000), now=0.0)
    assert grant.granted


def test_an_unsettled_reservation_is_forgotten_after_its_lease() -> None:
    state = budget(tokens=1_000 + ANSWER)
    state, _ = reserve(state, ReserveRequest(id="lost", prompt_tokens=1_000), now=0.0)
    lease = WINDOW * UNSETTLED_LEASE_WINDOWS
    state, refused = reserve(state, ReserveRequest(id="next", prompt_tokens=1_000), now=lease - 0.1)
    assert not refused.granted
    state, granted = reserve(state, ReserveRequest(id="next", prompt_tokens=1_000), now=lease + 0.1)
    assert granted.granted


def test_settles_teach_the_answer_size_and_the_announced_limits() -> None:
    state = budget(tokens=None)
    state, _ = reserve(state, ReserveRequest(id="a", prompt_tokens=10), now=0.0)
    usage = ChatUsage(requests=1, tokens=2_010, max_output_tokens=2_000, finished_at=0.1, limit_tokens=9_000)
    state = settle(state, SettleRequest(id="a", usage=usage), now=0.2)
    assert state.max_output_tokens == 2_000
    assert state.limits.tokens_per_window == 9_000
    assert state.limits.window_s == WINDOW


def test_no_window_ever_holds_more_than_the_quota() -> None:
    """Many callers, random prompts and delays: the service's own sliding window never overflows."""
    generator = random.Random(7)
    quota = 30_000
    state = budget(tokens=quota)
    admitted: list[tuple[float, int]] = []  # (when the service admitted it, tokens charged)
    in_flight: list[tuple[str, float, int]] = []  # (id, admission time, tokens)
    now = 0.0
    for number in range(400):
        now += generator.uniform(0.0, 0.4)
        for request_id, admitted_at, tokens in [f for f in in_flight if f[1] + 0.2 <= now]:
            state = settle(
                state, SettleRequest(id=request_id, usage=charged(tokens, at=admitted_at + 0.2)), now
            )
            in_flight.remove((request_id, admitted_at, tokens))
        prompt = generator.randint(200, 3_000)
        state, grant = reserve(state, ReserveRequest(id=f"r{number}", prompt_tokens=prompt), now)
        if grant.granted:
            # The call reaches the service a little later and is charged what the estimate said.
            admitted_at = now + generator.uniform(0.0, 0.15)
            admitted.append((admitted_at, prompt + ANSWER))
            in_flight.append((f"r{number}", admitted_at, prompt + ANSWER))
    span = admitted[-1][0] - admitted[0][0]
    # Demand always exceeds the quota here, so the budget should use nearly all of it.
    assert sum(tokens for _, tokens in admitted) >= 0.9 * quota * span / WINDOW
    for moment, _ in admitted:
        in_window = sum(tokens for at, tokens in admitted if moment - WINDOW < at <= moment)
        assert in_window <= quota


def test_only_versioned_instances_use_the_budget() -> None:
    assert not uses_token_budget(None)
    assert not uses_token_budget("")
    assert not uses_token_budget("1.9")
    assert not uses_token_budget("preview")
    assert uses_token_budget("2.0")
    assert uses_token_budget("2")
    assert uses_token_budget("10.1")


def test_only_version_2_1_and_later_budget_their_transcription() -> None:
    assert not uses_transcription_budget(None)
    assert not uses_transcription_budget("")
    assert not uses_transcription_budget("2")
    assert not uses_transcription_budget("2.0")
    assert not uses_transcription_budget("2.x")
    assert uses_transcription_budget("2.1")
    assert uses_transcription_budget("2.10")
    assert uses_transcription_budget("3")


def test_prompt_estimates_count_blob_text_high_and_respect_the_cap() -> None:
    assert estimate_prompt_tokens(500) == 500
    assert estimate_prompt_tokens(500, uncounted_chars=10) == 500 + 4
    assert estimate_prompt_tokens(500, uncounted_chars=90_000, cap_tokens=1_000) == 1_500
    with pytest.raises(ValueError, match="negative"):
        estimate_prompt_tokens(-1)


def test_waiters_are_booked_one_behind_the_other() -> None:
    state = budget(tokens=2 * (1_000 + ANSWER))
    for number, at in enumerate((0.0, 1.0)):
        state, _ = reserve(state, ReserveRequest(id=f"in{number}", prompt_tokens=1_000), now=at)
        state = settle(state, SettleRequest(id=f"in{number}", usage=charged(1_000 + ANSWER, at=at)), now=at)
    state, first = reserve(state, ReserveRequest(id="w1", prompt_tokens=1_000), now=2.0)
    state, second = reserve(state, ReserveRequest(id="w2", prompt_tokens=1_000), now=2.0)
    # One leaves at 10 s, the other at 11 s: one waiter each, not both at the first.
    assert (first.wait_s, second.wait_s) == (pytest.approx(8.0), pytest.approx(9.0))
    state, early = reserve(state, ReserveRequest(id="w2", prompt_tokens=1_000), now=10.0)
    assert not early.granted
    assert early.wait_s == pytest.approx(1.0)
    state, turn = reserve(state, ReserveRequest(id="w1", prompt_tokens=1_000), now=10.0)
    assert turn.granted
    state, turn = reserve(state, ReserveRequest(id="w2", prompt_tokens=1_000), now=11.0)
    assert turn.granted


def test_callers_that_wait_their_turn_never_overflow_a_window_and_keep_it_full() -> None:
    """Callers re-ask when told: the service's sliding window never overflows, and little of it idles."""
    generator = random.Random(11)
    quota = 6 * (900 + ANSWER)
    state = budget(tokens=quota)
    asks: list[tuple[float, str, int]] = [(generator.uniform(0.0, 5.0), f"r{n}", 900) for n in range(120)]
    admitted: list[tuple[float, int]] = []
    settles: list[tuple[float, str, float, int]] = []
    while asks or settles:
        asks.sort()
        settles.sort()
        if settles and (not asks or settles[0][0] <= asks[0][0]):
            at, request_id, admitted_at, tokens = settles.pop(0)
            state = settle(state, SettleRequest(id=request_id, usage=charged(tokens, at=admitted_at)), now=at)
            continue
        now, request_id, prompt = asks.pop(0)
        state, grant = reserve(state, ReserveRequest(id=request_id, prompt_tokens=prompt), now=now)
        if not grant.granted:
            asks.append((now + grant.wait_s, request_id, prompt))
            continue
        admitted_at = now + generator.uniform(0.01, 0.2)
        admitted.append((admitted_at, grant.tokens))
        settles.append((admitted_at + generator.uniform(0.0, 0.3), request_id, admitted_at, grant.tokens))
    assert len(admitted) == 120
    for moment, _ in admitted:
        assert sum(tokens for at, tokens in admitted if moment - WINDOW < at <= moment) <= quota
    span = admitted[-1][0] - admitted[0][0]
    assert sum(tokens for _, tokens in admitted) >= 0.95 * quota * span / WINDOW
