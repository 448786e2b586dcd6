"""The deterministic brain: resume extraction from PDF/DOCX text, the schema toolkit, the hiring rules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from openai.lib._pydantic import to_strict_json_schema

from emulators.brain import json_object_answer, structured_answer, text_answer
from emulators.brain.interview import candidate_sentences, score_interview
from emulators.brain.resume import extract_profile
from emulators.brain.schema import SchemaError, conform, generate, validate
from emulators.brain.screening import screen
from emulators.server import EmulatorThread
from tests.emulators.ai.contract_models import CandidateProfile, InterviewScore, Node, ScreeningResult
from tests.emulators.ai.documents import docx_bytes, pdf_bytes
from tests.emulators.ai.helpers import docintel_client, openai_client

TODAY = datetime(2026, 6, 15, tzinfo=UTC)

SECOND_RESUME = [
    "Carlos Mendes",
    "Data Engineer",
    "Lisbon, Portugal",
    "carlos.mendes@example.org",
    "Phone: +351 912 345 678",
    "Summary",
    "Data engineer who builds Airflow and Spark pipelines on AWS.",
    "Work Experience",
    "Northwind Analytics",
    "Data Engineer, Mar 2021 - Present",
    "- Built Spark jobs processing 2 TB per day.",
    "Tailspin Toys",
    "Junior Analyst, 2019 - 2021",
    "- Reported sales in Excel and Power BI.",
    "Education",
    "MSc in Data Science - Universidade de Lisboa (2019)",
    "Skills: SQL; Airflow; dbt",
]


def test_pdf_resume_through_docintel_and_chat(emulator: EmulatorThread) -> None:
    """The pipeline's path: Document Intelligence extracts the text, the brain reads the profile from it."""
    reader = docintel_client(emulator.settings)
    text = (
        reader.begin_analyze_document(
            "prebuilt-read",
            body=pdf_bytes([SECOND_RESUME]),
            content_type="application/pdf",
            polling_interval=0.01,
        )
        .result()
        .content
    )
    chat = openai_client(emulator.settings)
    completion = chat.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"<resume_text>{text}</resume_text>"}],
        response_format=CandidateProfile,
    )
    profile = completion.choices[0].message.parsed
    assert profile is not None
    assert profile.full_name == "Carlos Mendes"
    assert profile.email == "carlos.mendes@example.org"
    assert profile.phone == "+351 912 345 678"
    assert profile.location == "Lisbon, Portugal"
    assert profile.headline == "Data Engineer"
    assert [(e.title, e.company, e.start_date) for e in profile.experience] == [
        ("Data Engineer", "Northwind Analytics", "2021-03"),
        ("Junior Analyst", "Tailspin Toys", "2019-01"),
    ]
    assert profile.experience[0].end_date is None
    assert profile.experience[1].end_date == "2021-12"
    assert {"SQL", "Airflow", "dbt", "Spark", "AWS", "Excel", "Power BI"} <= set(profile.skills)
    assert profile.education[0].degree == "MSc"
    assert profile.education[0].field == "Data Science"
    assert profile.education[0].institution == "Universidade de Lisboa"
    assert profile.education[0].graduation_year == 2019


def test_docx_resume_through_docintel(emulator: EmulatorThread) -> None:
    document = docx_bytes(
        "Amira Haddad",
        [
            "Frontend Developer",
            "amira@example.net",
            "# Experience",
            "UI Engineer at Litware, 05/2018 - 04/2023",
            "# Skills",
            "TypeScript, React, Figma",
        ],
    )
    reader = docintel_client(emulator.settings)
    text = (
        reader.begin_analyze_document(
            "prebuilt-layout",
            body=document,
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            polling_interval=0.01,
        )
        .result()
        .content
    )
    profile = extract_profile(text, today=TODAY)
    assert profile["full_name"] == "Amira Haddad"
    assert profile["email"] == "amira@example.net"
    assert profile["experience"][0]["title"] == "UI Engineer"
    assert profile["experience"][0]["company"] == "Litware"
    assert profile["experience"][0]["years"] == 4.9
    assert profile["skills"][:3] == ["TypeScript", "React", "Figma"]


