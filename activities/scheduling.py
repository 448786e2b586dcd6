"""Interview scheduling: a slot is booked by claiming it atomically in Blob; the choice is a pure function.

Why claims: listing bookings, choosing a slot and writing a booking is a race. Batch screening runs dozens of
candidates at once, and every one of them saw the same free slot and the same spare capacity. A booking now
holds two claims, each a blob created only if absent (``If-None-Match: *``, so exactly one writer succeeds
however many race, on any number of Function App instances):

- the slot claim ``calendar/<interviewer>/<local day>/slot-<start UTC>``: nobody else has that interviewer
  at that time (slots lie on a grid of the interview duration, so overlapping slots share their start);
- a seat claim ``calendar/<interviewer>/<local day>/seat-<n>`` with ``n < daily_capacity``: at most
  ``daily_capacity`` bookings hold a seat on one interviewer's day.

A claim carries its holder (``<instance id>/<attempt>``) in its metadata. The activity reads only the days
it considers (one list of names and metadata per interviewer and day, no blob downloaded), chooses the
earliest slot with :func:`shared.decisions.choose_interview_slot`, and claims; a claim lost to a concurrent
booking adds that booking to what it knows and it chooses again. The slot claim comes first; when no seat is
left the slot claim is released and the day counts as full.

Idempotency: the booking record ``bookings/<job>/<instance>/<attempt>.json`` is written once both claims are
held and is the answer to every later execution of the same attempt. A retry after a crash between a claim
and the record finds its own claims on the days it reads (same holder) and reuses them; a rescheduled booking
(next attempt) first releases the claims of the attempts before it. A claim left behind by a run that never
comes back (an orchestration terminated mid-booking) only ever costs capacity: it can never let two bookings
share a slot or a day exceed its capacity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import azure.durable_functions as df

from activities._common import run_activity
from activities.contracts import SCHEDULE_INTERVIEW
from shared.decisions import Booking, BusinessHours, choose_interview_slot, zone
from shared.errors import ErrorCode, PermanentError
from shared.models import InterviewSlot, JobDefinition, ScheduleInterviewInput, ScheduleInterviewOutput
from shared.settings import get_settings
from shared.storage import container_client, fault_point
from shared.storage import load_job as read_job

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

__all__ = [
    "SCHEDULE_AFTER_SLOT_CLAIM",
    "SCHEDULE_BEFORE_RECORD",
    "booking_blob_name",
    "bp",
    "day_prefix",
    "schedule_interview_service",
    "seat_claim_name",
    "slot_claim_name",
]

bp = df.Blueprint()

CALENDAR_PREFIX = "calendar"
HOLDER = "holder"
SCHEDULE_AFTER_SLOT_CLAIM = "schedule_interview.after_slot_claim"
"""Fault point between the slot claim and the seat claim."""
SCHEDULE_BEFORE_RECORD = "schedule_interview.before_record"
"""Fault point between the second claim and the booking record."""


def booking_blob_name(job_id: str, instance_id: str, attempt: int) -> str:
    """One booking record per instance and attempt: the answer to every repeated execution of that attempt."""
    return f"bookings/{job_id}/{instance_id}/{attempt}.json"


def day_prefix(interviewer: str, local_day: date) -> str:
    """Prefix of every claim on one interviewer's local day (the name is escaped: any text is a name)."""
    return f"{CALENDAR_PREFIX}/{quote(interviewer, safe='')}/{local_day.isoformat()}/"


def slot_claim_name(interviewer: str, local_day: date, start: datetime) -> str:
    """Name the claim on ``interviewer`` at ``start``: whoever creates it has that slot."""
    return f"{day_prefix(interviewer, local_day)}slot-{start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def seat_claim_name(interviewer: str, local_day: date, seat: int) -> str:
    """One of the ``daily_capacity`` seats of an interviewer's day."""
    return f"{day_prefix(interviewer, local_day)}seat-{seat:03d}"


def _holder(instance_id: str, attempt: int) -> str:
    return f"{instance_id}/{attempt}"


@dataclass
class _Day:
    """What the activity knows of one interviewer's day: claims by others, and its own."""

    slots: set[datetime] = field(default_factory=set)
    seats: set[int] = field(default_factory=set)
    own_slots: set[datetime] = field(default_factory=set)
    own_seats: set[int] = field(default_factory=set)
    full: bool = False


