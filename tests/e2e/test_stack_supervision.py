"""The supervisor's own behaviour: a failing service is named with its log's tail, and stopping takes the
whole process group down, children included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hireflow.azurite import REPO_ROOT, port_accepts
from hireflow.stack import LocalStack, ServiceProcess, StackError, StackOptions


def service(tmp_path: Path, code: str) -> ServiceProcess:
    return ServiceProcess(
        "sample", [sys.executable, "-c", code], tmp_path / "logs" / "sample.log", os.environ
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of this process counts as gone.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_a_service_that_exits_early_is_named_with_the_tail_of_its_log(tmp_path: Path) -> None:
    failing = service(tmp_path, "print('cannot open the store', flush=True); raise SystemExit(3)")
    failing.start()
    try:
        with pytest.raises(StackError) as raised:
            failing.wait_for_line(re.compile(r"ready on (\S+)"), deadline_s=20)
    finally:
        failing.stop()
    message = str(raised.value)
    assert message.startswith("sample: exited with status 3")
    assert "cannot open the store" in message
    assert raised.value.service == "sample"


def test_a_service_that_never_gets_ready_times_out_and_stop_ends_its_children(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print('child', child.pid, flush=True); time.sleep(60)"
    )
    slow = service(tmp_path, code)
    slow.start()
    child_pid = int(slow.wait_for_line(re.compile(r"child (\d+)"), deadline_s=20))
    with pytest.raises(StackError, match="not ready within"):
        slow.wait_for_line(re.compile(r"ready on (\S+)"), deadline_s=0.5)
    started = time.monotonic()
    slow.stop(grace_s=2)
    assert time.monotonic() - started < 10
    assert slow.process is not None
    assert slow.process.poll() is not None
    deadline = time.monotonic() + 5
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child_pid)


def test_a_stack_that_cannot_start_leaves_nothing_running(tmp_path: Path) -> None:
    stack = LocalStack(StackOptions(work_dir=tmp_path, emulator_args=("--no-such-option",)))
    with pytest.raises(StackError, match=r"^emulators: exited with status 2") as raised:
        stack.__enter__()
    assert "unrecognized arguments: --no-such-option" in str(raised.value)
    assert stack.azurite is not None, "Azurite started before the emulators failed"
    assert not any(port_accepts(port) for port in stack.azurite.ports), "Azurite still serves"


def test_services_end_when_whoever_started_them_is_killed_outright(tmp_path: Path) -> None:
    # A stack owner killed with SIGKILL (a benchmark past its timeout) runs no clean-up of its own.
    owner_code = (
        "import os, sys, time; from pathlib import Path;"
        "from hireflow.stack import ServiceProcess;"
        f"log = Path({str(tmp_path / 'logs' / 'service.log')!r});"
        "sleeper = [sys.executable, '-c', 'import time; time.sleep(120)'];"
        "service = ServiceProcess('sample', sleeper, log, os.environ);"
        "service.start(); print(service.pid, flush=True); time.sleep(120)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", owner_code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        service_pid = int(owner.stdout.readline())
        assert alive(service_pid)
        owner.kill()
        owner.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(service_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(service_pid), "the service outlived the process that started it"
    finally:
        if owner.poll() is None:
            owner.kill()
