"""Chat completions against the emulator with the real `openai` clients, sync and async."""

from __future__ import annotations

import asyncio
import json

import openai
import pytest
from bpe_openai import get_encoding
from pydantic import BaseModel

from emulators.openai_service import DEFAULT_CONTENT_FILTER_PHRASE, SYSTEM_FINGERPRINT
from emulators.server import EmulatorThread
from tests.emulators.ai.contract_models import CandidateProfile, InterviewScore, Node, ScreeningResult
from tests.emulators.ai.documents import RESUME_LINES
from tests.emulators.ai.helpers import async_openai_client, openai_client, raw_request

CHAT = "gpt-4o-mini"
JOB = {
    "job_id": "backend-1",
    "title": "Backend Engineer",
    "must_have": [{"skill": "Python", "weight": 1.0}, {"skill": "PostgreSQL", "weight": 1.0}],
    "nice_to_have": [{"skill": "Kafka", "weight": 1.0}, {"skill": "Rust", "weight": 1.0}],
    "min_years": 5,
}
TRANSCRIPT = """[00:01] Interviewer: Tell me about a system you designed.
[00:05] Candidate: I designed the payment ledger on PostgreSQL. It handled ten thousand writes per second.
[00:20] Interviewer: How do you work with your team?
[00:24] Candidate: I mentored two juniors on the team. We paired every week.
[00:40] Interviewer: Anything else?
[00:42] Candidate: Not really."""
RUBRIC = {
    "dimensions": [
        {"name": "technical_depth", "description": "Designs systems", "keywords": ["designed", "PostgreSQL"]},
        {"name": "collaboration", "description": "Works with others", "keywords": ["team", "mentored"]},
        {"name": "security", "description": "Security practice", "keywords": ["threat model", "encryption"]},
    ]
}


def test_plain_chat_reports_emulator_and_counts_tokens(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}],
    )
    content = completion.choices[0].message.content or ""
    assert "emulated" in content
    assert completion.system_fingerprint == SYSTEM_FINGERPRINT
    assert completion._request_id == completion.id
    assert completion.choices[0].finish_reason == "stop"
    encoding = get_encoding("o200k_base")
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(encoding.encode(content))
    # 3 priming + per message (3 + role + text)
    expected_prompt = 3 + sum(
        3 + len(encoding.encode(role)) + len(encoding.encode(text))
        for role, text in (("system", "Be brief."), ("user", "Hello there"))
    )
    assert completion.usage.prompt_tokens == expected_prompt
    assert completion.usage.total_tokens == expected_prompt + completion.usage.completion_tokens


