"""Pure business decisions: no I/O, no clock, no randomness, so orchestrators may call them during replay.

Screening thresholds, interview slot choice, call retry backoff, stage progress for the custom status, batch
ranking, the plan for splitting audio under the transcription size limit, and the token budget's rules (which
instances use it, what a prompt will cost before it is rendered).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.models import (
    CandidateOutcome,
    CandidateReport,
    Interviewer,
    InterviewSlot,
    RankedCandidate,
    ScreeningDecision,
    Stage,
)

__all__ = [
    "CHARS_PER_TOKEN_FLOOR",
    "STAGE_PROGRESS",
    "TOKEN_BUDGET_VERSION",
    "TRANSCRIPTION_BUDGET_VERSION",
    "TRANSCRIPTION_REQUEST_MAX_BYTES",
    "Booking",
    "BusinessHours",
    "call_retry_delay",
    "choose_interview_slot",
    "estimate_prompt_tokens",
    "outcome_counts",
    "plan_wav_split",
    "rank_candidates",
    "screening_decision",
    "stage_progress",
    "uses_token_budget",
    "uses_transcription_budget",
    "zone",
]


# ----------------------------------------------------------------------------------------------------
# Screening


def screening_decision(
    score: float,
    missing_must_have: Sequence[str],
    *,
    advance_threshold: float = 0.7,
    reject_threshold: float = 0.4,
) -> ScreeningDecision:
    """Advance a strong match with every must-have, reject a weak one, send the rest to a recruiter."""
    if score < reject_threshold:
        return ScreeningDecision.REJECT
    if score >= advance_threshold and not missing_must_have:
        return ScreeningDecision.ADVANCE
    return ScreeningDecision.NEEDS_REVIEW


# ----------------------------------------------------------------------------------------------------
# Interview slots


@dataclass(frozen=True)
class BusinessHours:
    """Working hours on weekdays, in whichever time zone they are applied to."""

    start_hour: int = 9
    end_hour: int = 17

    def contains(self, start: datetime, end: datetime) -> bool:
        """Tell whether [start, end) lies on one weekday inside these hours (both in one local zone)."""
        if start.weekday() >= 5 or start.date() != (end - timedelta(microseconds=1)).date():
            return False
        day_start = datetime.combine(start.date(), time(self.start_hour), tzinfo=start.tzinfo)
        day_end = day_start + timedelta(hours=self.end_hour - self.start_hour)
        return day_start <= start and end <= day_end


@dataclass(frozen=True)
class Booking:
    """An interview already booked: who, and when it starts (UTC)."""

    interviewer: str
    start: datetime


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``; unknown names raise ``ValueError``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _ceil_to(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // step)
    return epoch + steps * step


def choose_interview_slot(
    *,
    now: datetime,
    candidate_time_zone: str,
    interviewers: Sequence[Interviewer],
    bookings: Iterable[Booking] = (),
    hours: BusinessHours = BusinessHours(),
    lead_time: timedelta = timedelta(hours=24),
    duration: timedelta = timedelta(minutes=30),
    horizon: timedelta = timedelta(days=14),
    not_before: datetime | None = None,
) -> InterviewSlot | None:
    """Pick the earliest slot inside both the candidate's and an interviewer's business hours.

    Rules: the slot starts at least ``lead_time`` after ``now`` (and not before ``not_before``), on a step of
    ``duration``, within ``horizon``; the interviewer has fewer bookings than ``daily_capacity`` on their
    local day and no booking overlapping the slot. Among interviewers free at the earliest slot the one with
    the fewest bookings that day wins, then the name: the same inputs always give the same slot.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    candidate_zone = zone(candidate_time_zone)
    zones = {interviewer.name: zone(interviewer.time_zone) for interviewer in interviewers}
    booked = list(bookings)
    per_day: Counter[tuple[str, date]] = Counter()
    for booking in booked:
        if booking.interviewer in zones:
            per_day[(booking.interviewer, booking.start.astimezone(zones[booking.interviewer]).date())] += 1

    earliest = now + lead_time
    if not_before is not None and not_before > earliest:
        earliest = not_before
    start = _ceil_to(earliest.astimezone(ZoneInfo("UTC")), duration)
    deadline = now + horizon
    while start + duration <= deadline:
        end = start + duration
        if hours.contains(start.astimezone(candidate_zone), end.astimezone(candidate_zone)):
            free: list[tuple[int, str]] = []
            for interviewer in interviewers:
                local_zone = zones[interviewer.name]
                local_start, local_end = start.astimezone(local_zone), end.astimezone(local_zone)
                if not hours.contains(local_start, local_end):
                    continue
                load = per_day[(interviewer.name, local_start.date())]
                if load >= interviewer.daily_capacity:
                    continue
                overlaps = any(
                    b.interviewer == interviewer.name and b.start < end and start < b.start + duration
                    for b in booked
                )
                if not overlaps:
                    free.append((load, interviewer.name))
            if free:
                _, name = min(free)
                return InterviewSlot(
                    start=start, end=end, interviewer=name, candidate_time_zone=candidate_time_zone
                )
        start = end
    return None


