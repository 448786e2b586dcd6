"""The Durable HTTP API as documented, called with plain HTTP (raw JSON bodies, paging headers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from devhost.engine import Engine
from tests.devhost.engine.test_durable_client import served_engine

API = "/runtime/webhooks/durabletask"
Scenario = Callable[[Engine, aiohttp.ClientSession, str], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with served_engine(tmp_path) as (engine, _), aiohttp.ClientSession() as session:
            assert engine.base_url is not None
            await asyncio.wait_for(scenario(engine, session, engine.base_url + API), timeout=20)

    asyncio.run(main())


def test_start_with_raw_json_and_poll_the_status_location(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        async with http.post(f"{api}/orchestrators/hello_sequence", json=["Nairobi"]) as response:
            assert response.status == 202
            body = await response.json()
            location = response.headers["Location"]
        assert location == body["statusQueryGetUri"]
        await engine.wait_for_instance(body["id"], timeout=5)
        async with http.get(location) as response:
            assert response.status == 200
            status = await response.json()
        assert status["runtimeStatus"] == "Completed"
        assert status["input"] == ["Nairobi"]
        assert status["output"] == ["Hello Nairobi!"]

    run(tmp_path, scenario)


def test_running_instance_answers_202(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        async with http.post(f"{api}/orchestrators/two_events/waiter") as response:
            assert response.status == 202
        async with http.get(f"{api}/instances/waiter?showInput=false") as response:
            assert response.status == 202
            assert (await response.json())["runtimeStatus"] in ("Pending", "Running")

    run(tmp_path, scenario)


def test_paging_with_top_and_continuation_token(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        for index in range(5):
            async with http.post(f"{api}/orchestrators/two_events/page-{index}") as response:
                assert response.status == 202
        seen: list[str] = []
        headers: dict[str, str] = {}
        pages = 0
        while True:
            async with http.get(f"{api}/instances?top=2&instanceIdPrefix=page-", headers=headers) as response:
                assert response.status == 200
                page = await response.json()
                token = response.headers.get("x-ms-continuation-token")
            pages += 1
            assert len(page) <= 2
            seen.extend(item["instanceId"] for item in page)
            if not token:
                break
            headers = {"x-ms-continuation-token": token}
        assert pages == 3
        assert sorted(seen) == [f"page-{i}" for i in range(5)]

    run(tmp_path, scenario)


def test_runtime_status_filter(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        async with http.post(f"{api}/orchestrators/hello_sequence/finished", json=["a"]) as response:
            assert response.status == 202
        await engine.wait_for_instance("finished", timeout=5)
        async with http.post(f"{api}/orchestrators/two_events/open") as response:
            assert response.status == 202
        async with http.get(f"{api}/instances?runtimeStatus=Completed") as response:
            assert [s["instanceId"] for s in await response.json()] == ["finished"]
        async with http.get(f"{api}/instances?runtimeStatus=Running,Pending") as response:
            assert [s["instanceId"] for s in await response.json()] == ["open"]

    run(tmp_path, scenario)


def test_bad_input_is_refused_without_harm(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        async with http.post(f"{api}/orchestrators/hello_sequence", data=b"{not json") as response:
            assert response.status == 400
        async with http.post(f"{api}/orchestrators/no_such_thing", json=1) as response:
            assert response.status == 400
            assert "doesn't exist" in (await response.json())["ExceptionMessage"]
        async with http.get(f"{api}/instances/unknown-instance") as response:
            assert response.status == 404
        async with http.post(f"{api}/instances/unknown-instance/raiseEvent/x", json=1) as response:
            assert response.status == 404
        async with http.post(f"{api}/orchestrators/two_events/evented") as response:
            assert response.status == 202
        async with http.post(f"{api}/instances/evented/raiseEvent/first", data=b"{oops") as response:
            assert response.status == 400
        async with http.get(f"{api}/instances?createdTimeFrom=yesterday") as response:
            assert response.status == 400
        async with http.post(f"{api}/entities/nonexistent/k?op=add", json=1) as response:
            assert response.status == 404
        # The engine still serves after all of that.
        async with http.post(f"{api}/orchestrators/hello_sequence/after", json=["ok"]) as response:
            assert response.status == 202
        status = await engine.wait_for_instance("after", timeout=5)
        assert status["output"] == ["Hello ok!"]

    run(tmp_path, scenario)


def test_completed_instance_answers_410_to_events_and_terminate(tmp_path: Path) -> None:
    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        async with http.post(f"{api}/orchestrators/hello_sequence/gone", json=["g"]) as response:
            assert response.status == 202
        await engine.wait_for_instance("gone", timeout=5)
        async with http.post(f"{api}/instances/gone/raiseEvent/x", json=1) as response:
            assert response.status == 410
        async with http.post(f"{api}/instances/gone/terminate?reason=late") as response:
            assert response.status == 410
        async with http.post(f"{api}/instances/gone/rewind?reason=x") as response:
            assert response.status == 410

    run(tmp_path, scenario)


def test_hostile_bodies_are_400_and_start_nothing(tmp_path: Path) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    huge_integer = b"9" * 5_000
    # The SDK client double-encodes bodies: the same hostility inside a JSON string literal.
    nested_in_a_string = b'"' + nested + b'"'

    async def scenario(engine: Engine, http: aiohttp.ClientSession, api: str) -> None:
        for body in (nested, huge_integer, nested_in_a_string):
            start = f"{api}/orchestrators/hello_sequence"
            async with http.post(start, data=body, headers={"Content-Type": "application/json"}) as response:
                assert response.status == 400, body[:10]
                assert "not valid JSON" in (await response.json())["ExceptionMessage"]
        async with http.get(f"{api}/instances/") as response:
            assert await response.json() == []

    run(tmp_path, scenario)
