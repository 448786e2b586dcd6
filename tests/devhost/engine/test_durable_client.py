"""Every DurableOrchestrationClient method, for real, against durable_api served by a minimal aiohttp app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest
from aiohttp import web

from devhost.clock import Clock
from devhost.durable_api import add_durable_routes
from devhost.engine import Engine
from devhost.functions import load_app
from devhost.testing import _reset_sdk_client_session
from tests.devhost.engine.conftest import BASIC_APP

Scenario = Callable[[Engine, df.DurableOrchestrationClient], Awaitable[None]]


@asynccontextmanager
async def served_engine(data_dir: Path) -> AsyncIterator[tuple[Engine, df.DurableOrchestrationClient]]:
    engine = Engine(load_app(BASIC_APP), data_dir, clock=Clock.skipping(), durable=False)
    app = web.Application()
    add_durable_routes(app, engine)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    engine.base_url = f"http://127.0.0.1:{port}"
    await engine.start()
    try:
        yield engine, df.DurableOrchestrationClient(engine.client_binding())
    finally:
        await engine.stop()
        await runner.cleanup()
        await _reset_sdk_client_session()


def run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with served_engine(tmp_path) as (engine, client):
            await asyncio.wait_for(scenario(engine, client), timeout=20)

    asyncio.run(main())


async def finished(engine: Engine, instance_id: str) -> dict[str, Any]:
    return await engine.wait_for_instance(instance_id, timeout=10)


def test_start_new_get_status_with_input_and_history(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        instance_id = await client.start_new("hello_sequence", None, ["Rome"])
        await finished(engine, instance_id)
        status = await client.get_status(
            instance_id, show_history=True, show_history_output=True, show_input=True
        )
        assert status.runtime_status == df.OrchestrationRuntimeStatus.Completed
        assert status.output == ["Hello Rome!"]
        assert status.input_ == ["Rome"]
        events = [e["EventType"] for e in status.history]
        assert events[0] == "ExecutionStarted"
        assert "TaskCompleted" in events
        completed = next(e for e in status.history if e["EventType"] == "TaskCompleted")
        assert completed["Result"] == "Hello Rome!"

    run(tmp_path, scenario)


def test_start_with_running_id_fails_and_completed_id_starts_fresh(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        assert await client.start_new("two_events", "fixed-id") == "fixed-id"
        with pytest.raises(Exception, match="already exists"):
            await client.start_new("two_events", "fixed-id")
        await client.terminate("fixed-id", "make room")
        assert await client.start_new("hello_sequence", "fixed-id", ["Again"]) == "fixed-id"
        status = await finished(engine, "fixed-id")
        assert status["output"] == ["Hello Again!"]

    run(tmp_path, scenario)


def test_unknown_orchestrator_is_a_400_the_client_raises(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        with pytest.raises(Exception, match="doesn't exist"):
            await client.start_new("missing_orchestrator")

    run(tmp_path, scenario)


def test_get_status_all_and_get_status_by_filters(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        done = await client.start_new("hello_sequence", "batch-done", ["X"])
        await finished(engine, done)
        waiting = await client.start_new("two_events", "batch-waiting")
        await client.start_new("two_events", "other-waiting")
        everything = await client.get_status_all()
        assert {s.instance_id for s in everything} == {"batch-done", "batch-waiting", "other-waiting"}
        running = await client.get_status_by(
            runtime_status=[df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending]
        )
        assert {s.instance_id for s in running} == {"batch-waiting", "other-waiting"}
        prefixed = await client.get_status_by(instance_id_prefix="batch-")
        assert {s.instance_id for s in prefixed} == {done, waiting}
        now = datetime.now(UTC)
        future = await client.get_status_by(created_time_from=now + timedelta(days=400))
        assert future == []
        window = await client.get_status_by(
            created_time_from=now - timedelta(hours=1), created_time_to=now + timedelta(days=365)
        )
        assert len(window) == 3

    run(tmp_path, scenario)


def test_raise_event_and_its_errors(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        instance_id = await client.start_new("two_events")
        await client.raise_event(instance_id, "first", {"n": 1})
        await client.raise_event(instance_id, "second", None)
        status = await finished(engine, instance_id)
        assert status["output"] == [{"n": 1}, None]
        with pytest.raises(Exception, match="is gone"):
            await client.raise_event(instance_id, "first", 1)
        with pytest.raises(Exception, match="No instance"):
            await client.raise_event("nobody", "first", 1)

    run(tmp_path, scenario)


def test_terminate_suspend_resume(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        instance_id = await client.start_new("with_status")
        await engine.wait_idle(timeout=5)
        await client.suspend(instance_id, "pause")
        assert (
            await client.get_status(instance_id)
        ).runtime_status == df.OrchestrationRuntimeStatus.Suspended
        await client.resume(instance_id, "go on")
        await client.raise_event(instance_id, "go", "v")
        assert (await finished(engine, instance_id))["output"] == "v"

        doomed = await client.start_new("two_events")
        await client.terminate(doomed, "stop it")
        status = await client.get_status(doomed)
        assert status.runtime_status == df.OrchestrationRuntimeStatus.Terminated
        assert status.output == "stop it"
        await client.terminate(doomed, "again")  # 410 is accepted by the client
        with pytest.raises(Exception, match="No instance"):
            await client.terminate("nobody", "x")

    run(tmp_path, scenario)


def test_restart_and_rewind(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        first = await client.start_new("hello_sequence", "restart-me", ["R"])
        await finished(engine, first)
        second = await client.restart(first)
        assert second != first
        assert (await finished(engine, second))["output"] == ["Hello R!"]
        same = await client.restart(first, restart_with_new_instance_id=False)
        assert same == first
        assert (await finished(engine, first))["output"] == ["Hello R!"]

        broken = await client.start_new("crashes")
        await finished(engine, broken)
        await client.rewind(broken, "try again")
        replayed = await finished(engine, broken)
        assert replayed["runtimeStatus"] == "Failed"  # the orchestrator code still raises
        assert "GenericEvent" in [e["EventType"] for e in (await client.get_status(broken, True)).history]

        exhausted = await client.start_new("retry_activity", None, {"key": "rw", "fail_times": 99})
        await finished(engine, exhausted)
        with pytest.raises(Exception, match="retries"):
            await client.rewind(exhausted, "again")
        with pytest.raises(Exception, match="only supported on failed"):
            await client.rewind(first, "not failed")

    run(tmp_path, scenario)


def test_purge_one_and_purge_by(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        ids = [await client.start_new("hello_sequence", None, [str(i)]) for i in range(3)]
        for instance_id in ids:
            await finished(engine, instance_id)
        result = await client.purge_instance_history(ids[0])
        assert result.instances_deleted == 1
        assert (await client.purge_instance_history(ids[0])).instances_deleted == 0
        status = await client.get_status(ids[0])
        assert status.runtime_status is None
        result = await client.purge_instance_history_by(
            created_time_from=datetime.now(UTC) - timedelta(hours=1),
            runtime_status=[df.OrchestrationRuntimeStatus.Completed],
        )
        assert result.instances_deleted == 2
        assert await client.get_status_all() == []

    run(tmp_path, scenario)


def test_signal_entity_and_read_entity_state(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        entity = df.EntityId("counter", "k1")
        missing = await client.read_entity_state(entity)
        assert not missing.entity_exists
        await client.signal_entity(entity, "add", 4)
        await client.signal_entity(entity, "add", 6)
        await engine.wait_idle(timeout=5)
        state = await client.read_entity_state(entity)
        assert state.entity_exists
        assert state.entity_state == 10

    run(tmp_path, scenario)


def test_check_status_responses(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        request = func.HttpRequest("POST", "http://example.test:8080/api/start", body=b"")
        instance_id = await client.start_new("two_events")
        response = client.create_check_status_response(request, instance_id)
        assert response.status_code == 202
        payload = json.loads(response.get_body())
        assert payload["id"] == instance_id
        assert payload["statusQueryGetUri"].startswith(
            "http://example.test:8080/runtime/webhooks/durabletask/"
        )
        assert instance_id in payload["statusQueryGetUri"]
        assert response.headers["Location"] == payload["statusQueryGetUri"]

        waiting = await client.wait_for_completion_or_create_check_status_response(
            request, instance_id, timeout_in_milliseconds=300, retry_interval_in_milliseconds=100
        )
        assert waiting.status_code == 202

        done = await client.start_new("hello_sequence", None, ["W"])
        response = await client.wait_for_completion_or_create_check_status_response(
            request, done, timeout_in_milliseconds=5000, retry_interval_in_milliseconds=50
        )
        assert response.status_code == 200
        assert json.loads(response.get_body()) == ["Hello W!"]

    run(tmp_path, scenario)


def test_start_new_with_a_version(tmp_path: Path) -> None:
    async def scenario(engine: Engine, client: df.DurableOrchestrationClient) -> None:
        instance_id = await client.start_new("report_version", version="2.1")
        assert (await finished(engine, instance_id))["output"] == "2.1"

    run(tmp_path, scenario)
