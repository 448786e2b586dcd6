"""Pydantic models for everything that crosses a durable boundary.

Rules the models keep:

- Every activity takes one ``*Input`` model and returns one ``*Output`` model, both crossing the boundary as
  ``model_dump(mode="json")`` and re-validated on entry with ``Model.model_validate(...)``.
- Outputs carry ``failure: FailureInfo | None``: a permanent fault comes back as data, never as an exception.
- Documents, audio, transcripts and long text travel as :class:`BlobRef` references (claim-check), so history
  payloads stay small.
- Fields that a later version adds get defaults, so inputs recorded in old histories still validate.
- The schema classes sent to OpenAI (``CandidateProfile``, ``ScreeningResult``, ``InterviewScore`` and their
  parts) keep the field names of the hiring contract and have no defaults: strict structured output requires
  every field.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.errors import ErrorCode, FailureInfo

__all__ = [
    "INTERVIEW_INCOMPLETE_PREFIX",
    "ActivityOutput",
    "BatchCandidate",
    "BatchScreeningInput",
    "BatchScreeningOutput",
    "BlobRef",
    "CallConnected",
    "CallEnded",
    "CallFailed",
    "CandidateContact",
    "CandidateOutcome",
    "CandidatePipelineInput",
    "CandidateProfile",
    "CandidateReport",
    "CandidateWithdrew",
    "DimensionScore",
    "EducationEntry",
    "ErrorCode",
    "EventName",
    "ExperienceEntry",
    "ExtractResumeTextInput",
    "ExtractResumeTextOutput",
    "FailureInfo",
    "FetchCallRecordingInput",
    "FetchCallRecordingOutput",
    "FreeText",
    "HangUpCallInput",
    "HangUpCallOutput",
    "IntakePath",
    "InterviewInput",
    "InterviewOutcome",
    "InterviewOutput",
    "InterviewPlan",
    "InterviewScore",
    "InterviewSlot",
    "Interviewer",
    "JobDefinition",
    "ParseCandidateProfileInput",
    "ParseCandidateProfileOutput",
    "PipelineStatus",
    "PlaceInterviewCallInput",
    "PlaceInterviewCallOutput",
    "RankedCandidate",
    "Recommendation",
    "RecordingChunk",
    "RecordingReady",
    "RecruiterDecision",
    "RescheduleRequested",
    "RubricDimension",
    "ScheduleInterviewInput",
    "ScheduleInterviewOutput",
    "ScoreTranscriptInput",
    "ScoreTranscriptOutput",
    "ScreenCandidateInput",
    "ScreenCandidateOutput",
    "ScreeningDecision",
    "ScreeningResult",
    "SingleLineText",
    "SkillRequirement",
    "Stage",
    "StartCallRecordingInput",
    "StartCallRecordingOutput",
    "TextRef",
    "TranscribeRecordingInput",
    "TranscribeRecordingOutput",
    "TranscriptRef",
    "WriteCandidateReportInput",
    "WriteCandidateReportOutput",
]


# Characters people type never include these: control characters (NUL, ESC...), bidi overrides and other
# invisible formatting that can disguise a name in a report or a log, surrogates and private-use code points.
# Zero-width (non-)joiners stay: several scripts spell names with them.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_ALLOWED_FORMATTING = frozenset({"\u200c", "\u200d"})
_LINE_BREAKS = frozenset({"\n", "\r", "\t"})


def _refused_character(value: str, allowed: frozenset[str]) -> str | None:
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def _single_line(value: str) -> str:
    char = _refused_character(value, _ALLOWED_FORMATTING)
    if char is not None:
        raise ValueError(f"control or formatting character U+{ord(char):04X} is not allowed")
    return value


def _free_text(value: str) -> str:
    char = _refused_character(value, _ALLOWED_FORMATTING | _LINE_BREAKS)
    if char is not None:
        raise ValueError(f"control or formatting character U+{ord(char):04X} is not allowed")
    return value


SingleLineText = Annotated[str, AfterValidator(_single_line)]
"""Text typed on one line (names, addresses, ids): no control or bidi formatting characters."""
FreeText = Annotated[str, AfterValidator(_free_text)]
"""Multi-line text (notes, reasons): line breaks and tabs, but no other control or bidi characters."""


class _Model(BaseModel):
    """Base for boundary models: unknown fields are ignored so newer histories don't break older code."""

    model_config = ConfigDict(extra="ignore")


