"""Activities against the real SDKs: the emulators in a background thread and a real Azurite.

Each test gets fresh containers (unique names) and freshly built clients, so tests never see each other's
blobs and the settings/clients caches are exercised exactly as in production: read once, then reused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from emulators.faults import parse_fault_spec
from emulators.server import EmulatorOptions, EmulatorThread, emulators_in_thread
from samples.seed import seed_jobs
from shared.clients import reset_clients
from shared.settings import get_settings, reset_settings, setting_keys
from shared.storage import container_client, reset_storage
from tests.support.azurite import AzuriteInstance

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
JOB_ID = "python-backend-engineer"


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorThread]:
    """Every emulator once per session, with the sample personas and no artificial delays."""
    options = EmulatorOptions(
        personas=SAMPLES / "personas.json",
        recording_ready_delay_s=0.0,
        docintel_retry_after_s=0,
    )
    with emulators_in_thread(options) as running:
        yield running


def _apply(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    reset_clients()
    reset_storage()


@pytest.fixture
def configure(
    emulators: EmulatorThread, azurite: AzuriteInstance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., None]]:
    """Point the app at the emulators and Azurite; call it again with overrides to change a setting."""
    suffix = uuid.uuid4().hex[:10]
    base = {
        **{k: v for k, v in emulators.settings.items() if k in setting_keys()},
        "HIREFLOW_PROFILE": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "RESUMES_CONTAINER": f"resumes-{suffix}",
        "JOBS_CONTAINER": f"jobs-{suffix}",
        "ARTIFACTS_CONTAINER": f"artifacts-{suffix}",
        "RECORDINGS_CONTAINER": f"recordings-{suffix}",
        "REPORTS_CONTAINER": f"reports-{suffix}",
        "ACS_CALLBACK_SECRET": "test-callback-secret",
        # Nothing listens here: the ACS emulator's mid-call callbacks are not what these tests look at.
        "CALLBACK_BASE_URL": "http://127.0.0.1:9",
        "HTTP_TIMEOUT_SECONDS": "20",
    }

    def apply(**overrides: str) -> None:
        _apply({**base, **overrides}, monkeypatch)

    apply()
    seed_jobs()
    yield apply
    reset_clients()
    reset_settings()
    reset_storage()


@pytest.fixture(autouse=True)
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """In-attempt retries record their waits here instead of sleeping: tests control time."""
    from shared import retry

    recorded: list[float] = []
    monkeypatch.setattr(retry, "pause", recorded.append)
    return recorded


@pytest.fixture
def script_faults(emulators: EmulatorThread) -> Iterator[Callable[[str, list[str | None]], None]]:
    """Queue exact outcomes for a service's next requests (``None``: served); cleared afterwards."""

    def set_script(service: str, outcomes: list[str | None]) -> None:
        async def configure() -> None:
            emulators.server.faults.script(service, outcomes)  # type: ignore[arg-type]

        emulators.call(configure())

    yield set_script
    for service in ("openai", "docintel", "acs"):
        set_script(service, [])


@pytest.fixture
def faults(emulators: EmulatorThread) -> Iterator[Callable[[str], None]]:
    """Set the emulators' fault plan (e.g. ``openai:429=1``) for this test; cleared afterwards."""

    def set_plan(spec: str) -> None:
        async def configure() -> None:
            emulators.server.faults.configure(parse_fault_spec(spec))

        emulators.call(configure())

    yield set_plan
    set_plan("")


def served(emulators: EmulatorThread, service: str) -> int:
    """How many requests a service's handler has served so far (injected faults excluded)."""

    async def read() -> int:
        return int(emulators.server.faults.stats()["services"][service]["served"])

    return int(emulators.call(read()))


@dataclass(frozen=True)
class BlobRequest:
    """One HTTP request the app's Blob client sent (every attempt of a retried one counts)."""

    method: str
    path: str
    range: str | None


def count_blob_requests() -> list[BlobRequest]:
    """From now until the clients are reset, list every request the app's Blob client sends to Azurite.

    The app gets a real client on the same connection string, built with a request hook that notes each
    request as it goes out; call this again after ``configure`` (which resets the clients).
    """
    from azure.core.pipeline import PipelineRequest
    from azure.storage.blob import BlobServiceClient

    from shared.clients import override_client

    sent: list[BlobRequest] = []

    def note(request: PipelineRequest[Any]) -> None:
        http = request.http_request
        ranged = http.headers.get("x-ms-range") or http.headers.get("Range")
        sent.append(BlobRequest(http.method, unquote(urlsplit(http.url).path), ranged))

    settings = get_settings()
    assert settings.storage_connection_string
    override_client(
        "blob_service_client",
        BlobServiceClient.from_connection_string(
            settings.storage_connection_string,
            raw_request_hook=note,
            connection_timeout=settings.http_connect_timeout_seconds,
            read_timeout=settings.http_timeout_seconds,
        ),
    )
    return sent


def blob_names(container: str, prefix: str = "") -> list[str]:
    """Names of the blobs in ``container`` (created if missing) under ``prefix``."""
    return sorted(b.name for b in container_client(container).list_blobs(name_starts_with=prefix or None))


def upload_sample(relative: str, name: str | None = None) -> dict[str, Any]:
    """Upload a file of ``samples/`` to the resumes container; returns its ``BlobRef`` JSON."""
    from shared.storage import upload_bytes

    data = (SAMPLES / relative).read_bytes()
    ref = upload_bytes(get_settings().resumes_container, name or f"{JOB_ID}/{Path(relative).name}", data)
    return ref.model_dump(mode="json")


def wait_until(condition: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy, or fail after ``timeout`` seconds."""
    loop = asyncio.new_event_loop()
    try:
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            value = condition()
            if value:
                return value
            loop.run_until_complete(asyncio.sleep(0.05))
    finally:
        loop.close()
    raise AssertionError(f"timed out waiting for {what}")
