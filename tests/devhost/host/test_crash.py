"""SIGKILL devhost mid-orchestration several times; every instance completes, each step once in history."""

import collections
import json
from pathlib import Path

import pytest

from tests.devhost.host.support import APPS, HostProcess, call, start_process, wait_until

pytestmark = pytest.mark.subprocess

APP = APPS / "host_crash" / "function_app.py"
STEPS = 6
INSTANCES = ("crash-a", "crash-b", "crash-c")
KILLS = 3


def executions(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def status(host: HostProcess, instance_id: str) -> dict[str, object]:
    reply = call("GET", host.url(f"/runtime/webhooks/durabletask/instances/{instance_id}?showHistory=true"))
    return reply.json() if reply.status in (200, 202) else {}  # type: ignore[no-any-return]


def test_kill_nine_mid_orchestration_then_every_instance_completes(tmp_path: Path) -> None:
    log = tmp_path / "executions.jsonl"
    data_dir = tmp_path / "data"
    env = {"CRASH_TEST_LOG": str(log)}
    host = start_process(APP, data_dir, env=env)
    try:
        for instance_id in INSTANCES:
            assert call("POST", host.url(f"/api/start/{instance_id}")).status == 202
        for kill in range(KILLS):
            # Let a few more activities finish, then kill without warning while others are in flight.
            target = len(executions(log)) + 2
            wait_until(
                lambda target=target: len(executions(log)) >= target, what=f"progress before kill {kill + 1}"
            )
            host.kill()
            host = start_process(APP, data_dir, env=env)
        for instance_id in INSTANCES:
            final = wait_until(
                lambda instance_id=instance_id: (
                    (s := status(host, instance_id)).get("runtimeStatus") == "Completed" and s
                ),
                timeout=60,
                what=f"{instance_id} to complete after the kills",
            )
            assert final["output"] == [f"{instance_id}:{step}" for step in range(STEPS)]
            completions = collections.Counter(
                event.get("TaskScheduledId")
                for event in final["historyEvents"]
                if event["EventType"] == "TaskCompleted"
            )
            assert completions
            assert max(completions.values()) == 1, completions
            assert len(completions) == STEPS
    finally:
        exit_code = host.terminate()
    assert exit_code == 0
    ran = collections.Counter((str(e["instance"]), int(str(e["step"]))) for e in executions(log))
    for instance_id in INSTANCES:
        for step in range(STEPS):
            assert ran[(instance_id, step)] >= 1, f"{instance_id} step {step} never ran"
