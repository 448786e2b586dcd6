"""The clock people control, through devhost's ``/admin/clock`` API on a served host."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.clock_api import parse_duration
from devhost.server import HOST_KEYS
from tests.devhost.host.support import InProcessHost, Reply, call, in_process_host


@pytest.fixture
def host(tmp_path: Path) -> Iterator[InProcessHost]:
    with in_process_host("engine_versions", tmp_path, require_keys=True) as served:
        yield served


def master(host: InProcessHost) -> dict[str, str]:
    return {"x-functions-key": host.running.app[HOST_KEYS].master_key}


def clock(host: InProcessHost, method: str = "GET", path: str = "", body: Any = None) -> Reply:
    payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
    return call(method, host.url(f"/admin/clock{path}"), body=payload, headers=master(host))


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def start(host: InProcessHost, instance_id: str, days: int) -> None:
    reply = call(
        "POST",
        host.url(f"/runtime/webhooks/durabletask/orchestrators/long_wait/{instance_id}"),
        body=json.dumps(days),
        headers=master(host),
    )
    assert reply.status == 202, reply.text


def status(host: InProcessHost, instance_id: str) -> dict[str, Any]:
    return host.engine.status(instance_id)


def test_skip_for_the_scripted_run_then_real_time_and_deliberate_advances(host: InProcessHost) -> None:
    state = clock(host).json()
    assert state["mode"] == "skip"
    assert state["nextTimer"] is None

    # Skipping: a scripted two-day wait passes at once.
    start(host, "scripted", 2)
    assert host.run(host.engine.wait_for_instance("scripted", timeout=10))["runtimeStatus"] == "Completed"

    # Real time from here on: a three-day wait stays a three-day wait.
    switched = clock(host, "POST", "/mode", {"mode": "real"})
    assert switched.status == 200
    assert switched.json()["mode"] == "real"
    start(host, "interactive", 3)
    pending = clock(host).json()
    assert pending["nextTimer"]["instanceId"] == "interactive"
    assert pending["pendingTimers"] == 1
    assert pending["nextTimer"]["dueInSeconds"] == pytest.approx(3 * 86_400, abs=5)

    # A day forward: the timer is nearer but not due; the instance still waits.
    advanced = clock(host, "POST", "/advance", {"by": "1d"})
    assert advanced.status == 200
    moved = advanced.json()
    assert moved["advancedSeconds"] == pytest.approx(86_400, abs=1)
    assert parse(moved["now"]) - parse(pending["now"]) >= timedelta(days=1)
    assert moved["nextTimer"]["dueInSeconds"] == pytest.approx(2 * 86_400, abs=5)
    assert moved["dueTimers"] == 0
    assert status(host, "interactive")["runtimeStatus"] == "Running"

    # To the next timer: it fires and the orchestration resumes three days after it started.
    fired = clock(host, "POST", "/advance", {"to": "next"})
    assert fired.status == 200
    assert parse(fired.json()["now"]) >= parse(pending["nextTimer"]["fireAt"])
    finished = host.run(host.engine.wait_for_instance("interactive", timeout=10))
    assert finished["runtimeStatus"] == "Completed"
    waited = parse(finished["output"]["resumed"]) - parse(finished["output"]["started"])
    assert timedelta(days=3) <= waited < timedelta(days=3, minutes=1)
    after = clock(host).json()
    assert after["mode"] == "real"
    assert after["nextTimer"] is None
    assert clock(host, "POST", "/advance", {"to": "next"}).status == 409

    # And back to skipping: the engine jumps to timers on its own again.
    assert clock(host, "POST", "/mode", {"mode": "skip"}).json()["mode"] == "skip"
    start(host, "skipped-again", 5)
    assert (
        host.run(host.engine.wait_for_instance("skipped-again", timeout=10))["runtimeStatus"] == "Completed"
    )


def test_advance_to_a_time_and_never_backwards(host: InProcessHost) -> None:
    clock(host, "POST", "/mode", {"mode": "real"})
    now = parse(clock(host).json()["now"])
    target = (now + timedelta(hours=5)).isoformat()
    reply = clock(host, "POST", "/advance", {"to": target})
    assert reply.status == 200
    assert parse(reply.json()["now"]) >= now + timedelta(hours=5)
    back = clock(host, "POST", "/advance", {"to": now.isoformat()})
    assert back.status == 400
    assert "not ahead" in back.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/advance", {"by": "soon"}, "duration"),
        ("/advance", {"by": -5}, "backwards"),
        ("/advance", {"by": 0}, "backwards"),
        ("/advance", {"by": True}, "duration"),
        ("/advance", {"by": "99999d"}, "at most"),
        ("/advance", {}, "either"),
        ("/advance", {"to": "next", "by": "1d"}, "either"),
        ("/advance", {"to": "tomorrow"}, "ISO 8601"),
        ("/advance", {"to": 5}, "ISO 8601"),
        ("/advance", [1, 2], "JSON object"),
        ("/advance", b"{oops", "not JSON"),
        ("/advance", b"[" * 100_000, "not JSON"),
        ("/mode", {"mode": "scaled"}, "real"),
        ("/mode", {"mode": None}, "real"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    host: InProcessHost, path: str, body: Any, message: str
) -> None:
    before = clock(host).json()
    reply = clock(host, "POST", path, body)
    assert reply.status == 400
    assert message in reply.json()["error"]
    after = clock(host).json()
    assert after["mode"] == before["mode"]
    assert parse(after["now"]) - parse(before["now"]) < timedelta(seconds=5)


def test_the_clock_api_takes_the_master_key_only(host: InProcessHost) -> None:
    keys = host.running.app[HOST_KEYS]
    function_key = {"x-functions-key": keys.default_function_key}
    system_key = {"x-functions-key": keys.system_keys["durabletask_extension"]}
    for headers in ({}, function_key, system_key):
        for method, path, body in (
            ("GET", "", None),
            ("POST", "/advance", json.dumps({"by": "1d"})),
            ("POST", "/mode", json.dumps({"mode": "real"})),
        ):
            reply = call(method, host.url(f"/admin/clock{path}"), body=body, headers=headers)
            assert reply.status == 401, (headers, path)
            assert reply.json() == {"error": "the master key is required"}
    assert clock(host).json()["mode"] == "skip"
    by_query = call("GET", host.url(f"/admin/clock?code={keys.master_key}"))
    assert by_query.status == 200


def test_durations_people_type() -> None:
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    assert parse_duration("1.5h") == timedelta(minutes=90)
    assert parse_duration(" 90S ") == timedelta(seconds=90)
    assert parse_duration(3600) == timedelta(hours=1)
    assert parse_duration("3600") == timedelta(hours=1)
