import json
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from activities.reports import report_blob_names, write_candidate_report
from activities.scheduling import schedule_interview
from shared.errors import ErrorCode, PermanentError
from shared.logging import redact
from shared.models import (
    BlobRef,
    CandidateOutcome,
    DimensionScore,
    FailureInfo,
    InterviewScore,
    Recommendation,
    ScheduleInterviewOutput,
    ScreeningDecision,
    ScreeningResult,
    WriteCandidateReportInput,
    WriteCandidateReportOutput,
)
from shared.settings import get_settings
from shared.storage import download_json, download_text, load_job, upload_bytes
from tests.pipeline.activities.conftest import JOB_ID, blob_names

pytestmark = pytest.mark.azurite

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _schedule(
    instance: str, *, attempt: int = 0, tz: str = "Europe/Lisbon", job: str = JOB_ID
) -> ScheduleInterviewOutput:
    return ScheduleInterviewOutput.model_validate(
        schedule_interview(
            {
                "instance_id": instance,
                "job_id": job,
                "candidate_time_zone": tz,
                "now": MONDAY.isoformat(),
                "attempt": attempt,
            }
        )
    )


def test_load_job(configure: Callable[..., None]) -> None:
    job = load_job(JOB_ID)
    assert job.min_years == 4
    assert [s.skill for s in job.must_have][:2] == ["Python", "Azure"]
    with pytest.raises(PermanentError) as missing:
        load_job("nope")
    assert missing.value.code is ErrorCode.JOB_NOT_FOUND
    upload_bytes(get_settings().jobs_container, "broken.json", b'{"job_id": "broken"}')
    with pytest.raises(PermanentError) as broken:
        load_job("broken")
    assert broken.value.code is ErrorCode.INVALID_INPUT


def test_booking_is_idempotent_and_respects_business_hours(configure: Callable[..., None]) -> None:
    first = _schedule("cand-a")
    again = _schedule("cand-a")
    assert first.slot is not None
    assert again.slot == first.slot
    local = first.slot.start.astimezone(ZoneInfo("Europe/Lisbon"))
    assert local.weekday() < 5
    assert 9 <= local.hour < 17
    assert blob_names(get_settings().artifacts_container, "bookings/") == [f"bookings/{JOB_ID}/cand-a/0.json"]


def test_bookings_share_interviewer_capacity(configure: Callable[..., None]) -> None:
    slots = [_schedule(f"cand-{n}", tz="America/New_York").slot for n in range(5)]
    assert all(slot is not None for slot in slots)
    starts = [(slot.start, slot.interviewer) for slot in slots if slot is not None]
    assert len(set(starts)) == 5
    per_day: dict[tuple[str, object], int] = {}
    for slot in slots:
        assert slot is not None
        zone = ZoneInfo("America/New_York" if slot.interviewer == "Interviewer New York" else "Europe/Lisbon")
        key = (slot.interviewer, slot.start.astimezone(zone).date())
        per_day[key] = per_day.get(key, 0) + 1
    assert (
        per_day.get(
            ("Interviewer New York", slots[0].start.astimezone(ZoneInfo("America/New_York")).date()), 0
        )
        <= 3
    )


def test_reschedule_books_a_new_slot_and_releases_the_old(configure: Callable[..., None]) -> None:
    first = _schedule("cand-r")
    second = _schedule("cand-r", attempt=1)
    assert first.slot is not None
    assert second.slot is not None
    # The earlier booking of the same candidate no longer holds a place: the same earliest slot is free again.
    assert second.slot.start == first.slot.start
    assert len(blob_names(get_settings().artifacts_container, f"bookings/{JOB_ID}/cand-r/")) == 2


def test_scheduling_failures_are_typed(configure: Callable[..., None]) -> None:
    bad_zone = _schedule("cand-z", tz="Mars/Base")
    assert bad_zone.failure is not None
    assert bad_zone.failure.code is ErrorCode.INVALID_INPUT
    no_job = _schedule("cand-z", job="nope")
    assert no_job.failure is not None
    assert no_job.failure.code is ErrorCode.JOB_NOT_FOUND
    job = download_json(BlobRef(container=get_settings().jobs_container, name=f"{JOB_ID}.json"))
    job["job_id"] = "no-panel"
    job["interviewers"] = []
    upload_bytes(get_settings().jobs_container, "no-panel.json", json.dumps(job).encode())
    no_panel = _schedule("cand-z", job="no-panel")
    assert no_panel.failure is not None
    assert no_panel.failure.code is ErrorCode.NO_SLOT_AVAILABLE
    job["job_id"] = "tiny-panel"
    job["interviewers"] = [{"name": "Only", "time_zone": "Asia/Tokyo", "daily_capacity": 1}]
    upload_bytes(get_settings().jobs_container, "tiny-panel.json", json.dumps(job).encode())
    nothing = _schedule("cand-z", job="tiny-panel", tz="Europe/Lisbon")
    assert nothing.failure is not None
    assert nothing.failure.code is ErrorCode.NO_SLOT_AVAILABLE


