"""The HTTP API over real HTTP on devhost's server: routes, keys, status codes and the status URL.

The app is indexed and served the way ``func start`` would serve it, with function keys required; the
durable engine behind it runs the fake activities with time skipped whenever nothing else can run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.functions import index_app
from devhost.keys import load_or_create_keys
from devhost.server import HostOptions, RunningHost, serve
from shared.acs_auth import callback_token
from tests.pipeline.orchestrators.fakes import PipelineFakes
from tests.pipeline.triggers.acs_signing import CallbackKeys
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]


class ServedApp:
    """devhost serving the app on a free loopback port, on its own event loop thread."""

    def __init__(self, data_dir: Path) -> None:
        from function_app import app

        self.fakes = PipelineFakes()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine = Engine(index_app(app), data_dir, clock=Clock.skipping(), durable=False)
        self.engine.skip_timers_when_idle = True
        self.engine.activity_overrides.update(self.fakes.activities())
        self.fakes.raise_event = self._raise_event
        options = HostOptions(
            data_dir=data_dir, port=0, require_keys=True, timer_triggers=False, blob_poll_interval=3600
        )
        self.host: RunningHost = self.run(serve(self.engine.index, self.engine, options))
        self.data_dir = data_dir
        self.key = load_or_create_keys(data_dir).default_function_key

    def _raise_event(self, instance_id: str, name: str, data: Any) -> None:
        self.run(self.engine.raise_event(instance_id, name, json.dumps(data)))

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def request(
        self,
        method: str,
        path: str,
        *,
        key: bool = True,
        headers_extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any, Any]:
        async def send() -> tuple[int, Any, Any]:
            headers = {"x-functions-key": self.key} if key else {}
            headers.update(headers_extra or {})
            headers.update(kwargs.pop("headers", {}))
            async with (
                aiohttp.ClientSession() as session,
                session.request(method, f"{self.host.base_url}{path}", headers=headers, **kwargs) as response,
            ):
                text = await response.text()
                body = json.loads(text) if text and response.content_type == "application/json" else text
                return response.status, body, dict(response.headers)

        result: tuple[int, Any, Any] = self.run(send())
        return result

    def close(self) -> None:
        self.run(self.host.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def served(harness: Harness, tmp_path: Path) -> Iterator[ServedApp]:
    harness()  # settings, Azurite containers and the seeded job
    app = ServedApp(tmp_path / "host")
    yield app
    app.close()


def test_submit_and_follow_a_candidate_over_http(served: ServedApp) -> None:
    from shared.settings import get_settings
    from shared.storage import upload_bytes

    upload_bytes(get_settings().resumes_container, f"{JOB_ID}/http.pdf", b"%PDF-1.4")
    body = {"name": "Ada", "phone": "+15550101010", "resume_blob": f"{JOB_ID}/http.pdf"}

    unauthorized, _, _ = served.request("POST", f"/api/jobs/{JOB_ID}/candidates", key=False, json=body)
    status, created, headers = served.request("POST", f"/api/jobs/{JOB_ID}/candidates", json=body)

    assert unauthorized == 401
    assert status == 202, created
    assert headers["Location"] == f"{served.host.base_url}/api/candidates/{created['id']}"
    assert "code=" not in json.dumps(created)

    def view() -> dict[str, Any]:
        code, candidate, _ = served.request("GET", f"/api/candidates/{created['id']}")
        assert code == 200
        result: dict[str, Any] = candidate
        return result

    deadline = time.monotonic() + 20
    while view()["stage"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
    final = view()
    assert final["stage"] == "completed"
    assert final["outcome"] == "interviewed"

    again, repeated, _ = served.request("POST", f"/api/jobs/{JOB_ID}/candidates", json=body)
    assert again == 200
    assert repeated["id"] == created["id"]
    listing_code, listing, _ = served.request("GET", f"/api/jobs/{JOB_ID}/candidates", params={"top": "5"})
    assert listing_code == 200
    listed = [item["id"] for item in listing["items"]]
    # The served host's blob trigger watches the session's resumes container, where other tests leave resumes
    # of the same job: the listing holds this candidate once, beside whatever those started.
    assert listed.count(created["id"]) == 1
    assert len(set(listed)) == len(listed)
    cancel_code, _, _ = served.request("POST", f"/api/candidates/{created['id']}/cancel")
    assert cancel_code == 409  # already finished


def test_anonymous_routes_over_http(served: ServedApp, callback_keys: CallbackKeys) -> None:
    health_code, health, _ = served.request("GET", "/api/health", key=False)
    assert health_code == 503
    assert health["dependencies"]["durable_store"]["status"] == "healthy"

    callback = "/api/acs/callbacks"
    # ACS signs its callbacks: without its token the anonymous route refuses, with it the route accepts.
    params = {"instanceId": "x", "token": callback_token("x") or ""}
    denied, _, _ = served.request("POST", callback, key=False, params=params, json=[])
    allowed, _, _ = served.request(
        "POST", callback, key=False, params=params, json=[], headers=callback_keys.authorization()
    )
    assert denied == 401
    assert allowed == 200
    missing, _, _ = served.request("GET", f"/api/candidates/{JOB_ID}.{'0' * 24}")
    assert missing == 404


def _running_candidate(served: ServedApp, name: str) -> str:
    from shared.settings import get_settings
    from shared.storage import upload_bytes

    served.fakes.decision = "needs_review"
    served.fakes.score = 0.5
    upload_bytes(get_settings().resumes_container, f"{JOB_ID}/{name}", b"%PDF-1.4")
    body = {"name": "Ada", "phone": "+15550101010", "resume_blob": f"{JOB_ID}/{name}"}
    status, created, _ = served.request("POST", f"/api/jobs/{JOB_ID}/candidates", json=body)
    assert status == 202, created
    instance_id: str = created["id"]
    return instance_id


def test_reserved_url_characters_after_an_id_are_400_over_http(served: ServedApp) -> None:
    instance_id = _running_candidate(served, "reserved.pdf")

    view, body, _ = served.request("GET", f"/api/candidates/{instance_id}%23")
    cancel, _, _ = served.request("POST", f"/api/candidates/{instance_id}%3F/cancel")
    cancel_hash, _, _ = served.request("POST", f"/api/candidates/{instance_id}%23/cancel")
    event, _, _ = served.request(
        "POST", f"/api/candidates/{instance_id}%3F/events/CandidateWithdrew", json={}
    )
    event_hash, _, _ = served.request(
        "POST", f"/api/candidates/{instance_id}%23/events/CandidateWithdrew", json={}
    )

    assert view == 400  # before, the SDK cut the id at '#' and answered with this candidate's view
    assert body["error"]["fields"][0]["field"] == "instance_id"
    assert (cancel, cancel_hash, event, event_hash) == (400, 400, 400, 400)
    still, candidate, _ = served.request("GET", f"/api/candidates/{instance_id}")
    assert still == 200
    assert candidate["runtime_status"] != "Terminated"  # nothing was cancelled by the refused requests
    assert candidate["outcome"] != "withdrawn"


def test_hostile_json_over_http_is_400_with_the_apis_error_shape(served: ServedApp) -> None:
    for raw in (b"[" * 100_000, b'{"name": ' + b"9" * 5000 + b"}"):
        status, body, _ = served.request(
            "POST",
            f"/api/jobs/{JOB_ID}/candidates",
            data=raw,
            headers_extra={"content-type": "application/json"},
        )
        assert status == 400
        assert set(body["error"]) >= {"code", "message"}


def test_cloud_events_through_the_event_grid_webhook(served: ServedApp) -> None:
    from orchestrators.identity import candidate_instance_id
    from shared.settings import get_settings
    from shared.storage import upload_bytes

    container = get_settings().resumes_container
    name = f"{JOB_ID}/webhook.pdf"
    upload_bytes(container, name, b"%PDF-1.4", metadata={"candidate_name": "Web"})
    system_key = load_or_create_keys(served.data_dir).system_keys["eventgrid_extension"]
    created = {
        "id": "ce-webhook",
        "source": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
        "type": "Microsoft.Storage.BlobCreated",
        "specversion": "1.0",
        "time": "2026-01-01T10:00:00.1234567Z",
        "subject": f"/blobServices/default/containers/{container}/blobs/{name}",
        "data": {"api": "PutBlob", "url": f"http://127.0.0.1:10000/devstoreaccount1/{container}/{name}"},
    }
    recording = {
        "id": "ce-recording",
        "source": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/x",
        "type": "Microsoft.Communication.RecordingFileStatusUpdated",
        "specversion": "1.0",
        "subject": "/recording/call/c/serverCallId/s",
        "data": {"recordingStorageInfo": "not an object"},
    }

    def deliver(function: str, event: dict[str, Any]) -> int:
        status, _, _ = served.request(
            "POST",
            "/runtime/webhooks/eventgrid",
            key=False,
            params={"functionName": function, "code": system_key},
            data=json.dumps(event).encode(),
            headers_extra={"content-type": "application/cloudevents+json", "aeg-event-type": "Notification"},
        )
        return status

    assert deliver("resume_blob_created", created) in (200, 202)
    assert deliver("recording_file_status_updated", recording) in (200, 202)  # acknowledged, not failed

    instance_id = candidate_instance_id(JOB_ID, name)
    code, candidate, _ = served.request("GET", f"/api/candidates/{instance_id}")
    assert code == 200
    assert candidate["id"] == instance_id
