"""A resume announced by an Event Grid ``Microsoft.Storage.BlobCreated`` event starts the pipeline.

The polling blob trigger is disabled on this stack (``AzureWebJobs.resume_uploaded.Disabled``), so only the
Event Grid trigger can start the candidate.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from hireflow.client import ApiError, HireflowClient
from hireflow.samples import upload_resume
from hireflow.stack import LocalStack
from orchestrators.identity import candidate_instance_id
from tests.e2e.support import follow, running_stack, sample, wait_for_candidate

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

EVENT_GRID_TRIGGER = "resume_blob_created"
STORAGE_TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/hireflow/providers/"
    "Microsoft.Storage/storageAccounts/devstoreaccount1"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    settings = {"AzureWebJobs.resume_uploaded.Disabled": "true"}
    with running_stack(tmp_path_factory.mktemp("e2e-event-grid"), settings) as running:
        yield running


def post_events(url: str, events: list[dict[str, object]], kind: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(events).encode(),
        headers={"Content-Type": "application/json", "aeg-event-type": kind},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_blob_created_event_starts_the_pipeline_to_a_report(stack: LocalStack) -> None:
    ada = sample("ada-strong")
    client = HireflowClient(stack.api_url)
    blob = upload_resume(
        stack.blob_service(),
        ada,
        blob_name=f"{ada.job_id}/grid-{uuid.uuid4().hex[:8]}.pdf",
        with_contact=True,
    )
    candidate_id = candidate_instance_id(ada.job_id, blob)
    webhook = stack.event_grid_url(EVENT_GRID_TRIGGER)

    # Event Grid validates the subscription first, with an empty subject.
    validation = {
        "id": str(uuid.uuid4()),
        "topic": STORAGE_TOPIC,
        "subject": "",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2026-11-22T05:00:00Z",
        "dataVersion": "2",
        "data": {"validationCode": "c0ffee00-1111-2222-3333-444455556666"},
    }
    status, body = post_events(webhook, [validation], "SubscriptionValidation")
    assert status == 200
    assert json.loads(body) == {"validationResponse": "c0ffee00-1111-2222-3333-444455556666"}
    with pytest.raises(ApiError) as not_started:
        client.candidate(candidate_id)
    assert not_started.value.status == 404

    blob_url = f"{stack.blob_service().url.rstrip('/')}/resumes/{blob}"
    created = {
        "id": str(uuid.uuid4()),
        "topic": STORAGE_TOPIC,
        "subject": f"/blobServices/default/containers/resumes/blobs/{blob}",
        "eventType": "Microsoft.Storage.BlobCreated",
        "eventTime": "2026-11-22T05:00:01Z",
        "dataVersion": "",
        "data": {"api": "PutBlob", "blobType": "BlockBlob", "url": blob_url},
    }
    status, _ = post_events(webhook, [created], "Notification")
    assert status == 202
    wait_for_candidate(client, candidate_id)

    view = follow(stack, {candidate_id: ada})[candidate_id].view

    assert view["runtime_status"] == "Completed", view
    assert view["outcome"] == "interviewed"
    assert b"<html" in client.report(candidate_id).lower()
