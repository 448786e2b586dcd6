"""Blob triggers against a real Azurite: fire once per version, receipts, poison, Event Grid source."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient

from devhost.blob_triggers import MAX_ATTEMPTS, BlobPath
from devhost.connections import connection_string_for
from devhost.server import BLOBS
from tests.devhost.host.support import InProcessHost, call, in_process_host, wait_until
from tests.support.azurite import AzuriteInstance

pytestmark = pytest.mark.azurite
SETTING = "HostTestStorage"


@pytest.fixture(scope="module")
def storage(azurite: AzuriteInstance) -> Iterator[BlobServiceClient]:
    previous = os.environ.get(SETTING)
    os.environ[SETTING] = azurite.connection_string
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    for name in ("inbox", "jobs", "poison", "pushed", "convert", "outbox"):
        # Another module of this session may have created it already.
        with contextlib.suppress(ResourceExistsError):
            service.create_container(name)
    yield service
    if previous is None:
        os.environ.pop(SETTING, None)
    else:
        os.environ[SETTING] = previous


@pytest.fixture(scope="module")
def blob_host(
    storage: BlobServiceClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessHost]:
    with in_process_host("host_blobs", tmp_path_factory.mktemp("blob-host"), blob_poll_interval=0.1) as host:
        yield host


def seen(host: InProcessHost, function: str) -> list[dict[str, object]]:
    return [s for s in host.module_value("on_inbox", "SEEN") if s["function"] == function]


def wait_for_polls(host: InProcessHost, rounds: int = 3) -> None:
    service = host.running.app[BLOBS]
    target = service.poll_rounds + rounds
    wait_until(lambda: service.poll_rounds >= target, what=f"{rounds} more polling rounds")


def unique(name: str) -> str:
    return f"{uuid.uuid4().hex[:8]}-{name}"


def test_new_blob_fires_with_name_uri_length_and_metadata(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("resume.txt")
    storage.get_container_client("inbox").upload_blob(name, b"hello blob", metadata={"source": "test"})
    record = wait_until(
        lambda: next((s for s in seen(blob_host, "on_inbox") if s["name"] == f"inbox/{name}"), None),
        what="the blob trigger",
    )
    assert record["length"] == len(b"hello blob")
    assert record["content"] == "hello blob"
    assert str(record["uri"]).endswith(f"/inbox/{name}")
    assert record["metadata"] == {"source": "test"}


def test_blob_fires_once_per_version(blob_host: InProcessHost, storage: BlobServiceClient) -> None:
    name = unique("versioned.txt")
    inbox: ContainerClient = storage.get_container_client("inbox")
    inbox.upload_blob(name, b"v1")

    def fired() -> list[object]:
        return [s["content"] for s in seen(blob_host, "on_inbox") if s["name"] == f"inbox/{name}"]

    wait_until(lambda: fired() == ["v1"], what="first version")
    wait_for_polls(blob_host)
    assert fired() == ["v1"]
    inbox.upload_blob(name, b"v2", overwrite=True)
    wait_until(lambda: fired() == ["v1", "v2"], what="second version")


def test_path_pattern_with_several_parameters(blob_host: InProcessHost, storage: BlobServiceClient) -> None:
    job = unique("job")
    jobs = storage.get_container_client("jobs")
    jobs.upload_blob(f"{job}/notes.pdf", b"not matching")
    jobs.upload_blob(f"{job}/notes.txt", b"matching")
    wait_until(
        lambda: any(s["name"] == f"jobs/{job}/notes.txt" for s in seen(blob_host, "on_job_file")),
        what="the nested blob",
    )
    wait_for_polls(blob_host)
    assert all(s["name"] != f"jobs/{job}/notes.pdf" for s in seen(blob_host, "on_job_file"))


def test_failing_blob_becomes_poison_after_five_attempts(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("bad.txt")
    storage.get_container_client("poison").upload_blob(name, b"boom")
    service = blob_host.running.app[BLOBS]
    record = wait_until(
        lambda: next((p for p in service.receipts.poison() if p["blob_path"] == f"poison/{name}"), None),
        what="the poison record",
    )
    assert record["failures"] == MAX_ATTEMPTS
    assert "cannot process" in str(record["reason"])
    wait_for_polls(blob_host)
    failures = blob_host.module_value("always_fails", "FAILURES")
    assert failures.count(f"poison/{name}") == MAX_ATTEMPTS


def test_event_grid_sourced_trigger_is_not_polled(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("quiet.txt")
    storage.get_container_client("pushed").upload_blob(name, b"waits for an event")
    wait_for_polls(blob_host)
    assert all(s["name"] != f"pushed/{name}" for s in seen(blob_host, "on_pushed"))


def test_blob_created_event_fires_the_event_grid_sourced_trigger(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("pushed.txt")
    blob = storage.get_container_client("pushed").upload_blob(name, b"pushed by event grid")
    event = {
        "id": str(uuid.uuid4()),
        "eventType": "Microsoft.Storage.BlobCreated",
        "subject": f"/blobServices/default/containers/pushed/blobs/{name}",
        "topic": "/subscriptions/x/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
        "eventTime": "2026-01-01T00:00:00Z",
        "dataVersion": "",
        "data": {"api": "PutBlob", "url": blob.url, "contentLength": 20},
    }
    reply = call(
        "POST",
        blob_host.url("/runtime/webhooks/blobs?functionName=Host.Functions.on_pushed"),
        body=json.dumps([event]),
        headers={"aeg-event-type": "Notification"},
    )
    assert reply.status == 202
    assert any(
        s["name"] == f"pushed/{name}" and s["content"] == "pushed by event grid"
        for s in seen(blob_host, "on_pushed")
    )


def test_receipts_survive_a_restart(storage: BlobServiceClient, tmp_path: Path) -> None:
    name = unique("once.txt")
    storage.get_container_client("inbox").upload_blob(name, b"only once")
    with in_process_host("host_blobs", tmp_path, blob_poll_interval=0.1) as first:
        wait_until(
            lambda: any(s["name"] == f"inbox/{name}" for s in seen(first, "on_inbox")), what="first run"
        )
    later = unique("later.txt")
    with in_process_host("host_blobs", tmp_path, blob_poll_interval=0.1) as second:
        storage.get_container_client("inbox").upload_blob(later, b"new after restart")
        wait_until(
            lambda: any(s["name"] == f"inbox/{later}" for s in seen(second, "on_inbox")), what="new blob"
        )
        wait_for_polls(second)
        assert all(s["name"] != f"inbox/{name}" for s in seen(second, "on_inbox"))


def test_connection_setting_resolves_development_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DevStore", "UseDevelopmentStorage=true")
    value = connection_string_for("DevStore")
    assert value == "UseDevelopmentStorage=true"
    client = BlobServiceClient.from_connection_string(value)
    assert client.url.startswith("http://127.0.0.1:10000/devstoreaccount1")


def test_connection_setting_falls_back_to_azure_webjobs_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsOther", "UseDevelopmentStorage=true")
    monkeypatch.delenv("Other", raising=False)
    assert connection_string_for("Other") == "UseDevelopmentStorage=true"


def test_blob_path_binds_parameters() -> None:
    path = BlobPath.parse("jobs/{job_id}/{name}.txt")
    assert path.container == "jobs"
    assert path.match("j7/cv.txt") == {"job_id": "j7", "name": "cv"}
    assert path.match("j7/cv.pdf") is None


def test_blob_created_event_on_the_event_grid_webhook_also_fires(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("via-eventgrid.txt")
    storage.get_container_client("pushed").upload_blob(name, b"through the eventgrid webhook")
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "Microsoft.Storage.BlobCreated",
        "source": "/subscriptions/x/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
        "subject": f"/blobServices/default/containers/pushed/blobs/{name}",
        "data": {"api": "PutBlob"},
    }
    reply = call(
        "POST",
        blob_host.url("/runtime/webhooks/eventgrid?functionName=on_pushed"),
        body=json.dumps(event),
        headers={"aeg-event-type": "Notification"},
    )
    assert reply.status == 202
    assert any(s["name"] == f"pushed/{name}" for s in seen(blob_host, "on_pushed"))


def test_polled_blob_trigger_refuses_event_grid_delivery(blob_host: InProcessHost) -> None:
    reply = call(
        "POST",
        blob_host.url("/runtime/webhooks/blobs?functionName=Host.Functions.on_inbox"),
        body="[]",
        headers={"aeg-event-type": "Notification"},
    )
    assert reply.status == 404


def test_admin_invoke_runs_a_blob_trigger_on_a_named_blob(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("manual.txt")
    storage.get_container_client("pushed").upload_blob(name, b"invoked by hand")
    reply = call(
        "POST", blob_host.url("/admin/functions/on_pushed"), body=json.dumps({"input": f"pushed/{name}"})
    )
    assert reply.status == 202
    wait_until(
        lambda: any(s["name"] == f"pushed/{name}" for s in seen(blob_host, "on_pushed")),
        what="the admin-invoked blob trigger",
    )


def test_http_function_with_blob_input_and_output(
    blob_host: InProcessHost, storage: BlobServiceClient
) -> None:
    name = unique("source.txt")
    storage.get_container_client("inbox").upload_blob(name, b"copy me")
    reply = call("POST", blob_host.url(f"/api/copy/{name}?suffix=!"))
    assert (reply.status, reply.text) == (200, "7")
    copied = storage.get_container_client("outbox").download_blob(f"{name}.copy").readall()
    assert copied == b"copy me!"


def test_missing_input_blob_is_none(blob_host: InProcessHost) -> None:
    assert call("POST", blob_host.url("/api/copy/does-not-exist.txt")).status == 404


def test_blob_trigger_with_blob_output(blob_host: InProcessHost, storage: BlobServiceClient) -> None:
    name = unique("shout.txt")
    storage.get_container_client("convert").upload_blob(name, b"quiet words")
    outbox = storage.get_container_client("outbox")

    def converted() -> bytes | None:
        blob = outbox.get_blob_client(f"{name}.upper")
        return blob.download_blob().readall() if blob.exists() else None

    assert wait_until(converted, what="the uppercased copy") == b"QUIET WORDS"


def test_return_value_bound_to_a_blob_output(blob_host: InProcessHost, storage: BlobServiceClient) -> None:
    name = unique("receipt")
    reply = call("POST", blob_host.url(f"/api/stamp/{name}"), body="paid")
    assert (reply.status, reply.text) == (201, "stamped")
    assert storage.get_container_client("outbox").download_blob(f"{name}.stamped").readall() == b"stamp:paid"