def _report_input(**overrides: object) -> dict[str, object]:
    score = InterviewScore(
        overall=4.25,
        dimensions=[
            DimensionScore(
                name="testing", score=4, evidence=["I write <b>pytest</b> tests."], comment="Solid."
            ),
        ],
        narrative="Strong & clear.",
        recommendation=Recommendation.HIRE,
        recommendations=["Move to the team interview."],
    )
    screening = ScreeningResult(
        decision=ScreeningDecision.ADVANCE,
        score=0.82,
        matched_must_have=["Python"],
        missing_must_have=[],
        matched_nice_to_have=["Docker"],
        years_required=4,
        years_found=8,
        rationale="Good match.",
    )
    data = WriteCandidateReportInput(
        instance_id="cand-rep",
        job_id=JOB_ID,
        outcome=CandidateOutcome.INTERVIEWED,
        contact={"name": "Ada <script>alert(1)</script>"},  # type: ignore[arg-type]
        screening=screening,
        interview_score=score,
        recruiter_decision={"decision": "advance", "note": "ok"},  # type: ignore[arg-type]
        slot={"start": "2026-03-03T09:00:00Z", "end": "2026-03-03T09:30:00Z", "interviewer": "Lisbon"},  # type: ignore[arg-type]
        completed_at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
    ).model_dump(mode="json")
    data.update(overrides)
    return data


def test_report_is_written_once_as_json_and_escaped_html(configure: Callable[..., None]) -> None:
    payload = _report_input()
    first = WriteCandidateReportOutput.model_validate(write_candidate_report(payload))
    second = WriteCandidateReportOutput.model_validate(write_candidate_report(payload))
    assert first.failure is None
    assert first == second
    json_name, page_name = report_blob_names(JOB_ID, "cand-rep")
    assert blob_names(get_settings().reports_container) == sorted([json_name, page_name])
    assert first.report_json is not None
    assert first.report_page is not None
    stored = download_json(first.report_json)
    assert stored["interview_score"]["overall"] == 4.25
    page = download_text(first.report_page)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;pytest&lt;/b&gt;" in page
    assert "4.25" in page
    assert "Move to the team interview." in page
    # The candidate's name is now masked in this process's logs.
    assert redact("report for Ada written") == "report for [name] written"


def test_failed_candidate_report(configure: Callable[..., None]) -> None:
    payload = WriteCandidateReportInput(
        instance_id="cand-fail",
        job_id=JOB_ID,
        outcome=CandidateOutcome.FAILED,
        failure=FailureInfo.of(ErrorCode.CORRUPT_DOCUMENT, "resume cannot be read"),
    ).model_dump(mode="json")
    out = WriteCandidateReportOutput.model_validate(write_candidate_report(payload))
    assert out.report_page is not None
    page = download_text(out.report_page)
    assert "corrupt_document: resume cannot be read" in page
    assert "<h1>Candidate</h1>" in page


def test_report_of_an_interview_that_ended_early_says_so_in_json_and_page(
    configure: Callable[..., None],
) -> None:
    reason = "the question flow stopped after RecognizeCompleted: <ServiceResponseError>"
    payload = _report_input(
        instance_id="cand-early",
        outcome=CandidateOutcome.INTERVIEW_INCOMPLETE.value,
        interview_incomplete_reason=reason,
    )

    out = WriteCandidateReportOutput.model_validate(write_candidate_report(payload))

    assert out.failure is None
    assert out.report_json is not None
    assert out.report_page is not None
    stored = download_json(out.report_json)
    assert stored["outcome"] == "interview_incomplete"
    assert stored["interview_incomplete_reason"] == reason
    assert stored["interview_score"]["overall"] == 4.25  # still scored from what was said
    page = download_text(out.report_page)
    assert "<tr><th>Outcome</th><td>interview incomplete</td></tr>" in page
    assert (
        "<tr><th>Interview</th><td>ended early — the question flow stopped after RecognizeCompleted: "
        "&lt;ServiceResponseError&gt;</td></tr>"
    ) in page
    assert "<tr><th>Scored from</th><td>the answers given before the call ended early</td></tr>" in page


def test_report_of_a_complete_interview_says_nothing_of_an_early_end(configure: Callable[..., None]) -> None:
    out = WriteCandidateReportOutput.model_validate(write_candidate_report(_report_input()))

    assert out.report_json is not None
    assert out.report_page is not None
    stored = download_json(out.report_json)
    assert stored["outcome"] == "interviewed"
    assert "interview_incomplete_reason" not in stored
    page = download_text(out.report_page)
    assert "<tr><th>Outcome</th><td>interviewed</td></tr>" in page
    assert "ended early" not in page
    assert "Scored from" not in page
