"""Interview scheduling: bookings live in Blob; the slot itself is chosen by a pure function."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities._common import run_activity
from shared.decisions import Booking, BusinessHours, choose_interview_slot, zone
from shared.errors import ErrorCode, PermanentError
from shared.models import InterviewSlot, ScheduleInterviewInput, ScheduleInterviewOutput
from shared.settings import get_settings
from shared.storage import container_client, upload_if_absent
from shared.storage import load_job as read_job

__all__ = ["booking_blob_name", "bp", "schedule_interview_service"]

bp = df.Blueprint()


def booking_blob_name(job_id: str, instance_id: str, attempt: int) -> str:
    """One booking per instance and attempt, under the job so capacity is counted per job panel."""
    return f"bookings/{job_id}/{instance_id}/{attempt}.json"


def schedule_interview_service(request: ScheduleInterviewInput) -> ScheduleInterviewOutput:
    """Book the earliest free slot for the candidate, or return the booking this attempt already holds."""
    settings = get_settings()
    try:
        zone(request.candidate_time_zone)
    except ValueError as error:
        raise PermanentError(ErrorCode.INVALID_INPUT, str(error)) from error
    job = read_job(request.job_id)
    if not job.interviewers:
        raise PermanentError(ErrorCode.NO_SLOT_AVAILABLE, f"job {job.job_id!r} has no interviewers")
    container = container_client(settings.artifacts_container)
    own_name = booking_blob_name(request.job_id, request.instance_id, request.attempt)
    bookings: list[Booking] = []
    for item in container.list_blobs(name_starts_with=f"bookings/{request.job_id}/"):
        booked = InterviewSlot.model_validate_json(container.download_blob(item.name).readall())
        if item.name == own_name:
            return ScheduleInterviewOutput(slot=booked)
        if item.name.startswith(f"bookings/{request.job_id}/{request.instance_id}/"):
            continue  # this candidate's earlier, rescheduled bookings no longer hold a place
        bookings.append(Booking(interviewer=booked.interviewer, start=booked.start))
    slot = choose_interview_slot(
        now=request.now,
        candidate_time_zone=request.candidate_time_zone,
        interviewers=job.interviewers,
        bookings=bookings,
        hours=BusinessHours(settings.business_hours_start, settings.business_hours_end),
        lead_time=timedelta(hours=settings.interview_lead_hours),
        duration=timedelta(minutes=settings.interview_duration_minutes),
        horizon=timedelta(days=settings.scheduling_horizon_days),
        not_before=request.not_before,
    )
    if slot is None:
        raise PermanentError(ErrorCode.NO_SLOT_AVAILABLE, "no interviewer has a free slot within the horizon")
    data = json.dumps(slot.model_dump(mode="json")).encode()
    _, created = upload_if_absent(settings.artifacts_container, own_name, data)
    if not created:
        # A concurrent execution of the same attempt booked first: its slot is the booking.
        stored = container.download_blob(own_name).readall()
        return ScheduleInterviewOutput(slot=InterviewSlot.model_validate_json(stored))
    return ScheduleInterviewOutput(slot=slot)


@bp.activity_trigger(input_name="payload")
def schedule_interview(payload: Any) -> dict[str, Any]:
    """Choose and book an interview slot; ``ScheduleInterviewInput`` → ``ScheduleInterviewOutput``."""
    return run_activity(
        "schedule_interview",
        payload,
        ScheduleInterviewInput,
        ScheduleInterviewOutput,
        schedule_interview_service,
    )