# ----------------------------------------------------------------------------------------------------
# Calls


def call_retry_delay(
    attempt: int,
    *,
    base: timedelta = timedelta(minutes=15),
    factor: float = 2.0,
    maximum: timedelta = timedelta(hours=4),
) -> timedelta:
    """Wait before call ``attempt`` + 1 after ``attempt`` (0-based) went unanswered: exponential, capped."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    delay = base * (factor**attempt)
    return min(delay, maximum)


# ----------------------------------------------------------------------------------------------------
# Custom status


STAGE_PROGRESS: dict[Stage, float] = {
    Stage.RECEIVED: 0.0,
    Stage.EXTRACTING: 0.05,
    Stage.PARSING: 0.12,
    Stage.SCREENING: 0.2,
    Stage.AWAITING_REVIEW: 0.25,
    Stage.SCHEDULING: 0.3,
    Stage.WAITING_FOR_SLOT: 0.35,
    Stage.CALLING: 0.45,
    Stage.IN_CALL: 0.55,
    Stage.AWAITING_RECORDING: 0.62,
    Stage.FETCHING_RECORDING: 0.68,
    Stage.TRANSCRIBING: 0.75,
    Stage.SCORING: 0.85,
    Stage.REPORTING: 0.93,
    Stage.COMPLETED: 1.0,
    Stage.REJECTED: 1.0,
    Stage.WITHDRAWN: 1.0,
    Stage.NO_SHOW: 1.0,
    Stage.FAILED: 1.0,
}


def stage_progress(stage: Stage) -> float:
    """Fraction of the pipeline done when ``stage`` starts (terminal stages are 1.0)."""
    return STAGE_PROGRESS[stage]


# ----------------------------------------------------------------------------------------------------
# Batch ranking

_SHORTLIST_OUTCOMES = frozenset({CandidateOutcome.INTERVIEWED})


def rank_candidates(reports: Sequence[CandidateReport], *, shortlist_size: int = 10) -> list[RankedCandidate]:
    """Rank interviewed candidates by interview score, then screening score, then id; keep the best ones."""
    eligible = [report for report in reports if report.outcome in _SHORTLIST_OUTCOMES]
    ordered = sorted(
        eligible,
        key=lambda r: (
            -(r.interview_overall if r.interview_overall is not None else 0.0),
            -(r.screening_score if r.screening_score is not None else 0.0),
            r.instance_id,
        ),
    )
    return [
        RankedCandidate(
            rank=position,
            instance_id=report.instance_id,
            outcome=report.outcome,
            screening_score=report.screening_score,
            interview_overall=report.interview_overall,
            report_json=report.report_json,
        )
        for position, report in enumerate(ordered[:shortlist_size], start=1)
    ]


def outcome_counts(reports: Iterable[CandidateReport]) -> dict[str, int]:
    """How many candidates ended in each outcome."""
    return dict(sorted(Counter(report.outcome.value for report in reports).items()))


# ----------------------------------------------------------------------------------------------------
# Audio splitting

TRANSCRIPTION_REQUEST_MAX_BYTES = 25 * 1024 * 1024
"""What one Azure OpenAI transcription request may carry: the default of
``AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES`` and what the transcription budget's estimate assumes (a longer chunk
is sent in parts, one request each)."""


def plan_wav_split(
    *, data_bytes: int, block_align: int, header_bytes: int, limit_bytes: int
) -> list[tuple[int, int]]:
    """Split a WAV ``data`` chunk into (offset, length) parts that each fit ``limit_bytes`` with their header.

    Every part starts and ends on a frame boundary (a multiple of ``block_align``), so each part is a valid
    WAV file of whole samples. An audio that already fits yields one part.
    """
    if block_align <= 0:
        raise ValueError("block_align must be positive")
    if data_bytes < 0:
        raise ValueError("data_bytes must not be negative")
    room = limit_bytes - header_bytes
    frames_per_part = room // block_align
    if frames_per_part <= 0:
        raise ValueError("limit leaves no room for audio after the header")
    part_bytes = frames_per_part * block_align
    usable = data_bytes - data_bytes % block_align
    if usable == 0:
        return [(0, 0)]
    return [(offset, min(part_bytes, usable - offset)) for offset in range(0, usable, part_bytes)]


# ----------------------------------------------------------------------------------------------------
# Token budget: which instances use it, and what a prompt will cost before it is rendered

TOKEN_BUDGET_VERSION = (2, 0)
"""The first ``candidate_pipeline`` version whose chat calls go through the shared token budget."""
TRANSCRIPTION_BUDGET_VERSION = (2, 1)
"""The first version whose transcription also reserves its requests on its deployment's budget."""