def test_total_years_merges_overlapping_jobs() -> None:
    text = "\n".join(
        [
            "Pat Lee",
            "Experience",
            "Engineer at A, Jan 2020 - Dec 2021",
            "Consultant at B, Jan 2021 - Dec 2022",
        ]
    )
    profile = extract_profile(text, today=TODAY)
    assert [e["years"] for e in profile["experience"]] == [1.9, 1.9]
    assert profile["total_years_experience"] == 2.9  # 2020-01 .. 2022-12, counted once


def test_present_uses_the_reference_date() -> None:
    profile = extract_profile("Ann Example\nExperience\nLead at Z, Jun 2024 - Present", today=TODAY)
    assert profile["experience"][0]["years"] == 2.0


def test_screening_rule_weights_and_experience() -> None:
    job = {
        "must_have": [{"skill": "Python", "weight": 2}, {"skill": "k8s", "weight": 1}],
        "nice_to_have": [{"skill": "Go", "weight": 1}],
        "min_years": 4,
    }
    full = screen(job, {"skills": ["Python", "Kubernetes", "Go"], "total_years_experience": 4})
    assert full["score"] == 1.0
    assert full["decision"] == "advance"
    junior = screen(job, {"skills": ["Python", "Kubernetes", "Go"], "total_years_experience": 2})
    assert junior["score"] == 0.75
    assert junior["decision"] == "advance"
    partial = screen(job, {"skills": ["Python"], "total_years_experience": 4})
    assert partial["score"] == pytest.approx(4 / 7, abs=0.001)
    assert partial["decision"] == "needs_review"
    assert partial["missing_must_have"] == ["k8s"]
    assert screen(job, {"skills": [], "total_years_experience": 0})["decision"] == "reject"


def test_interview_sentences_and_scoring() -> None:
    transcript = "\n".join(
        [
            "Interviewer: Tell me about design.",
            "Candidate: I designed a queue. It scaled well!",
            "and later I designed the retries.",
            "Interviewer: Thanks.",
        ]
    )
    assert candidate_sentences(transcript) == [
        "I designed a queue.",
        "It scaled well!",
        "and later I designed the retries.",
    ]
    score = score_interview(transcript, {"dimensions": [{"name": "design", "keywords": ["designed"]}]})
    assert score["dimensions"][0]["evidence"] == ["I designed a queue.", "and later I designed the retries."]
    assert score["dimensions"][0]["score"] == 3
    assert score["overall"] == 3.0
    assert score["recommendation"] == "no_hire"
    empty = score_interview("Interviewer: hello?", None)
    assert {d["score"] for d in empty["dimensions"]} == {1}
    assert empty["recommendation"] == "strong_no_hire"


@pytest.mark.parametrize("model", [CandidateProfile, ScreeningResult, InterviewScore, Node])
def test_generic_fill_validates_for_strict_pydantic_schemas(model: Any) -> None:
    schema = to_strict_json_schema(model)
    value = generate(schema)
    assert validate(value, schema) == []
    model.model_validate(value)
    assert validate(structured_answer(model.__name__, schema, "no sections at all"), schema) == []


def test_validate_reports_violations() -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
            "mode": {"enum": ["a", "b"]},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["n", "tags", "mode", "maybe"],
        "additionalProperties": False,
    }
    assert validate({"n": 3, "tags": ["x"], "mode": "a", "maybe": None}, schema) == []
    problems = validate({"n": 9, "tags": ["x", 1], "mode": "c", "extra": True}, schema)
    # The jsonschema library's own messages, each prefixed with the JSON path of the offending value.
    assert problems == [
        "$: 'maybe' is a required property",
        "$: Additional properties are not allowed ('extra' was unexpected)",
        "$.mode: 'c' is not one of ['a', 'b']",
        "$.n: 9 is greater than the maximum of 5",
        "$.tags: ['x', 1] is too long",
        "$.tags[1]: 1 is not of type 'string'",
    ]
    assert validate(True, {"type": "integer"}) != []  # a bool is not an integer in JSON Schema