class _SchemaModel(BaseModel):
    """Base for models sent to OpenAI as strict JSON schemas (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------------------------------------------------
# References (claim-check)


class BlobRef(_Model):
    """Where a document lives in Blob storage; the document itself never enters history."""

    container: str
    name: str
    size_bytes: int | None = None
    content_type: str | None = None

    @property
    def path(self) -> str:
        """``container/name``, for logs and links."""
        return f"{self.container}/{self.name}"


class TextRef(BlobRef):
    """Extracted text in Blob storage, with the counts the pipeline reports."""

    page_count: int = 0
    char_count: int = 0


class TranscriptRef(BlobRef):
    """A transcript in Blob: ``name`` is the readable text, ``segments_name`` the timed JSON segments."""

    segments_name: str | None = None
    segment_count: int = 0
    duration_seconds: float = 0.0
    char_count: int = 0


# ----------------------------------------------------------------------------------------------------
# Job definitions (samples/jobs/<job_id>.json, seeded to Blob)


class SkillRequirement(_Model):
    """One skill the job asks for, weighted in the screening score."""

    skill: str
    weight: float = 1.0


class RubricDimension(_Model):
    """One dimension of the interview rubric."""

    name: str
    description: str
    keywords: list[str] = Field(default_factory=list)


class InterviewPlan(_Model):
    """Questions played during the call and the rubric the transcript is scored against."""

    questions: list[str] = Field(default_factory=list)
    dimensions: list[RubricDimension] = Field(default_factory=list)


class Interviewer(_Model):
    """Someone who can attend interviews, in their own time zone, up to a number of calls a day."""

    name: str
    time_zone: str
    daily_capacity: int = Field(default=4, ge=0)


class JobDefinition(_Model):
    """A job opening: requirements for screening, the interview plan and the interview panel."""

    job_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    title: str
    description: str
    must_have: list[SkillRequirement] = Field(default_factory=list)
    nice_to_have: list[SkillRequirement] = Field(default_factory=list)
    min_years: float = 0.0
    interview: InterviewPlan = Field(default_factory=InterviewPlan)
    interviewers: list[Interviewer] = Field(default_factory=list)


# ----------------------------------------------------------------------------------------------------
# OpenAI structured-output schemas (field names are the hiring contract)


class ExperienceEntry(_SchemaModel):
    """One position held."""

    title: str
    company: str
    start_date: str = Field(description="YYYY-MM")
    end_date: str | None = Field(description="YYYY-MM, null while the position is current")
    years: float
    highlights: list[str]


class EducationEntry(_SchemaModel):
    """One degree or course of study."""

    institution: str
    degree: str
    field: str | None
    graduation_year: int | None


class CandidateProfile(_SchemaModel):
    """What the model reads out of a resume."""

    full_name: str
    email: str | None
    phone: str | None
    location: str | None
    headline: str
    skills: list[str]
    total_years_experience: float
    experience: list[ExperienceEntry]
    education: list[EducationEntry]


class ScreeningDecision(StrEnum):
    """Outcome of screening a profile against a job."""

    ADVANCE = "advance"
    REJECT = "reject"
    NEEDS_REVIEW = "needs_review"


class ScreeningResult(_SchemaModel):
    """How well a profile matches a job; the decision is re-checked by ``shared.decisions``."""

    decision: ScreeningDecision
    score: float = Field(description="0..1, weighted skill and experience match")
    matched_must_have: list[str]
    missing_must_have: list[str]
    matched_nice_to_have: list[str]
    years_required: float
    years_found: float
    rationale: str


class DimensionScore(_SchemaModel):
    """Score of one rubric dimension with verbatim evidence from the candidate."""

    name: str
    score: int = Field(description="1..5")
    evidence: list[str] = Field(description="verbatim quotes of Candidate lines from the transcript")
    comment: str


class Recommendation(StrEnum):
    """Hiring recommendation derived from the interview."""

    STRONG_HIRE = "strong_hire"
    HIRE = "hire"
    NO_HIRE = "no_hire"
    STRONG_NO_HIRE = "strong_no_hire"


class InterviewScore(_SchemaModel):
    """The scored interview."""

    overall: float = Field(description="1..5")
    dimensions: list[DimensionScore]
    narrative: str
    recommendation: Recommendation
    recommendations: list[str]


# ----------------------------------------------------------------------------------------------------
# Candidates, stages and outcomes


class CandidateContact(_Model):
    """Contact details given with the application (personal data: never logged)."""

    name: SingleLineText | None = None
    email: SingleLineText | None = None
    phone: SingleLineText | None = None
    time_zone: SingleLineText = "UTC"


class Stage(StrEnum):
    """Where a candidate stands; the custom status of ``candidate_pipeline`` carries it."""

    RECEIVED = "received"
    EXTRACTING = "extracting"
    PARSING = "parsing"
    SCREENING = "screening"
    AWAITING_REVIEW = "awaiting_review"
    SCHEDULING = "scheduling"
    WAITING_FOR_SLOT = "waiting_for_slot"
    CALLING = "calling"
    IN_CALL = "in_call"
    AWAITING_RECORDING = "awaiting_recording"
    FETCHING_RECORDING = "fetching_recording"
    TRANSCRIBING = "transcribing"
    SCORING = "scoring"
    REPORTING = "reporting"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    NO_SHOW = "no_show"
    FAILED = "failed"


class PipelineStatus(_Model):
    """Custom status of a candidate orchestration (small: it is stored with every episode)."""

    stage: Stage
    progress: float = Field(ge=0.0, le=1.0)
    job_id: str | None = None
    updated_at: datetime | None = None
    detail: str | None = None
    screening_score: float | None = None
    screening_decision: ScreeningDecision | None = None
    interview_overall: float | None = None
    slot_start: datetime | None = None
    call_attempt: int | None = None
    report: BlobRef | None = None
    failure: FailureInfo | None = None


class CandidateOutcome(StrEnum):
    """How a candidate's pipeline ended."""

    INTERVIEWED = "interviewed"
    REJECTED_AT_SCREENING = "rejected_at_screening"
    REJECTED_BY_RECRUITER = "rejected_by_recruiter"
    REVIEW_TIMED_OUT = "review_timed_out"
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"
    RECORDING_MISSING = "recording_missing"
    FAILED = "failed"
    INTERVIEW_INCOMPLETE = "interview_incomplete"
    """The call was recorded, transcribed and scored, but the interview ended before its closing line: the
    score rests on the answers given, and the report says why it ended early."""