CHARS_PER_TOKEN_FLOOR = 3
"""Characters per o200k token, rounded down: text not yet counted is estimated high rather than low (a low
estimate lets the budget grant what the service then refuses; a high one only holds room until settled)."""


def uses_token_budget(version: str | None) -> bool:
    """Whether an instance of this orchestration ``version`` reserves its chat tokens first.

    Instances started before versions existed carry an empty version and keep the path they began on.
    """
    return _version_at_least(version, TOKEN_BUDGET_VERSION)


def uses_transcription_budget(version: str | None) -> bool:
    """Whether an instance of this ``version`` reserves its transcription requests first (2.1 and later)."""
    return _version_at_least(version, TRANSCRIPTION_BUDGET_VERSION)


def _version_at_least(version: str | None, minimum: tuple[int, ...]) -> bool:
    # An empty or unreadable version is an instance from before versions: it never takes a newer path.
    parts = (version or "").strip().split(".")
    try:
        numbers = tuple(int(part) for part in parts)
    except ValueError:
        return False
    padded = numbers + (0,) * (len(minimum) - len(numbers))
    return padded >= minimum


def estimate_prompt_tokens(
    counted_tokens: int, *, uncounted_chars: int = 0, cap_tokens: int | None = None
) -> int:
    """Estimate a request's prompt tokens before it is rendered.

    ``counted_tokens`` were counted with the encoder (template, schema, text at hand); text known only by
    its length (a blob) adds ``uncounted_chars`` at :data:`CHARS_PER_TOKEN_FLOOR`, at most ``cap_tokens``.
    """
    if counted_tokens < 0 or uncounted_chars < 0:
        raise ValueError("token and character counts cannot be negative")
    estimated = -(-uncounted_chars // CHARS_PER_TOKEN_FLOOR)
    if cap_tokens is not None:
        estimated = min(estimated, max(0, cap_tokens))
    return counted_tokens + estimated
