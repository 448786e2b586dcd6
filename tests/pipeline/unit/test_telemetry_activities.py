"""Real activities against the emulators and Azurite, traced to a JSON-lines file: what telemetry shows.

Each activity is one span with the instance id as a structured attribute; every external call it makes (Blob,
Document Intelligence and ACS through azure-core, OpenAI through its httpx2 transport) is a child span that
carries the same id; and no span holds the candidate's name, email or phone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.calls import hang_up_call
from activities.document_intelligence import extract_resume_text
from activities.openai_structured import parse_candidate_profile
from shared.models import (
    ExtractResumeTextOutput,
    ParseCandidateProfileInput,
    ParseCandidateProfileOutput,
)
from shared.settings import Settings
from shared.telemetry import (
    ACTIVITY_ATTRIBUTE,
    INSTANCE_ID_ATTRIBUTE,
    OUTCOME_ATTRIBUTE,
    configure_telemetry,
    reset_telemetry,
)
from tests.pipeline.activities.acs_helpers import STRONG, place
from tests.pipeline.activities.conftest import (  # noqa: F401 (fixtures used by name)
    JOB_ID,
    configure,
    emulators,
    upload_sample,
)

pytestmark = pytest.mark.azurite

CANDIDATE = json.loads((Path(__file__).resolve().parents[3] / "samples" / "candidates.json").read_text())[0]


@pytest.fixture
def trace_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "spans.jsonl"
    reset_telemetry()
    mode = configure_telemetry(Settings(profile="local", trace_file=str(path)))
    assert mode in {"file", "existing-provider"}
    yield path
    reset_telemetry()


def _spans(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_activities_and_their_external_calls_carry_the_instance_id_and_no_personal_data(
    configure: Callable[..., None],  # noqa: F811 (the activity tests' fixture, imported above)
    trace_file: Path,
) -> None:
    assert CANDIDATE["resume"] == "resumes/ada-strong.pdf"
    instance = f"{JOB_ID}.0f1e2d3c4b5a69788796a5b4"
    resume = upload_sample(CANDIDATE["resume"])
    extracted = ExtractResumeTextOutput.model_validate(
        extract_resume_text({"instance_id": instance, "job_id": JOB_ID, "resume": resume})
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
    # The parsed profile holds the personal data the spans must not.
    assert CANDIDATE["name"] == "Ada Lindqvist"
    placed = place(instance, STRONG)
    assert placed.call_connection_id is not None
    hang_up_call({"instance_id": instance, "call_connection_id": placed.call_connection_id})

    spans = _spans(trace_file)
    activities = {
        s["attributes"][ACTIVITY_ATTRIBUTE]: s for s in spans if ACTIVITY_ATTRIBUTE in s["attributes"]
    }
    assert set(activities) == {
        "extract_resume_text",
        "parse_candidate_profile",
        "place_interview_call",
        "hang_up_call",
    }
    for activity in activities.values():
        assert activity["attributes"][INSTANCE_ID_ATTRIBUTE] == instance
        assert activity["attributes"][OUTCOME_ATTRIBUTE] == "ok"
        assert activity["parent_span_id"] is None or activity["kind"] == "INTERNAL"

    activity_traces = {a["trace_id"] for a in activities.values()}
    inside = [
        s for s in spans if s["trace_id"] in activity_traces and ACTIVITY_ATTRIBUTE not in s["attributes"]
    ]
    # Every span inside an activity, whoever opened it, carries the instance id as an attribute.
    assert inside
    assert all(s["attributes"].get(INSTANCE_ID_ATTRIBUTE) == instance for s in inside), [
        s["name"] for s in inside if s["attributes"].get(INSTANCE_ID_ATTRIBUTE) != instance
    ]
    by_activity: dict[str, list[dict[str, Any]]] = {}
    for span in inside:
        owner = next(name for name, a in activities.items() if a["trace_id"] == span["trace_id"])
        by_activity.setdefault(owner, []).append(span)
    names = {owner: " | ".join(s["name"] for s in found) for owner, found in by_activity.items()}
    # Document Intelligence (analyze + poll) and Blob (read the resume, write the text) through azure-core.
    assert "begin_analyze_document" in names["extract_resume_text"]
    assert "BlobClient.upload_blob" in names["extract_resume_text"]
    # OpenAI through its httpx2 transport: the chat completions request, path only.
    assert any(
        s["kind"] == "CLIENT" and s["attributes"].get("url.path", "").endswith("/chat/completions")
        for s in by_activity["parse_candidate_profile"]
    ), names["parse_candidate_profile"]
    # ACS Call Automation through azure-core.
    assert "CallAutomationClient.create_call" in names["place_interview_call"]

    text = trace_file.read_text().lower()
    personal = [
        CANDIDATE["name"],
        CANDIDATE["name"].split()[-1],
        CANDIDATE["email"],
        CANDIDATE["phone"],
        CANDIDATE["phone"].lstrip("+"),
    ]
    assert not [value for value in personal if value.lower() in text]
