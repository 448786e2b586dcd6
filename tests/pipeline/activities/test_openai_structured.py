from collections.abc import Callable
from typing import Any

import pytest

from activities.document_intelligence import extract_resume_text
from activities.openai_structured import parse_candidate_profile, score_transcript, screen_candidate
from emulators.server import EmulatorThread
from shared.errors import ErrorCode, TransientError, error_code_from_exception_message
from shared.models import (
    BlobRef,
    CandidateProfile,
    ExtractResumeTextOutput,
    ParseCandidateProfileOutput,
    ScoreTranscriptOutput,
    ScreenCandidateOutput,
    ScreeningDecision,
)
from shared.settings import get_settings
from shared.storage import download_json, upload_bytes
from tests.pipeline.activities.conftest import JOB_ID, served, upload_sample
from tests.pipeline.activities.tamper import tampering_proxy

pytestmark = pytest.mark.azurite


def _text_ref(text: str, name: str = "cand/resume.txt") -> dict[str, object]:
    return upload_bytes(get_settings().artifacts_container, name, text.encode()).model_dump(mode="json")


def _extracted(sample: str, instance: str) -> dict[str, object]:
    out = ExtractResumeTextOutput.model_validate(
        extract_resume_text({"instance_id": instance, "job_id": JOB_ID, "resume": upload_sample(sample)})
    )
    assert out.text is not None
    return out.text.model_dump(mode="json")


def _profile(sample: str, instance: str) -> CandidateProfile:
    out = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile({"instance_id": instance, "resume_text": _extracted(sample, instance)})
    )
    assert out.profile is not None, out.failure
    return out.profile


def test_parse_profile_from_a_real_resume(configure: Callable[..., None]) -> None:
    text_ref = _extracted("resumes/ada-strong.pdf", "ada")
    out = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile({"instance_id": "ada", "resume_text": text_ref})
    )
    assert out.failure is None
    assert out.profile is not None
    assert out.profile.full_name == "Ada Lindqvist"
    assert "Python" in out.profile.skills
    assert out.profile.total_years_experience >= 7
    assert not out.repaired
    assert not out.truncated
    assert out.prompt_tokens_estimate > 100
    assert out.profile_ref is not None
    assert download_json(out.profile_ref)["full_name"] == "Ada Lindqvist"


def test_long_resume_is_cut_to_the_context_window(configure: Callable[..., None]) -> None:
    configure(AZURE_OPENAI_CONTEXT_TOKENS="2600", AZURE_OPENAI_MAX_OUTPUT_TOKENS="1000")
    text = "Grace Hopper\nSkills: Python, SQL\n" + "Experience with compilers and languages. " * 2000
    out = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile({"instance_id": "long", "resume_text": _text_ref(text)})
    )
    assert out.failure is None
    assert out.truncated
    assert out.prompt_tokens_estimate <= 2600 - 1000


def test_schema_violation_is_repaired_once(configure: Callable[..., None], emulators: EmulatorThread) -> None:
    with tampering_proxy(emulators.settings["AZURE_OPENAI_ENDPOINT"]) as proxy:
        configure(AZURE_OPENAI_ENDPOINT=proxy.url)
        proxy.corrupt_next = 1
        out = ParseCandidateProfileOutput.model_validate(
            parse_candidate_profile(
                {"instance_id": "rep", "resume_text": _text_ref("Ada Lindqvist\nSkills: Python, Azure\n")}
            )
        )
    assert out.failure is None
    assert out.repaired
    assert out.profile is not None
    assert len(proxy.chat_requests) == 2
    repair_turn = proxy.chat_requests[1]["messages"][-1]  # type: ignore[index]
    assert "<validation_errors>" in repair_turn["content"]
    assert "<resume_text>" in repair_turn["content"]


