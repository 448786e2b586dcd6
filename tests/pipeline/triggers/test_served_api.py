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
        self.key = load_or_create_keys(data_dir).default_function_key

    def _raise_event(self, instance_id: str, name: str, data: Any) -> None:
        self.run(self.engine.raise_event(instance_id, name, json.dumps(data)))

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def request(self, method: str, path: str, *, key: bool = True, **kwargs: Any) -> tuple[int, Any, Any]:
        async def send() -> tuple[int, Any, Any]:
            headers = {"x-functions-key": self.key} if key else {}
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
    assert [item["id"] for item in listing["items"]] == [created["id"]]
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