def test_conform_fits_task_answers_to_a_different_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 0, "maximum": 10},
            "decision": {"type": "string", "enum": ["Advance", "Reject"]},
            "note": {"type": "string"},
            "extra": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        },
        "required": ["score", "decision", "note", "extra"],
        "additionalProperties": False,
    }
    shaped = conform({"score": 12.7, "decision": "advance", "note": 5, "unrelated": 1}, schema)
    assert shaped == {"score": 10, "decision": "Advance", "note": "5", "extra": [1.0, 1.0]}
    assert validate(shaped, schema) == []


def test_dangling_ref_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        validate({}, {"$ref": "#/$defs/Missing"})
    assert structured_answer("X", {"$ref": "#/$defs/Missing"}, "") == {}


def test_text_and_json_object_answers_are_deterministic() -> None:
    assert text_answer("hello world") == text_answer("hello world")
    assert text_answer("hello world").startswith("[emulated reply] I received 2 words")
    answer = json_object_answer("<resume_text>Bo Chen\nbo@example.com</resume_text>")
    assert answer["full_name"] == "Bo Chen"


def test_compact_header_and_degree_without_preposition() -> None:
    text = "\n".join(
        [
            "Jordan Example",
            "Backend engineer · Lisbon, Portugal",
            "Experience",
            "Platform Engineer, Acme Logistics (2019-03 – present)",
            "Education",
            "BSc Computer Science, University of Lisbon, 2018",
        ]
    )
    profile = extract_profile(text, today=TODAY)
    assert profile["headline"] == "Backend engineer"
    assert profile["location"] == "Lisbon, Portugal"
    assert profile["experience"][0]["company"] == "Acme Logistics"
    assert profile["experience"][0]["years"] == 7.2
    assert profile["education"] == [
        {
            "institution": "University of Lisbon",
            "degree": "BSc",
            "field": "Computer Science",
            "graduation_year": 2018,
        }
    ]


def test_generate_respects_formats_bounds_and_const() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "mail": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "code": {"type": "string", "minLength": 30, "maxLength": 31},
            "short": {"type": "string", "maxLength": 3},
            "pct": {"type": "number", "minimum": 5, "maximum": 7},
            "count": {"type": "integer", "exclusiveMinimum": 10},
            "ceiling": {"type": "integer", "maximum": 0},
            "fixed": {"const": "v1"},
            "flag": {"type": "boolean"},
            "either": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            "free": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": [
            "when",
            "day",
            "mail",
            "id",
            "code",
            "short",
            "pct",
            "count",
            "ceiling",
            "fixed",
            "flag",
        ],
    }
    value = generate(schema)
    assert validate(value, schema) == []
    assert value["fixed"] == "v1"
    assert value["either"] == 1  # a concrete branch is preferred over null
    assert value["count"] == 11
    assert len(value["tags"]) == 2
    assert validate({"free": {"a": "x"}}, schema) != []


def test_conform_keeps_null_for_nullable_and_generates_for_wrong_types() -> None:
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert conform(None, schema) is None
    assert conform(42, schema) == "42"
    assert conform({"a": 1}, {"type": "integer"}) == 1


def test_implied_skills_count_for_screening() -> None:
    job = {"must_have": [{"skill": "SQL", "weight": 1}, {"skill": "REST", "weight": 1}], "min_years": 0}
    result = screen(job, {"skills": ["PostgreSQL", "FastAPI"], "total_years_experience": 3})
    assert result["matched_must_have"] == ["SQL", "REST"]
    assert result["decision"] == "advance"
    assert screen(job, {"skills": ["Excel"], "total_years_experience": 3})["missing_must_have"] == [
        "SQL",
        "REST",
    ]
