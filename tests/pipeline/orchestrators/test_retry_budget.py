"""The retry budgets, sized from the fault rate they absorb (``shared.retry``'s docstring, computed)."""

from __future__ import annotations

import pytest

from shared.retry import CALL_RETRY, CALL_ROUNDS, candidate_failure_probability, step_failure_probabilities


def test_at_20_percent_faults_fewer_than_one_candidate_in_a_thousand_is_lost() -> None:
    lost = candidate_failure_probability(0.2)
    with_client_retries = candidate_failure_probability(0.2, openai_max_retries=2)

    assert lost == pytest.approx(5.13e-4, rel=0.01)
    assert with_client_retries == pytest.approx(1.02e-6, rel=0.01)
    assert with_client_retries < 1e-5


def test_the_default_settings_keep_a_candidate_lost_at_20_percent_faults_under_one_in_100_000() -> None:
    from shared.settings import Settings

    default_retries = Settings.model_fields["openai_max_retries"].default

    assert default_retries >= 2
    assert candidate_failure_probability(0.2, openai_max_retries=default_retries) < 1e-5


def test_every_step_at_20_percent_faults() -> None:
    steps = step_failure_probabilities(0.2)

    assert steps["place_interview_call"] == pytest.approx(
        0.2 ** (CALL_RETRY.max_number_of_attempts * CALL_ROUNDS)
    )
    assert steps["extract_resume_text"] < 1e-9  # it was 2.8% before polls were resumed inside the attempt
    assert steps["transcribe_recording"] == pytest.approx(0.2**5)
    assert max(steps, key=steps.__getitem__) == "transcribe_recording"


def test_no_faults_lose_nothing_and_certain_faults_lose_everything() -> None:
    assert candidate_failure_probability(0.0) == 0.0
    assert candidate_failure_probability(1.0) == pytest.approx(1.0)