def test_second_schema_violation_is_permanent(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    with tampering_proxy(emulators.settings["AZURE_OPENAI_ENDPOINT"]) as proxy:
        configure(AZURE_OPENAI_ENDPOINT=proxy.url)
        proxy.corrupt_next = 2
        proxy.replacement = "not json at all"
        out = ParseCandidateProfileOutput.model_validate(
            parse_candidate_profile({"instance_id": "bad", "resume_text": _text_ref("Ada\nSkills: Python\n")})
        )
    assert out.profile is None
    assert out.failure is not None
    assert out.failure.code is ErrorCode.SCHEMA_VIOLATION
    assert len(proxy.chat_requests) == 2


def test_content_filter_is_permanent(configure: Callable[..., None]) -> None:
    out = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile(
            {"instance_id": "cf", "resume_text": _text_ref("Ada\nPlease trigger content filter now\n")}
        )
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.CONTENT_FILTERED


@pytest.mark.parametrize(
    ("spec", "code"),
    [("openai:429=1", ErrorCode.RATE_LIMITED), ("openai:500=1", ErrorCode.SERVICE_UNAVAILABLE)],
)
def test_rate_limit_and_server_errors_raise_transient_then_a_retry_succeeds(
    configure: Callable[..., None], faults: Callable[[str], None], spec: str, code: ErrorCode
) -> None:
    payload = {"instance_id": "rl", "resume_text": _text_ref("Ada Lindqvist\nSkills: Python\n")}
    faults(spec)
    with pytest.raises(TransientError) as raised:
        parse_candidate_profile(payload)
    assert error_code_from_exception_message(f"Activity failed: {raised.value} \n details") is code
    faults("")
    out = ParseCandidateProfileOutput.model_validate(parse_candidate_profile(payload))
    assert out.failure is None


def test_empty_resume_text_is_permanent(configure: Callable[..., None], emulators: EmulatorThread) -> None:
    before = served(emulators, "openai")
    out = ParseCandidateProfileOutput.model_validate(
        parse_candidate_profile({"instance_id": "e", "resume_text": _text_ref("   \n")})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.EMPTY_DOCUMENT
    assert served(emulators, "openai") == before


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("resumes/ada-strong.pdf", ScreeningDecision.ADVANCE),
        ("resumes/cara-weak.pdf", ScreeningDecision.REJECT),
        ("resumes/ben-average.docx", ScreeningDecision.NEEDS_REVIEW),
    ],
)
def test_screening_against_the_job_definition(
    configure: Callable[..., None], sample: str, expected: ScreeningDecision
) -> None:
    profile = _profile(sample, "scr")
    out = ScreenCandidateOutput.model_validate(
        screen_candidate({"instance_id": "scr", "job_id": JOB_ID, "profile": profile.model_dump(mode="json")})
    )
    assert out.failure is None
    assert out.result is not None
    assert out.result.decision is expected
    assert 0.0 <= out.result.score <= 1.0
    assert out.result.years_required == 4


def test_screening_thresholds_from_settings_override_the_model(configure: Callable[..., None]) -> None:
    profile = _profile("resumes/ben-average.docx", "thr")
    configure(SCREENING_ADVANCE_THRESHOLD="0.01", SCREENING_REJECT_THRESHOLD="0.0")
    out = ScreenCandidateOutput.model_validate(
        screen_candidate({"instance_id": "thr", "job_id": JOB_ID, "profile": profile.model_dump(mode="json")})
    )
    assert out.result is not None
    assert out.model_decision is not None
    assert out.result.decision is (
        ScreeningDecision.ADVANCE if not out.result.missing_must_have else ScreeningDecision.NEEDS_REVIEW
    )


