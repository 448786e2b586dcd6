"""Paged instance queries against a host that pages as Azure's does, and one that misbehaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

from triggers.durable import CONTINUATION_HEADER, DurableQueryError, query_instances

Pages = Callable[[web.Request], web.Response]


def _status(index: int) -> dict[str, Any]:
    return {
        "name": "candidate_pipeline",
        "instanceId": f"job.{index:024x}",
        "createdTime": "2026-01-01T00:00:00Z",
        "lastUpdatedTime": "2026-01-01T00:00:00Z",
        "runtimeStatus": "Completed",
    }


async def _query_against(handler: Pages, **filters: Any) -> tuple[list[str], list[web.Request]]:
    seen: list[web.Request] = []

    async def instances(request: web.Request) -> web.Response:
        seen.append(request)
        return handler(request)

    app = web.Application()
    app.router.add_get("/rpc/instances/", instances)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    binding = {
        "taskHubName": "hub",
        "creationUrls": {},
        "managementUrls": {"id": "INSTANCEID"},
        "rpcBaseUrl": f"http://127.0.0.1:{port}/rpc/",
    }
    try:
        client = DurableOrchestrationClient(json.dumps(binding))
        statuses = await query_instances(client, **filters)
    finally:
        await runner.cleanup()
    return [status.instance_id for status in statuses], seen


def test_pages_follow_the_token_until_the_host_sends_an_empty_one() -> None:
    everything = [_status(index) for index in range(250)]

    def pages(request: web.Request) -> web.Response:
        start = int(request.headers.get(CONTINUATION_HEADER) or 0)
        size = min(int(request.query["top"]), 100)  # the host's cap, whatever top asks
        following = start + size
        token = str(following) if following < len(everything) else ""
        return web.json_response(everything[start:following], headers={CONTINUATION_HEADER: token})

    ids, requests = asyncio.run(
        _query_against(pages, prefix="job.", runtime_status=[OrchestrationRuntimeStatus.Completed])
    )

    assert ids == [status["instanceId"] for status in everything]
    assert len(requests) == 3
    assert requests[0].query["instanceIdPrefix"] == "job."
    assert requests[0].query["runtimeStatus"] == "Completed"
    assert CONTINUATION_HEADER not in requests[0].headers
    assert [r.headers.get(CONTINUATION_HEADER) for r in requests[1:]] == ["100", "200"]


def test_a_null_token_ends_the_query_too() -> None:
    def one_page(request: web.Request) -> web.Response:
        return web.json_response([_status(1)], headers={CONTINUATION_HEADER: "null"})

    ids, requests = asyncio.run(_query_against(one_page))
    assert ids == ["job." + f"{1:024x}"]
    assert len(requests) == 1


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (lambda request: web.json_response([], headers={CONTINUATION_HEADER: "same"}), "repeated"),
        (lambda request: web.json_response({"not": "a list"}), "did not answer a list"),
        (lambda request: web.Response(status=500, text="boom"), "HTTP 500"),
    ],
    ids=["repeated_token", "not_a_list", "server_error"],
)
def test_a_misbehaving_host_is_a_clear_error_not_an_endless_loop(response: Pages, message: str) -> None:
    with pytest.raises(DurableQueryError, match=message):
        asyncio.run(_query_against(response))
