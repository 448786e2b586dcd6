"""Skipped time driven by quiescence: the clock jumps to a deadline only once nothing is in flight anywhere.

A service outside devhost answers ``{"pending": n}`` at a quiescence URL (the emulators' ``/admin/pending``);
here a stand-in on loopback answers what the test sets and counts how often it was asked, so each test waits
for the engine to have asked (a condition, not a sleep) and then reads the clock and the instance.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from aiohttp import web
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier

from devhost import cli
from devhost.engine.quiescence import OutsideWork, QuiescenceUrlError, check_quiescence_url
from devhost.testing import DurableTestHost
from emulators.server import EmulatorOptions, emulators_in_thread
from emulators.tls import TlsMaterial, ensure_tls_material
from tests.devhost.engine.conftest import BASIC_APP
from tests.emulators.acs.harness import RunningAcs, running_acs, wait_until

WAIT_S = 10.0
CALLER = PhoneNumberIdentifier("+18005550100")
ANSWERS_WELL = "+14255550101"  # the default personas' candidate who picks up
# The approval orchestration's deadline is three days out: skipping to it is the only way it fires.
DEADLINE_S = 3 * 86_400


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return ensure_tls_material(tmp_path_factory.mktemp("acs-tls"))


@dataclass
class OwedWork:
    """The stand-in service's state: what it owes, and how many times it was asked."""

    pending: int = 0
    answer: object = None  # overrides the JSON answer when set
    asked: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        with self.changed:
            self.asked += 1
            body = self.answer if self.answer is not None else {"pending": self.pending}
            self.changed.notify_all()
        return web.json_response(body)

    def wait_asked(self, times: int) -> int:
        """Block until the service has been asked ``times`` more times; return the new count."""
        with self.changed:
            target = self.asked + times
            assert self.changed.wait_for(lambda: self.asked >= target, WAIT_S), "the engine never asked"
            return self.asked

    def set_pending(self, pending: int) -> int:
        """Change what is owed; return how many times the service had been asked until then."""
        with self.changed:
            self.pending = pending
            return self.asked


@dataclass
class Stack:
    host: DurableTestHost
    owed: OwedWork
    url: str


async def _serve(owed: OwedWork) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/admin/pending", owed.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.base_events.Server)
    return runner, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/admin/pending"


@pytest.fixture
def stack() -> Iterator[Stack]:
    owed = OwedWork()
    with DurableTestHost(BASIC_APP) as host:
        runner, url = host.run(_serve(owed))
        host.engine.outside_work = OutsideWork([url])
        try:
            yield Stack(host, owed, url)
        finally:
            host.run(runner.cleanup())


async def _skip_when_idle(host: DurableTestHost) -> None:
    # What `devhost start --skip-timers` does for good; the test host turns it on only inside its run calls.
    host.engine.skip_timers_when_idle = True
    host.engine._clock_changed()  # wake the timer loop, which sleeps until its timer otherwise


def _start_waiting(stack: Stack) -> tuple[str, float]:
    """Start an approval with a callback owed; return its id and the deadline's fire time once it waits."""
    stack.owed.set_pending(1)
    instance_id = stack.host.start("approval")
    stack.host.run(_skip_when_idle(stack.host))
    stack.owed.wait_asked(3)
    upcoming = stack.host.engine.next_timer()
    assert upcoming is not None
    return instance_id, upcoming[0]


def test_the_clock_does_not_skip_while_a_callback_is_pending(stack: Stack) -> None:
    instance_id, fire_at = _start_waiting(stack)
    stack.owed.wait_asked(5)  # five more looks at the stack, each finding the callback still owed
    assert stack.host.status(instance_id).runtime_status == "Running"
    assert stack.host.clock.timestamp() < fire_at - DEADLINE_S / 2
    # The callback lands (the service counts it owed until the host has answered), then nothing is owed.
    stack.host.raise_event(instance_id, "decision", "advance")
    stack.owed.set_pending(0)
    assert stack.host.run_until_complete(instance_id, timeout=WAIT_S).output == {"decision": "advance"}


