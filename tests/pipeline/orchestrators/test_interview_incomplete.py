"""An interview whose call ended early says so: in the interview's output, the candidate's outcome and report.

The question flow (``triggers.acs_callbacks``) raises ``CallEnded`` with a reason starting
``interview_incomplete: `` when it gave up on the call or the candidate hung up mid-interview; the fakes here
raise that event the way the callback endpoint would, on devhost's engine with time skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.models import INTERVIEW_INCOMPLETE_PREFIX
from tests.pipeline.orchestrators.conftest import Pipeline
from tests.pipeline.orchestrators.fakes import INTERVIEW_SCORE

MakePipeline = Callable[..., Pipeline]

CUT_SHORT = "the call ended before the last question was answered"
CONNECTED = {"call_connection_id": "call-0", "server_call_id": "server-0"}
PLACED = {**CONNECTED, "operation_context": "ctx-0"}
RECORDED = {
    "server_call_id": "server-0",
    "chunks": [{"document_id": "doc-0", "index": 0, "content_location": "https://x/audio"}],
}


def _call_that_ends_with(pipeline: Pipeline, reason: str | None) -> Callable[[dict[str, Any]], Any]:
    """A ``place_interview_call`` fake: the call connects, ends with ``reason`` and its recording arrives."""
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        raise_event(instance, "CallConnected", CONNECTED)
        raise_event(instance, "CallEnded", {"call_connection_id": "call-0", "reason": reason})
        raise_event(instance, "RecordingReady", RECORDED)
        return PLACED

    return place


def test_a_call_the_question_flow_cut_short_ends_interview_incomplete(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["place_interview_call"] = _call_that_ends_with(
        pipeline, f"{INTERVIEW_INCOMPLETE_PREFIX}{CUT_SHORT} (hung up)"
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    interview = pipeline.interview(instance_id)
    assert interview.output["outcome"] == "recorded"
    assert interview.output["incomplete_reason"] == f"{CUT_SHORT} (hung up)"
    assert result.runtime_status == "Completed", result.output
    assert result.output["outcome"] == "interview_incomplete"
    assert result.output["stage"] == "completed"
    assert result.output["interview_incomplete_reason"] == f"{CUT_SHORT} (hung up)"
    # Still transcribed and scored from what was said.
    assert pipeline.fakes.calls["transcribe_recording"] == 1
    assert pipeline.fakes.calls["score_transcript"] == 1
    assert result.output["interview_overall"] == INTERVIEW_SCORE["overall"]
    report_input = pipeline.fakes.inputs["write_candidate_report"][0]
    assert report_input["outcome"] == "interview_incomplete"
    assert report_input["interview_incomplete_reason"] == f"{CUT_SHORT} (hung up)"
    assert result.custom_status["stage"] == "completed"
    assert result.custom_status["detail"] == f"interview_incomplete: {CUT_SHORT} (hung up)"


def test_a_complete_interview_still_ends_interviewed_with_no_flag(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["place_interview_call"] = _call_that_ends_with(pipeline, "hung up")
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    interview = pipeline.interview(instance_id)
    assert interview.output["outcome"] == "recorded"
    assert "incomplete_reason" not in interview.output
    assert result.output["outcome"] == "interviewed"
    assert "interview_incomplete_reason" not in result.output
    report_input = pipeline.fakes.inputs["write_candidate_report"][0]
    assert report_input["outcome"] == "interviewed"
    assert "interview_incomplete_reason" not in report_input
    assert result.custom_status["detail"] == "interviewed"


def test_only_a_reason_that_starts_with_the_prefix_counts(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["place_interview_call"] = _call_that_ends_with(
        pipeline, "Call ended: not an interview_incomplete: marker at the start"
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert "incomplete_reason" not in pipeline.interview(instance_id).output


def test_a_call_hung_up_at_its_maximum_duration_counts_as_ended_early(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        # Connected, and then the question flow never reaches its closing line: no CallEnded at all.
        raise_event(payload["instance_id"], "CallConnected", CONNECTED)
        return PLACED

    def hang_up(payload: dict[str, Any]) -> dict[str, Any]:
        # Hanging up ends the recording, which ACS then reports ready.
        raise_event(payload["instance_id"], "RecordingReady", RECORDED)
        return {"hung_up": True}

    pipeline.fakes.overrides["place_interview_call"] = place
    pipeline.fakes.overrides["hang_up_call"] = hang_up
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert pipeline.fakes.calls["hang_up_call"] == 1
    reason = "the call was still open after 90 minutes and was hung up"
    assert pipeline.interview(instance_id).output["incomplete_reason"] == reason
    assert result.output["outcome"] == "interview_incomplete"
    assert pipeline.fakes.inputs["write_candidate_report"][0]["interview_incomplete_reason"] == reason


def test_a_cut_short_call_whose_recording_never_arrives_is_recording_missing(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = make_pipeline()
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        instance = payload["instance_id"]
        raise_event(instance, "CallConnected", CONNECTED)
        ended = {"call_connection_id": "call-0", "reason": f"{INTERVIEW_INCOMPLETE_PREFIX}gone"}
        raise_event(instance, "CallEnded", ended)
        return PLACED

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    # Nothing to transcribe: the missing recording is what the candidate's outcome says.
    assert result.output["outcome"] == "recording_missing"
    assert pipeline.interview(instance_id).output["incomplete_reason"] == "gone"
    assert pipeline.fakes.calls["transcribe_recording"] == 0