def test_unknown_job_is_permanent(configure: Callable[..., None]) -> None:
    profile = _profile("resumes/ada-strong.pdf", "nojob")
    out = ScreenCandidateOutput.model_validate(
        screen_candidate(
            {"instance_id": "nojob", "job_id": "no-such-job", "profile": profile.model_dump(mode="json")}
        )
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.JOB_NOT_FOUND


TRANSCRIPT = """[00:00] Interviewer: Tell me about the backend systems you have built.
[00:05] Candidate: I built Python API services on Azure with Azure Functions and PostgreSQL.
[00:15] Interviewer: How do you make a workflow safe to retry?
[00:20] Candidate: I make every step idempotent so a retry with backoff finds the earlier result.
[00:30] Interviewer: How do you test?
[00:33] Candidate: I write pytest unit tests and integration tests against an emulator in CI.
[00:45] Interviewer: How do you work with your team?
[00:48] Candidate: I lead code reviews for my team and enjoy mentoring.
"""


def test_score_transcript_quotes_verbatim_evidence(configure: Callable[..., None]) -> None:
    ref = BlobRef.model_validate(_text_ref(TRANSCRIPT, "cand/transcript.txt"))
    out = ScoreTranscriptOutput.model_validate(
        score_transcript({"instance_id": "sc", "job_id": JOB_ID, "transcript": ref.model_dump(mode="json")})
    )
    assert out.failure is None
    assert out.score is not None
    names = {d.name for d in out.score.dimensions}
    assert names == {"technical_depth", "reliability", "testing", "collaboration"}
    assert 1.0 <= out.score.overall <= 5.0
    quotes = [quote for d in out.score.dimensions for quote in d.evidence]
    assert quotes
    assert all(quote in TRANSCRIPT for quote in quotes)


def test_empty_transcript_is_permanent(configure: Callable[..., None]) -> None:
    ref = _text_ref("", "cand/empty.txt")
    out = ScoreTranscriptOutput.model_validate(
        score_transcript({"instance_id": "sc", "job_id": JOB_ID, "transcript": ref})
    )
    assert out.failure is not None
    assert out.failure.code is ErrorCode.EMPTY_DOCUMENT


def without_usage(output: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in output.items() if key != "usage"}


def test_model_answers_are_remembered_per_instance(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    text_ref = _text_ref("Ada Lindqvist\nSkills: Python, Azure, REST, SQL\n")
    parse_payload = {"instance_id": "memo", "resume_text": text_ref}
    before = served(emulators, "openai")
    first = parse_candidate_profile(parse_payload)
    assert served(emulators, "openai") == before + 1
    again = parse_candidate_profile(parse_payload)
    assert without_usage(again) == without_usage(first)
    # The budget is charged once: the remembered answer cost no request.
    assert first["usage"]["requests"] == 1
    assert again["usage"]["requests"] == 0
    profile = ParseCandidateProfileOutput.model_validate(first).profile
    assert profile is not None
    screen_payload = {"instance_id": "memo", "job_id": JOB_ID, "profile": profile.model_dump(mode="json")}
    screened = screen_candidate(screen_payload)
    assert without_usage(screen_candidate(screen_payload)) == without_usage(screened)
    transcript = _text_ref(TRANSCRIPT, "memo/transcript.txt")
    score_payload = {"instance_id": "memo", "job_id": JOB_ID, "transcript": transcript}
    scored = score_transcript(score_payload)
    assert without_usage(score_transcript(score_payload)) == without_usage(scored)
    assert served(emulators, "openai") == before + 3


@pytest.mark.parametrize(
    ("spec", "code"),
    [("openai:timeout=1", ErrorCode.TIMEOUT), ("openai:drop=1", ErrorCode.CONNECTION_FAILED)],
)
def test_timeouts_and_dropped_connections_are_transient(
    configure: Callable[..., None],
    faults: Callable[[str], None],
    emulators: EmulatorThread,
    spec: str,
    code: ErrorCode,
) -> None:
    configure(HTTP_TIMEOUT_SECONDS="0.5")
    settings = emulators.server.faults.settings
    held = settings.timeout_hold_s
    settings.timeout_hold_s = 1.0
    try:
        faults(spec)
        with pytest.raises(TransientError) as raised:
            parse_candidate_profile({"instance_id": "to", "resume_text": _text_ref("Ada\nSkills: Python\n")})
        assert raised.value.code is code
    finally:
        settings.timeout_hold_s = held


def test_usage_reports_what_the_quota_charged(
    configure: Callable[..., None], emulators: EmulatorThread
) -> None:
    async def admitted_tokens() -> int:
        usage = emulators.server.openai.usage()
        return sum(int(deployment["admitted_tokens"]) for deployment in usage.values())

    before = int(emulators.call(admitted_tokens()))
    text_ref = _text_ref("Grace Lindqvist\nSkills: Python, Azure, Kubernetes\n", "charged/resume.txt")
    output = parse_candidate_profile({"instance_id": "charged", "resume_text": text_ref})

    charged = int(emulators.call(admitted_tokens())) - before
    assert output["failure"] is None
    assert output["usage"]["requests"] == 1
    assert output["usage"]["tokens"] == charged
    assert output["usage"]["completion_tokens"] > 0
