"""``interview``: book a slot, wait for it, call the candidate, wait for the recording and fetch it.

Runs as a sub-orchestration of ``candidate_pipeline`` with the instance id ``<candidate id>.interview``.

Input
    :class:`shared.models.InterviewInput` (parent instance, job id, phone number, candidate time zone).
Output
    :class:`shared.models.InterviewOutput`: ``recorded`` (with every recording chunk's blob), ``no_show``,
    ``withdrawn``, ``recording_missing`` or ``failed`` (with the typed failure). The interview never raises
    for a business outcome; the parent decides what each one means. ``incomplete_reason`` says why a call
    ended before the interview's closing line: the ``CallEnded`` reason after ``interview_incomplete: ``
    (the question flow gave up, or the candidate hung up mid-interview), or the call outlived
    :data:`CALL_MAX_DURATION`; None for a complete interview.
Activities (retry policy; each called through its handle in :mod:`activities.contracts`)
    ``schedule_interview`` (SCHEDULING_RETRY), ``place_interview_call`` (CALL_RETRY, up to
    :data:`CALL_ROUNDS` rounds), ``start_call_recording`` (CALL_RETRY, up to :data:`CALL_ROUNDS` rounds, once
    connected), ``hang_up_call`` (CALL_RETRY, best effort), ``fetch_call_recording`` (RECORDING_RETRY).
Events
    ``RescheduleRequested`` and ``CandidateWithdrew`` while waiting for the slot; ``CandidateWithdrew`` also
    until the call connects; ``CallConnected`` / ``CallFailed`` / ``CallEnded`` per call (events of an earlier
    call are recognised by their call connection id and ignored); ``RecordingReady`` after the call.
Timers
    The slot start; :data:`RING_TIMEOUT` per call attempt; the backoff between attempts
    (``shared.decisions.call_retry_delay``); :data:`CALL_ROUND_PAUSE` after a round of ACS retries failed
    transiently; :data:`CALL_MAX_DURATION`; :data:`RECORDING_DEADLINE`.
Idempotency
    Activities key their effects by this instance id and an attempt number: a replayed or retried booking
    finds its earlier slot; a retried ``place_interview_call`` finds the call it already placed (ACS operation
    context) instead of ringing the candidate twice; recording chunks land under fixed blob names.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities.contracts import (
    FETCH_CALL_RECORDING,
    HANG_UP_CALL,
    PLACE_INTERVIEW_CALL,
    SCHEDULE_INTERVIEW,
    START_CALL_RECORDING,
)
from activities.handles import ActivityHandle, InputT, OutputT
from orchestrators.status import StatusTracker
from orchestrators.steps import (
    EventInbox,
    StepFailedError,
    StepRunner,
    log_progress,
    parse_model,
    require,
    wait_for_events,
)
from shared.decisions import call_retry_delay
from shared.errors import ErrorCode, FailureInfo
from shared.models import (
    CallConnected,
    CallEnded,
    CallFailed,
    EventName,
    FetchCallRecordingInput,
    HangUpCallInput,
    InterviewInput,
    InterviewOutcome,
    InterviewOutput,
    InterviewSlot,
    PlaceInterviewCallInput,
    PlaceInterviewCallOutput,
    RecordingReady,
    RescheduleRequested,
    ScheduleInterviewInput,
    Stage,
    StartCallRecordingInput,
)
from shared.retry import CALL_ROUNDS

ORCHESTRATOR_NAME = "interview"

MAX_RESCHEDULES = 3
"""Reschedule requests honoured; later ones keep the booked slot."""
MAX_CALL_ATTEMPTS = 3
"""Calls placed before an unanswered candidate counts as a no-show."""
RING_TIMEOUT = timedelta(minutes=2)
"""How long one call may ring before it counts as unanswered."""
CALL_MAX_DURATION = timedelta(minutes=90)
"""A call still open after this long is hung up (a stalled question flow must not hold the line)."""
RECORDING_DEADLINE = timedelta(hours=2)
"""How long after the call ends the recording may take to become available."""
CALL_ROUND_PAUSE = timedelta(minutes=1)
"""Pause before another round: an ACS outage that outlasted a round's backoff gets a little longer."""

