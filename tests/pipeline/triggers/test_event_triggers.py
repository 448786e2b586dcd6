"""Blob intake, Event Grid and ACS callback triggers through their real function objects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from orchestrators.identity import candidate_instance_id, interview_instance_id
from shared.settings import get_settings
from shared.storage import CallRecord, record_call
from tests.pipeline.orchestrators.fakes import ANSWER_NO_RECORDING
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness, body_of
from triggers.acs_callbacks import instance_event_for, question_index

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]


def _grid_event(
    event_type: str, data: dict[str, Any], subject: str, event_id: str = "evt-1"
) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=event_id,
        data=data,
        topic="/subscriptions/x/resourceGroups/y",
        subject=subject,
        event_type=event_type,
        event_time=datetime.now(UTC),
        data_version="1.0",
    )


# ---------------------------------------------------------------------------------------------- blob intake


def test_blob_trigger_starts_once_with_contact_details_from_metadata(harness: Harness) -> None:
    h = harness()
    name = f"resumes/{JOB_ID}/drop.pdf"
    metadata = {
        "Candidate_Name": "Ana%20Lima",
        "candidate_phone": "%2B15550100002",
        "candidate_time_zone": "Nowhere/X",
    }

    def trigger() -> None:
        stream = func.blob.InputStream(data=b"%PDF", name=name, length=4, metadata=metadata)
        h.call("resume_uploaded", resume=stream)

    trigger()
    trigger()

    instance_id = candidate_instance_id(JOB_ID, f"{JOB_ID}/drop.pdf")
    status = h.host.status(instance_id)
    assert status.input["contact"] == {
        "name": "Ana Lima",
        "email": None,
        "phone": "+15550100002",
        "time_zone": "UTC",
    }
    assert status.input["resume"]["container"] == "resumes"
    assert len(h.host.engine.status(instance_id)["instanceId"]) > 0


def test_blob_trigger_skips_blobs_that_cannot_start_a_run(harness: Harness) -> None:
    h = harness()
    for name in (
        "resumes/no-such-job/a.pdf",
        f"resumes/{JOB_ID}/notes.txt",
        f"resumes/{JOB_ID}/nested/a.pdf",
    ):
        stream = func.blob.InputStream(data=b"x", name=name, length=1, metadata={})
        h.call("resume_uploaded", resume=stream)
    huge = func.blob.InputStream(data=b"x", name=f"resumes/{JOB_ID}/huge.pdf", length=11 * 1024 * 1024)
    h.call("resume_uploaded", resume=huge)

    assert not h.exists(candidate_instance_id("no-such-job", "no-such-job/a.pdf"))
    assert not h.exists(candidate_instance_id(JOB_ID, f"{JOB_ID}/notes.txt"))
    assert not h.exists(candidate_instance_id(JOB_ID, f"{JOB_ID}/huge.pdf"))


def test_event_grid_blob_created_takes_the_same_start_path(harness: Harness) -> None:
    h = harness()
    container = get_settings().resumes_container
    h.upload_resume(f"{JOB_ID}/grid.pdf", metadata={"candidate_name": "Grid"})
    url = f"http://127.0.0.1:10000/devstoreaccount1/{container}/{JOB_ID}/grid.pdf"
    created = _grid_event(
        "Microsoft.Storage.BlobCreated",
        {"url": url},
        f"/blobServices/default/containers/{container}/blobs/{JOB_ID}/grid.pdf",
    )

    h.call("resume_blob_created", event=created)
    h.call("resume_blob_created", event=created)
    h.call("resume_blob_created", event=_grid_event("Microsoft.Storage.BlobDeleted", {"url": url}, "s"))
    elsewhere = _grid_event("Microsoft.Storage.BlobCreated", {"url": "http://h/acct/other/x.pdf"}, "s")
    h.call("resume_blob_created", event=elsewhere)
    by_subject = _grid_event(
        "Microsoft.Storage.BlobCreated",
        {},
        f"/blobServices/default/containers/{container}/blobs/{JOB_ID}/gone.pdf",
    )
    h.call("resume_blob_created", event=by_subject)  # names a blob that does not exist: acknowledged

    instance_id = candidate_instance_id(JOB_ID, f"{JOB_ID}/grid.pdf")
    started = h.host.status(instance_id).input
    assert started["contact"]["name"] == "Grid"
    assert started["intake"] == "event_grid"
    assert not h.exists(candidate_instance_id(JOB_ID, f"{JOB_ID}/gone.pdf"))


# ---------------------------------------------------------------------------------------------- interviews


def _interview_waiting(h: TriggerHarness, resume: str, stage: str) -> tuple[str, str]:
    """Start a candidate and move time past its slot until its interview reaches ``stage``."""
    h.upload_resume(resume)
    response = h.http(
        "submit_candidate",
        "POST",
        "x",
        body={"name": "Ada", "phone": "+15550101010", "resume_blob": resume},
        route={"job_id": JOB_ID},
    )
    instance_id = body_of(response)["id"]
    interview_id = interview_instance_id(instance_id)
    h.wait_for(lambda: h.stage(interview_id) == "waiting_for_slot", what="a booked slot")
    h.host.advance_time(timedelta(days=2))
    h.wait_for(lambda: h.stage(interview_id) == stage, what=f"interview stage {stage}")
    return instance_id, interview_id


def test_recording_file_status_updated_reaches_the_interview_that_placed_the_call(harness: Harness) -> None:
    h = harness(call_script=[ANSWER_NO_RECORDING])
    instance_id, interview_id = _interview_waiting(h, f"{JOB_ID}/rec.pdf", "awaiting_recording")
    record_call(
        CallRecord(
            instance_id=interview_id,
            attempt=0,
            operation_context="ctx-0",
            call_connection_id="call-0",
            server_call_id="server-0",
        )
    )
    data = {
        "recordingStorageInfo": {
            "recordingChunks": [
                {
                    "documentId": "doc-b",
                    "index": 1,
                    "contentLocation": "https://r/b",
                    "endReason": "SessionEnded",
                },
                {
                    "documentId": "doc-a",
                    "index": 0,
                    "contentLocation": "https://r/a",
                    "metadataLocation": "https://r/am",
                },
            ]
        },
        "recordingStartTime": "2026-01-01T10:00:00Z",
        "recordingDurationMs": 61000,
        "recordingContentType": "Audio",
        "recordingChannelType": "Mixed",
    }
    subject = "/recording/call/corr/serverCallId/server-0"
    event = _grid_event("Microsoft.Communication.RecordingFileStatusUpdated", data, subject, "rec-1")

    h.call("recording_file_status_updated", event=event)
    h.call("recording_file_status_updated", event=event)  # redelivered: acknowledged, not raised again

    result = h.host.run_until_complete(instance_id)
    assert result.output["outcome"] == "interviewed"
    fetched = h.fakes.inputs["fetch_call_recording"]
    assert len(fetched) == 1
    assert [c["document_id"] for c in fetched[0]["recording"]["chunks"]] == ["doc-a", "doc-b"]
    assert fetched[0]["recording"]["duration_ms"] == 61000
    raised = [e for e in h.host.history(interview_id) if e.get("Name") == "RecordingReady"]
    assert len(raised) == 1


def test_recording_events_that_match_nothing_are_acknowledged(harness: Harness) -> None:
    from triggers.event_grid import deliver_recording_ready

    h = harness()
    chunk = {"documentId": "d", "index": 0, "contentLocation": "https://r/d"}
    data = {"recordingStorageInfo": {"recordingChunks": [chunk]}}
    cases = [
        _grid_event(
            "Microsoft.Communication.RecordingFileStatusUpdated",
            data,
            "/recording/call/c/serverCallId/unknown",
            "a",
        ),
        _grid_event("Microsoft.Communication.CallEnded", data, "/recording/call/c/serverCallId/x", "b"),
        _grid_event(
            "Microsoft.Communication.RecordingFileStatusUpdated",
            {"nope": 1},
            "/recording/call/c/serverCallId/x",
            "c",
        ),
        _grid_event("Microsoft.Communication.RecordingFileStatusUpdated", data, "/no/server/call", "d"),
    ]
    client = _client(h)
    for event in cases:
        assert h.host.run(deliver_recording_ready(client, event)) is None
        h.call("recording_file_status_updated", event=event)  # and the function itself does not raise
    record_call(
        CallRecord(
            instance_id="finished.x",
            attempt=0,
            operation_context="o",
            call_connection_id="c",
            server_call_id="late",
        )
    )
    late = _grid_event(
        "Microsoft.Communication.RecordingFileStatusUpdated", data, "/recording/call/c/serverCallId/late", "e"
    )
    assert h.host.run(deliver_recording_ready(client, late)) is None


def _client(h: TriggerHarness) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(h.host.engine.client_binding())


def test_acs_event_mapping() -> None:
    failed = instance_event_for(
        "CreateCallFailed",
        {
            "callConnectionId": "c",
            "resultInformation": {"code": 408, "subCode": 8501, "message": "no answer"},
        },
    )
    assert failed == (
        "CallFailed",
        {"call_connection_id": "c", "code": 408, "subcode": 8501, "message": "no answer"},
    )
    assert instance_event_for("PlayCompleted", {"callConnectionId": "c"}) is None
    assert question_index("question:3") == 3
    assert question_index("question:x") is None
    assert question_index("closing") is None
