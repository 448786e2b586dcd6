"""The handle of every activity: its registered name, its models, its retry policy, its token estimate.

Each activity module registers its function under its handle's name; the orchestrators call the handles.
The handles live here, beside the activity modules rather than inside them, because an orchestrator that
imported an activity module would import what the activity needs at run time too: the settings class, the
SDK client factories, Blob storage helpers, the telemetry SDK and the call-signing keys. Orchestrators must
stay light and free of I/O, so this module imports only models, retry policies and prompt templates.

The names are stored in the history of every instance that called them: renaming one breaks the instances
already running (version the orchestrator instead).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import BaseModel

from activities.handles import ActivityHandle
from shared import prompts
from shared.decisions import TRANSCRIPTION_REQUEST_MAX_BYTES, estimate_prompt_tokens
from shared.models import (
    BlobRef,
    CandidateProfile,
    ExtractResumeTextInput,
    ExtractResumeTextOutput,
    FetchCallRecordingInput,
    FetchCallRecordingOutput,
    HangUpCallInput,
    HangUpCallOutput,
    InterviewScore,
    ParseCandidateProfileInput,
    ParseCandidateProfileOutput,
    PlaceInterviewCallInput,
    PlaceInterviewCallOutput,
    ScheduleInterviewInput,
    ScheduleInterviewOutput,
    ScoreTranscriptInput,
    ScoreTranscriptOutput,
    ScreenCandidateInput,
    ScreenCandidateOutput,
    ScreeningResult,
    StartCallRecordingInput,
    StartCallRecordingOutput,
    TextRef,
    TranscribeRecordingInput,
    TranscribeRecordingOutput,
    TranscriptRef,
    WriteCandidateReportInput,
    WriteCandidateReportOutput,
)
from shared.prompts import PromptTemplate, count_tokens, to_json
from shared.retry import (
    AI_RETRY,
    CALL_RETRY,
    DOCUMENT_RETRY,
    RECORDING_RETRY,
    REPORT_RETRY,
    SCHEDULING_RETRY,
    TRANSCRIPTION_RETRY,
)

__all__ = [
    "ALL_HANDLES",
    "EXTRACT_RESUME_TEXT",
    "FETCH_CALL_RECORDING",
    "HANG_UP_CALL",
    "JOB_CONTEXT_TOKENS",
    "PARSE_CANDIDATE_PROFILE",
    "PLACE_INTERVIEW_CALL",
    "SCHEDULE_INTERVIEW",
    "SCORE_TRANSCRIPT",
    "SCREEN_CANDIDATE",
    "START_CALL_RECORDING",
    "TRANSCRIBE_RECORDING",
    "WRITE_CANDIDATE_REPORT",
]

JOB_CONTEXT_TOKENS = 1_024
"""Room estimated for the job's part of a prompt (requirements, rubric): the job lives in Blob storage,
which the orchestrator cannot read; settling replaces the estimate with what was charged."""


@functools.cache
def _fixed_prompt_tokens(template: PromptTemplate, schema: type[BaseModel]) -> int:
    """Tokens of a template without its values plus the JSON schema sent as the response format."""
    return template.overhead_tokens() + count_tokens(json.dumps(schema.model_json_schema(), sort_keys=True))


def _text_chars(text: BlobRef) -> int:
    """Characters of a text in Blob storage, known only by its counts (the orchestrator cannot read it).

    The orchestrators pass the :class:`TextRef` / :class:`TranscriptRef` the previous step returned, which
    carry the count; a bare reference counts its size in bytes, never fewer than its characters.
    """
    if isinstance(text, TextRef | TranscriptRef):
        return text.char_count
    return text.size_bytes or 0


def _parse_profile_tokens(request: ParseCandidateProfileInput) -> int:
    return estimate_prompt_tokens(
        _fixed_prompt_tokens(prompts.PARSE_PROFILE, CandidateProfile),
        uncounted_chars=_text_chars(request.resume_text),
    )


def _screen_candidate_tokens(request: ScreenCandidateInput) -> int:
    return (
        _fixed_prompt_tokens(prompts.SCREEN_CANDIDATE, ScreeningResult)
        + count_tokens(to_json(request.profile.model_dump(mode="json")))
        + JOB_CONTEXT_TOKENS
    )


def _no_prompt_tokens(_request: TranscribeRecordingInput) -> int:
    # A transcription deployment's quota counts requests; the audio is not charged in tokens.
    return 0


def _transcription_requests(request: TranscribeRecordingInput) -> int:
    """Estimate a transcription's requests: one per chunk, more for a chunk larger than one request.

    An estimate (the parts' headers and the configured limit are the activity's to know); the settle
    replaces it with the requests the activity reports.
    """
    return (
        sum(
            max(1, -(-(ref.size_bytes or 0) // TRANSCRIPTION_REQUEST_MAX_BYTES)) for ref in request.recordings
        )
        or 1
    )


def _score_transcript_tokens(request: ScoreTranscriptInput) -> int:
    return estimate_prompt_tokens(
        _fixed_prompt_tokens(prompts.SCORE_TRANSCRIPT, InterviewScore) + JOB_CONTEXT_TOKENS,
        uncounted_chars=_text_chars(request.transcript),
    )


# Document Intelligence (activities/document_intelligence.py)
EXTRACT_RESUME_TEXT = ActivityHandle(
    "extract_resume_text", ExtractResumeTextInput, ExtractResumeTextOutput, DOCUMENT_RETRY
)

# Azure OpenAI structured output (activities/openai_structured.py). Their results also carry the ``usage``
# the token budget settles with (``ParseCandidateProfileResult`` and friends extend these output models).
PARSE_CANDIDATE_PROFILE = ActivityHandle(
    "parse_candidate_profile",
    ParseCandidateProfileInput,
    ParseCandidateProfileOutput,
    AI_RETRY,
    prompt_tokens=_parse_profile_tokens,
)
SCREEN_CANDIDATE = ActivityHandle(
    "screen_candidate",
    ScreenCandidateInput,
    ScreenCandidateOutput,
    AI_RETRY,
    prompt_tokens=_screen_candidate_tokens,
)
SCORE_TRANSCRIPT = ActivityHandle(
    "score_transcript",
    ScoreTranscriptInput,
    ScoreTranscriptOutput,
    AI_RETRY,
    prompt_tokens=_score_transcript_tokens,
)

# Azure OpenAI transcription (activities/transcription.py)
TRANSCRIBE_RECORDING = ActivityHandle(
    "transcribe_recording",
    TranscribeRecordingInput,
    TranscribeRecordingOutput,
    TRANSCRIPTION_RETRY,
    prompt_tokens=_no_prompt_tokens,
    requests=_transcription_requests,
    budget="transcription",
)

# Reports in Blob storage (activities/reports.py)
WRITE_CANDIDATE_REPORT = ActivityHandle(
    "write_candidate_report", WriteCandidateReportInput, WriteCandidateReportOutput, REPORT_RETRY
)

# Interview bookings in Blob storage (activities/scheduling.py)
SCHEDULE_INTERVIEW = ActivityHandle(
    "schedule_interview", ScheduleInterviewInput, ScheduleInterviewOutput, SCHEDULING_RETRY
)

# ACS Call Automation (activities/calls.py)
PLACE_INTERVIEW_CALL = ActivityHandle(
    "place_interview_call", PlaceInterviewCallInput, PlaceInterviewCallOutput, CALL_RETRY
)
START_CALL_RECORDING = ActivityHandle(
    "start_call_recording", StartCallRecordingInput, StartCallRecordingOutput, CALL_RETRY
)
HANG_UP_CALL = ActivityHandle("hang_up_call", HangUpCallInput, HangUpCallOutput, CALL_RETRY)

# ACS recordings streamed into Blob storage (activities/recordings.py)
FETCH_CALL_RECORDING = ActivityHandle(
    "fetch_call_recording", FetchCallRecordingInput, FetchCallRecordingOutput, RECORDING_RETRY
)

ALL_HANDLES: tuple[ActivityHandle[Any, Any], ...] = (
    EXTRACT_RESUME_TEXT,
    PARSE_CANDIDATE_PROFILE,
    SCREEN_CANDIDATE,
    SCORE_TRANSCRIPT,
    TRANSCRIBE_RECORDING,
    WRITE_CANDIDATE_REPORT,
    SCHEDULE_INTERVIEW,
    PLACE_INTERVIEW_CALL,
    START_CALL_RECORDING,
    HANG_UP_CALL,
    FETCH_CALL_RECORDING,
)
"""Every activity the app registers, for checks that must cover them all."""