def test_same_request_gives_same_answer(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    messages = [{"role": "user", "content": f"<resume_text>{chr(10).join(RESUME_LINES)}</resume_text>"}]
    first = client.chat.completions.parse(model=CHAT, messages=messages, response_format=CandidateProfile)  # type: ignore[arg-type]
    second = client.chat.completions.parse(model=CHAT, messages=messages, response_format=CandidateProfile)  # type: ignore[arg-type]
    assert first.choices[0].message.content == second.choices[0].message.content


def test_parse_candidate_profile_extracts_resume(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    resume = "\n".join(RESUME_LINES)
    completion = client.chat.completions.parse(
        model=CHAT,
        messages=[
            {"role": "system", "content": "Extract the candidate profile."},
            {"role": "user", "content": f"<resume_text>\n{resume}\n</resume_text>"},
        ],
        response_format=CandidateProfile,
    )
    profile = completion.choices[0].message.parsed
    assert profile is not None
    assert profile.full_name == "Jane Q. Doe"
    assert profile.email == "jane.doe@example.com"
    assert profile.phone == "+1 (555) 010-2030"
    assert profile.location == "Seattle, WA"
    assert {"Python", "Go", "PostgreSQL", "Kafka", "Docker", "Kubernetes", "Django"} <= set(profile.skills)
    assert [(e.title, e.company, e.start_date, e.end_date) for e in profile.experience] == [
        ("Senior Backend Engineer", "Contoso Ltd", "2020-01", "2024-12"),
        ("Software Engineer", "Fabrikam", "2016-06", "2019-12"),
    ]
    assert profile.experience[0].highlights == ["Led the migration of 40 services to Kubernetes."]
    assert profile.total_years_experience == pytest.approx(8.4, abs=0.1)
    assert profile.education[0].institution == "University of Washington"
    assert profile.education[0].field == "Computer Science"
    assert profile.education[0].graduation_year == 2016


def test_parse_screening_applies_weighted_rule(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    profile = {"skills": ["Python", "PostgreSQL", "Kafka"], "total_years_experience": 6, "experience": []}
    completion = client.chat.completions.parse(
        model=CHAT,
        messages=[
            {
                "role": "user",
                "content": f"<job>{json.dumps(JOB)}</job>\n<candidate_profile>{json.dumps(profile)}"
                "</candidate_profile>",
            },
        ],
        response_format=ScreeningResult,
    )
    result = completion.choices[0].message.parsed
    assert result is not None
    # (2 + 2 + 1) / (2 + 2 + 1 + 1) with full experience
    assert result.score == pytest.approx(5 / 6, abs=0.001)
    assert result.decision == "advance"
    assert result.matched_must_have == ["Python", "PostgreSQL"]
    assert result.missing_must_have == []
    assert result.matched_nice_to_have == ["Kafka"]
    assert (result.years_required, result.years_found) == (5.0, 6.0)


def test_screening_rejects_and_reviews(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)

    def screen(profile: dict[str, object]) -> ScreeningResult:
        completion = client.chat.completions.parse(
            model=CHAT,
            messages=[
                {
                    "role": "user",
                    "content": f"<job>{json.dumps(JOB)}</job><candidate_profile>"
                    f"{json.dumps(profile)}</candidate_profile>",
                }
            ],
            response_format=ScreeningResult,
        )
        parsed = completion.choices[0].message.parsed
        assert parsed is not None
        return parsed

    rejected = screen({"skills": ["Excel"], "total_years_experience": 1})
    assert rejected.decision == "reject"
    assert rejected.missing_must_have == ["Python", "PostgreSQL"]
    review = screen({"skills": ["Python", "Kafka", "Rust"], "total_years_experience": 10})
    assert review.decision == "needs_review"  # a must-have is missing although the score is decent
    assert review.missing_must_have == ["PostgreSQL"]


def test_parse_interview_score_quotes_candidate_verbatim(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.parse(
        model=CHAT,
        messages=[
            {
                "role": "user",
                "content": f"<transcript>\n{TRANSCRIPT}\n</transcript>\n"
                f"<rubric>{json.dumps(RUBRIC)}</rubric>",
            }
        ],
        response_format=InterviewScore,
    )
    score = completion.choices[0].message.parsed
    assert score is not None
    by_name = {d.name: d for d in score.dimensions}
    assert list(by_name) == ["technical_depth", "collaboration", "security"]
    assert by_name["technical_depth"].evidence == ["I designed the payment ledger on PostgreSQL."]
    assert by_name["collaboration"].evidence == ["I mentored two juniors on the team."]
    assert by_name["security"].evidence == []
    candidate_lines = [line for line in TRANSCRIPT.splitlines() if "Candidate:" in line]
    for dimension in score.dimensions:
        assert 1 <= dimension.score <= 5
        for quote in dimension.evidence:
            assert any(quote in line for line in candidate_lines)
    assert score.overall == pytest.approx(sum(d.score for d in score.dimensions) / 3, abs=0.01)
    assert score.recommendation in {"no_hire", "strong_no_hire", "hire", "strong_hire"}


def test_unknown_recursive_schema_is_filled_validly(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.parse(
        model=CHAT, messages=[{"role": "user", "content": "Describe a tree."}], response_format=Node
    )
    node = completion.choices[0].message.parsed
    assert node is not None
    assert node.kind == "leaf"
    assert isinstance(node.children, list)


def test_json_object_mode_returns_a_json_object(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "Return JSON about cats."}],
        response_format={"type": "json_object"},
    )
    body = json.loads(completion.choices[0].message.content or "")
    assert body["emulated"] is True


def test_tool_call_arguments_match_parameters_schema(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "book_slot",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "day": {"type": "string", "enum": ["mon", "tue"]},
                        "hour": {"type": "integer", "minimum": 9, "maximum": 17},
                    },
                    "required": ["day", "hour"],
                    "additionalProperties": False,
                },
            },
        },
        {
            "type": "function",
            "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
        },
    ]
    completion = client.chat.completions.create(
        model=CHAT, messages=[{"role": "user", "content": "Book me."}], tools=tools, tool_choice="required"
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.function.name == "book_slot"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"day": "mon", "hour": 9}  # type: ignore[union-attr]
    named = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "x"}],
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "noop"}},
    )
    assert named.choices[0].message.tool_calls[0].function.name == "noop"  # type: ignore[index,union-attr]
    after_tool = client.chat.completions.create(
        model=CHAT,
        messages=[
            {"role": "user", "content": "Book me."},
            {"role": "assistant", "tool_calls": [call.model_dump()]},  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "booked"},
        ],
        tools=tools,
    )
    assert after_tool.choices[0].finish_reason == "stop"
    assert after_tool.choices[0].message.tool_calls is None


