from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.decisions import (
    Booking,
    BusinessHours,
    call_retry_delay,
    choose_interview_slot,
    outcome_counts,
    plan_wav_split,
    rank_candidates,
    screening_decision,
    stage_progress,
    zone,
)
from shared.models import (
    CandidateOutcome,
    CandidateReport,
    Interviewer,
    ScreeningDecision,
    Stage,
)

# A Monday morning in UTC.
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LISBON = Interviewer(name="Lisbon", time_zone="Europe/Lisbon", daily_capacity=2)
NEW_YORK = Interviewer(name="New York", time_zone="America/New_York", daily_capacity=1)


@pytest.mark.parametrize(
    ("score", "missing", "expected"),
    [
        (0.9, [], ScreeningDecision.ADVANCE),
        (0.7, [], ScreeningDecision.ADVANCE),
        (0.9, ["Azure"], ScreeningDecision.NEEDS_REVIEW),
        (0.5, [], ScreeningDecision.NEEDS_REVIEW),
        (0.4, [], ScreeningDecision.NEEDS_REVIEW),
        (0.39, [], ScreeningDecision.REJECT),
        (0.1, ["Python"], ScreeningDecision.REJECT),
    ],
)
def test_screening_thresholds(score: float, missing: list[str], expected: ScreeningDecision) -> None:
    assert screening_decision(score, missing) is expected


def test_screening_thresholds_are_configurable() -> None:
    assert (
        screening_decision(0.6, [], advance_threshold=0.6, reject_threshold=0.2) is ScreeningDecision.ADVANCE
    )
    assert (
        screening_decision(0.25, [], advance_threshold=0.6, reject_threshold=0.3) is ScreeningDecision.REJECT
    )


def test_business_hours_contain_only_weekday_working_time() -> None:
    hours = BusinessHours(9, 17)
    tz = ZoneInfo("Europe/Lisbon")
    monday_nine = datetime(2026, 3, 2, 9, 0, tzinfo=tz)
    assert hours.contains(monday_nine, monday_nine + timedelta(minutes=30))
    assert not hours.contains(monday_nine - timedelta(minutes=1), monday_nine + timedelta(minutes=29))
    assert hours.contains(monday_nine + timedelta(hours=7, minutes=30), monday_nine + timedelta(hours=8))
    assert not hours.contains(
        monday_nine + timedelta(hours=7, minutes=45), monday_nine + timedelta(hours=8, minutes=15)
    )
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=tz)
    assert not hours.contains(saturday, saturday + timedelta(minutes=30))


def test_slot_respects_lead_time_and_both_time_zones() -> None:
    slot = choose_interview_slot(now=MONDAY, candidate_time_zone="Europe/Lisbon", interviewers=[LISBON])
    assert slot is not None
    # Lead time of 24 h: Tuesday 08:00 UTC is 08:00 in Lisbon (winter), before business hours; 09:00 is first.
    assert slot.start == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert slot.end - slot.start == timedelta(minutes=30)
    assert slot.interviewer == "Lisbon"
    assert slot.candidate_time_zone == "Europe/Lisbon"


def test_slot_is_deterministic() -> None:
    kwargs = {"now": MONDAY, "candidate_time_zone": "Asia/Tokyo", "interviewers": [LISBON, NEW_YORK]}
    assert choose_interview_slot(**kwargs) == choose_interview_slot(**kwargs)  # type: ignore[arg-type]


def test_candidate_far_away_gets_an_overlap_or_nothing() -> None:
    # Kolkata (UTC+5:30) and New York (UTC-5) business hours never overlap; Lisbon (UTC) overlaps Kolkata.
    assert (
        choose_interview_slot(now=MONDAY, candidate_time_zone="Asia/Kolkata", interviewers=[NEW_YORK]) is None
    )
    slot = choose_interview_slot(
        now=MONDAY, candidate_time_zone="Asia/Kolkata", interviewers=[LISBON, NEW_YORK]
    )
    assert slot is not None
    assert slot.interviewer == "Lisbon"
    local = slot.start.astimezone(ZoneInfo("Asia/Kolkata"))
    assert 9 <= local.hour < 17


def test_capacity_moves_the_booking_to_another_interviewer_or_day() -> None:
    first = choose_interview_slot(now=MONDAY, candidate_time_zone="America/New_York", interviewers=[NEW_YORK])
    assert first is not None
    second = choose_interview_slot(
        now=MONDAY,
        candidate_time_zone="America/New_York",
        interviewers=[NEW_YORK],
        bookings=[Booking(interviewer="New York", start=first.start)],
    )
    assert second is not None
    # Capacity 1 a day: the next slot is on the following weekday.
    assert (
        second.start.astimezone(ZoneInfo("America/New_York")).date()
        > first.start.astimezone(ZoneInfo("America/New_York")).date()
    )