class IntakePath(StrEnum):
    """How a resume reached ``candidate_pipeline``: recorded by the start path on the pipeline's input."""

    HTTP = "http"
    """``POST /jobs/{job_id}/candidates`` with JSON naming a blob already in the resumes container."""
    UPLOAD = "upload"
    """The same route as a multipart upload (the dashboard's upload form sends one)."""
    BLOB_TRIGGER = "blob_trigger"
    """A blob dropped into the resumes container, seen by the blob trigger."""
    EVENT_GRID = "event_grid"
    """A ``Microsoft.Storage.BlobCreated`` event delivered to the Event Grid trigger."""
    BATCH = "batch"
    """A ``batch_screening`` sub-orchestration."""


class InterviewOutcome(StrEnum):
    """How the ``interview`` sub-orchestration ended."""

    RECORDED = "recorded"
    NO_SHOW = "no_show"
    WITHDRAWN = "withdrawn"
    RECORDING_MISSING = "recording_missing"
    FAILED = "failed"


# ----------------------------------------------------------------------------------------------------
# External event bodies (names in EventName)


class EventName(StrEnum):
    """Names of the external events the orchestrations wait for."""

    RECRUITER_DECISION = "RecruiterDecision"
    RESCHEDULE_REQUESTED = "RescheduleRequested"
    CANDIDATE_WITHDREW = "CandidateWithdrew"
    CALL_CONNECTED = "CallConnected"
    CALL_ENDED = "CallEnded"
    CALL_FAILED = "CallFailed"
    RECORDING_READY = "RecordingReady"


