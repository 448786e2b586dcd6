"""%NAME% app settings in blob trigger and blob binding paths, against a real Azurite.

The apps are defined in the tests (``index_app`` indexes them as the worker would); the trigger service and
the blob bindings run for real against Azurite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from devhost.blob_bindings import BlobBindings
from devhost.blob_triggers import BlobTriggerConfigError, BlobTriggerService
from devhost.connections import AppSettingError
from devhost.functions import FunctionIndex, index_app
from devhost.invoke import FunctionInvoker
from tests.support.azurite import AzuriteInstance

pytestmark = pytest.mark.azurite
CONNECTION = "HostSettingsStorage"


@pytest.fixture
def storage(azurite: AzuriteInstance, monkeypatch: pytest.MonkeyPatch) -> Iterator[BlobServiceClient]:
    monkeypatch.setenv(CONNECTION, azurite.connection_string)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    for name in ("settings-inbox", "settings-outbox"):
        with contextlib.suppress(ResourceExistsError):
            service.create_container(name)
    yield service
    service.close()


def _resume_app(seen: list[dict[str, Any]]) -> FunctionIndex:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.blob_trigger(arg_name="resume", path="%HOST_TEST_RESUMES%/{job_id}/{name}", connection=CONNECTION)
    async def resume_uploaded(resume: func.InputStream) -> None:
        seen.append({"name": resume.name, "content": resume.read()})

    return index_app(app)


def _service(index: FunctionIndex, data_dir: Path) -> BlobTriggerService:
    invoker = FunctionInvoker(executor=None, client_binding=None)
    return BlobTriggerService(index, invoker, data_dir, poll_interval=0.05)


def test_a_trigger_path_from_an_app_setting_watches_that_container(
    storage: BlobServiceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOST_TEST_RESUMES", "settings-inbox")
    seen: list[dict[str, Any]] = []
    service = _service(_resume_app(seen), tmp_path)
    trigger = service.triggers["resume_uploaded"]
    assert trigger.path.container == "settings-inbox"
    assert trigger.path.match("job-7/cv.pdf") == {"job_id": "job-7", "name": "cv.pdf"}

    name = f"job-{uuid.uuid4().hex[:6]}/cv.pdf"
    storage.get_container_client("settings-inbox").upload_blob(name, b"a resume")

    async def run() -> str:
        try:
            return await service.run_blob(trigger, name)
        finally:
            await service.stop()

    assert asyncio.run(run()) == "done"
    assert seen == [{"name": f"settings-inbox/{name}", "content": b"a resume"}]


def test_a_trigger_path_whose_setting_is_missing_is_in_error_with_the_hosts_words(
    storage: BlobServiceClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv("HOST_TEST_RESUMES", raising=False)
    index = _resume_app([])

    with caplog.at_level(logging.ERROR, logger="devhost.blobs"):
        service = _service(index, tmp_path)

    expected = (
        "The 'resume_uploaded' function is in error: Microsoft.Azure.WebJobs.Host: Error indexing method "
        "'Functions.resume_uploaded'. Microsoft.Azure.WebJobs.Host: '%HOST_TEST_RESUMES%' does not resolve "
        "to a value."
    )
    assert "resume_uploaded" not in service.triggers
    assert service.errors["resume_uploaded"] == expected
    assert expected in caplog.messages
    event = {"subject": "/blobServices/default/containers/settings-inbox/blobs/j/cv.pdf"}
    info = index.get("resume_uploaded")
    assert info is not None
    with pytest.raises(BlobTriggerConfigError, match="does not resolve to a value"):
        asyncio.run(service.handle_blob_created(info, event))
    service.receipts.close()


def test_an_identity_based_trigger_connection_needs_a_queue_endpoint_too(
    storage: BlobServiceClient, azurite: AzuriteInstance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOST_TEST_RESUMES", "settings-inbox")
    monkeypatch.delenv(CONNECTION, raising=False)
    monkeypatch.setenv(f"{CONNECTION}__blobServiceUri", azurite.blob_endpoint)
    monkeypatch.setenv(f"{CONNECTION}__credential", "managedidentity")

    without_queue = _service(_resume_app([]), tmp_path / "first")
    without_queue.receipts.close()

    assert "resume_uploaded" not in without_queue.triggers
    assert "create an instance of QueueServiceClient" in without_queue.errors["resume_uploaded"]

    queue_endpoint = azurite.blob_endpoint.replace(str(azurite.blob_port), str(azurite.queue_port))
    monkeypatch.setenv(f"{CONNECTION}__queueServiceUri", queue_endpoint)
    seen: list[dict[str, Any]] = []
    service = _service(_resume_app(seen), tmp_path / "second")
    trigger = service.triggers["resume_uploaded"]
    assert trigger.connection.endpoint == azurite.blob_endpoint
    name = f"job-{uuid.uuid4().hex[:6]}/identity.pdf"
    storage.get_container_client("settings-inbox").upload_blob(name, b"read through the service URI")

    async def run() -> str:
        try:
            return await service.run_blob(trigger, name)
        finally:
            await service.stop()

    assert asyncio.run(run()) == "done"
    assert seen == [{"name": f"settings-inbox/{name}", "content": b"read through the service URI"}]


def test_a_blob_binding_path_resolves_app_settings_before_trigger_values(
    storage: BlobServiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_TEST_OUTBOX", "settings-outbox")
    name = f"{uuid.uuid4().hex[:8]}.txt"
    storage.get_container_client("settings-inbox").upload_blob(name, b"copied through settings")
    source = {"path": "%HOST_TEST_INBOX%/{name}", "connection": CONNECTION}
    target = {"path": "%HOST_TEST_OUTBOX%/{name}.copy", "connection": "%HOST_TEST_CONNECTION%"}
    monkeypatch.setenv("HOST_TEST_INBOX", "settings-inbox")
    monkeypatch.setenv("HOST_TEST_CONNECTION", CONNECTION)

    async def copy() -> None:
        bindings = BlobBindings()
        try:
            text = await bindings.read(source, {"name": name}, str)
            await bindings.write(target, {"name": name}, text)
        finally:
            await bindings.close()

    asyncio.run(copy())
    copied = storage.get_container_client("settings-outbox").download_blob(f"{name}.copy").readall()
    assert copied == b"copied through settings"


def test_a_blob_binding_path_with_a_missing_setting_fails_with_the_hosts_words(
    storage: BlobServiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOST_TEST_MISSING", raising=False)

    async def read() -> Any:
        bindings = BlobBindings()
        try:
            return await bindings.read(
                {"path": "%HOST_TEST_MISSING%/x.txt", "connection": CONNECTION}, {}, str
            )
        finally:
            await bindings.close()

    with pytest.raises(AppSettingError, match=r"^'%HOST_TEST_MISSING%' does not resolve to a value\.$"):
        asyncio.run(read())
