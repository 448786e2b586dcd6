"""The dashboard over real HTTP on devhost's server: sign-in through the link, and the local clock panel.

The clock panel reads and moves devhost's ``/admin/clock`` from the app's own origin, so it needs the real
server (the trigger harness serves only the durable routes). Unkeyed, the admin API is open; keyed, it wants
the master key, which the app sends from ``DEVHOST_ADMIN_KEY`` (the local stack fills it in).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.functions import index_app
from devhost.server import HostOptions, RunningHost, serve
from shared.settings import get_settings, reset_settings
from tests.pipeline.triggers.conftest import TriggerHarness
from triggers.dashboard_auth import mint_sign_in_ticket

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
DASHBOARD_SECRET = "trigger-tests-dashboard-signing-secret"
"""What ``DASHBOARD_SIGNING_SECRET`` holds here: the dashboard signs with it, never with the ACS one."""


@pytest.fixture(autouse=True)
def _dashboard_signing_secret(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # The trigger harness sets the pipeline's settings; the dashboard's own secret is added on top.
    monkeypatch.setenv("DASHBOARD_SIGNING_SECRET", DASHBOARD_SECRET)
    reset_settings()


class ServedDashboard:
    """devhost serving the app unkeyed on a free port, with one browser-like cookie jar."""

    def __init__(self, data_dir: Path, *, require_keys: bool = False) -> None:
        from function_app import app

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine = Engine(index_app(app), data_dir, clock=Clock.skipping(), durable=False)
        options = HostOptions(
            data_dir=data_dir,
            port=0,
            timer_triggers=False,
            blob_poll_interval=3600,
            require_keys=require_keys,
        )
        self.host: RunningHost = self.run(serve(self.engine.index, self.engine, options))
        self.session: aiohttp.ClientSession = self.run(self._session())

    async def _session(self) -> aiohttp.ClientSession:
        # unsafe=True: aiohttp otherwise drops cookies set by an IP address host such as 127.0.0.1.
        return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, dict[str, str]]:
        async def send() -> tuple[int, str, dict[str, str]]:
            async with self.session.request(
                method, f"{self.host.base_url}{path}", allow_redirects=False, **kwargs
            ) as response:
                return response.status, await response.text(), dict(response.headers)

        result: tuple[int, str, dict[str, str]] = self.run(send())
        return result

    def close(self) -> None:
        self.run(self.session.close())
        self.run(self.host.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def served(harness: Harness, tmp_path: Path) -> Iterator[ServedDashboard]:
    harness()  # the settings, containers and seeded job of the trigger tests
    dashboard = ServedDashboard(tmp_path / "devhost")
    yield dashboard
    dashboard.close()


def _clock_now(served: ServedDashboard) -> datetime:
    status, body, _ = served.request("GET", "/admin/clock")
    assert status == 200, body
    found = re.search(r'"now": "([^"]+)"', body)
    assert found, body
    return datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))


def test_the_sign_in_link_opens_the_dashboard_in_a_browser_session(served: ServedDashboard) -> None:
    status, _, headers = served.request(
        "GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}"
    )
    assert status == 303
    assert headers["Location"] == "/api/dashboard?notice=signed_in"

    status, body, headers = served.request("GET", headers["Location"])

    assert status == 200, body
    assert "Signed in." in body
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_clock_panel_moves_the_hosts_clock_by_a_day(served: ServedDashboard) -> None:
    served.request("GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}")
    status, page, _ = served.request("GET", "/api/dashboard/reviews")
    assert status == 200, page
    assert "Local clock" in page
    assert "Mode <strong>skip</strong>" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    before = _clock_now(served)

    status, body, headers = served.request(
        "POST",
        "/api/dashboard/actions/clock",
        data={"by": "1d", "csrf_token": token.group(1), "back": "/api/dashboard/reviews"},
        headers={"Origin": served.host.base_url},
    )

    assert status == 303, body
    assert headers["Location"] == "/api/dashboard/reviews?notice=clock"
    assert _clock_now(served) - before >= timedelta(days=1)


def test_the_clock_cannot_be_moved_without_the_forms_token(served: ServedDashboard) -> None:
    served.request("GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}")
    served.request("GET", "/api/dashboard/reviews")
    before = _clock_now(served)

    status, _, _ = served.request("POST", "/api/dashboard/actions/clock", data={"by": "1d"})

    assert status == 403
    assert _clock_now(served) - before < timedelta(hours=1)


def test_the_clock_command_shows_and_moves_the_hosts_clock(served: ServedDashboard) -> None:
    import io

    from hireflow.cli import main

    before = _clock_now(served)
    shown, moved, refused = io.StringIO(), io.StringIO(), io.StringIO()

    show_code = main(["clock", "--url", served.host.base_url], stdout=shown, stderr=shown, environ={})
    move_code = main(
        ["clock", "advance", "--by", "2h30m", "--url", served.host.base_url],
        stdout=moved,
        stderr=moved,
        environ={},
    )
    refused_code = main(
        ["clock", "advance", "--by", "soon", "--url", served.host.base_url],
        stdout=refused,
        stderr=refused,
        environ={},
    )

    assert show_code == 0, shown.getvalue()
    assert shown.getvalue().startswith("clock skip: now ")
    assert move_code == 0, moved.getvalue()
    assert timedelta(hours=2, minutes=30) <= _clock_now(served) - before < timedelta(hours=3)
    assert refused_code == 1
    assert "'by' must be a duration" in refused.getvalue()


def test_advancing_with_no_timer_pending_says_so(served: ServedDashboard) -> None:
    served.request("GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}")
    _, page, _ = served.request("GET", "/api/dashboard/reviews")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token

    status, body, _ = served.request(
        "POST",
        "/api/dashboard/actions/clock",
        data={"to": "next", "csrf_token": token.group(1)},
        headers={"Origin": served.host.base_url},
    )

    assert status == 409
    assert "the clock did not move: no durable timer is pending" in body


# ----------------------------------------------------------------------------------------------------
# A keyed host, as the demo runs it


@pytest.fixture
def keyed(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedDashboard]:
    """devhost with keys required; the app holds its master key in DEVHOST_ADMIN_KEY, as the stack sets it."""
    from devhost.keys import load_or_create_keys

    harness()
    data_dir = tmp_path / "devhost"
    # Created before the host starts, which keeps the keys it finds: the stack learns the master key so too.
    monkeypatch.setenv("DEVHOST_ADMIN_KEY", load_or_create_keys(data_dir).master_key)
    reset_settings()
    dashboard = ServedDashboard(data_dir, require_keys=True)
    yield dashboard
    dashboard.close()


def _keyed_clock_now(served: ServedDashboard) -> datetime:
    from devhost.keys import KEY_HEADER

    status, body, _ = served.request(
        "GET", "/admin/clock", headers={KEY_HEADER: get_settings().devhost_admin_key or ""}
    )
    assert status == 200, body
    found = re.search(r'"now": "([^"]+)"', body)
    assert found, body
    return datetime.fromisoformat(found.group(1).replace("Z", "+00:00"))


def test_on_a_keyed_host_the_clock_panel_moves_time_with_the_admin_key(keyed: ServedDashboard) -> None:
    locked, _, _ = keyed.request("GET", "/admin/clock")
    assert locked == 401  # the admin API is closed to anyone without the master key
    keyed.request("GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}")
    status, page, _ = keyed.request("GET", "/api/dashboard/reviews")
    assert status == 200, page
    assert "Advance 1 day" in page
    assert "behind its master key" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    before = _keyed_clock_now(keyed)

    status, body, headers = keyed.request(
        "POST",
        "/api/dashboard/actions/clock",
        data={"by": "1d", "csrf_token": token.group(1), "back": "/api/dashboard/reviews"},
        headers={"Origin": keyed.host.base_url},
    )

    assert status == 303, body
    assert headers["Location"] == "/api/dashboard/reviews?notice=clock"
    assert _keyed_clock_now(keyed) - before >= timedelta(days=1)


def test_on_a_keyed_host_without_the_admin_key_the_panel_names_the_command(
    keyed: ServedDashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEVHOST_ADMIN_KEY")
    reset_settings()
    keyed.request("GET", f"/api/dashboard?ticket={mint_sign_in_ticket(DASHBOARD_SECRET)}")

    status, page, _ = keyed.request("GET", "/api/dashboard/reviews")

    assert status == 200, page
    assert "python -m hireflow clock advance" in page
    assert "DEVHOST_ADMIN_KEY" in page
    assert "Advance 1 day" not in page
