"""ACS steps of the interview survive a whole round of transient failures: another round follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import ErrorCode, TransientError
from shared.retry import CALL_RETRY, CALL_ROUNDS
from tests.pipeline.orchestrators.conftest import Pipeline

MakePipeline = Callable[..., Pipeline]
ATTEMPTS_PER_ROUND = CALL_RETRY.max_number_of_attempts


def test_placing_a_call_survives_a_failed_round(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    place = pipeline.fakes._place_call  # the default fake behind the override
    failures = {"left": ATTEMPTS_PER_ROUND + 1}  # the whole first round and one try of the second

    def flaky_place(payload: dict[str, Any]) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise TransientError(ErrorCode.SERVICE_UNAVAILABLE, "ACS answered 503")
        return place(payload)

    pipeline.fakes.overrides["place_interview_call"] = flaky_place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed", result.output
    interview = pipeline.interview(instance_id)
    assert interview.output["call_attempts"] == 1  # one call to the candidate, placed on the retried round
    assert pipeline.fakes.calls["place_interview_call"] == ATTEMPTS_PER_ROUND + 2


def test_starting_the_recording_gives_up_after_its_last_round(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()

    def always_unavailable(payload: dict[str, Any]) -> Any:
        raise TransientError(ErrorCode.SERVICE_UNAVAILABLE, "ACS answered 503")

    pipeline.fakes.overrides["start_call_recording"] = always_unavailable
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert pipeline.fakes.calls["start_call_recording"] == CALL_ROUNDS * ATTEMPTS_PER_ROUND
    interview = pipeline.interview(instance_id)
    assert interview.output["outcome"] == "failed"
    assert interview.output["failure"]["code"] == "service_unavailable"
    assert pipeline.fakes.calls["hang_up_call"] >= 1  # no recording: the call is not left up
    assert result.output is not None


def test_a_permanent_failure_is_not_retried_in_another_round(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["start_call_recording"] = lambda payload: {
        "failure": {"code": "call_failed", "message": "no such call"}
    }
    instance_id = pipeline.start()

    pipeline.run(instance_id)

    assert pipeline.fakes.calls["start_call_recording"] == 1
    assert pipeline.interview(instance_id).output["outcome"] == "failed"
