"""Bursts of one event name arriving before the interview opens its next wait for that name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.pipeline.orchestrators.conftest import Pipeline
from tests.pipeline.orchestrators.fakes import ANSWER, RING_OUT

MakePipeline = Callable[..., Pipeline]


def test_repeated_late_events_of_one_name_are_each_seen_once(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[RING_OUT, RING_OUT, ANSWER])
    raise_event = pipeline.fakes.raise_event
    default_place = pipeline.fakes._place_call

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        instance, attempt = payload["instance_id"], payload["attempt"]
        if attempt == 1:
            # The first call's hang-up is reported twice while the second call is being placed: the
            # second report finds no open CallEnded wait, since the first one is not consumed yet.
            raise_event(instance, "CallEnded", {"call_connection_id": "call-0"})
            raise_event(instance, "CallEnded", {"call_connection_id": "call-0"})
        return default_place(payload)

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed", result.output
    assert pipeline.fakes.calls["place_interview_call"] == 3
