"""The composition root indexes as the Python worker indexes it: every function, trigger and route."""

from __future__ import annotations

import json
from pathlib import Path

from devhost.functions import FunctionIndex, index_app

REPO = Path(__file__).resolve().parents[3]

ACTIVITIES = {
    "extract_resume_text",
    "parse_candidate_profile",
    "screen_candidate",
    "schedule_interview",
    "place_interview_call",
    "start_call_recording",
    "hang_up_call",
    "fetch_call_recording",
    "transcribe_recording",
    "score_transcript",
    "write_candidate_report",
}


def _index() -> FunctionIndex:
    from function_app import app

    return index_app(app)


def test_every_orchestrator_and_activity_is_registered_under_its_history_name() -> None:
    index = _index()

    assert {f.name for f in index.of_type("orchestrationTrigger")} == {
        "candidate_pipeline",
        "interview",
        "batch_screening",
    }
    assert {f.name for f in index.of_type("activityTrigger")} >= ACTIVITIES
    assert {f.name for f in index.of_type("entityTrigger")} == {"openai_token_budget"}


def test_http_routes_and_their_auth_levels() -> None:
    # The recruiter dashboard's pages are tested with the dashboard.
    routes = {
        (f.trigger["route"], tuple(m.upper() for m in f.trigger["methods"])): f.trigger["authLevel"].lower()
        for f in _index().of_type("httpTrigger")
        if not f.trigger["route"].startswith("dashboard")
    }

    assert routes == {
        ("jobs/{job_id}/candidates", ("POST",)): "function",
        ("jobs/{job_id}/candidates", ("GET",)): "function",
        ("candidates/{instance_id}", ("GET",)): "function",
        ("candidates/{instance_id}/report", ("GET",)): "function",
        ("candidates/{instance_id}/events/{event_name}", ("POST",)): "function",
        ("candidates/{instance_id}/cancel", ("POST",)): "function",
        ("jobs/{job_id}/screenings", ("POST",)): "function",
        ("screenings/{instance_id}", ("GET",)): "function",
        ("health", ("GET",)): "anonymous",
        ("openapi.json", ("GET",)): "anonymous",
        ("acs/callbacks", ("POST",)): "anonymous",
    }


def test_client_functions_get_a_durable_client_and_event_triggers_are_wired() -> None:
    index = _index()
    for function in (
        index.of_type("httpTrigger") + index.of_type("eventGridTrigger") + index.of_type("blobTrigger")
    ):
        if str(function.trigger.get("route", "")).startswith("dashboard"):
            continue  # the dashboard's pages are tested with the dashboard
        if function.name == "openapi_description":
            assert function.binding_names("durableClient") == []  # a static document: no durable client
            continue
        assert function.binding_names("durableClient") == ["client"], function.name
    blob = index.get("resume_uploaded", "blobTrigger")
    assert blob is not None
    # The host resolves the container from the app setting, so indexing never depends on the environment.
    assert blob.trigger["path"] == "%RESUMES_CONTAINER%/{job_id}/{name}"
    assert blob.trigger["connection"] == "AzureWebJobsStorage"
    assert blob.trigger["source"] == "LogsAndContainerScan"  # RESUME_TRIGGER_SOURCE unset: polling
    assert {f.name for f in index.of_type("eventGridTrigger")} == {
        "resume_blob_created",
        "recording_file_status_updated",
    }


def test_host_json_configures_durable_and_the_api_prefix() -> None:
    host = json.loads((REPO / "host.json").read_text(encoding="utf-8"))

    assert host["version"] == "2.0"
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert host["extensions"]["http"]["routePrefix"] == "api"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "hireflow"
    assert durable["tracing"]["traceInputsAndOutputs"] is False  # inputs carry contact details