class RecruiterDecision(_Model):
    """A recruiter's verdict on a candidate screening marked ``needs_review``."""

    decision: Literal["advance", "reject"]
    recruiter: SingleLineText | None = Field(default=None, max_length=200)
    note: FreeText | None = Field(default=None, max_length=2000)


class RescheduleRequested(_Model):
    """Move the interview: optionally no earlier than ``not_before``."""

    reason: FreeText | None = Field(default=None, max_length=2000)
    not_before: datetime | None = None


class CandidateWithdrew(_Model):
    """The candidate left the process."""

    reason: FreeText | None = Field(default=None, max_length=2000)


class CallConnected(_Model):
    """ACS reported ``CallConnected`` for the call this instance placed."""

    call_connection_id: str
    server_call_id: str | None = None
    correlation_id: str | None = None


INTERVIEW_INCOMPLETE_PREFIX = "interview_incomplete: "
"""How a ``CallEnded`` reason starts when the question flow saw the interview end early."""


class CallEnded(_Model):
    """ACS reported ``CallDisconnected`` (or the question flow hung up).

    ``reason`` starts with :data:`INTERVIEW_INCOMPLETE_PREFIX` when the interview on the call ended early.
    """

    call_connection_id: str
    reason: str | None = None

    def incomplete_reason(self) -> str | None:
        """Why the interview on this call ended early (the reason after the prefix), or None if it did not."""
        if self.reason is None or not self.reason.startswith(INTERVIEW_INCOMPLETE_PREFIX):
            return None
        return self.reason[len(INTERVIEW_INCOMPLETE_PREFIX) :].strip() or "no reason given"


class CallFailed(_Model):
    """ACS reported ``CreateCallFailed`` or a failed connection: typically no answer."""

    call_connection_id: str | None = None
    code: int | None = None
    subcode: int | None = None
    message: str | None = None


class RecordingChunk(_Model):
    """One chunk of a call recording as listed by ``RecordingFileStatusUpdated``."""

    document_id: str
    index: int = 0
    content_location: str
    metadata_location: str | None = None
    delete_location: str | None = None
    end_reason: str | None = None


class RecordingReady(_Model):
    """Every chunk of a finished recording, raised by the Event Grid trigger."""

    server_call_id: str | None = None
    recording_id: str | None = None
    chunks: list[RecordingChunk]
    start_time: datetime | None = None
    duration_ms: int | None = None
    content_type: str | None = None
    channel_type: str | None = None


# ----------------------------------------------------------------------------------------------------
# Interview slots


class InterviewSlot(_Model):
    """A booked interview time (UTC) with the interviewer who takes it."""

    start: datetime
    end: datetime
    interviewer: str
    candidate_time_zone: str = "UTC"


# ----------------------------------------------------------------------------------------------------
# Activity inputs and outputs


class ActivityOutput(_Model):
    """Common shape of activity results: ``failure`` is set when a permanent fault ended the step."""

    failure: FailureInfo | None = None

    @property
    def ok(self) -> bool:
        """True when the step succeeded."""
        return self.failure is None


class ExtractResumeTextInput(_Model):
    """Input of ``extract_resume_text``: the resume blob and the instance whose key names the text blob."""

    instance_id: str
    job_id: str
    resume: BlobRef


class ExtractResumeTextOutput(ActivityOutput):
    """Output of ``extract_resume_text``: a reference to the extracted text."""

    text: TextRef | None = None


class ParseCandidateProfileInput(_Model):
    """Input of ``parse_candidate_profile``."""

    instance_id: str
    resume_text: BlobRef


