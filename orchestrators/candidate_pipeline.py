"""``candidate_pipeline``: one resume, from upload to a written report.

Input
    :class:`shared.models.CandidatePipelineInput` (job id, resume blob, contact details, time zone).
Output
    :class:`shared.models.CandidateReport`: the outcome (interviewed, rejected at screening or by the
    recruiter, review timed out, no-show, withdrawn, recording missing) with scores and report links.
    An interview whose call ended before its closing line (``InterviewOutput.incomplete_reason``) is still
    transcribed and scored, but ends ``interview_incomplete`` with the reason in the report and the summary.
    A permanent failure ends the instance as **Failed** with the reason ``[error:<code>] <step>: <message>``
    as its output, after a best-effort failure report.
Activities (retry policy; each called through its handle in :mod:`activities.contracts`)
    ``extract_resume_text`` (DOCUMENT_RETRY) → ``parse_candidate_profile`` (AI_RETRY) → ``screen_candidate``
    (AI_RETRY) → [``interview`` sub-orchestration] → ``transcribe_recording`` (TRANSCRIPTION_RETRY) →
    ``score_transcript`` (AI_RETRY) → ``write_candidate_report`` (REPORT_RETRY, also on every early end).
Events
    ``RecruiterDecision`` and ``CandidateWithdrew`` while screening says ``needs_review``; a
    ``CandidateWithdrew`` that arrived earlier ends the run before the interview. Both waits are open from the
    first step on (see ``orchestrators.steps.EventInbox``).
Timers
    The review deadline (:data:`REVIEW_DEADLINE` after the review starts).
Custom status
    :class:`shared.models.PipelineStatus` at every stage (stage, progress, scores, report, failure).
Token budget (orchestration versioning)
    From version 2.0 (``host.json`` ``extensions.durableTask.defaultVersion``, stamped on every new
    instance and on the ``batch_screening`` children), each OpenAI step first reserves its estimated tokens
    on the deployment's ``openai_token_budget`` entity (``call_entity``; when refused, a durable timer for
    the wait it names, then ask again) and afterwards signals ``settle`` with the usage the activity
    reports (``signal_entity``). Instances started before carry an empty version and replay the path they
    began on, without those actions: inserting them before existing steps would break their replay. So the
    choice is made once per instance from ``context.version`` (``shared.decisions.uses_token_budget``),
    never from anything that could change while it runs. Retire the old path once no unversioned instance
    is left running (and its committed replay histories with it).
    From version 2.1 the transcription also reserves its requests (one per part it will send) on the
    transcription deployment's budget (key ``whisper``, a quota in requests only: Whisper's is 3 a minute
    by default) and settles the requests it sent; 2.0 instances replay without those actions
    (``shared.decisions.uses_transcription_budget``).
Idempotency
    The instance id derives from job id + resume blob (:mod:`orchestrators.identity`), so re-fired triggers
    find this instance. Activities key their side effects by this instance id; the interview runs as the
    sub-orchestration ``<instance id>.interview``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from activities.contracts import (
    EXTRACT_RESUME_TEXT,
    PARSE_CANDIDATE_PROFILE,
    SCORE_TRANSCRIPT,
    SCREEN_CANDIDATE,
    TRANSCRIBE_RECORDING,
    WRITE_CANDIDATE_REPORT,
)
from orchestrators.identity import interview_instance_id
from orchestrators.status import StatusTracker
from orchestrators.steps import (
    EventInbox,
    StepFailedError,
    StepRunner,
    await_task,
    failure_from_task_error,
    log_progress,
    parse_model,
    require,
    wait_for_events,
)
from orchestrators.token_budget import TRANSCRIPTION_DEPLOYMENT, budget_entity_id
from shared.decisions import uses_token_budget, uses_transcription_budget
from shared.errors import ErrorCode, FailureInfo
from shared.models import (
    BlobRef,
    CandidateOutcome,
    CandidatePipelineInput,
    CandidateProfile,
    CandidateReport,
    EventName,
    ExtractResumeTextInput,
    InterviewInput,
    InterviewOutcome,
    InterviewOutput,
    InterviewScore,
    InterviewSlot,
    ParseCandidateProfileInput,
    RecruiterDecision,
    ScoreTranscriptInput,
    ScreenCandidateInput,
    ScreeningDecision,
    ScreeningResult,
    Stage,
    TranscribeRecordingInput,
    WriteCandidateReportInput,
    WriteCandidateReportOutput,
)

ORCHESTRATOR_NAME = "candidate_pipeline"
INTERVIEW_ORCHESTRATOR = "interview"

REVIEW_DEADLINE = timedelta(days=3)
"""How long a ``needs_review`` screening waits for a recruiter before the candidate is closed."""

_OUTCOME_STAGE: dict[CandidateOutcome, Stage] = {
    CandidateOutcome.INTERVIEWED: Stage.COMPLETED,
    CandidateOutcome.INTERVIEW_INCOMPLETE: Stage.COMPLETED,
    CandidateOutcome.REJECTED_AT_SCREENING: Stage.REJECTED,
    CandidateOutcome.REJECTED_BY_RECRUITER: Stage.REJECTED,
    CandidateOutcome.REVIEW_TIMED_OUT: Stage.REJECTED,
    CandidateOutcome.NO_SHOW: Stage.NO_SHOW,
    CandidateOutcome.WITHDRAWN: Stage.WITHDRAWN,
    CandidateOutcome.RECORDING_MISSING: Stage.FAILED,
    CandidateOutcome.FAILED: Stage.FAILED,
}

_INTERVIEW_OUTCOME: dict[InterviewOutcome, CandidateOutcome] = {
    InterviewOutcome.NO_SHOW: CandidateOutcome.NO_SHOW,
    InterviewOutcome.WITHDRAWN: CandidateOutcome.WITHDRAWN,
    InterviewOutcome.RECORDING_MISSING: CandidateOutcome.RECORDING_MISSING,
}

CHAT_DEPLOYMENT = "gpt-4o-mini"
"""The chat deployment whose budget the structured-output steps share (the app's default deployment)."""

bp = df.Blueprint()


class _CandidateRun:
    """The state one execution accumulates; rebuilt identically on every replay."""

    def __init__(
        self, context: df.DurableOrchestrationContext, pipeline_input: CandidatePipelineInput
    ) -> None:
        self.context = context
        self.input = pipeline_input
        self.instance_id: str = context.instance_id
        self.status = StatusTracker(context, pipeline_input.job_id)
        self.inbox = EventInbox(
            context, [EventName.RECRUITER_DECISION.value, EventName.CANDIDATE_WITHDREW.value]
        )
        self.profile: CandidateProfile | None = None
        self.screening: ScreeningResult | None = None
        self.recruiter_decision: RecruiterDecision | None = None
        self.slot: InterviewSlot | None = None
        self.transcript: BlobRef | None = None
        self.interview_score: InterviewScore | None = None
        self.interview_incomplete_reason: str | None = None
        # Fixed for the instance's whole life: see "Token budget" in the module doc.
        budgeted = uses_token_budget(context.version)
        transcription_budgeted = uses_transcription_budget(context.version)
        self.steps = StepRunner(
            context,
            self.inbox,
            budget_entity_id(CHAT_DEPLOYMENT) if budgeted else None,
            budget_entity_id(TRANSCRIPTION_DEPLOYMENT) if transcription_budgeted else None,
        )

    def execute(self) -> Generator[Any, Any, CandidateReport]:
        job_id = self.input.job_id
        self.status.update(Stage.EXTRACTING)
        log_progress(self.context, "extracting resume text for job %s", job_id)
        extracted = yield from EXTRACT_RESUME_TEXT.call(
            self.steps,
            ExtractResumeTextInput(instance_id=self.instance_id, job_id=job_id, resume=self.input.resume),
        )
        text = require(extracted.text, EXTRACT_RESUME_TEXT.name, "text reference")

        self.status.update(Stage.PARSING, detail=f"{text.page_count} pages, {text.char_count} characters")
        parsed = yield from PARSE_CANDIDATE_PROFILE.call(
            self.steps, ParseCandidateProfileInput(instance_id=self.instance_id, resume_text=text)
        )
        self.profile = require(parsed.profile, PARSE_CANDIDATE_PROFILE.name, "profile")

        self.status.update(Stage.SCREENING)
        screened = yield from SCREEN_CANDIDATE.call(
            self.steps,
            ScreenCandidateInput(instance_id=self.instance_id, job_id=job_id, profile=self.profile),
        )
        self.screening = require(screened.result, SCREEN_CANDIDATE.name, "screening result")
        self.status.update(screening_score=self.screening.score, screening_decision=self.screening.decision)
        log_progress(self.context, "screening decided %s", self.screening.decision.value)

        if self.screening.decision is ScreeningDecision.REJECT:
            return (yield from self.finish(CandidateOutcome.REJECTED_AT_SCREENING))
        if self.screening.decision is ScreeningDecision.NEEDS_REVIEW:
            review_outcome = yield from self.await_review()
            if review_outcome is not None:
                return (yield from self.finish(review_outcome))
        elif self.inbox.arrived(EventName.CANDIDATE_WITHDREW.value)[0]:
            # Withdrawn while the resume was being read: no interview for someone who left.
            return (yield from self.finish(CandidateOutcome.WITHDRAWN))

        interview = yield from self.run_interview()
        if interview.outcome is not InterviewOutcome.RECORDED:
            return (yield from self.finish(_INTERVIEW_OUTCOME[interview.outcome]))
        # A call cut short is still transcribed and scored from what was said, but never passes as complete.
        self.interview_incomplete_reason = interview.incomplete_reason

        self.status.update(Stage.TRANSCRIBING, detail=f"{len(interview.recordings)} recording chunks")
        transcribed = yield from TRANSCRIBE_RECORDING.call(
            self.steps,
            TranscribeRecordingInput(instance_id=self.instance_id, recordings=interview.recordings),
        )
        self.transcript = require(transcribed.transcript, TRANSCRIBE_RECORDING.name, "transcript")

        self.status.update(Stage.SCORING)
        scored = yield from SCORE_TRANSCRIPT.call(
            self.steps,
            ScoreTranscriptInput(instance_id=self.instance_id, job_id=job_id, transcript=self.transcript),
        )
        self.interview_score = require(scored.score, SCORE_TRANSCRIPT.name, "interview score")
        self.status.update(interview_overall=self.interview_score.overall)
        if self.interview_incomplete_reason is not None:
            return (yield from self.finish(CandidateOutcome.INTERVIEW_INCOMPLETE))
        return (yield from self.finish(CandidateOutcome.INTERVIEWED))

    def await_review(self) -> Generator[Any, Any, CandidateOutcome | None]:
        """Wait for a recruiter; ``None`` means advance, anything else is how the candidate ends."""
        deadline = self.context.current_utc_datetime + REVIEW_DEADLINE
        self.status.update(Stage.AWAITING_REVIEW, detail=f"recruiter decision due by {deadline.isoformat()}")
        name, payload = yield from wait_for_events(
            self.context,
            self.inbox,
            [EventName.RECRUITER_DECISION.value, EventName.CANDIDATE_WITHDREW.value],
            deadline,
        )
        if name is None:
            log_progress(self.context, "review deadline passed")
            return CandidateOutcome.REVIEW_TIMED_OUT
        if name == EventName.CANDIDATE_WITHDREW.value:
            return CandidateOutcome.WITHDRAWN
        self.recruiter_decision = parse_model(RecruiterDecision, payload)
        log_progress(self.context, "recruiter decided %s", self.recruiter_decision.decision)
        if self.recruiter_decision.decision == "reject":
            return CandidateOutcome.REJECTED_BY_RECRUITER
        return None

    def run_interview(self) -> Generator[Any, Any, InterviewOutput]:
        phone = self.input.contact.phone or (self.profile.phone if self.profile else None)
        if not phone:
            raise StepFailedError(
                "interview", FailureInfo.of(ErrorCode.INVALID_INPUT, "no phone number to call the candidate")
            )
        self.status.update(Stage.SCHEDULING)
        interview_input = InterviewInput(
            parent_instance_id=self.instance_id,
            job_id=self.input.job_id,
            phone_number=phone,
            candidate_time_zone=self.input.contact.time_zone,
        )
        try:
            interview_task = self.context.call_sub_orchestrator(
                INTERVIEW_ORCHESTRATOR,
                interview_input.model_dump(mode="json"),
                interview_instance_id(self.instance_id),
            )
            raw = yield from await_task(self.context, self.inbox, interview_task)
        except Exception as error:  # the interview reports its own failures as data; this is a crash
            raise StepFailedError("interview", failure_from_task_error("interview", error)) from error
        interview = parse_model(InterviewOutput, raw)
        self.slot = interview.slot
        if interview.outcome is InterviewOutcome.FAILED:
            failure = interview.failure or FailureInfo.of(
                ErrorCode.INTERNAL, "interview failed without a reason"
            )
            raise StepFailedError("interview", failure)
        return interview

    def finish(
        self, outcome: CandidateOutcome, failure: FailureInfo | None = None
    ) -> Generator[Any, Any, CandidateReport]:
        """Write the report for ``outcome`` and return the summary the orchestration outputs."""
        self.status.update(Stage.REPORTING)
        report_input = WriteCandidateReportInput(
            instance_id=self.instance_id,
            job_id=self.input.job_id,
            outcome=outcome,
            contact=self.input.contact,
            resume=self.input.resume,
            profile=self.profile,
            screening=self.screening,
            recruiter_decision=self.recruiter_decision,
            slot=self.slot,
            transcript=self.transcript,
            interview_score=self.interview_score,
            failure=failure,
            completed_at=self.context.current_utc_datetime,
            interview_incomplete_reason=self.interview_incomplete_reason,
        )
        written = yield from WRITE_CANDIDATE_REPORT.call(self.steps, report_input)
        final_stage = _OUTCOME_STAGE[outcome]
        detail = outcome.value
        if outcome is CandidateOutcome.INTERVIEW_INCOMPLETE:
            detail = f"{outcome.value}: {self.interview_incomplete_reason}"
        self.status.update(final_stage, detail=detail, report=written.report_page or written.report_json)
        log_progress(self.context, "finished with outcome %s", outcome.value)
        return self.summary(outcome, written, failure)

    def summary(
        self, outcome: CandidateOutcome, written: WriteCandidateReportOutput, failure: FailureInfo | None
    ) -> CandidateReport:
        """Summarize the run for the orchestration output; the full report is in Blob storage."""
        return CandidateReport(
            instance_id=self.instance_id,
            job_id=self.input.job_id,
            outcome=outcome,
            stage=_OUTCOME_STAGE[outcome],
            candidate_name=self.profile.full_name if self.profile else self.input.contact.name,
            screening_score=self.screening.score if self.screening else None,
            screening_decision=self.screening.decision if self.screening else None,
            interview_overall=self.interview_score.overall if self.interview_score else None,
            recommendation=self.interview_score.recommendation if self.interview_score else None,
            report_json=written.report_json,
            report_page=written.report_page,
            failure=failure,
            interview_incomplete_reason=self.interview_incomplete_reason,
        )

    def fail(self, failed: StepFailedError) -> Generator[Any, Any, None]:
        """Record why the run stopped (status and a best-effort report), then end the instance as Failed."""
        failure_stage = self.status.current.stage
        self.status.update(Stage.FAILED, detail=f"failed at {failure_stage.value}", failure=failed.failure)
        log_progress(self.context, "failed at %s with %s", failed.step, failed.failure.code.value)
        if failed.step != WRITE_CANDIDATE_REPORT.name:
            # Best effort: the failure being reported is the one that matters, not a failed report about it.
            with contextlib.suppress(StepFailedError):
                yield from self.finish(CandidateOutcome.FAILED, failed.failure)
            self.status.update(
                Stage.FAILED, detail=f"failed at {failure_stage.value}", failure=failed.failure
            )
        raise failed


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)
def candidate_pipeline(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one candidate through extraction, screening, interview, scoring and reporting (see module doc)."""
    pipeline_input = parse_model(CandidatePipelineInput, context.get_input())
    run = _CandidateRun(context, pipeline_input)
    try:
        report = yield from run.execute()
    except StepFailedError as failed:
        yield from run.fail(failed)
        raise  # unreachable: fail() always raises; kept so the generator's contract is explicit
    return report.model_dump(mode="json")
