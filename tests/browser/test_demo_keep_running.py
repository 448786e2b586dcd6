"""``python -m hireflow demo --keep-running`` as a person uses it, in a real browser.

The demo runs its six candidates with time skipped, then prints the dashboard's sign-in link and switches the
clock to real time. A resume submitted afterwards with the command line waits in the review queue (it does not
time out three seconds later); it is decided in the browser, and ``python -m hireflow clock advance`` moves it
to its interview.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from hireflow.azurite import REPO_ROOT
from tests.browser.test_dashboard import CHROMIUM, JOB_ID
from tests.e2e.support import sample

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

READY_TIMEOUT_S = 120.0
_DASHBOARD_LINE = re.compile(r"Dashboard \(a one-time sign-in link\): (http://\S+)")


class RunningDemo:
    """The demo as a subprocess in its own process group, its output in a file."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.output_path = work_dir.parent / "demo.out"
        self._output = open(self.output_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hireflow",
                "demo",
                "--work-dir",
                str(work_dir),
                "--keep-running",
                "--plain",
            ],
            cwd=REPO_ROOT,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.output_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_dashboard(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            found = _DASHBOARD_LINE.search(self.output())
            if found and "Serving until Ctrl-C" in self.output():
                return found.group(1)
            assert self.process.poll() is None, self.output()[-4000:]
            time.sleep(0.2)
        raise AssertionError(f"no dashboard link within {READY_TIMEOUT_S:.0f} s:\n{self.output()[-4000:]}")

    def keys(self) -> dict[str, str]:
        document = json.loads((self.work_dir / "devhost" / "host_keys.json").read_text(encoding="utf-8"))
        return {"function": document["functionKeys"]["default"], "master": document["masterKey"]}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._output.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    running = RunningDemo(tmp_path_factory.mktemp("keep-running") / "demo")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).is_file(), f"the browser tests need Chromium at {CHROMIUM} (make test installs it)"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _hireflow(*args: str, url: str, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hireflow", *args, "--url", url],
        cwd=REPO_ROOT,
        env={**os.environ, "HIREFLOW_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_demo_prints_the_dashboard_and_a_person_decides_then_moves_time(
    demo: RunningDemo, browser: Browser
) -> None:
    link = demo.wait_for_dashboard()
    output = demo.output()
    assert "All 6 candidates reached their expected state" in output
    assert "The clock now runs in real time" in output
    api = link.split("/api/dashboard", 1)[0]
    keys = demo.keys()
    assert keys["master"] not in output
    assert keys["function"] not in output

    clock = _hireflow("clock", "--json", url=api, key=keys["master"])
    assert clock.returncode == 0, clock.stderr
    assert json.loads(clock.stdout)["mode"] == "real"

    mira = sample("ben-average")
    submitted = _hireflow(
        "submit",
        JOB_ID,
        str(mira.resume),
        "--name",
        "Mira Example",
        "--phone",
        str(mira.phone),
        "--time-zone",
        str(mira.time_zone),
        "--json",
        url=api,
        key=keys["function"],
    )
    assert submitted.returncode == 0, submitted.stderr
    candidate_id = json.loads(submitted.stdout)["id"]

    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    # The demo's host is keyed, and the stack gave the app its master key: the clock panel can move time.
    expect(page.locator("section.clock").get_by_role("button", name="Advance to next timer")).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Review queue").click()
    # Real time: the review waits for a person instead of timing out after the skip's quiet second.
    card = page.locator(f"article[data-candidate='{candidate_id}']")
    expect(card).to_be_visible(timeout=60_000)
    expect(card.locator(".deadline strong")).to_have_text(re.compile(r"^(3 d 0 h|2 d 23 h) left$"))
    card.get_by_role("button", name="Advance").click()
    expect(page.get_by_role("status")).to_contain_text("Decision sent")

    page.goto(f"{api}/api/dashboard/candidates/{candidate_id}")
    state = page.locator("#state")
    expect(state).to_contain_text("waiting for slot", timeout=60_000)
    advanced = _hireflow("clock", "advance", url=api, key=keys["master"])
    assert advanced.returncode == 0, advanced.stderr
    assert advanced.stdout.startswith("clock real: now ")
    expect(state).to_contain_text("interviewed", timeout=60_000)