_CALLED = EventName.CALL_CONNECTED.value
_FAILED = EventName.CALL_FAILED.value
_ENDED = EventName.CALL_ENDED.value
_WITHDREW = EventName.CANDIDATE_WITHDREW.value
_RESCHEDULE = EventName.RESCHEDULE_REQUESTED.value
_RECORDING = EventName.RECORDING_READY.value

_ENDED_STAGE: dict[InterviewOutcome, Stage] = {
    InterviewOutcome.NO_SHOW: Stage.NO_SHOW,
    InterviewOutcome.WITHDRAWN: Stage.WITHDRAWN,
    InterviewOutcome.RECORDING_MISSING: Stage.FAILED,
}

bp = df.Blueprint()


class _InterviewEndedError(Exception):
    """The interview ended early with ``outcome`` (withdrawn, no-show, recording missing)."""

    def __init__(self, outcome: InterviewOutcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


class _InterviewRun:
    """The state one execution accumulates; rebuilt identically on every replay."""

    def __init__(self, context: df.DurableOrchestrationContext, interview_input: InterviewInput) -> None:
        self.context = context
        self.input = interview_input
        self.instance_id: str = context.instance_id
        self.status = StatusTracker(context, interview_input.job_id)
        self.inbox = EventInbox(context, [_RESCHEDULE, _WITHDREW, _CALLED, _FAILED, _ENDED, _RECORDING])
        self.steps = StepRunner(context, self.inbox)
        self.slot: InterviewSlot | None = None
        self.call_attempts = 0
        self.incomplete_reason: str | None = None

    def output(self, outcome: InterviewOutcome, **fields: Any) -> InterviewOutput:
        return InterviewOutput(
            outcome=outcome,
            slot=self.slot,
            call_attempts=self.call_attempts,
            incomplete_reason=self.incomplete_reason,
            **fields,
        )

    def execute(self) -> Generator[Any, Any, InterviewOutput]:
        try:
            yield from self.wait_for_slot()
            placed = yield from self.call_until_connected()
            yield from self.wait_for_call_end(placed)
            recording = yield from self.wait_for_recording(placed)
            self.status.update(Stage.FETCHING_RECORDING, detail=f"{len(recording.chunks)} chunks")
            fetched = yield from FETCH_CALL_RECORDING.call(
                self.steps, FetchCallRecordingInput(instance_id=self.instance_id, recording=recording)
            )
        except _InterviewEndedError as ended:
            self.status.update(_ENDED_STAGE[ended.outcome], detail=ended.outcome.value)
            log_progress(self.context, "interview ended: %s", ended.outcome.value)
            return self.output(ended.outcome)
        except StepFailedError as failed:
            self.status.update(Stage.FAILED, failure=failed.failure, detail=f"failed at {failed.step}")
            log_progress(self.context, "interview failed at %s: %s", failed.step, failed.failure.code.value)
            return self.output(InterviewOutcome.FAILED, failure=failed.failure)
        log_progress(self.context, "recording fetched: %d chunks", len(fetched.chunks))
        return self.output(InterviewOutcome.RECORDED, recordings=fetched.chunks)

    def wait_for_slot(self) -> Generator[Any, Any, None]:
        """Book a slot and sleep until it starts; a reschedule books again, a withdrawal ends it."""
        reschedules = 0
        not_before = None
        needs_booking = True
        while True:
            if needs_booking:
                self.status.update(Stage.SCHEDULING, detail=f"booking attempt {reschedules + 1}")
                booked = yield from SCHEDULE_INTERVIEW.call(
                    self.steps,
                    ScheduleInterviewInput(
                        instance_id=self.instance_id,
                        job_id=self.input.job_id,
                        candidate_time_zone=self.input.candidate_time_zone,
                        now=self.context.current_utc_datetime,
                        attempt=reschedules,
                        not_before=not_before,
                    ),
                )
                self.slot = require(booked.slot, SCHEDULE_INTERVIEW.name, "slot")
                self.status.update(Stage.WAITING_FOR_SLOT, slot_start=self.slot.start)
                log_progress(self.context, "slot booked for %s", self.slot.start.isoformat())
            assert self.slot is not None
            name, payload = yield from wait_for_events(
                self.context, self.inbox, [_RESCHEDULE, _WITHDREW], self.slot.start
            )
            if name is None:
                return
            if name == _WITHDREW:
                raise _InterviewEndedError(InterviewOutcome.WITHDRAWN)
            request = parse_model(RescheduleRequested, payload)
            if reschedules >= MAX_RESCHEDULES:
                # Keep the booked slot: an endless series of requests must not postpone the interview forever.
                self.status.update(detail="reschedule limit reached; keeping the booked slot")
                needs_booking = False
                continue
            reschedules += 1
            not_before = request.not_before
            needs_booking = True
            log_progress(self.context, "reschedule %d requested", reschedules)

    def call_until_connected(self) -> Generator[Any, Any, PlaceInterviewCallOutput]:
        """Place calls until one connects; unanswered ones are retried with backoff, then a no-show."""
        for attempt in range(MAX_CALL_ATTEMPTS):
            self.call_attempts = attempt + 1
            self.status.update(Stage.CALLING, call_attempt=self.call_attempts)
            placed = yield from self.call_acs(
                PLACE_INTERVIEW_CALL,
                PlaceInterviewCallInput(
                    instance_id=self.instance_id,
                    job_id=self.input.job_id,
                    phone_number=self.input.phone_number,
                    attempt=attempt,
                ),
            )
            call_id = require(placed.call_connection_id, PLACE_INTERVIEW_CALL.name, "call connection id")
            connected = yield from self.wait_for_answer(call_id)
            if connected is not None:
                log_progress(self.context, "call connected on attempt %d", self.call_attempts)
                yield from self.start_recording(placed, connected)
                return placed
            log_progress(self.context, "call attempt %d not answered", self.call_attempts)
            if attempt + 1 < MAX_CALL_ATTEMPTS:
                delay = call_retry_delay(attempt)
                self.status.update(detail=f"no answer; calling again in {int(delay.total_seconds())} s")
                name, _ = yield from wait_for_events(
                    self.context, self.inbox, [_WITHDREW], self.context.current_utc_datetime + delay
                )
                if name == _WITHDREW:
                    raise _InterviewEndedError(InterviewOutcome.WITHDRAWN)
        raise _InterviewEndedError(InterviewOutcome.NO_SHOW)

    def call_acs(
        self, activity: ActivityHandle[InputT, OutputT], payload: InputT
    ) -> Generator[Any, Any, OutputT]:
        """Call an ACS activity with CALL_RETRY, up to :data:`CALL_ROUNDS` rounds while it fails transiently.

        A withdrawal during the pause between rounds ends the interview.
        """
        for round_number in range(1, CALL_ROUNDS + 1):
            try:
                return (yield from activity.call(self.steps, payload))
            except StepFailedError as failed:
                if not failed.failure.code.is_transient or round_number == CALL_ROUNDS:
                    raise
                log_progress(
                    self.context, "%s round %d failed (%s); trying again", activity.name, round_number,
                    failed.failure.code.value,
                )  # fmt: skip
                self.status.update(
                    detail=f"{activity.name}: ACS unavailable; round {round_number + 1} shortly"
                )
                name, _ = yield from wait_for_events(
                    self.context,
                    self.inbox,
                    [_WITHDREW],
                    self.context.current_utc_datetime + CALL_ROUND_PAUSE,
                )
                if name == _WITHDREW:
                    raise _InterviewEndedError(InterviewOutcome.WITHDRAWN) from failed
        raise AssertionError("unreachable: the last round returns or raises")

    def start_recording(
        self, placed: PlaceInterviewCallOutput, connected: CallConnected
    ) -> Generator[Any, Any, None]:
        """Start recording the connected call; the question flow begins once ACS reports it recording.

        Without a recording the interview is worthless, so a recording that cannot start hangs up and fails.
        """
        server_call_id = connected.server_call_id or placed.server_call_id
        try:
            if not server_call_id:
                raise StepFailedError(
                    START_CALL_RECORDING.name,
                    FailureInfo.of(ErrorCode.CALL_FAILED, "the connected call has no server call id"),
                )
            yield from self.call_acs(
                START_CALL_RECORDING,
                StartCallRecordingInput(instance_id=self.instance_id, server_call_id=server_call_id),
            )
        except StepFailedError:
            yield from self.hang_up(connected.call_connection_id)
            raise

    def wait_for_answer(self, call_id: str) -> Generator[Any, Any, CallConnected | None]:
        """Wait for this call to connect; ``None`` when it failed, ended or rang out unanswered."""
        deadline = self.context.current_utc_datetime + RING_TIMEOUT
        while True:
            name, payload = yield from wait_for_events(
                self.context, self.inbox, [_CALLED, _FAILED, _ENDED, _WITHDREW], deadline
            )
            if name is None:
                yield from self.hang_up(call_id)  # stop a phone still ringing before calling again
                return None
            if name == _WITHDREW:
                yield from self.hang_up(call_id)
                raise _InterviewEndedError(InterviewOutcome.WITHDRAWN)
            if name == _CALLED:
                connected = parse_model(CallConnected, payload)
                if connected.call_connection_id == call_id:
                    return connected
                continue  # a late event of an earlier attempt's call
            if name == _FAILED:
                failed_call = parse_model(CallFailed, payload).call_connection_id
                if failed_call in (None, call_id):
                    return None
                continue
            if parse_model(CallEnded, payload).call_connection_id == call_id:
                return None

    def wait_for_call_end(self, placed: PlaceInterviewCallOutput) -> Generator[Any, Any, None]:
        """Wait while the question flow runs; hang up a call that outlives :data:`CALL_MAX_DURATION`."""
        assert placed.call_connection_id is not None
        self.status.update(Stage.IN_CALL)
        deadline = self.context.current_utc_datetime + CALL_MAX_DURATION
        while True:
            name, payload = yield from wait_for_events(self.context, self.inbox, [_ENDED], deadline)
            if name is None:
                log_progress(self.context, "call exceeded its maximum duration; hanging up")
                # The question flow hangs up after its closing line, so a call still open now never got there.
                self.incomplete_reason = (
                    f"the call was still open after {int(CALL_MAX_DURATION.total_seconds() // 60)} minutes "
                    "and was hung up"
                )
                yield from self.hang_up(placed.call_connection_id)
                return
            ended = parse_model(CallEnded, payload)
            if ended.call_connection_id == placed.call_connection_id:
                self.incomplete_reason = ended.incomplete_reason()
                if self.incomplete_reason is not None:
                    log_progress(self.context, "the interview ended early: %s", self.incomplete_reason)
                return

    def wait_for_recording(self, placed: PlaceInterviewCallOutput) -> Generator[Any, Any, RecordingReady]:
        """Wait for this call's ``RecordingReady``; none by :data:`RECORDING_DEADLINE` means it is missing."""
        deadline = self.context.current_utc_datetime + RECORDING_DEADLINE
        self.status.update(Stage.AWAITING_RECORDING, detail=f"recording due by {deadline.isoformat()}")
        while True:
            name, payload = yield from wait_for_events(self.context, self.inbox, [_RECORDING], deadline)
            if name is None:
                raise _InterviewEndedError(InterviewOutcome.RECORDING_MISSING)
            recording = parse_model(RecordingReady, payload)
            if (
                recording.server_call_id
                and placed.server_call_id
                and recording.server_call_id != placed.server_call_id
            ):
                continue  # a recording of an earlier attempt's call
            if recording.chunks:
                return recording

    def hang_up(self, call_id: str) -> Generator[Any, Any, None]:
        """Hang up ``call_id``; best effort, since a call that is already gone needs no hanging up."""
        try:
            yield from HANG_UP_CALL.call(
                self.steps, HangUpCallInput(instance_id=self.instance_id, call_connection_id=call_id)
            )
        except StepFailedError as failed:
            log_progress(self.context, "hang up failed (%s); continuing", failed.failure.code.value)


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)
def interview(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one interview from booking to fetched recording (see module doc)."""
    interview_input = parse_model(InterviewInput, context.get_input())
    output = yield from _InterviewRun(context, interview_input).execute()
    return output.model_dump(mode="json")