def test_pydantic_function_tool_round_trips_with_parse(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.parse(
        model=CHAT,
        messages=[
            {
                "role": "user",
                "content": f"<job>{json.dumps(JOB)}</job><candidate_profile>{{}}</candidate_profile>",
            }
        ],
        tools=[openai.pydantic_function_tool(ScreeningResult)],
        tool_choice="required",
    )
    tool_calls = completion.choices[0].message.tool_calls
    assert tool_calls is not None
    parsed = tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, ScreeningResult)
    assert parsed.decision == "reject"


def test_streaming_with_usage_chunk(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    stream = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "Stream a reply about the weather in Lisbon please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "emulated" in text
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None
    assert chunks[-1].choices == []
    assert usage.completion_tokens == len(get_encoding("o200k_base").encode(text))


def test_streaming_structured_output_with_stream_helper(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    with client.chat.completions.stream(
        model=CHAT,
        messages=[{"role": "user", "content": f"<resume_text>{chr(10).join(RESUME_LINES)}</resume_text>"}],
        response_format=CandidateProfile,
    ) as stream:
        final = stream.get_final_completion()
    parsed = final.choices[0].message.parsed
    assert parsed is not None
    assert parsed.full_name == "Jane Q. Doe"


def test_n_choices_and_max_tokens_truncation(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    completion = client.chat.completions.create(
        model=CHAT, messages=[{"role": "user", "content": "one two three four five six"}], n=2, max_tokens=4
    )
    assert len(completion.choices) == 2
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.completion_tokens <= 8


def test_async_client_parse_and_stream(emulator: EmulatorThread) -> None:
    async def scenario() -> tuple[CandidateProfile | None, str]:
        client = async_openai_client(emulator.settings)
        async with client:
            parsed = await client.chat.completions.parse(
                model=CHAT,
                messages=[
                    {"role": "user", "content": f"<resume_text>{chr(10).join(RESUME_LINES)}</resume_text>"}
                ],
                response_format=CandidateProfile,
            )
            stream = await client.chat.completions.create(
                model=CHAT, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = ""
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
            return parsed.choices[0].message.parsed, text

    profile, text = asyncio.run(scenario())
    assert profile is not None
    assert profile.email == "jane.doe@example.com"
    assert text.startswith("[emulated reply]")


def test_bearer_token_is_accepted(emulator: EmulatorThread) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=emulator.settings["AZURE_OPENAI_ENDPOINT"],
        azure_ad_token="any-entra-token",
        api_version=emulator.settings["AZURE_OPENAI_API_VERSION"],
    )
    completion = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content


def test_wrong_key_is_401_with_azure_body(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 401
    assert "Access denied due to invalid subscription key" in str(raised.value)


def test_unknown_deployment_is_404(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(
            model="no-such-deployment", messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.code == "DeploymentNotFound"


def test_transcription_deployment_refuses_chat(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="whisper", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.code == "OperationNotSupported"


def test_content_filter_phrase_gives_azure_400(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": f"Please {DEFAULT_CONTENT_FILTER_PHRASE.upper()} now"}],
        )
    assert raised.value.code == "content_filter"
    body = raised.value.body
    assert isinstance(body, dict)
    result = body["innererror"]["content_filter_result"]
    assert result["violence"] == {"filtered": True, "severity": "high"}
    assert result["hate"]["filtered"] is False


class _Missing(BaseModel):
    value: int


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "could not parse the JSON body"),
        (b"[]", "application/json", "must be a JSON object"),
        (b'{"model": "x"}', "application/json", "'messages' is a required property"),
        (b'{"messages": [{"content": "no role"}]}', "application/json", "must be an object with a 'role'"),
        (
            b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}}',
            "application/json",
            "json_schema.name",
        ),
        (b"messages=hi", "text/plain", "could not parse the JSON body"),
    ],
)
def test_bad_requests_get_openai_error_shape(
    emulator: EmulatorThread, body: bytes, content_type: str, message: str
) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    url = f"{base}/openai/deployments/{CHAT}/chat/completions?api-version=2024-10-21"
    response = raw_request(
        url,
        data=body,
        headers={"api-key": emulator.settings["AZURE_OPENAI_API_KEY"], "Content-Type": content_type},
    )
    assert response.status == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]


def test_missing_api_version_is_404(emulator: EmulatorThread) -> None:
    url = f"{emulator.settings['EMULATORS_HTTP_URL']}/openai/deployments/{CHAT}/chat/completions"
    response = raw_request(url, data=b"{}", headers={"api-key": emulator.settings["AZURE_OPENAI_API_KEY"]})
    assert response.status == 404
    assert response.json()["error"]["message"] == "Resource not found"


def test_unknown_path_and_huge_body_get_json_errors(emulator: EmulatorThread) -> None:
    base = emulator.settings["EMULATORS_HTTP_URL"]
    missing = raw_request(f"{base}/nothing/here", method="GET")
    assert missing.status == 404
    assert missing.json()["error"]["code"] == "NotFound"
    url = f"{base}/openai/deployments/{CHAT}/chat/completions?api-version=2024-10-21"
    huge = raw_request(
        url,
        data=b"x" * (17 * 1024 * 1024),
        headers={"api-key": emulator.settings["AZURE_OPENAI_API_KEY"], "Content-Type": "application/json"},
    )
    assert huge.status == 413
    assert "exceeds the limit" in huge.json()["error"]["message"]


def test_streamed_tool_call_reassembles(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings)
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}},
                "required": ["query"],
            },
        },
    }
    chunks = list(
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "find"}],
            tools=[tool],
            stream=True,  # type: ignore[list-item]
        )
    )
    arguments = ""
    names = []
    for chunk in chunks:
        for delta_call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            if delta_call.function and delta_call.function.name:
                names.append(delta_call.function.name)
            if delta_call.function and delta_call.function.arguments:
                arguments += delta_call.function.arguments
    assert names == ["lookup"]
    assert json.loads(arguments) == {"query": "find"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "tool_calls"
    ]


def test_strict_mode_refuses_non_strict_schemas_like_azure(emulator: EmulatorThread) -> None:
    client = openai_client(emulator.settings, max_retries=0)
    loose = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a"],
    }
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "x"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Loose", "strict": True, "schema": loose},
            },
        )
    assert "'additionalProperties' is required to be supplied and to be false" in str(raised.value)
    loose["additionalProperties"] = False
    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "x"}],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "Loose", "strict": True, "schema": loose},
            },
        )
    assert "Missing 'b'" in str(missing.value)
    relaxed = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "x"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "Loose", "strict": False, "schema": loose},
        },
    )
    assert json.loads(relaxed.choices[0].message.content or "") == {"a": "", "b": 0}
    strict_tool = {
        "type": "function",
        "function": {"name": "f", "strict": True, "parameters": {"type": "object", "properties": {}}},
    }
    with pytest.raises(openai.BadRequestError) as tool_error:
        client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "x"}], tools=[strict_tool]
        )  # type: ignore[list-item]
    assert "Invalid schema for function 'f'" in str(tool_error.value)
