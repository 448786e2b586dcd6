"""Health checks against live and dead endpoints, each bounded by its timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from hireflow.azurite import free_port
from shared.settings import reset_settings
from tests.pipeline.triggers.conftest import TriggerHarness, body_of
from triggers.health import check_dependencies

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]


async def _listener() -> tuple[web.AppRunner, str]:
    released = asyncio.Event()

    async def hang(_: web.Request) -> web.Response:
        await released.wait()  # answers only at shutdown, long after the health check gave up
        return web.Response()

    async def release(_: web.Application) -> None:
        released.set()

    async def answer(_: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.on_shutdown.append(release)
    app.router.add_get("/slow/", hang)
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def test_every_dependency_reports_healthy_when_it_answers(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    runner, base = h.host.run(_listener())
    try:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{base}/openai/")
        monkeypatch.setenv("DOCUMENT_INTELLIGENCE_ENDPOINT", f"{base}/docintel/")
        monkeypatch.setenv("ACS_CONNECTION_STRING", f"endpoint={base}/acs/;accesskey=a2V5")
        reset_settings()

        response = h.http("health", "GET", "health")

        report = body_of(response)
        assert response.status_code == 200, report
        assert report["status"] == "healthy"
        assert report["dependencies"]["openai"]["detail"] == "HTTP 404"
    finally:
        h.host.run(runner.cleanup())


def test_dead_and_slow_dependencies_are_unhealthy(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = harness()
    runner, base = h.host.run(_listener())
    try:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{base}/slow/")
        monkeypatch.setenv("DOCUMENT_INTELLIGENCE_ENDPOINT", f"http://127.0.0.1:{free_port()}/")
        monkeypatch.setenv("ACS_ENDPOINT", f"{base}/acs/")
        reset_settings()
        client: Any = None  # no durable client at all: that check fails too

        report = h.host.run(check_dependencies(client, timeout=0.5))

        dependencies = report["dependencies"]
        assert report["status"] == "unhealthy"
        assert dependencies["openai"] == {**dependencies["openai"], "status": "unhealthy"}
        assert "no answer within 0.5 s" in dependencies["openai"]["error"]
        assert dependencies["document_intelligence"]["status"] == "unhealthy"
        assert dependencies["durable_store"]["status"] == "unhealthy"
        assert dependencies["communication_services"]["status"] == "healthy"
    finally:
        h.host.run(runner.cleanup())
