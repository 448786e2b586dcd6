"""Event Grid functions: wrongly typed recording events are acknowledged, and both delivery schemas work.

Event Grid redelivers every event a function fails, until the event expires; so a malformed event must be
logged and acknowledged, never raised. A CloudEvents subscription hands the function a ``func.CloudEvent``
(the worker chooses the class by ``specversion``), which the functions read as well as the Event Grid shape.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from orchestrators.identity import candidate_instance_id, interview_instance_id
from shared.storage import CallRecord, record_call
from tests.pipeline.orchestrators.fakes import ANSWER_NO_RECORDING
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness, body_of
from triggers.event_grid import RECORDING_FILE_STATUS_UPDATED, deliver_recording_ready
from triggers.events import delivered_event

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
# The fake call placement names its first call "server-0", and the interview accepts only its own call.
SUBJECT = "/recording/call/corr/serverCallId/server-0"
GOOD_DATA: dict[str, Any] = {
    "recordingStorageInfo": {
        "recordingChunks": [
            {"documentId": "doc-a", "index": 0, "contentLocation": "https://r/a", "endReason": "SessionEnded"}
        ]
    },
    "recordingStartTime": "2026-01-01T10:00:00Z",
    "recordingDurationMs": 61000,
    "recordingContentType": "Audio",
    "recordingChannelType": "Mixed",
}


def _with(path: tuple[str | int, ...], value: Any) -> Any:
    data = copy.deepcopy(GOOD_DATA)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


CHUNK = ("recordingStorageInfo", "recordingChunks", 0)
WRONGLY_TYPED: dict[str, Any] = {
    "data_is_a_string": "recording ready",
    "data_is_a_list": [GOOD_DATA],
    "storage_info_is_a_string": _with(("recordingStorageInfo",), "https://r/a"),
    "storage_info_is_a_list": _with(("recordingStorageInfo",), [{"recordingChunks": []}]),
    "chunks_are_a_string": _with(("recordingStorageInfo", "recordingChunks"), "doc-a"),
    "chunks_are_an_object": _with(("recordingStorageInfo", "recordingChunks"), {"documentId": "doc-a"}),
    "chunk_is_a_string": _with(CHUNK, "doc-a"),
    "document_id_is_an_object": _with((*CHUNK, "documentId"), {"id": "doc-a"}),
    "document_id_is_a_number": _with((*CHUNK, "documentId"), 7),
    "content_location_is_an_object": _with((*CHUNK, "contentLocation"), {"href": "https://r/a"}),
    "content_location_is_a_list": _with((*CHUNK, "contentLocation"), ["https://r/a"]),
    "index_is_a_string": _with((*CHUNK, "index"), "first"),
    "index_is_an_object": _with((*CHUNK, "index"), {"value": 0}),
    "end_reason_is_an_object": _with((*CHUNK, "endReason"), {"reason": "x"}),
    "duration_is_a_string": _with(("recordingDurationMs",), "a minute"),
    "duration_is_an_object": _with(("recordingDurationMs",), {"ms": 1}),
    "start_time_is_an_object": _with(("recordingStartTime",), {"at": "now"}),
    "content_type_is_a_list": _with(("recordingContentType",), ["Audio"]),
    "chunks_are_empty": _with(("recordingStorageInfo", "recordingChunks"), []),
}


def _grid_event(data: Any, *, subject: Any = SUBJECT, event_id: Any = "evt", event_type: Any = None) -> Any:
    return func.EventGridEvent(
        id=event_id,
        data=data,
        topic="/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
        subject=subject,
        event_type=RECORDING_FILE_STATUS_UPDATED if event_type is None else event_type,
        event_time=datetime.now(UTC),
        data_version="1.0",
    )


def _cloud_event(
    data: Any, *, event_type: str, subject: str, source: str, event_id: str = "ce-1"
) -> func.CloudEvent:
    return func.CloudEvent(
        id=event_id,
        source=source,
        type=event_type,
        specversion="1.0",
        time=datetime.now(UTC),
        subject=subject,
        datacontenttype="application/json",
        dataschema=None,
        data=data,
    )


def _client(h: TriggerHarness) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(h.host.engine.client_binding())


def _awaiting_recording(h: TriggerHarness, resume: str, server_call_id: str = "server-0") -> tuple[str, str]:
    h.upload_resume(resume)
    response = h.http(
        "submit_candidate",
        "POST",
        "x",
        body={"name": "Ada", "phone": "+15550101010", "resume_blob": resume},
        route={"job_id": JOB_ID},
    )
    instance_id: str = body_of(response)["id"]
    interview_id = interview_instance_id(instance_id)
    h.wait_for(lambda: h.stage(interview_id) == "waiting_for_slot", what="a booked slot")
    h.host.advance_time(timedelta(days=2))
    h.wait_for(lambda: h.stage(interview_id) == "awaiting_recording", what="the recording wait")
    record_call(
        CallRecord(
            instance_id=interview_id,
            attempt=0,
            operation_context=f"ctx-{server_call_id}",
            call_connection_id=f"call-{server_call_id}",
            server_call_id=server_call_id,
        )
    )
    return instance_id, interview_id


# ---------------------------------------------------------------------------- defect 4: wrongly typed fields


@pytest.mark.parametrize("shape", sorted(WRONGLY_TYPED))
def test_wrongly_typed_recording_events_are_acknowledged_and_logged(
    harness: Harness, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness(call_script=[ANSWER_NO_RECORDING])
    instance_id, interview_id = _awaiting_recording(h, f"{JOB_ID}/typed-{len(shape)}.pdf")
    event = _grid_event(WRONGLY_TYPED[shape], event_id=f"typed-{shape}")

    with caplog.at_level(logging.WARNING, logger="hireflow.triggers.event_grid"):
        h.call("recording_file_status_updated", event=event)  # returns: Event Grid sees a success

    assert any("malformed" in record.getMessage() for record in caplog.records)
    assert not [e for e in h.host.history(interview_id) if e.get("Name") == "RecordingReady"]
    # The same call's well-formed event still gets through afterwards.
    h.call("recording_file_status_updated", event=_grid_event(GOOD_DATA, event_id=f"good-{shape}"))
    assert h.host.run_until_complete(instance_id).output["outcome"] == "interviewed"


@pytest.mark.parametrize(
    "event",
    [
        _grid_event(GOOD_DATA, subject={"serverCallId": "x"}),
        _grid_event(GOOD_DATA, subject=["/recording/call/c/serverCallId/x"]),
        _grid_event(GOOD_DATA, subject="/recording/call/c/serverCallId/\ud800"),
        _grid_event(GOOD_DATA, subject="/recording/call/c/serverCallId/" + "x" * 5000),
        _grid_event(GOOD_DATA, event_id={"id": 1}),
        _grid_event(GOOD_DATA, event_id=None),
        _grid_event(GOOD_DATA, event_type={"type": RECORDING_FILE_STATUS_UPDATED}),
        _grid_event(GOOD_DATA, event_type=7),
        object(),
    ],
    ids=[
        "subject_object",
        "subject_list",
        "subject_surrogate",
        "subject_huge",
        "id_object",
        "id_missing",
        "type_object",
        "type_number",
        "not_an_event",
    ],
)
def test_wrongly_typed_envelopes_are_acknowledged(harness: Harness, event: Any) -> None:
    h = harness()
    assert h.host.run(deliver_recording_ready(_client(h), event)) is None
    h.call("recording_file_status_updated", event=event)


# ---------------------------------------------------------------------------- issue 10: CloudEvents schema


def test_delivered_event_reads_both_schemas_alike() -> None:
    grid = delivered_event(_grid_event(GOOD_DATA, event_id="same"))
    cloud = delivered_event(
        _cloud_event(
            GOOD_DATA,
            event_type=RECORDING_FILE_STATUS_UPDATED,
            subject=SUBJECT,
            source="/subscriptions/x/communicationServices/z",
            event_id="same",
        )
    )
    posted = delivered_event(
        {
            "id": "same",
            "type": RECORDING_FILE_STATUS_UPDATED,
            "specversion": "1.0",
            "subject": SUBJECT,
            "data": {},
        }
    )

    assert (grid.schema, cloud.schema, posted.schema) == ("EventGrid", "CloudEvents", "CloudEvents")
    for event in (grid, cloud, posted):
        assert (event.id, event.type, event.subject) == ("same", RECORDING_FILE_STATUS_UPDATED, SUBJECT)
    assert cloud.data == GOOD_DATA
    assert cloud.source == "/subscriptions/x/communicationServices/z"


def test_a_recording_cloud_event_reaches_the_interview(harness: Harness) -> None:
    h = harness(call_script=[ANSWER_NO_RECORDING])
    instance_id, interview_id = _awaiting_recording(h, f"{JOB_ID}/cloud-rec.pdf")
    event = _cloud_event(
        GOOD_DATA,
        event_type=RECORDING_FILE_STATUS_UPDATED,
        subject=SUBJECT,
        source="/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
    )

    h.call("recording_file_status_updated", event=event)
    h.call("recording_file_status_updated", event=event)  # redelivered: acknowledged once

    result = h.host.run_until_complete(instance_id)
    assert result.output["outcome"] == "interviewed"
    raised = [e for e in h.host.history(interview_id) if e.get("Name") == "RecordingReady"]
    assert len(raised) == 1


def test_a_blob_created_cloud_event_starts_the_candidate_once(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    container = h.containers["RESUMES_CONTAINER"]
    name = f"{JOB_ID}/cloud.pdf"
    h.upload_resume(name, metadata={"candidate_name": "Cloud"})
    subject = f"/blobServices/default/containers/{container}/blobs/{name}"
    source = "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/acct"
    with_url = _cloud_event(
        {"api": "PutBlob", "url": f"http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"},
        event_type="Microsoft.Storage.BlobCreated",
        subject=subject,
        source=source,
    )
    by_subject = _cloud_event(
        {"api": "PutBlob"}, event_type="Microsoft.Storage.BlobCreated", subject=subject, source=source
    )
    deleted = _cloud_event({}, event_type="Microsoft.Storage.BlobDeleted", subject=subject, source=source)

    h.call("resume_blob_created", event=with_url)
    h.call("resume_blob_created", event=by_subject)
    h.call("resume_blob_created", event=deleted)

    instance_id = candidate_instance_id(JOB_ID, name)
    assert h.host.status(instance_id).input["contact"]["name"] == "Cloud"
    documents, _ = h.host.engine.query(prefix=f"{JOB_ID}.", top=1000)
    assert [d["instanceId"] for d in documents] == [instance_id]


@pytest.mark.parametrize(
    "data",
    [None, "url", ["u"], {"url": {"href": "x"}}, {"url": 7}, {"url": "http://h/acct/other/x.pdf"}],
    ids=["none", "string", "list", "url_object", "url_number", "url_elsewhere"],
)
def test_wrongly_typed_blob_created_events_are_acknowledged(harness: Harness, data: Any) -> None:
    h = harness()
    event = _cloud_event(
        data, event_type="Microsoft.Storage.BlobCreated", subject="/blobServices/x", source="/s"
    )
    h.call("resume_blob_created", event=event)
    grid = func.EventGridEvent(
        id="g",
        data=data,
        topic=None,
        subject=None,
        event_type="Microsoft.Storage.BlobCreated",
        event_time=None,
        data_version=None,
    )
    h.call("resume_blob_created", event=grid)
    documents, _ = h.host.engine.query(prefix=f"{JOB_ID}.", top=1000)
    assert documents == []
