"""``python -m demo``: host the demo app on devhost, run a few orchestrations, print what happened.

devhost runs as a subprocess on a free port with timers skipped and a temporary data dir; it is always
stopped, also on errors and Ctrl-C. Exit status 0 only if every orchestration completed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "app" / "function_app.py"
APPLICATIONS = [
    {"candidate": "ada lovelace", "years": 5},
    {"candidate": "alan turing", "years": 1},
    {"candidate": "grace hopper", "years": 8},
]
# The demo decides each interview outcome up front, standing in for the interviewer raising the event.
INTERVIEW_PASSED = {"Ada Lovelace": True, "Alan Turing": True, "Grace Hopper": False}
TERMINAL = {"Completed", "Failed", "Terminated"}
DEADLINE_SECONDS = 60
READY_TIMEOUT_SECONDS = 60


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """Send JSON, return ``(status, parsed JSON or None)``."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def start_devhost(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """Start devhost and return it with its base URL once it prints ``ready``."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app",
            str(APP),
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--skip-timers",
            "--log-level",
            "WARNING",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    # If devhost hangs before it is ready, stop it so the loop below sees the end of its output.
    watchdog = threading.Timer(READY_TIMEOUT_SECONDS, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            print(f"  devhost | {line.rstrip()}")
            if "ready on " in line:
                base_url = line.split("ready on ", 1)[1].split()[0]
                # Keep draining devhost's output so it never blocks on a full pipe.
                threading.Thread(target=_drain, args=(process,), daemon=True).start()
                return process, base_url
    except BaseException:
        stop_devhost(process)
        raise
    finally:
        watchdog.cancel()
    stop_devhost(process)
    raise RuntimeError("devhost exited before it was ready (see its output above)")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        print(f"  devhost | {line.rstrip()}")


def stop_devhost(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_applications(base_url: str) -> list[dict[str, Any]]:
    """Start every application, follow their progress, raise the interview events, return final statuses."""
    started: list[dict[str, Any]] = []
    for application in APPLICATIONS:
        status, management = http("POST", f"{base_url}/api/applications", application)
        if status != 202:
            raise RuntimeError(f"starting {application['candidate']} failed: {status} {management}")
        started.append(management)
        print(f"started {management['id']} for {application['candidate']}")
    last_stage: dict[str, str] = {}
    raised: set[str] = set()
    finals: dict[str, dict[str, Any]] = {}
    began = time.monotonic()
    while len(finals) < len(started):
        if time.monotonic() - began > DEADLINE_SECONDS:
            raise RuntimeError("orchestrations did not finish in time")
        for management in started:
            instance_id = management["id"]
            if instance_id in finals:
                continue
            _, status = http("GET", management["statusQueryGetUri"])
            custom = status.get("customStatus") or {}
            stage = custom.get("stage", status["runtimeStatus"])
            if last_stage.get(instance_id) != stage:
                last_stage[instance_id] = stage
                print(f"  {instance_id[:12]}  {status['runtimeStatus']:<10} stage={stage}")
            if stage == "awaiting_interview" and instance_id not in raised:
                candidate = str(APPLICATIONS[started.index(management)]["candidate"]).title()
                url = management["sendEventPostUri"].replace("{eventName}", "InterviewDone")
                http("POST", url, {"passed": INTERVIEW_PASSED[candidate]})
                raised.add(instance_id)
            if status["runtimeStatus"] in TERMINAL:
                finals[instance_id] = status
        time.sleep(0.02)
    return [finals[m["id"]] for m in started]


def print_table(statuses: list[dict[str, Any]]) -> None:
    """One row per orchestration."""
    print()
    print(f"{'instance':<34} {'status':<10} {'candidate':<14} {'score':>5}  decision")
    for status in statuses:
        output = status.get("output") or {}
        print(
            f"{status['instanceId']:<34} {status['runtimeStatus']:<10} {output.get('candidate', '-'):<14} "
            f"{output.get('score', '-'):>5}  {output.get('decision', '-')}"
        )


def main() -> int:
    """Run the demo; 0 only if every orchestration completed."""
    print("hireflow demo: a small Durable Functions app hosted locally by devhost (timers skipped)")
    with tempfile.TemporaryDirectory(prefix="hireflow-demo-") as data_dir:
        try:
            process, base_url = start_devhost(Path(data_dir))
        except KeyboardInterrupt:
            print("interrupted")
            return 130
        except RuntimeError as error:
            print(f"demo failed: {error}", file=sys.stderr)
            return 1
        try:
            statuses = run_applications(base_url)
        except KeyboardInterrupt:
            print("interrupted; stopping devhost")
            return 130
        except Exception as error:
            print(f"demo failed: {error}", file=sys.stderr)
            return 1
        finally:
            stop_devhost(process)
    print_table(statuses)
    completed = sum(status["runtimeStatus"] == "Completed" for status in statuses)
    print(f"\n{completed}/{len(statuses)} orchestrations completed")
    return 0 if completed == len(statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