def test_the_clock_skips_at_the_first_look_that_finds_nothing_pending(stack: Stack) -> None:
    instance_id, fire_at = _start_waiting(stack)
    asked_before = stack.owed.set_pending(0)
    started = time.monotonic()
    result = stack.host.run_until_complete(instance_id, timeout=WAIT_S)
    elapsed = time.monotonic() - started
    assert result.output == {"decision": "timed out"}
    assert stack.host.clock.timestamp() >= fire_at
    # One look found nothing owed and the clock jumped (a second may already have been on its way).
    assert stack.owed.asked - asked_before <= 2
    assert elapsed < 2.0


def test_work_the_host_tracks_holds_the_clock_like_outside_work(stack: Stack) -> None:
    instance_id, fire_at = _start_waiting(stack)
    with stack.host.engine.host_work.track():
        stack.owed.set_pending(0)
        stack.owed.wait_asked(3)  # outside says idle each time; the host's own work still holds the clock
        assert stack.host.clock.timestamp() < fire_at
    assert stack.host.run_until_complete(instance_id, timeout=WAIT_S).output == {"decision": "timed out"}


def test_an_answer_that_is_not_a_count_holds_the_clock(stack: Stack) -> None:
    instance_id, fire_at = _start_waiting(stack)
    stack.owed.answer = {"pending": "none"}
    stack.owed.set_pending(0)
    stack.owed.wait_asked(3)
    assert stack.host.clock.timestamp() < fire_at
    stack.owed.answer = None
    assert stack.host.run_until_complete(instance_id, timeout=WAIT_S).output == {"decision": "timed out"}


def test_an_unreachable_url_counts_as_pending_and_no_urls_as_idle(stack: Stack) -> None:
    async def probe(urls: list[str]) -> int:
        outside = OutsideWork(urls)
        try:
            return await outside.pending()
        finally:
            await outside.close()

    closed_port_url = "http://127.0.0.1:9/admin/pending"  # the discard port: nothing listens on loopback
    assert stack.host.run(probe([closed_port_url])) == 1
    assert stack.host.run(probe([])) == 0
    stack.owed.set_pending(4)
    assert stack.host.run(probe([stack.url, stack.url])) == 8


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/pending", "127.0.0.1:8080/admin/pending", "http:///x"])
def test_a_quiescence_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(QuiescenceUrlError, match="absolute http"):
        check_quiescence_url(url)


def test_devhost_start_refuses_a_quiescence_url_that_is_not_http(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["start", "--app", str(BASIC_APP), "--skip-timers", "--quiescence-url", "localhost:9/p"])
    assert exit_info.value.code == 2
    refusal = capsys.readouterr().err
    assert "--quiescence-url: quiescence URL 'localhost:9/p' must be an absolute http" in refusal


# The other side of the contract: what the emulators count as owed.


def _acs_pending(acs: RunningAcs) -> int:
    async def read() -> int:  # on the emulator's loop, which owns its bookkeeping
        return acs.emulator.pending()

    return acs.run(read())


def test_the_acs_emulator_owes_each_callback_until_the_app_has_answered_it(
    tls_material: TlsMaterial, tmp_path: Path
) -> None:
    with running_acs(tls_material, tmp_path) as acs:
        client = CallAutomationClient.from_connection_string(acs.connection_string, connection_verify=acs.ca)
        created = client.create_call(
            PhoneNumberIdentifier(ANSWERS_WELL), acs.callback_url, source_caller_id_number=CALLER
        )
        call_id = str(created.call_connection_id)
        assert _acs_pending(acs) >= 1  # the ring and CallConnected are owed from the moment the call exists
        wait_until(lambda: _acs_pending(acs) == 0, what="nothing owed")
        # Owing nothing means every callback so far has reached the app: none is still on its way.
        assert "CallConnected" in acs.receiver.callback_types(call_id)
        client.get_call_connection(call_id).hang_up(is_for_everyone=True)
        wait_until(lambda: _acs_pending(acs) == 0, what="nothing owed after the hang-up")
        assert "CallDisconnected" in acs.receiver.callback_types(call_id)


def test_the_emulators_answer_what_they_owe_at_admin_pending() -> None:
    with emulators_in_thread(EmulatorOptions()) as running:
        base_url = running.settings["AZURE_OPENAI_ENDPOINT"].rstrip("/")
        answer = requests.get(f"{base_url}/admin/pending", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"pending": 0}
