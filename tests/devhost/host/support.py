"""Run devhost in-process (on its own loop thread) or as a subprocess, and talk to it over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.functions import FunctionIndex, load_app
from devhost.server import HostOptions, RunningHost, serve

REPO_ROOT = Path(__file__).resolve().parents[3]
APPS = REPO_ROOT / "tests" / "devhost" / "apps"
T = TypeVar("T")


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def call(
    method: str,
    url: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    """One HTTP request; error statuses come back as replies, not exceptions."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def wait_until(
    condition: Any, *, timeout: float = 20, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll ``condition()`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


@dataclass
class InProcessHost:
    """A devhost serving one app on a loop thread of this process."""

    index: FunctionIndex
    engine: Engine
    running: RunningHost
    loop: asyncio.AbstractEventLoop
    data_dir: Path
    thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def module_value(self, function_name: str, attribute: str) -> Any:
        """A module-level value of the app (the test apps record what their functions saw)."""
        # unwrap: a durable client function's callable is the SDK's middleware, defined in the SDK's module.
        return inspect.unwrap(self.index.functions[function_name].user_function).__globals__[attribute]

    def close(self) -> None:
        try:
            self.run(self.running.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@contextlib.contextmanager
def in_process_host(app_name: str, data_dir: Path, **options: Any) -> Iterator[InProcessHost]:
    """Load ``tests/devhost/apps/<app_name>`` and serve it on port 0 with timers skipped."""
    index = load_app(APPS / app_name / "function_app.py")
    engine = Engine(index, data_dir, clock=Clock.skipping())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"devhost-{app_name}", daemon=True)
    thread.start()
    host_options = HostOptions(data_dir=data_dir, port=0, **options)
    try:
        running = asyncio.run_coroutine_threadsafe(serve(index, engine, host_options), loop).result(30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        raise
    host = InProcessHost(
        index=index, engine=engine, running=running, loop=loop, data_dir=data_dir, thread=thread
    )
    try:
        yield host
    finally:
        host.close()


@dataclass
class HostProcess:
    """``python -m devhost start`` as a subprocess; ``base_url`` is known once it printed ``ready``."""

    process: subprocess.Popen[str]
    base_url: str
    output: list[str]
    reader: threading.Thread

    def url(self, path: str) -> str:
        return self.base_url + path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_output()

    def terminate(self, timeout: float = 20, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            self._close_output()

    def _close_output(self) -> None:
        # The reader ends at EOF once the process is gone; then the pipe can be closed.
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_command(app_path: Path, data_dir: Path, *extra: str) -> list[str]:
    """Return the ``python -m devhost start`` command line for ``app_path`` on port 0 with ``data_dir``."""
    return [
        sys.executable,
        "-m",
        "devhost",
        "start",
        "--app",
        str(app_path),
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def start_refused(app_path: Path, data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m devhost start`` expecting it to stop before serving; return what it printed."""
    return subprocess.run(
        start_command(app_path, data_dir, *extra),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start_process(
    app_path: Path, data_dir: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 30
) -> HostProcess:
    """Start devhost on port 0 and wait for its ``ready`` line (fails with the output if it exits first)."""
    process = subprocess.Popen(
        start_command(app_path, data_dir, *extra),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    output: list[str] = []
    ready: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "ready" in line and not ready:
                ready.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not ready:
        if process.poll() is not None:
            reader.join(timeout=10)
            process.stdout.close()
            raise AssertionError(f"devhost exited with {process.returncode}:\n{''.join(output)}")
        if time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            reader.join(timeout=10)
            process.stdout.close()
            raise AssertionError(f"devhost not ready in {timeout}s:\n{''.join(output)}")
        time.sleep(0.02)
    base_url = ready[0].split("ready on ", 1)[1].split()[0]
    return HostProcess(process=process, base_url=base_url, output=output, reader=reader)