class ParseCandidateProfileOutput(ActivityOutput):
    """Output of ``parse_candidate_profile``."""

    profile: CandidateProfile | None = None
    profile_ref: BlobRef | None = None
    repaired: bool = False
    truncated: bool = False
    prompt_tokens_estimate: int = 0


class ScreenCandidateInput(_Model):
    """Input of ``screen_candidate``: the rubric comes from the job definition in Blob."""

    instance_id: str
    job_id: str
    profile: CandidateProfile


class ScreenCandidateOutput(ActivityOutput):
    """Output of ``screen_candidate``; ``result.decision`` already follows ``shared.decisions`` thresholds."""

    result: ScreeningResult | None = None
    model_decision: ScreeningDecision | None = None


class ScheduleInterviewInput(_Model):
    """Input of ``schedule_interview``.

    ``now`` is the orchestration's ``current_utc_datetime`` (deterministic); ``attempt`` counts reschedules so
    each one books a new slot while a retried execution of the same attempt finds its earlier booking.
    """

    instance_id: str
    job_id: str
    candidate_time_zone: str = "UTC"
    now: datetime
    attempt: int = 0
    not_before: datetime | None = None


class ScheduleInterviewOutput(ActivityOutput):
    """Output of ``schedule_interview``; ``failure.code`` is ``no_slot_available`` when nothing fits."""

    slot: InterviewSlot | None = None


class PlaceInterviewCallInput(_Model):
    """Input of ``place_interview_call``; ``attempt`` numbers calls so a call after no answer is new."""

    instance_id: str
    job_id: str
    phone_number: str
    attempt: int = 0


class PlaceInterviewCallOutput(ActivityOutput):
    """Output of ``place_interview_call``; ``already_placed`` tells a repeated execution apart."""

    call_connection_id: str | None = None
    server_call_id: str | None = None
    operation_context: str | None = None
    already_placed: bool = False


class HangUpCallInput(_Model):
    """Input of ``hang_up_call``."""

    instance_id: str
    call_connection_id: str


class HangUpCallOutput(ActivityOutput):
    """Output of ``hang_up_call``; a call that is already gone counts as hung up."""

    hung_up: bool = False
    already_ended: bool = False


class StartCallRecordingInput(_Model):
    """Input of ``start_call_recording`` (after ``CallConnected``: ACS records only established calls)."""

    instance_id: str
    server_call_id: str


class StartCallRecordingOutput(ActivityOutput):
    """Output of ``start_call_recording``; ``already_recording`` when a repeated start found it running."""

    recording_id: str | None = None
    already_recording: bool = False


class FetchCallRecordingInput(_Model):
    """Input of ``fetch_call_recording``: the ``RecordingReady`` body."""

    instance_id: str
    recording: RecordingReady


class FetchCallRecordingOutput(ActivityOutput):
    """Output of ``fetch_call_recording``: one blob per chunk, in chunk order."""

    chunks: list[BlobRef] = Field(default_factory=list)
    total_bytes: int = 0


class TranscribeRecordingInput(_Model):
    """Input of ``transcribe_recording``."""

    instance_id: str
    recordings: list[BlobRef]


class TranscribeRecordingOutput(ActivityOutput):
    """Output of ``transcribe_recording``."""

    transcript: TranscriptRef | None = None
    parts_transcribed: int = 0


class ScoreTranscriptInput(_Model):
    """Input of ``score_transcript``: the rubric comes from the job definition in Blob."""

    instance_id: str
    job_id: str
    transcript: BlobRef


class ScoreTranscriptOutput(ActivityOutput):
    """Output of ``score_transcript``."""

    score: InterviewScore | None = None


