"""How an early end of an interview travels: the CallEnded reason, and the fields old histories never had."""

from __future__ import annotations

import pytest

from shared.models import (
    INTERVIEW_INCOMPLETE_PREFIX,
    CallEnded,
    CandidateOutcome,
    CandidateReport,
    InterviewOutcome,
    InterviewOutput,
    Stage,
    WriteCandidateReportInput,
)
from triggers.acs_callbacks import INCOMPLETE_REASON_PREFIX


def test_the_question_flow_and_the_interview_agree_on_the_prefix() -> None:
    assert INCOMPLETE_REASON_PREFIX == INTERVIEW_INCOMPLETE_PREFIX


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (None, None),
        ("", None),
        ("Call ended", None),
        ("Call ended (interview_incomplete: not at the start)", None),
        ("interview_incomplete: the question flow stopped after PlayCompleted: HttpResponseError (ended)",
         "the question flow stopped after PlayCompleted: HttpResponseError (ended)"),
        ("interview_incomplete:    ", "no reason given"),
    ],
)  # fmt: skip
def test_call_ended_reads_why_the_interview_ended_early(reason: str | None, expected: str | None) -> None:
    assert CallEnded(call_connection_id="call-0", reason=reason).incomplete_reason() == expected


def test_unset_reasons_stay_out_of_the_dumps_that_recorded_histories_compare() -> None:
    report_input = WriteCandidateReportInput(
        instance_id="job.cand", job_id="job", outcome=CandidateOutcome.INTERVIEWED
    ).model_dump(mode="json")
    interview = InterviewOutput(outcome=InterviewOutcome.RECORDED).model_dump(mode="json")
    summary = CandidateReport(
        instance_id="job.cand", job_id="job", outcome=CandidateOutcome.INTERVIEWED, stage=Stage.COMPLETED
    ).model_dump(mode="json")

    assert "interview_incomplete_reason" not in report_input
    assert "incomplete_reason" not in interview
    assert "interview_incomplete_reason" not in summary


def test_set_reasons_round_trip_and_old_payloads_validate_without_them() -> None:
    interview = InterviewOutput(outcome=InterviewOutcome.RECORDED, incomplete_reason="hung up early")
    assert InterviewOutput.model_validate(interview.model_dump(mode="json")) == interview
    summary = CandidateReport(
        instance_id="job.cand",
        job_id="job",
        outcome=CandidateOutcome.INTERVIEW_INCOMPLETE,
        stage=Stage.COMPLETED,
        interview_incomplete_reason="hung up early",
    )
    dumped = summary.model_dump(mode="json")
    assert dumped["outcome"] == "interview_incomplete"
    assert CandidateReport.model_validate(dumped) == summary

    old = InterviewOutput.model_validate({"outcome": "recorded", "call_attempts": 1, "recordings": []})
    assert old.incomplete_reason is None
