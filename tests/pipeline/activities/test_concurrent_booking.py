"""Many candidates of one job book interviews at once, through the real ``interview`` orchestration on
devhost's engine and the real ``schedule_interview`` against Azurite: nobody is double-booked, and no
interviewer's day holds more interviews than their capacity."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from activities.scheduling import CALENDAR_PREFIX, schedule_interview
from devhost.testing import DurableTestHost

# Imported with the process's own settings, before any test points them elsewhere: the app reads some
# settings (the resume trigger's container) when it is indexed, and other tests import the same module.
from function_app import app
from shared.models import InterviewInput, InterviewOutput
from shared.settings import get_settings
from shared.storage import upload_bytes
from tests.pipeline.activities.conftest import blob_names
from tests.pipeline.orchestrators.fakes import PipelineFakes

pytestmark = pytest.mark.azurite

CANDIDATES = 64
JOB = "panel-of-four"
PANEL = [
    {"name": "Ana Lisbon", "time_zone": "Europe/Lisbon", "daily_capacity": 3},
    {"name": "Ben Berlin", "time_zone": "Europe/Berlin", "daily_capacity": 3},
    {"name": "Cleo London", "time_zone": "Europe/London", "daily_capacity": 3},
    {"name": "Dev Madrid", "time_zone": "Europe/Madrid", "daily_capacity": 2},
]


def _seed_panel_job() -> None:
    job = {
        "job_id": JOB,
        "title": "Backend engineer",
        "description": "Concurrent booking test job.",
        "interviewers": PANEL,
    }
    upload_bytes(get_settings().jobs_container, f"{JOB}.json", json.dumps(job).encode())


def test_concurrent_bookings_never_share_an_interviewer_and_time_and_keep_capacity(
    configure: Callable[..., None],
) -> None:
    configure(SCHEDULING_HORIZON_DAYS="30")
    _seed_panel_job()
    fakes = PipelineFakes()
    fakes.overrides["schedule_interview"] = schedule_interview  # the real activity, racing on Azurite
    host = DurableTestHost(app, fakes=fakes.activities())
    fakes.raise_event = host.raise_event
    try:
        ids = [
            host.start(
                "interview",
                InterviewInput(
                    parent_instance_id=f"cand-{n:02d}",
                    job_id=JOB,
                    phone_number="+15550101010",
                    candidate_time_zone="Europe/Lisbon",
                ).model_dump(mode="json"),
                instance_id=f"cand-{n:02d}.interview",
            )
            for n in range(CANDIDATES)
        ]
        outputs = [
            InterviewOutput.model_validate(host.run_until_complete(i, timeout=120).output) for i in ids
        ]
    finally:
        host.close()

    assert [output.outcome.value for output in outputs] == ["recorded"] * CANDIDATES
    slots = [output.slot for output in outputs]
    assert all(slot is not None for slot in slots)
    taken = Counter((slot.interviewer, slot.start) for slot in slots if slot is not None)
    conflicts = sum(count - 1 for count in taken.values() if count > 1)
    zones = {member["name"]: ZoneInfo(str(member["time_zone"])) for member in PANEL}
    capacity = {member["name"]: int(str(member["daily_capacity"])) for member in PANEL}
    per_day = Counter(
        (slot.interviewer, slot.start.astimezone(zones[slot.interviewer]).date())
        for slot in slots
        if slot is not None
    )
    over_capacity = {day: count for day, count in per_day.items() if count > capacity[day[0]]}
    claims = blob_names(get_settings().artifacts_container, f"{CALENDAR_PREFIX}/")
    interviewers = {slot.interviewer for slot in slots if slot is not None}
    print(
        f"\nbookings {len(taken)} of {CANDIDATES} candidates, interviewers {len(interviewers)}, "
        f"interviewer-days {len(per_day)}, conflicts {conflicts}, days over capacity {len(over_capacity)}, "
        f"schedule_interview executions {fakes.calls['schedule_interview']}"
    )
    assert conflicts == 0
    assert over_capacity == {}
    assert len(taken) == CANDIDATES
    # Exactly one slot claim and one seat claim per booking: nothing leaked by the lost races.
    assert sum("/slot-" in name for name in claims) == CANDIDATES
    assert sum("/seat-" in name for name in claims) == CANDIDATES
    # The panel was used as a whole, earliest days first: capacity, not preference, spread the bookings.
    assert len(interviewers) == len(PANEL)


class SimulatedCrashError(Exception):
    """The process died at a fault point."""


def _crash() -> None:
    raise SimulatedCrashError


@pytest.mark.parametrize("point", ["after_slot_claim", "before_record"])
def test_a_booking_retried_after_a_crash_finds_its_own_claims(
    configure: Callable[..., None], point: str
) -> None:
    from activities.scheduling import (
        SCHEDULE_AFTER_SLOT_CLAIM,
        SCHEDULE_BEFORE_RECORD,
        schedule_interview_service,
    )
    from shared.models import ScheduleInterviewInput
    from shared.storage import injected_fault

    _seed_panel_job()
    fault = SCHEDULE_AFTER_SLOT_CLAIM if point == "after_slot_claim" else SCHEDULE_BEFORE_RECORD

    def request(instance: str) -> ScheduleInterviewInput:
        return ScheduleInterviewInput.model_validate(
            {
                "instance_id": instance,
                "job_id": JOB,
                "candidate_time_zone": "Europe/Lisbon",
                "now": "2026-12-07T08:00:00+00:00",
                "attempt": 0,
            }
        )

    with injected_fault(fault, _crash), pytest.raises(SimulatedCrashError):
        schedule_interview_service(request("crashed.interview"))
    retried = schedule_interview_service(request("crashed.interview"))
    other = schedule_interview_service(request("other.interview"))

    assert retried.slot is not None
    assert other.slot is not None
    assert (other.slot.interviewer, other.slot.start) != (retried.slot.interviewer, retried.slot.start)
    claims = blob_names(get_settings().artifacts_container, f"{CALENDAR_PREFIX}/")
    # One slot and one seat per booking: the retry reused what the crashed run claimed, leaking nothing.
    assert sum("/slot-" in name for name in claims) == 2
    assert sum("/seat-" in name for name in claims) == 2
    assert schedule_interview_service(request("crashed.interview")).slot == retried.slot
