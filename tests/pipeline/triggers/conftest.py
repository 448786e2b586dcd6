"""Trigger tests: the real function objects, real ``HttpRequest`` objects, devhost's engine behind the SDK's
durable client over loopback HTTP, and a real Azurite for Blob storage. Activities are the orchestrator
tests' fakes, so started pipelines really run (with time skipped only when a test asks for it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
import pytest

from devhost.testing import DurableTestHost
from samples.seed import seed_jobs
from shared.clients import reset_clients
from shared.settings import get_settings, reset_settings, setting_keys
from shared.storage import reset_storage, upload_bytes
from tests.pipeline.orchestrators.fakes import PipelineFakes
from tests.pipeline.triggers.acs_signing import CallbackKeys
from tests.support.azurite import AzuriteInstance

JOB_ID = "python-backend-engineer"
CALLBACK_SECRET = "trigger-tests-callback-secret"
ORIGIN = "http://127.0.0.1:7071"


@dataclass
class TriggerHarness:
    """Calls functions of the app as the worker would, against a test engine."""

    host: DurableTestHost
    fakes: PipelineFakes
    containers: dict[str, str] = field(default_factory=dict)

    def function(self, name: str) -> Callable[..., Any]:
        info = self.host.index.get(name)
        assert info is not None, name
        return info.user_function

    def call(self, name: str, **kwargs: Any) -> Any:
        """Invoke function ``name`` with its trigger value, handing it the engine's client binding."""
        return self.host.run(self.function(name)(client=self.host.engine.client_binding(), **kwargs))

    def http(
        self,
        name: str,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        route: dict[str, str] | None = None,
    ) -> func.HttpResponse:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        all_headers = {"content-type": "application/json"} if raw is None and body is not None else {}
        all_headers.update(headers or {})
        if data:
            all_headers.setdefault("content-length", str(len(data)))
        request = func.HttpRequest(
            method=method,
            url=f"{ORIGIN}/api/{path}",
            headers=all_headers,
            params=params or {},
            route_params=route or {},
            body=data,
        )
        response: func.HttpResponse = self.call(name, req=request)
        return response

    def upload_resume(
        self, name: str, data: bytes = b"%PDF-1.4 fake", metadata: dict[str, str] | None = None
    ) -> None:
        upload_bytes(
            get_settings().resumes_container, name, data, content_type="application/pdf", metadata=metadata
        )

    def wait_for(self, condition: Callable[[], Any], *, what: str, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}")

    def stage(self, instance_id: str) -> str | None:
        status = self.host.engine.status(instance_id, show_input=False) if self.exists(instance_id) else None
        custom = status.get("customStatus") if status else None
        if isinstance(custom, str):
            custom = json.loads(custom)
        return custom.get("stage") if isinstance(custom, dict) else None

    def exists(self, instance_id: str) -> bool:
        return self.host.engine.instance(instance_id) is not None


def body_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


@pytest.fixture(autouse=True)
def fresh_question_flow_memos() -> Iterator[None]:
    """Every test's calls start unknown to the question flow, as on an instance that never saw them."""
    from triggers.acs_callbacks import reset_question_flow_memos

    reset_question_flow_memos()
    yield
    reset_question_flow_memos()


@pytest.fixture
def harness(
    azurite: AzuriteInstance, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TriggerHarness]]:
    """Build a harness (options go to ``PipelineFakes``); settings point at Azurite with fresh containers."""
    suffix = uuid.uuid4().hex[:10]
    containers = {
        "RESUMES_CONTAINER": f"resumes-{suffix}",
        "JOBS_CONTAINER": f"jobs-{suffix}",
        "ARTIFACTS_CONTAINER": f"artifacts-{suffix}",
        "REPORTS_CONTAINER": f"reports-{suffix}",
        "RECORDINGS_CONTAINER": f"recordings-{suffix}",
    }
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    settings = {
        "HIREFLOW_PROFILE": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "ACS_CALLBACK_SECRET": CALLBACK_SECRET,
        **containers,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    reset_clients()
    reset_storage()
    seed_jobs()
    from function_app import app

    hosts: list[DurableTestHost] = []

    def build(**options: Any) -> TriggerHarness:
        fakes = PipelineFakes(**options)
        host = DurableTestHost(app, fakes=fakes.activities(), serve_http=True)
        hosts.append(host)
        fakes.raise_event = host.raise_event
        return TriggerHarness(host, fakes, containers)

    yield build
    for host in hosts:
        host.close()
    reset_clients()
    reset_settings()
    reset_storage()


@pytest.fixture
def callback_keys(harness: Callable[..., TriggerHarness]) -> Iterator[CallbackKeys]:
    """ACS-like callback signing keys that the app's callback validator trusts for this test."""
    from shared.acs_auth import reset_callback_validator, use_callback_validator

    keys = CallbackKeys.for_settings()
    use_callback_validator(keys.validator())
    yield keys
    reset_callback_validator()
