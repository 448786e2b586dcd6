"""Domain views built from orchestration statuses (pure functions, no host)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.models import BlobRef
from triggers.views import InstanceSnapshot, candidate_view, failure_from_output, screening_view

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _snapshot(
    runtime_status: str, custom_status: Any = None, output: Any = None, **extra: Any
) -> InstanceSnapshot:
    return InstanceSnapshot(
        instance_id=extra.get("instance_id", "job-a.abc"),
        name=extra.get("name", "candidate_pipeline"),
        runtime_status=runtime_status,
        created_time=NOW,
        last_updated_time=NOW,
        custom_status=custom_status,
        output=output,
        input=extra.get("input"),
    )


def test_running_candidate_in_interview_shows_the_interviews_finer_stage() -> None:
    parent = _snapshot(
        "Running",
        {
            "stage": "scheduling",
            "progress": 0.3,
            "job_id": "job-a",
            "screening_score": 0.8,
            "screening_decision": "advance",
        },
    )
    interview = _snapshot(
        "Running",
        {
            "stage": "calling",
            "progress": 0.45,
            "slot_start": "2026-03-03T10:00:00Z",
            "call_attempt": 2,
            "detail": "no answer",
        },
        instance_id="job-a.abc.interview",
        name="interview",
    )

    view = candidate_view(parent, interview=interview, blob_url=lambda ref: f"https://blob/{ref.path}")

    assert view["stage"] == "calling"
    assert view["progress"] == 0.45
    assert view["detail"] == "no answer"
    assert view["screening"] == {"score": 0.8, "decision": "advance"}
    assert view["interview"]["call_attempts"] == 2
    assert view["interview"]["slot_start"].startswith("2026-03-03T10:00:00")
    assert view["links"]["self"] == "/api/candidates/job-a.abc"
    assert view["failure"] is None


def test_pending_candidate_without_status_yet() -> None:
    view = candidate_view(_snapshot("Pending", None, input={"job_id": "job-a"}))

    assert view["stage"] == "received"
    assert view["progress"] == 0.0
    assert view["job_id"] == "job-a"


def test_failed_candidate_reason_comes_from_the_output() -> None:
    output = "[error:timeout] screen_candidate: failed after its retries\n\n$OutOfProcData$:{}"
    view = candidate_view(_snapshot("Failed", {"stage": "screening", "progress": 0.2}, output))

    assert view["stage"] == "failed"
    assert view["failure"] == {"code": "timeout", "message": "screen_candidate: failed after its retries"}


def test_failed_candidate_without_a_code_is_internal() -> None:
    assert failure_from_output("boom") == {"code": "internal", "message": "boom"}
    assert failure_from_output(None) is None


def test_completed_candidate_with_a_failure_report_and_an_unreadable_output() -> None:
    report = {
        "instance_id": "job-a.abc",
        "job_id": "job-a",
        "outcome": "no_show",
        "stage": "no_show",
        "failure": {"code": "call_failed", "message": "x"},
    }
    view = candidate_view(_snapshot("Completed", {"stage": "no_show", "progress": 1.0}, report))
    assert view["outcome"] == "no_show"
    assert view["failure"]["code"] == "call_failed"

    garbled = candidate_view(
        _snapshot(
            "Completed",
            {"stage": "completed", "progress": 1.0, "report": {"container": "r", "name": "p.html"}},
            {"what": 1},
        )
    )
    assert garbled["outcome"] is None
    assert garbled["report"] == {"json": None, "page": {"container": "r", "name": "p.html", "url": None}}


def test_custom_status_that_does_not_validate_is_ignored() -> None:
    view = candidate_view(_snapshot("Running", {"stage": "dancing"}))
    assert view["stage"] == "received"


def test_terminated_candidate_is_cancelled_with_its_reason() -> None:
    view = candidate_view(
        _snapshot("Terminated", {"stage": "awaiting_review", "progress": 0.25}, "position filled")
    )

    assert view["outcome"] == "cancelled"
    assert view["failure"] == {"code": "cancelled", "message": "position filled"}


def test_screening_views() -> None:
    running = screening_view(
        _snapshot("Running", {"stage": "screening", "progress": 0.5, "detail": "1 of 2"})
    )
    assert running["progress"] == 0.5
    assert running["result"] is None
    done = screening_view(
        _snapshot("Completed", None, {"job_id": "job-a", "shortlist": [], "outcomes": {"failed": 1}})
    )
    assert done["result"]["outcomes"] == {"failed": 1}
    failed = screening_view(_snapshot("Failed", None, "[error:internal] x"))
    assert failed["failure"]["code"] == "internal"
    garbled = screening_view(_snapshot("Completed", None, {"shortlist": "nope"}))
    assert garbled["result"] is None
    assert BlobRef(container="a", name="b").path == "a/b"


def test_every_view_conforms_to_the_models_the_openapi_description_publishes() -> None:
    from triggers.openapi import CandidateView, ScreeningView

    report = {
        "instance_id": "job-a.abc",
        "job_id": "job-a",
        "outcome": "interviewed",
        "stage": "completed",
        "screening_score": 0.9,
        "screening_decision": "advance",
        "interview_overall": 4.2,
        "recommendation": "hire",
        "report_json": {"container": "reports", "name": "job-a.abc/report.json"},
        "report_page": {"container": "reports", "name": "job-a.abc/report.html"},
    }
    interview = _snapshot(
        "Running",
        {"stage": "in_call", "progress": 0.5, "slot_start": "2026-03-03T10:00:00Z", "call_attempt": 1},
        instance_id="job-a.abc.interview",
        name="interview",
    )
    candidates = [
        candidate_view(_snapshot("Pending", None, input={"job_id": "job-a"})),
        candidate_view(_snapshot("Running", {"stage": "scheduling", "progress": 0.3}), interview=interview),
        candidate_view(_snapshot("Completed", {"stage": "completed", "progress": 1.0}, report)),
        candidate_view(_snapshot("Completed", None, report), blob_url=lambda ref: f"https://b/{ref.path}"),
        candidate_view(_snapshot("Failed", {"stage": "screening", "progress": 0.2}, "[error:timeout] x")),
        candidate_view(_snapshot("Terminated", {"stage": "awaiting_review", "progress": 0.4}, "filled")),
        candidate_view(_snapshot("Running", {"stage": "dancing"})),
    ]
    screenings = [
        screening_view(_snapshot("Running", {"stage": "screening", "progress": 0.5}, name="batch_screening")),
        screening_view(_snapshot("Completed", None, {"job_id": "job-a", "shortlist": [], "outcomes": {}})),
        screening_view(_snapshot("Failed", None, "[error:internal] x")),
    ]

    for view in candidates:
        assert CandidateView.model_validate(view).model_dump(mode="json", by_alias=True) == view
    for view in screenings:
        assert ScreeningView.model_validate(view).id == view["id"]