class WriteCandidateReportInput(_Model):
    """Input of ``write_candidate_report``: whatever the pipeline knows at its end."""

    instance_id: str
    job_id: str
    outcome: CandidateOutcome
    contact: CandidateContact = Field(default_factory=CandidateContact)
    resume: BlobRef | None = None
    profile: CandidateProfile | None = None
    screening: ScreeningResult | None = None
    recruiter_decision: RecruiterDecision | None = None
    slot: InterviewSlot | None = None
    transcript: BlobRef | None = None
    interview_score: InterviewScore | None = None
    failure: FailureInfo | None = None
    completed_at: datetime | None = None
    # Why the interview ended early, when it did. Left out of the dump while unset, so the inputs of
    # reports about complete (or no) interviews serialize exactly as before the field existed: recorded
    # histories' replays compare activity inputs exactly.
    interview_incomplete_reason: str | None = Field(default=None, exclude_if=lambda value: value is None)


class WriteCandidateReportOutput(ActivityOutput):
    """Output of ``write_candidate_report``: the JSON report and the readable page."""

    report_json: BlobRef | None = None
    report_page: BlobRef | None = None


# ----------------------------------------------------------------------------------------------------
# Orchestration inputs and outputs (shared so triggers, orchestrators and reports agree)


class CandidatePipelineInput(_Model):
    """Input of ``candidate_pipeline``."""

    job_id: str
    resume: BlobRef
    contact: CandidateContact = Field(default_factory=CandidateContact)
    submitted_at: datetime | None = None
    # How the resume arrived (an IntakePath value; a plain string so a newer value never fails older code).
    # Left out of the dump while unset, so inputs built without it (a batch's children, recorded histories,
    # whose replays compare sub-orchestration inputs exactly) serialize exactly as before the field existed.
    intake: str | None = Field(default=None, exclude_if=lambda value: value is None)


class CandidateReport(_Model):
    """Output of ``candidate_pipeline``: a summary; the full report is in Blob."""

    instance_id: str
    job_id: str
    outcome: CandidateOutcome
    stage: Stage
    candidate_name: str | None = None
    screening_score: float | None = None
    screening_decision: ScreeningDecision | None = None
    interview_overall: float | None = None
    recommendation: Recommendation | None = None
    report_json: BlobRef | None = None
    report_page: BlobRef | None = None
    failure: FailureInfo | None = None
    # Why the interview ended early (outcome ``interview_incomplete``); left out of the dump while unset so
    # the outputs of recorded histories replay unchanged.
    interview_incomplete_reason: str | None = Field(default=None, exclude_if=lambda value: value is None)


class InterviewInput(_Model):
    """Input of the ``interview`` sub-orchestration."""

    parent_instance_id: str
    job_id: str
    phone_number: str
    candidate_time_zone: str = "UTC"


class InterviewOutput(_Model):
    """Output of the ``interview`` sub-orchestration."""

    outcome: InterviewOutcome
    slot: InterviewSlot | None = None
    call_attempts: int = 0
    recordings: list[BlobRef] = Field(default_factory=list)
    failure: FailureInfo | None = None
    # Why the call ended before the interview's closing line (``CallEnded.incomplete_reason()``, or the
    # call outlived its maximum duration); None for a complete interview. Left out of the dump while unset
    # so the outputs of recorded histories replay unchanged.
    incomplete_reason: str | None = Field(default=None, exclude_if=lambda value: value is None)


class BatchCandidate(_Model):
    """One resume of a batch with the contact details found for it."""

    resume: BlobRef
    contact: CandidateContact = Field(default_factory=CandidateContact)


class BatchScreeningInput(_Model):
    """Input of ``batch_screening``."""

    job_id: str
    candidates: list[BatchCandidate] = Field(default_factory=list)
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    shortlist_size: Annotated[int, Field(ge=1)] = 10


class RankedCandidate(_Model):
    """A candidate in the shortlist, best first."""

    rank: int
    instance_id: str
    outcome: CandidateOutcome
    screening_score: float | None = None
    interview_overall: float | None = None
    report_json: BlobRef | None = None


class BatchScreeningOutput(_Model):
    """Output of ``batch_screening``: the ranked shortlist and counts per outcome."""

    job_id: str
    shortlist: list[RankedCandidate] = Field(default_factory=list)
    outcomes: dict[str, int] = Field(default_factory=dict)
