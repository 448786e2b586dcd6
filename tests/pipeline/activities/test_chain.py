"""The activities in pipeline order, each output feeding the next input as the orchestrators pass them."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from activities.document_intelligence import extract_resume_text
from activities.openai_structured import parse_candidate_profile, score_transcript, screen_candidate
from activities.recordings import fetch_call_recording
from activities.reports import write_candidate_report
from activities.scheduling import schedule_interview
from activities.transcription import transcribe_recording
from emulators.server import EmulatorThread
from shared.models import (
    CandidateContact,
    CandidateOutcome,
    ExtractResumeTextOutput,
    FetchCallRecordingInput,
    FetchCallRecordingOutput,
    ParseCandidateProfileInput,
    ParseCandidateProfileOutput,
    ScheduleInterviewInput,
    ScheduleInterviewOutput,
    ScoreTranscriptInput,
    ScoreTranscriptOutput,
    ScreenCandidateInput,
    ScreenCandidateOutput,
    ScreeningDecision,
    TranscribeRecordingInput,
    TranscribeRecordingOutput,
    WriteCandidateReportInput,
    WriteCandidateReportOutput,
)
from shared.storage import download_json, download_text
from tests.pipeline.activities.acs_helpers import recorded_call
from tests.pipeline.activities.conftest import JOB_ID, upload_sample

pytestmark = pytest.mark.azurite


def test_strong_candidate_through_every_activity(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    instance = "chain-ada"
    extracted = ExtractResumeTextOutput.model_validate(
        extract_resume_text(
            {"instance_id": instance, "job_id": JOB_ID, "resume": upload_sample("resumes/ada-strong.pdf")}
        )
    )
    assert extracted.text is not None
    parsed = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile(
            ParseCandidateProfileInput(instance_id=instance, resume_text=extracted.text).model_dump(
                mode="json"
            )
        )
    )
    assert parsed.profile is not None
    screened = ScreenCandidateOutput.model_validate(
        screen_candidate(
            ScreenCandidateInput(instance_id=instance, job_id=JOB_ID, profile=parsed.profile).model_dump(
                mode="json"
            )
        )
    )
    assert screened.result is not None
    assert screened.result.decision is ScreeningDecision.ADVANCE
    booked = ScheduleInterviewOutput.model_validate(
        schedule_interview(
            ScheduleInterviewInput(
                instance_id=instance,
                job_id=JOB_ID,
                candidate_time_zone="Europe/Stockholm",
                now=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            ).model_dump(mode="json")
        )
    )
    assert booked.slot is not None
    ready = recorded_call(emulators, instance)
    fetched = FetchCallRecordingOutput.model_validate(
        fetch_call_recording(
            FetchCallRecordingInput(instance_id=instance, recording=ready).model_dump(mode="json")
        )
    )
    assert fetched.chunks
    transcribed = TranscribeRecordingOutput.model_validate(
        transcribe_recording(
            TranscribeRecordingInput(instance_id=instance, recordings=fetched.chunks).model_dump(mode="json")
        )
    )
    assert transcribed.transcript is not None
    # The transcript reference travels as the BlobRef the scoring input declares.
    scored = ScoreTranscriptOutput.model_validate(
        score_transcript(
            ScoreTranscriptInput(
                instance_id=instance, job_id=JOB_ID, transcript=transcribed.transcript
            ).model_dump(mode="json")
        )
    )
    assert scored.score is not None
    transcript = download_text(transcribed.transcript)
    assert all(quote in transcript for d in scored.score.dimensions for quote in d.evidence)
    assert any(d.evidence for d in scored.score.dimensions)
    report = WriteCandidateReportOutput.model_validate(
        write_candidate_report(
            WriteCandidateReportInput(
                instance_id=instance,
                job_id=JOB_ID,
                outcome=CandidateOutcome.INTERVIEWED,
                contact=CandidateContact(
                    name="Ada Lindqvist", phone="+14255550201", time_zone="Europe/Stockholm"
                ),
                resume=None,
                profile=parsed.profile,
                screening=screened.result,
                slot=booked.slot,
                transcript=transcribed.transcript,
                interview_score=scored.score,
            ).model_dump(mode="json")
        )
    )
    assert report.report_json is not None
    assert download_json(report.report_json)["interview_score"]["overall"] == scored.score.overall
