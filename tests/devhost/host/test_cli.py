"""The command line: function list, ready line, import failures and clean shutdown."""

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from devhost.cli import local_host_settings
from tests.devhost.host.support import APPS, REPO_ROOT, call, start_process, start_refused

pytestmark = pytest.mark.subprocess


def test_start_prints_functions_and_ready_and_serves(tmp_path: Path) -> None:
    host = start_process(APPS / "host_http" / "function_app.py", tmp_path, "--skip-timers")
    try:
        listing = "".join(host.output)
        assert f"item_by_id: [GET] {host.base_url}/api/items/{{id:int}}" in listing
        assert "greet: orchestrationTrigger" in listing
        assert "make_greeting: activityTrigger" in listing
        assert call("GET", host.url("/api/items/9")).text == "id=9"
    finally:
        assert host.terminate() == 0


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    host = start_process(APPS / "host_http" / "function_app.py", tmp_path)
    assert host.terminate() == 0
    assert "Traceback" not in "".join(host.output)


def test_require_keys_prints_where_the_keys_are_and_no_key_value(tmp_path: Path) -> None:
    host = start_process(
        APPS / "host_http" / "function_app.py",
        tmp_path,
        "--require-keys",
        "--skip-timers",
        "--log-level",
        "DEBUG",
    )
    try:
        stored = json.loads((tmp_path / "host_keys.json").read_text())
        secrets = [stored["masterKey"], *stored["functionKeys"].values(), *stored["systemKeys"].values()]
        function_key = stored["functionKeys"]["default"]
        # Work that could log keys: keyed calls, a refused key, a durable start whose management URLs carry
        # the system key, and the Durable HTTP API with its key.
        assert call("GET", host.url(f"/api/secured/function?code={function_key}")).status == 200
        assert call("GET", host.url("/api/secured/function?code=not-the-key")).status == 401
        started = call("POST", host.url(f"/api/orchestrators/greet?code={function_key}"), body='"keys"')
        assert started.status == 202
        assert stored["systemKeys"]["durabletask_extension"] in started.text  # the URLs do carry it
        status = call("GET", started.json()["statusQueryGetUri"])
        assert status.status in (200, 202)
    finally:
        assert host.terminate() == 0
    output = "".join(host.output)

    assert f"Keys required (--require-keys); they are in {tmp_path / 'host_keys.json'}" in output
    assert "systemKeys.eventgrid_extension" in output
    leaked = [secret for secret in secrets if secret in output or quote(secret, safe="") in output]
    assert leaked == [], "a key value appeared in devhost's output"


def test_import_failure_prints_traceback_and_exits_non_zero(tmp_path: Path) -> None:
    result = start_refused(APPS / "host_broken" / "function_app.py", tmp_path)
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "this app cannot be imported" in result.stderr
    assert "ready" not in result.stdout


def test_missing_app_file_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devhost", "start", "--app", str(tmp_path / "nope.py"), "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no such app file" in result.stderr


def test_sigint_shuts_down_cleanly(tmp_path: Path) -> None:
    host = start_process(APPS / "host_http" / "function_app.py", tmp_path)
    assert host.terminate(signum=signal.SIGINT) == 0
    assert "Traceback" not in "".join(host.output)


def test_port_in_use_exits_non_zero(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "devhost",
                "start",
                "--app",
                str(APPS / "host_http" / "function_app.py"),
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot serve" in result.stderr


def test_host_section_of_local_settings_gives_port_and_cors(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": {}, "Host": {"LocalHttpPort": 7999, "CORS": "*"}})
    )
    assert local_host_settings(tmp_path) == {"LocalHttpPort": 7999, "CORS": "*"}
    assert local_host_settings(tmp_path / "missing") == {}


def test_non_positive_time_scale_is_a_usage_error(tmp_path: Path) -> None:
    result = start_refused(APPS / "host_http" / "function_app.py", tmp_path, "--time-scale", "0")
    assert result.returncode == 2
    assert "--time-scale must be a positive factor" in result.stderr


def test_time_scale_starts_and_serves(tmp_path: Path) -> None:
    host = start_process(APPS / "host_http" / "function_app.py", tmp_path, "--time-scale", "3600")
    try:
        reply = call("POST", host.url("/api/run/greet"), body='"scaled"')
        assert (reply.status, reply.text) == (200, "Hello, scaled!")
    finally:
        assert host.terminate() == 0
