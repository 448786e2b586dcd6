"""Azure OpenAI structured-output activities: parse a profile, screen it, score an interview transcript.

Each call sends a strict JSON schema (``chat.completions.parse`` with the pydantic model), validates the
answer against the model, and on a violation asks once more with the validation errors (one repair round). A
content-filter verdict, a refusal or a second violation is permanent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import azure.durable_functions as df
from pydantic import BaseModel, ValidationError

from activities import contracts
from activities._common import run_activity
from shared.clients import openai_client
from shared.decisions import screening_decision
from shared.errors import ErrorCode, PermanentError
from shared.logging import register_personal_names
from shared.models import (
    ActivityOutput,
    BlobRef,
    CandidateProfile,
    InterviewScore,
    ParseCandidateProfileInput,
    ParseCandidateProfileOutput,
    ScoreTranscriptInput,
    ScoreTranscriptOutput,
    ScreenCandidateInput,
    ScreenCandidateOutput,
    ScreeningResult,
)
from shared.prompts import (
    PARSE_PROFILE,
    REPAIR_PROFILE,
    SCORE_TRANSCRIPT,
    SCREEN_CANDIDATE,
    ChatMessage,
    PromptTemplate,
    estimate_message_tokens,
    fit_text_to_budget,
    to_json,
)
from shared.settings import get_settings
from shared.storage import download_bytes, download_text, load_job, upload_json
from shared.token_bucket import ChatUsage

__all__ = [
    "ParseCandidateProfileResult",
    "ScoreTranscriptResult",
    "ScreenCandidateResult",
    "UsageMeter",
    "bp",
    "complete_structured",
    "parse_candidate_profile_service",
    "score_transcript_service",
    "screen_candidate_service",
]

bp = df.Blueprint()

ModelT = TypeVar("ModelT", bound=BaseModel)

# Room kept free in the context window for the framing the estimate cannot see (tool ids, schema text).
_SAFETY_TOKENS = 512


class UsageMeter:
    """Adds up what one activity's chat calls cost against the deployment's quota (for the budget's settle).

    The service charges a request at admission with its prompt tokens plus the ``max_tokens`` reserved for
    the answer, whatever the answer's length; that is what the budget must hold, so that is what is counted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = ChatUsage()

    def record(self, raw: Any, max_output_tokens: int) -> None:
        """Count one admitted request from its raw response (usage body and rate-limit headers)."""
        try:
            usage = json.loads(raw.text).get("usage") or {}
        except (ValueError, AttributeError):
            usage = {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        headers = getattr(raw, "headers", {}) or {}
        with self._lock:
            current = self._usage
            self._usage = ChatUsage(
                requests=current.requests + 1,
                tokens=current.tokens + prompt_tokens + max_output_tokens,
                completion_tokens=current.completion_tokens + completion_tokens,
                max_output_tokens=max_output_tokens,
                finished_at=time.time(),
                limit_tokens=_positive_int(headers.get("x-ratelimit-limit-tokens")) or current.limit_tokens,
                limit_requests=_positive_int(headers.get("x-ratelimit-limit-requests"))
                or current.limit_requests,
            )

    def usage(self) -> ChatUsage:
        """Return the total so far."""
        with self._lock:
            return self._usage


def _positive_int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class ParseCandidateProfileResult(ParseCandidateProfileOutput):
    """``ParseCandidateProfileOutput`` plus what its calls cost (read by the orchestrator's budget)."""

    usage: ChatUsage | None = None


class ScreenCandidateResult(ScreenCandidateOutput):
    """``ScreenCandidateOutput`` plus what its call cost."""

    usage: ChatUsage | None = None


class ScoreTranscriptResult(ScoreTranscriptOutput):
    """``ScoreTranscriptOutput`` plus what its call cost."""

    usage: ChatUsage | None = None


def _completion_text(raw: Any) -> str:
    body = json.loads(raw.text)
    choices = body.get("choices") or [{}]
    content = choices[0].get("message", {}).get("content")
    return content if isinstance(content, str) else ""


def complete_structured(
    messages: list[ChatMessage],
    schema: type[ModelT],
    *,
    repair: PromptTemplate | None = None,
    repair_values: dict[str, str] | None = None,
    meter: UsageMeter | None = None,
) -> tuple[ModelT, bool]:
    """Ask for ``schema`` as strict structured output; returns the model and whether a repair was needed.

    On a schema violation the conversation continues with the previous answer and a repair turn rendered
    from ``repair`` (variables ``errors``, ``previous`` and ``repair_values``); without a template the
    original last user message is repeated after the errors, so the section tags stay in the last turn.
    ``meter`` counts every admitted request, the repair round's too.
    """
    settings = get_settings()
    client = openai_client()
    attempt_messages: list[Any] = list(messages)
    for round_number in range(2):
        raw = client.chat.completions.with_raw_response.parse(
            model=settings.openai_chat_deployment,
            messages=attempt_messages,
            response_format=schema,
            temperature=0,
            max_tokens=settings.openai_max_output_tokens,
        )
        if meter is not None:
            meter.record(raw, settings.openai_max_output_tokens)
        try:
            completion = raw.parse()
        except ValidationError as error:
            if round_number == 1:
                raise PermanentError(
                    ErrorCode.SCHEMA_VIOLATION, f"{schema.__name__} still invalid after repair: {error}"
                ) from error
            previous = _completion_text(raw) or "(empty)"
            errors = str(error)[:4000]
            if repair is not None:
                turn = repair.render(errors=errors, previous=previous, **(repair_values or {}))[-1]
            else:
                turn = {
                    "role": "user",
                    "content": f"That answer failed validation: {errors}\n{messages[-1]['content']}",
                }
            attempt_messages = [*messages, {"role": "assistant", "content": previous}, turn]
            continue
        choice = completion.choices[0]
        if choice.finish_reason == "content_filter" or choice.message.refusal:
            raise PermanentError(
                ErrorCode.CONTENT_FILTERED, f"{schema.__name__}: the model declined to answer"
            )
        parsed = choice.message.parsed
        if parsed is None:
            raise PermanentError(ErrorCode.SCHEMA_VIOLATION, f"{schema.__name__}: empty answer")
        return parsed, round_number == 1
    raise AssertionError("unreachable")  # pragma: no cover


ResultT = TypeVar("ResultT", bound=BaseModel)


def _remembered(instance_id: str, step: str, model: type[ResultT], compute: Callable[[], ResultT]) -> ResultT:
    """Return the result an earlier execution of ``step`` stored for this instance, else compute and store it.

    A model's answer may differ between calls; keeping the first one makes a re-executed activity (after a
    host crash between completion and checkpoint) return what the pipeline may already have acted on, and
    saves the tokens. Permanent failures raise before anything is stored, so they are never remembered.
    """
    from azure.core.exceptions import ResourceNotFoundError

    ref = BlobRef(container=get_settings().artifacts_container, name=f"{instance_id}/results/{step}.json")
    try:
        return model.model_validate_json(download_bytes(ref))
    except ResourceNotFoundError:
        pass
    result = compute()
    upload_json(ref.container, ref.name, result)
    return result


def parse_candidate_profile_service(
    request: ParseCandidateProfileInput, meter: UsageMeter | None = None
) -> ParseCandidateProfileOutput:
    """Read the resume text from Blob, fit it to the context window and extract a ``CandidateProfile``."""
    return _remembered(
        request.instance_id,
        "parse_candidate_profile",
        ParseCandidateProfileOutput,
        lambda: _parse_profile(request, meter),
    )


def _parse_profile(
    request: ParseCandidateProfileInput, meter: UsageMeter | None
) -> ParseCandidateProfileOutput:
    settings = get_settings()
    resume_text = download_text(request.resume_text)
    if not resume_text.strip():
        raise PermanentError(ErrorCode.EMPTY_DOCUMENT, "resume text is empty")
    overhead = PARSE_PROFILE.overhead_tokens()
    budget = settings.openai_context_tokens - settings.openai_max_output_tokens - overhead - _SAFETY_TOKENS
    fitted, truncated = fit_text_to_budget(resume_text, budget)
    messages = PARSE_PROFILE.render(resume_text=fitted)
    profile, repaired = complete_structured(
        messages, CandidateProfile, repair=REPAIR_PROFILE, repair_values={"resume_text": fitted}, meter=meter
    )
    # From here on the candidate's name is masked wherever it would appear in this process's logs.
    register_personal_names(profile.full_name)
    ref = upload_json(settings.artifacts_container, f"{request.instance_id}/profile.json", profile)
    return ParseCandidateProfileOutput(
        profile=profile,
        profile_ref=ref,
        repaired=repaired,
        truncated=truncated,
        prompt_tokens_estimate=estimate_message_tokens(messages),
    )


def screen_candidate_service(
    request: ScreenCandidateInput, meter: UsageMeter | None = None
) -> ScreenCandidateOutput:
    """Screen the profile against the job definition in Blob; the final decision follows our thresholds."""
    return _remembered(
        request.instance_id, "screen_candidate", ScreenCandidateOutput, lambda: _screen(request, meter)
    )


def _screen(request: ScreenCandidateInput, meter: UsageMeter | None) -> ScreenCandidateOutput:
    settings = get_settings()
    job = load_job(request.job_id)
    messages = SCREEN_CANDIDATE.render(
        job=to_json(job.model_dump(mode="json", exclude={"interviewers", "interview"})),
        profile=to_json(request.profile.model_dump(mode="json")),
    )
    result, _ = complete_structured(messages, ScreeningResult, meter=meter)
    score = min(max(result.score, 0.0), 1.0)
    decision = screening_decision(
        score,
        result.missing_must_have,
        advance_threshold=settings.screening_advance_threshold,
        reject_threshold=settings.screening_reject_threshold,
    )
    final = result.model_copy(update={"score": score, "decision": decision})
    return ScreenCandidateOutput(result=final, model_decision=result.decision)


def score_transcript_service(
    request: ScoreTranscriptInput, meter: UsageMeter | None = None
) -> ScoreTranscriptOutput:
    """Score the transcript against the job's rubric; evidence not found in the transcript is dropped."""
    return _remembered(
        request.instance_id, "score_transcript", ScoreTranscriptOutput, lambda: _score(request, meter)
    )


def _score(request: ScoreTranscriptInput, meter: UsageMeter | None) -> ScoreTranscriptOutput:
    settings = get_settings()
    job = load_job(request.job_id)
    transcript = download_text(request.transcript)
    if not transcript.strip():
        raise PermanentError(ErrorCode.EMPTY_DOCUMENT, "transcript is empty")
    rubric = to_json({"dimensions": [d.model_dump(mode="json") for d in job.interview.dimensions]})
    overhead = SCORE_TRANSCRIPT.overhead_tokens(rubric=rubric)
    budget = settings.openai_context_tokens - settings.openai_max_output_tokens - overhead - _SAFETY_TOKENS
    fitted, _ = fit_text_to_budget(transcript, budget)
    messages = SCORE_TRANSCRIPT.render(rubric=rubric, transcript=fitted)
    score, _ = complete_structured(messages, InterviewScore, meter=meter)
    return ScoreTranscriptOutput(score=_keep_verbatim_evidence(score, transcript))


def _keep_verbatim_evidence(score: InterviewScore, transcript: str) -> InterviewScore:
    # A quote the candidate never said must not reach a hiring report.
    dimensions = [
        d.model_copy(update={"evidence": [quote for quote in d.evidence if quote and quote in transcript]})
        for d in score.dimensions
    ]
    overall = min(max(score.overall, 1.0), 5.0)
    return score.model_copy(update={"dimensions": dimensions, "overall": overall})


InputT = TypeVar("InputT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=ActivityOutput)


def _with_usage(
    service: Callable[[InputT, UsageMeter], BaseModel], result_model: type[OutputT]
) -> Callable[[InputT], OutputT]:
    """Run ``service`` with a fresh meter and return its output with the usage the meter counted."""

    def run(request: InputT) -> OutputT:
        meter = UsageMeter()
        output = service(request, meter)
        return result_model.model_validate({**output.model_dump(), "usage": meter.usage()})

    return run


@bp.function_name(contracts.PARSE_CANDIDATE_PROFILE.name)
@bp.activity_trigger(input_name="payload")
def parse_candidate_profile(payload: Any) -> dict[str, Any]:
    """Extract a ``CandidateProfile`` from resume text; ``ParseCandidateProfileInput`` → ``...Result``."""
    return run_activity(
        contracts.PARSE_CANDIDATE_PROFILE.name,
        payload,
        contracts.PARSE_CANDIDATE_PROFILE.input_model,
        ParseCandidateProfileResult,
        _with_usage(parse_candidate_profile_service, ParseCandidateProfileResult),
    )


@bp.function_name(contracts.SCREEN_CANDIDATE.name)
@bp.activity_trigger(input_name="payload")
def screen_candidate(payload: Any) -> dict[str, Any]:
    """Screen a profile against a job; ``ScreenCandidateInput`` → ``ScreenCandidateResult``."""
    return run_activity(
        contracts.SCREEN_CANDIDATE.name,
        payload,
        contracts.SCREEN_CANDIDATE.input_model,
        ScreenCandidateResult,
        _with_usage(screen_candidate_service, ScreenCandidateResult),
    )


@bp.function_name(contracts.SCORE_TRANSCRIPT.name)
@bp.activity_trigger(input_name="payload")
def score_transcript(payload: Any) -> dict[str, Any]:
    """Score an interview transcript; ``ScoreTranscriptInput`` → ``ScoreTranscriptResult``."""
    return run_activity(
        contracts.SCORE_TRANSCRIPT.name,
        payload,
        contracts.SCORE_TRANSCRIPT.input_model,
        ScoreTranscriptResult,
        _with_usage(score_transcript_service, ScoreTranscriptResult),
    )