def test_overlapping_booking_is_skipped_and_least_loaded_interviewer_wins() -> None:
    a = Interviewer(name="A", time_zone="UTC", daily_capacity=5)
    b = Interviewer(name="B", time_zone="UTC", daily_capacity=5)
    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    slot = choose_interview_slot(
        now=MONDAY,
        candidate_time_zone="UTC",
        interviewers=[a, b],
        bookings=[
            Booking("A", start),
            Booking("B", start + timedelta(hours=3)),
            Booking("B", start + timedelta(hours=4)),
        ],
    )
    assert slot is not None
    assert (slot.start, slot.interviewer) == (start, "B")
    slot = choose_interview_slot(
        now=MONDAY,
        candidate_time_zone="UTC",
        interviewers=[a, b],
        bookings=[Booking("A", start), Booking("B", start)],
    )
    assert slot is not None
    assert (slot.start, slot.interviewer) == (start + timedelta(minutes=30), "A")


def test_not_before_and_horizon() -> None:
    later = datetime(2026, 3, 10, 13, 7, tzinfo=UTC)
    slot = choose_interview_slot(
        now=MONDAY, candidate_time_zone="UTC", interviewers=[LISBON], not_before=later
    )
    assert slot is not None
    assert slot.start == datetime(2026, 3, 10, 13, 30, tzinfo=UTC)
    assert (
        choose_interview_slot(
            now=MONDAY, candidate_time_zone="UTC", interviewers=[LISBON], horizon=timedelta(hours=12)
        )
        is None
    )


def test_slot_choice_refuses_naive_time_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        choose_interview_slot(now=datetime(2026, 3, 2), candidate_time_zone="UTC", interviewers=[LISBON])
    with pytest.raises(ValueError, match="unknown time zone"):
        zone("Mars/Olympus")


def test_call_backoff_grows_and_is_capped() -> None:
    assert call_retry_delay(0) == timedelta(minutes=15)
    assert call_retry_delay(1) == timedelta(minutes=30)
    assert call_retry_delay(2) == timedelta(hours=1)
    assert call_retry_delay(10) == timedelta(hours=4)
    with pytest.raises(ValueError, match="attempt"):
        call_retry_delay(-1)


def test_progress_is_monotonic_along_the_happy_path() -> None:
    path = [
        Stage.RECEIVED,
        Stage.EXTRACTING,
        Stage.PARSING,
        Stage.SCREENING,
        Stage.SCHEDULING,
        Stage.WAITING_FOR_SLOT,
        Stage.CALLING,
        Stage.IN_CALL,
        Stage.AWAITING_RECORDING,
        Stage.FETCHING_RECORDING,
        Stage.TRANSCRIBING,
        Stage.SCORING,
        Stage.REPORTING,
        Stage.COMPLETED,
    ]
    progress = [stage_progress(stage) for stage in path]
    assert progress == sorted(progress)
    assert progress[0] == 0.0
    assert progress[-1] == 1.0
    assert all(stage in path or stage_progress(stage) <= 1.0 for stage in Stage)


def _report(
    instance: str, outcome: CandidateOutcome, interview: float | None, screening: float | None
) -> CandidateReport:
    return CandidateReport(
        instance_id=instance,
        job_id="job",
        outcome=outcome,
        stage=Stage.COMPLETED,
        interview_overall=interview,
        screening_score=screening,
    )


def test_ranking_orders_interviewed_candidates_and_cuts_the_shortlist() -> None:
    reports = [
        _report("c", CandidateOutcome.INTERVIEWED, 4.0, 0.7),
        _report("a", CandidateOutcome.INTERVIEWED, 4.0, 0.9),
        _report("b", CandidateOutcome.INTERVIEWED, 4.5, 0.5),
        _report("d", CandidateOutcome.REJECTED_AT_SCREENING, None, 0.2),
        _report("e", CandidateOutcome.NO_SHOW, None, 0.9),
        _report("f", CandidateOutcome.INTERVIEWED, None, None),
    ]
    ranked = rank_candidates(reports, shortlist_size=3)
    assert [(r.rank, r.instance_id) for r in ranked] == [(1, "b"), (2, "a"), (3, "c")]
    assert outcome_counts(reports) == {"interviewed": 4, "no_show": 1, "rejected_at_screening": 1}


@pytest.mark.parametrize(
    ("data", "limit", "expected"),
    [
        (1000, 2000, [(0, 1000)]),
        (1000, 544, [(0, 500), (500, 500)]),
        (1001, 544, [(0, 500), (500, 500)]),
        (0, 100, [(0, 0)]),
        (10, 47, [(0, 2), (2, 2), (4, 2), (6, 2), (8, 2)]),
    ],
)
def test_wav_split_plan_stays_on_frames_and_under_the_limit(
    data: int, limit: int, expected: list[tuple[int, int]]
) -> None:
    plan = plan_wav_split(data_bytes=data, block_align=2, header_bytes=44, limit_bytes=limit)
    assert plan == expected
    assert all(length % 2 == 0 and length + 44 <= limit for _, length in plan)


def test_wav_split_plan_rejects_impossible_limits() -> None:
    with pytest.raises(ValueError, match="block_align"):
        plan_wav_split(data_bytes=10, block_align=0, header_bytes=44, limit_bytes=100)
    with pytest.raises(ValueError, match="no room"):
        plan_wav_split(data_bytes=10, block_align=4, header_bytes=44, limit_bytes=46)
    with pytest.raises(ValueError, match="negative"):
        plan_wav_split(data_bytes=-1, block_align=2, header_bytes=44, limit_bytes=100)
