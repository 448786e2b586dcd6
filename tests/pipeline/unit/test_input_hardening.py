"""Pure pieces of input hardening: id shapes, canonical blob names, plain-text fields, JSON nesting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrators.identity import (
    InvalidIdentifierError,
    batch_child_instance_id,
    batch_instance_id,
    blob_name_problem,
    candidate_instance_id,
    interview_instance_id,
    normalize_resume_blob,
    validate_candidate_instance_id,
    validate_screening_instance_id,
)
from shared.json_limits import json_nesting_depth
from shared.models import CandidateContact, CandidateWithdrew, RecruiterDecision
from triggers.durable import escaped
from triggers.http_api import MAX_JSON_DEPTH


def test_ids_the_identity_module_makes_are_the_ids_the_api_accepts() -> None:
    candidate = candidate_instance_id("job-a", "job-a/cv.pdf")
    batch = batch_instance_id("job-a", ["job-a/cv.pdf"])
    child = batch_child_instance_id(batch, "job-a/cv.pdf")

    assert validate_candidate_instance_id(candidate) == candidate
    assert validate_candidate_instance_id(child) == child
    assert validate_screening_instance_id(batch) == batch
    for not_a_candidate in (batch, interview_instance_id(candidate), candidate + "#", candidate.upper(), ""):
        with pytest.raises(InvalidIdentifierError):
            validate_candidate_instance_id(not_a_candidate)
    with pytest.raises(InvalidIdentifierError):
        validate_screening_instance_id(candidate)


@pytest.mark.parametrize(
    "name",
    [
        "job/a\\b.pdf",
        "job/./a.pdf",
        "job//a.pdf",
        "job/../a.pdf",
        "job/%2e/a.pdf",
        "job/a.pdf.",
        "job./a.pdf",
        " job/a.pdf",
        "job/a.pdf\t",
        "job/a\u0000.pdf",
        "job/a\u202e.pdf",
        "job/" + "a" * 1030,
        "/".join(["x"] * 255),
    ],
)
def test_names_that_alias_another_blob_are_not_canonical(name: str) -> None:
    assert blob_name_problem(name) is not None
    with pytest.raises(InvalidIdentifierError):
        normalize_resume_blob(name)


def test_a_url_is_decoded_once_into_the_canonical_name() -> None:
    base = "https://acct.blob.core.windows.net/resumes"
    assert normalize_resume_blob(f"{base}/job/cv%20v2.pdf") == "job/cv v2.pdf"
    assert normalize_resume_blob(f"{base}/job/%63v.pdf") == "job/cv.pdf"
    for url in (
        f"{base}/job/%2e/cv.pdf",
        f"{base}/job/%252e.pdf",
        f"{base}/job/%ff.pdf",
        f"{base}/job//cv.pdf",
    ):
        with pytest.raises(InvalidIdentifierError):
            normalize_resume_blob(url)


@pytest.mark.parametrize(
    "char",
    [
        "\u0000",
        "\u0007",
        "\u001b",
        "\u007f",
        "\u0085",
        "\u200e",
        "\u202a",
        "\u202e",
        "\u2066",
        "\u2069",
        "\ufeff",
        "\u2028",
    ],
)
def test_single_line_fields_refuse_control_and_bidi_characters(char: str) -> None:
    with pytest.raises(ValidationError) as refused:
        CandidateContact(name=f"Ada{char}Lovelace")
    assert refused.value.errors()[0]["loc"] == ("name",)
    with pytest.raises(ValidationError):
        RecruiterDecision(decision="advance", recruiter=f"Lin{char}")


def test_free_text_keeps_line_breaks_but_refuses_other_controls() -> None:
    assert CandidateWithdrew(reason="moved on\r\n\tthanks").reason == "moved on\r\n\tthanks"
    with pytest.raises(ValidationError):
        CandidateWithdrew(reason="moved on\u001b[2J")
    assert CandidateContact(name="Zoë Ünal-\u200cNamdar").name == "Zoë Ünal-\u200cNamdar"


def test_nesting_depth_ignores_brackets_inside_strings() -> None:
    assert json_nesting_depth(b'{"a": [1, {"b": "[[[[[[{{{{"}]}', stop_after=MAX_JSON_DEPTH) == 3
    assert json_nesting_depth(b'{"a": "\\"[[[["}', stop_after=MAX_JSON_DEPTH) == 1
    # Stops counting past the limit.
    assert json_nesting_depth(b"[" * 100_000, stop_after=MAX_JSON_DEPTH) == MAX_JSON_DEPTH + 1


def test_escaped_ids_are_one_path_segment() -> None:
    assert escaped("job.abc") == "job.abc"
    assert escaped("a#b?c/d e%") == "a%23b%3Fc%2Fd%20e%25"
