"""candidate_pipeline and interview on devhost's engine: fake activities, real SDK replay, skipped time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ErrorCode
from tests.pipeline.orchestrators.conftest import Pipeline
from tests.pipeline.orchestrators.fakes import (
    ANSWER,
    ANSWER_NO_RECORDING,
    DECLINE,
    INTERVIEW_SCORE,
    RING_OUT,
    failure,
    transient_then,
)

MakePipeline = Callable[..., Pipeline]


def test_happy_path_interviews_scores_and_reports(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Completed", result.output
    assert result.output["outcome"] == "interviewed"
    assert result.output["stage"] == "completed"
    assert result.output["interview_overall"] == 4.0
    assert result.output["recommendation"] == "hire"
    assert result.output["report_page"]["name"] == f"{instance_id}/report.html"
    assert result.custom_status["stage"] == "completed"
    assert result.custom_status["progress"] == 1.0
    calls = pipeline.fakes.calls
    for activity in (
        "extract_resume_text",
        "parse_candidate_profile",
        "screen_candidate",
        "schedule_interview",
    ):
        assert calls[activity] == 1, activity
    assert calls["place_interview_call"] == 1
    assert calls["start_call_recording"] == 1
    assert calls["fetch_call_recording"] == 1
    assert calls["transcribe_recording"] == 1
    assert calls["write_candidate_report"] == 1
    report_input = pipeline.fakes.inputs["write_candidate_report"][0]
    assert report_input["outcome"] == "interviewed"
    assert report_input["interview_score"]["overall"] == 4.0
    interview = pipeline.interview(instance_id)
    assert interview.output["outcome"] == "recorded"
    assert interview.output["call_attempts"] == 1
    assert [chunk["name"] for chunk in interview.output["recordings"]] == [f"{interview.instance_id}/0.wav"]
    # Every wait has a deadline: the slot, the ring, the call and the recording each got a durable timer.
    assert pipeline.host.history_event_types(interview.instance_id).count("TimerCreated") >= 4


def test_rejected_at_screening_skips_the_interview(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(decision="reject", score=0.2)
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Completed"
    assert result.output["outcome"] == "rejected_at_screening"
    assert result.output["screening_score"] == 0.2
    assert result.custom_status["stage"] == "rejected"
    assert pipeline.fakes.calls["schedule_interview"] == 0
    assert pipeline.fakes.inputs["write_candidate_report"][0]["outcome"] == "rejected_at_screening"


def test_needs_review_approved_goes_on_to_the_interview(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(decision="needs_review", score=0.55)
    instance_id = pipeline.start()
    pipeline.host.raise_event(instance_id, "RecruiterDecision", {"decision": "advance", "recruiter": "Lin"})

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert pipeline.fakes.calls["place_interview_call"] == 1
    report_input = pipeline.fakes.inputs["write_candidate_report"][0]
    assert report_input["recruiter_decision"]["decision"] == "advance"


def test_needs_review_rejected_by_the_recruiter(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(decision="needs_review", score=0.55)
    instance_id = pipeline.start()
    pipeline.host.raise_event(instance_id, "RecruiterDecision", {"decision": "reject", "note": "not now"})

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "rejected_by_recruiter"
    assert result.custom_status["stage"] == "rejected"
    assert pipeline.fakes.calls["schedule_interview"] == 0


def test_needs_review_deadline_passes_without_a_decision(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(decision="needs_review", score=0.55)
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Completed"
    assert result.output["outcome"] == "review_timed_out"
    assert "TimerFired" in pipeline.host.history_event_types(instance_id)
    assert pipeline.fakes.calls["schedule_interview"] == 0


def test_withdrawal_while_awaiting_review(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(decision="needs_review", score=0.55)
    instance_id = pipeline.start()
    pipeline.host.raise_event(instance_id, "CandidateWithdrew", {"reason": "accepted another offer"})

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "withdrawn"
    assert result.custom_status["stage"] == "withdrawn"


def test_no_answer_then_success_backs_off_and_calls_again(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[DECLINE, ANSWER])
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert [call["attempt"] for call in pipeline.fakes.inputs["place_interview_call"]] == [0, 1]
    interview = pipeline.interview(instance_id)
    assert interview.output["call_attempts"] == 2
    # The connected call is the second one: its recording is the one fetched.
    fetched = pipeline.fakes.inputs["fetch_call_recording"][0]["recording"]
    assert fetched["server_call_id"] == "server-1"
    assert pipeline.fakes.inputs["start_call_recording"][0]["server_call_id"] == "server-1"


def test_no_show_after_every_attempt_goes_unanswered(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[RING_OUT, DECLINE, RING_OUT])
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Completed"
    assert result.output["outcome"] == "no_show"
    assert result.custom_status["stage"] == "no_show"
    assert pipeline.fakes.calls["place_interview_call"] == 3
    # Calls that rang out were hung up before the next attempt.
    assert [c["call_connection_id"] for c in pipeline.fakes.inputs["hang_up_call"]] == ["call-0", "call-2"]
    assert pipeline.interview(instance_id).output["outcome"] == "no_show"
    assert pipeline.fakes.calls["transcribe_recording"] == 0


def test_recording_that_never_arrives_ends_in_recording_missing(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(call_script=[ANSWER_NO_RECORDING])
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Completed"
    assert result.output["outcome"] == "recording_missing"
    assert pipeline.fakes.calls["fetch_call_recording"] == 0
    assert pipeline.interview(instance_id).output["outcome"] == "recording_missing"


def test_reschedule_books_a_new_slot(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    requested: list[str] = []
    # A few days past the orchestration's own time: the wait for the slot is a real durable timer, chained in
    # legs of at most three days as Azure's host does, so a date years ahead would mean thousands of legs.
    not_before: list[datetime] = []

    def reschedule_once(payload: dict[str, object]) -> None:
        if payload["attempt"] == 0:
            requested.append(str(payload["instance_id"]))
            now = datetime.fromisoformat(str(payload["now"]))
            not_before.append((now + timedelta(days=5)).replace(hour=10, minute=0, second=0, microsecond=0))
            pipeline.fakes.raise_event(
                str(payload["instance_id"]),
                "RescheduleRequested",
                {"reason": "dentist", "not_before": not_before[0].isoformat()},
            )

    pipeline.fakes.on_schedule = reschedule_once
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    bookings = pipeline.fakes.inputs["schedule_interview"]
    assert [booking["attempt"] for booking in bookings] == [0, 1]
    assert datetime.fromisoformat(bookings[1]["not_before"]) == not_before[0]
    interview = pipeline.interview(instance_id)
    # The fake books the second attempt an hour after the requested earliest time.
    assert datetime.fromisoformat(interview.output["slot"]["start"]) == not_before[0] + timedelta(hours=1)


def test_withdrawal_while_waiting_for_the_slot(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.on_schedule = lambda payload: pipeline.fakes.raise_event(
        str(payload["instance_id"]), "CandidateWithdrew", {"reason": "moved"}
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "withdrawn"
    assert pipeline.fakes.calls["place_interview_call"] == 0
    assert pipeline.interview(instance_id).output["outcome"] == "withdrawn"


def test_transient_faults_are_retried_until_they_heal(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["extract_resume_text"] = transient_then(2, pipeline.fakes._extract)
    pipeline.fakes.overrides["score_transcript"] = transient_then(1, lambda _: {"score": INTERVIEW_SCORE})
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "interviewed"
    assert pipeline.fakes.calls["extract_resume_text"] == 3
    assert pipeline.fakes.calls["score_transcript"] == 2
    assert pipeline.host.history_event_types(instance_id).count("TaskFailed") == 3


def test_permanent_failure_ends_failed_with_a_machine_readable_reason(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["extract_resume_text"] = lambda _: failure(
        ErrorCode.CORRUPT_DOCUMENT, "not a PDF"
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:corrupt_document] extract_resume_text: not a PDF" in str(result.output)
    assert pipeline.fakes.calls["extract_resume_text"] == 1  # permanent: never retried
    assert pipeline.fakes.calls["parse_candidate_profile"] == 0
    assert result.custom_status["stage"] == "failed"
    assert result.custom_status["failure"]["code"] == "corrupt_document"
    # A failure report is still written, best effort.
    assert pipeline.fakes.inputs["write_candidate_report"][0]["outcome"] == "failed"


def test_transient_faults_that_never_heal_fail_with_their_code(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["screen_candidate"] = transient_then(99, lambda _: {})
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:service_unavailable] screen_candidate" in str(result.output)
    assert pipeline.fakes.calls["screen_candidate"] == 6  # AI_RETRY allows six attempts


def test_interview_failure_fails_the_candidate_with_the_interview_reason(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    pipeline.fakes.overrides["schedule_interview"] = lambda _: failure(
        ErrorCode.NO_SLOT_AVAILABLE, "fully booked"
    )
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.runtime_status == "Failed"
    assert "[error:no_slot_available] interview: fully booked" in str(result.output)
    assert pipeline.interview(instance_id).output["outcome"] == "failed"


def test_withdrawal_while_the_resume_is_read_prevents_the_interview(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline()
    extract = pipeline.fakes._extract

    def withdraw_during_extraction(payload: dict[str, Any]) -> dict[str, Any]:
        pipeline.fakes.raise_event(
            str(payload["instance_id"]), "CandidateWithdrew", {"reason": "hired elsewhere"}
        )
        return extract(payload)

    pipeline.fakes.overrides["extract_resume_text"] = withdraw_during_extraction
    instance_id = pipeline.start()

    result = pipeline.run(instance_id)

    assert result.output["outcome"] == "withdrawn"
    assert pipeline.fakes.calls["screen_candidate"] == 1
    assert pipeline.fakes.calls["schedule_interview"] == 0
