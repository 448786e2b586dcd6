"""The interview's less travelled paths: late events of earlier calls, limits, and failures around a call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.errors import ErrorCode
from tests.pipeline.orchestrators.conftest import Pipeline
from tests.pipeline.orchestrators.fakes import ANSWER, DECLINE, RING_OUT, failure

MakePipeline = Callable[..., Pipeline]


def _placed(attempt: int) -> dict[str, Any]:
    return {"call_connection_id": f"call-{attempt}", "server_call_id": f"server-{attempt}"}


def test_late_events_of_an_earlier_call_are_ignored(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        instance, attempt = payload["instance_id"], payload["attempt"]
        if attempt == 1:
            # The first call's events arrive late, interleaved with the second call's.
            raise_event(instance, "CallFailed", {"call_connection_id": "call-0", "message": "late"})
            raise_event(instance, "CallConnected", {"call_connection_id": "call-0"})
            raise_event(instance, "CallEnded", {"call_connection_id": "call-0"})
            raise_event(
                instance, "CallConnected", {"call_connection_id": "call-1", "server_call_id": "server-1"}
            )
            raise_event(instance, "CallEnded", {"call_connection_id": "call-0"})
            raise_event(instance, "CallEnded", {"call_connection_id": "call-1"})
            chunk = {"document_id": "old", "content_location": "https://r/old"}
            raise_event(instance, "RecordingReady", {"server_call_id": "server-0", "chunks": [chunk]})
            raise_event(instance, "RecordingReady", {"server_call_id": "server-1", "chunks": []})
            chunk = {"document_id": "new", "content_location": "https://r/new"}
            raise_event(instance, "RecordingReady", {"server_call_id": "server-1", "chunks": [chunk]})
        return _placed(attempt)

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert pipeline.fakes.calls["place_interview_call"] == 2
    recording = pipeline.fakes.inputs["fetch_call_recording"][0]["recording"]
    assert [chunk["document_id"] for chunk in recording["chunks"]] == ["new"]


def test_reschedules_beyond_the_limit_keep_the_booked_slot(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.on_schedule = lambda payload: pipeline.fakes.raise_event(
        str(payload["instance_id"]), "RescheduleRequested", {"reason": "again"}
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert [b["attempt"] for b in pipeline.fakes.inputs["schedule_interview"]] == [0, 1, 2, 3]


def test_withdrawal_during_the_backoff_between_calls(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[DECLINE, ANSWER])
    raise_event = pipeline.fakes.raise_event
    default_place = pipeline.fakes._place_call

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        placed = default_place(payload)
        raise_event(payload["instance_id"], "CandidateWithdrew", {"reason": "busy"})
        return placed

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "withdrawn"
    assert pipeline.fakes.calls["place_interview_call"] == 1


def test_withdrawal_while_the_phone_rings_hangs_up(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[RING_OUT])
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        raise_event(payload["instance_id"], "CandidateWithdrew", {})
        return _placed(payload["attempt"])

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "withdrawn"
    assert [c["call_connection_id"] for c in pipeline.fakes.inputs["hang_up_call"]] == ["call-0"]


def test_a_call_that_never_ends_is_hung_up(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        raise_event(payload["instance_id"], "CallConnected", {"call_connection_id": "call-0"})
        return _placed(payload["attempt"])

    pipeline.fakes.overrides["place_interview_call"] = place
    pipeline.fakes.overrides["hang_up_call"] = lambda _: failure(ErrorCode.CALL_FAILED, "already gone")
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "recording_missing"
    assert pipeline.fakes.calls["hang_up_call"] == 1  # a failed hang-up is tolerated
    assert pipeline.fakes.inputs["start_call_recording"][0]["server_call_id"] == "server-0"


def test_a_recording_that_cannot_start_fails_the_interview(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["start_call_recording"] = lambda _: failure(
        ErrorCode.CALL_FAILED, "not established"
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:call_failed] interview: not established" in str(result.output)
    assert pipeline.fakes.calls["hang_up_call"] == 1


def test_a_connected_call_without_a_server_call_id_fails(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    raise_event = pipeline.fakes.raise_event

    def place(payload: dict[str, Any]) -> dict[str, Any]:
        raise_event(payload["instance_id"], "CallConnected", {"call_connection_id": "call-0"})
        return {"call_connection_id": "call-0"}

    pipeline.fakes.overrides["place_interview_call"] = place
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:call_failed]" in str(result.output)
    assert pipeline.fakes.calls["start_call_recording"] == 0


def test_a_candidate_without_a_phone_number_fails_before_scheduling(make_pipeline: MakePipeline) -> None:
    from tests.pipeline.orchestrators.conftest import JOB_ID, pipeline_input
    from tests.pipeline.orchestrators.fakes import PROFILE

    pipeline = make_pipeline()
    pipeline.fakes.overrides["parse_candidate_profile"] = lambda _: {"profile": {**PROFILE, "phone": None}}
    data = pipeline_input().model_copy(
        update={"contact": pipeline_input().contact.model_copy(update={"phone": None})}
    )
    instance_id = pipeline.host.start(
        "candidate_pipeline", data.model_dump(mode="json"), instance_id=f"{JOB_ID}.nophone"
    )

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:invalid_input] interview: no phone number" in str(result.output)
    assert pipeline.fakes.calls["schedule_interview"] == 0


def test_an_activity_output_missing_its_result_fails_clearly(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["parse_candidate_profile"] = lambda _: {}
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:internal] parse_candidate_profile: parse_candidate_profile returned no profile" in str(
        result.output
    )


def test_a_failing_report_does_not_hide_the_original_failure(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["screen_candidate"] = lambda _: failure(ErrorCode.CONTENT_FILTERED, "filtered")
    pipeline.fakes.overrides["write_candidate_report"] = lambda _: failure(ErrorCode.FORBIDDEN, "no access")
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:content_filtered] screen_candidate: filtered" in str(result.output)
    assert result.custom_status["failure"]["code"] == "content_filtered"