def _parse_slot_start(name: str) -> datetime | None:
    stem = name.rsplit("/", 1)[-1]
    if not stem.startswith("slot-"):
        return None
    try:
        return datetime.strptime(stem.removeprefix("slot-"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _parse_seat(name: str) -> int | None:
    stem = name.rsplit("/", 1)[-1]
    if not stem.startswith("seat-"):
        return None
    try:
        return int(stem.removeprefix("seat-"))
    except ValueError:
        return None


class _Calendar:
    """Claims of the days read so far, and the claim operations, for one booking attempt."""

    def __init__(self, container: ContainerClient, job: JobDefinition, holder: str) -> None:
        self.container = container
        self.holder = holder
        self.capacity = {interviewer.name: interviewer.daily_capacity for interviewer in job.interviewers}
        self.zones = {interviewer.name: zone(interviewer.time_zone) for interviewer in job.interviewers}
        self.days: dict[tuple[str, date], _Day] = {}
        self.lists = 0
        self.claims_lost = 0

    def local_day(self, interviewer: str, start: datetime) -> date:
        return start.astimezone(self.zones[interviewer]).date()

    def day(self, interviewer: str, local_day: date) -> _Day | None:
        return self.days.get((interviewer, local_day))

    def read_day(self, interviewer: str, local_day: date) -> _Day:
        """List the claims of one day (names and metadata only)."""
        day = _Day()
        self.lists += 1
        for blob in self.container.list_blobs(
            name_starts_with=day_prefix(interviewer, local_day), include=["metadata"]
        ):
            own = (blob.metadata or {}).get(HOLDER) == self.holder
            if (start := _parse_slot_start(blob.name)) is not None:
                (day.own_slots if own else day.slots).add(start)
            elif (seat := _parse_seat(blob.name)) is not None:
                (day.own_seats if own else day.seats).add(seat)
        self.days[(interviewer, local_day)] = day
        return day

    def bookings(self) -> list[Booking]:
        """Return what the chooser must avoid: others' slots, and a full count for days with no seat left."""
        known: list[Booking] = []
        for (interviewer, local_day), day in self.days.items():
            known += [Booking(interviewer=interviewer, start=start) for start in day.slots]
            taken = self.capacity.get(interviewer, 0) if day.full else len(day.seats)
            # Seats held without a slot claim (a booking in flight elsewhere) still count against capacity;
            # they are placed at local midnight, outside business hours, so they block no real slot.
            midnight = datetime.combine(local_day, time(0), tzinfo=self.zones[interviewer]).astimezone(UTC)
            known += [Booking(interviewer=interviewer, start=midnight)] * max(0, taken - len(day.slots))
        return known

    def _create(self, name: str, body: dict[str, Any]) -> bool:
        from azure.core.exceptions import ResourceExistsError

        try:
            self.container.upload_blob(
                name, json.dumps(body).encode(), overwrite=False, metadata={HOLDER: self.holder}
            )
        except ResourceExistsError:
            self.claims_lost += 1
            return False
        return True

    def claim_slot(self, slot: InterviewSlot, local_day: date, day: _Day) -> bool:
        if slot.start in day.own_slots:
            return True
        name = slot_claim_name(slot.interviewer, local_day, slot.start)
        if self._create(name, {"holder": self.holder, "start": slot.start.isoformat()}):
            day.own_slots.add(slot.start)
            return True
        day.slots.add(slot.start)
        return False

    def claim_seat(self, interviewer: str, local_day: date, day: _Day) -> int | None:
        if day.own_seats:
            return min(day.own_seats)
        for seat in range(self.capacity.get(interviewer, 0)):
            if seat in day.seats:
                continue
            if self._create(seat_claim_name(interviewer, local_day, seat), {"holder": self.holder}):
                day.own_seats.add(seat)
                return seat
            day.seats.add(seat)
        day.full = True
        return None

    def release(self, name: str, holder: str | None = None) -> None:
        """Delete the claim ``name`` if ``holder`` (default: this attempt) still holds it."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        blob = self.container.get_blob_client(name)
        try:
            properties = blob.get_blob_properties()
            if (properties.metadata or {}).get(HOLDER) != (holder or self.holder):
                return
            blob.delete_blob(etag=properties.etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceNotFoundError, ResourceModifiedError):
            return  # already gone, or claimed anew by someone else since: not ours to delete

    def release_own_except(self, keep: set[str]) -> None:
        """Release this attempt's claims on the days read that the booking does not use."""
        for (interviewer, local_day), day in self.days.items():
            names = [slot_claim_name(interviewer, local_day, start) for start in day.own_slots]
            names += [seat_claim_name(interviewer, local_day, seat) for seat in day.own_seats]
            for name in names:
                if name not in keep:
                    self.release(name)


def _read_booking(container: ContainerClient, name: str) -> tuple[InterviewSlot, dict[str, str]] | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        downloaded = container.get_blob_client(name).download_blob()
        return InterviewSlot.model_validate_json(downloaded.readall()), dict(downloaded.properties.metadata)
    except ResourceNotFoundError:
        return None


def _release_earlier_attempts(calendar: _Calendar, request: ScheduleInterviewInput) -> None:
    # A reschedule books again; the booking it replaces must stop holding a slot and a seat.
    for attempt in range(request.attempt):
        earlier = _read_booking(
            calendar.container, booking_blob_name(request.job_id, request.instance_id, attempt)
        )
        if earlier is None:
            continue
        _, metadata = earlier
        for claim in (metadata.get("slot_claim"), metadata.get("seat_claim")):
            if claim:
                calendar.release(claim, holder=_holder(request.instance_id, attempt))


def schedule_interview_service(request: ScheduleInterviewInput) -> ScheduleInterviewOutput:
    """Book the earliest slot whose claims this attempt wins, or return the booking it already holds."""
    settings = get_settings()
    try:
        zone(request.candidate_time_zone)
    except ValueError as error:
        raise PermanentError(ErrorCode.INVALID_INPUT, str(error)) from error
    container = container_client(settings.artifacts_container)
    own_name = booking_blob_name(request.job_id, request.instance_id, request.attempt)
    if (booked := _read_booking(container, own_name)) is not None:
        return ScheduleInterviewOutput(slot=booked[0])
    job = read_job(request.job_id)
    if not job.interviewers:
        raise PermanentError(ErrorCode.NO_SLOT_AVAILABLE, f"job {job.job_id!r} has no interviewers")
    try:
        calendar = _Calendar(container, job, _holder(request.instance_id, request.attempt))
    except ValueError as error:
        raise PermanentError(ErrorCode.INVALID_INPUT, f"job {job.job_id!r}: {error}") from error
    _release_earlier_attempts(calendar, request)
    hours = BusinessHours(settings.business_hours_start, settings.business_hours_end)
    while True:
        slot = choose_interview_slot(
            now=request.now,
            candidate_time_zone=request.candidate_time_zone,
            interviewers=job.interviewers,
            bookings=calendar.bookings(),
            hours=hours,
            lead_time=timedelta(hours=settings.interview_lead_hours),
            duration=timedelta(minutes=settings.interview_duration_minutes),
            horizon=timedelta(days=settings.scheduling_horizon_days),
            not_before=request.not_before,
        )
        if slot is None:
            calendar.release_own_except(set())
            raise PermanentError(
                ErrorCode.NO_SLOT_AVAILABLE, "no interviewer has a free slot within the horizon"
            )
        local_day = calendar.local_day(slot.interviewer, slot.start)
        day = calendar.day(slot.interviewer, local_day)
        if day is None:
            calendar.read_day(slot.interviewer, local_day)
            continue  # choose again, now knowing that day's claims
        if not calendar.claim_slot(slot, local_day, day):
            continue
        fault_point(SCHEDULE_AFTER_SLOT_CLAIM)
        seat = calendar.claim_seat(slot.interviewer, local_day, day)
        if seat is None:
            calendar.release(slot_claim_name(slot.interviewer, local_day, slot.start))
            day.own_slots.discard(slot.start)
            continue
        claims = {
            "slot_claim": slot_claim_name(slot.interviewer, local_day, slot.start),
            "seat_claim": seat_claim_name(slot.interviewer, local_day, seat),
        }
        fault_point(SCHEDULE_BEFORE_RECORD)
        return _record_booking(calendar, own_name, slot, claims)


def _record_booking(
    calendar: _Calendar, own_name: str, slot: InterviewSlot, claims: dict[str, str]
) -> ScheduleInterviewOutput:
    from azure.core.exceptions import ResourceExistsError

    data = json.dumps(slot.model_dump(mode="json")).encode()
    try:
        calendar.container.upload_blob(own_name, data, overwrite=False, metadata=claims)
    except ResourceExistsError:
        # A concurrent execution of the same attempt recorded first: its booking is the answer, and the
        # claims this execution took beyond it go back.
        recorded = _read_booking(calendar.container, own_name)
        if recorded is None:  # deleted in between: nothing sensible to adopt, so keep ours
            raise
        calendar.release_own_except({value for value in recorded[1].values() if value})
        return ScheduleInterviewOutput(slot=recorded[0])
    calendar.release_own_except(set(claims.values()))
    return ScheduleInterviewOutput(slot=slot)


@bp.function_name(SCHEDULE_INTERVIEW.name)
@bp.activity_trigger(input_name="payload")
def schedule_interview(payload: Any) -> dict[str, Any]:
    """Choose and book an interview slot; ``ScheduleInterviewInput`` → ``ScheduleInterviewOutput``."""
    return run_activity(
        SCHEDULE_INTERVIEW.name,
        payload,
        SCHEDULE_INTERVIEW.input_model,
        SCHEDULE_INTERVIEW.output_model,
        schedule_interview_service,
    )
