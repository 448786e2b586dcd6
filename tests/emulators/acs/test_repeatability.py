"""Create call honours ACS's repeatable requests: the same request within five minutes rings nobody twice."""

from __future__ import annotations

import datetime as dt
import uuid
from email.utils import format_datetime, formatdate
from typing import Any

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier
from azure.core.exceptions import HttpResponseError

from tests.emulators.acs.harness import RunningAcs
from tests.emulators.acs.test_calls import CALLER, WELL, client_for


def _create(acs: RunningAcs, headers: dict[str, str], context: str = "repeat") -> tuple[Any, dict[str, str]]:
    seen: dict[str, str] = {}

    def keep_headers(response: Any) -> None:
        seen.update(response.http_response.headers)

    properties = client_for(acs).create_call(
        PhoneNumberIdentifier(WELL),
        acs.callback_url,
        source_caller_id_number=CALLER,
        operation_context=context,
        headers=dict(headers),
        raw_response_hook=keep_headers,
    )
    return properties, seen


def _refused(acs: RunningAcs, headers: dict[str, str], context: str = "repeat") -> HttpResponseError:
    with pytest.raises(HttpResponseError) as raised:
        _create(acs, headers, context)
    return raised.value


def _headers(first_sent: dt.datetime | None = None, request_id: str | None = None) -> dict[str, str]:
    sent = formatdate(usegmt=True) if first_sent is None else format_datetime(first_sent, usegmt=True)
    return {"Repeatability-Request-ID": request_id or str(uuid.uuid4()), "Repeatability-First-Sent": sent}


def _calls(acs: RunningAcs, context: str = "repeat") -> int:
    return int(acs.emulator.calls_summary()["per_operation_context"].get(context, 0))


def test_a_repeated_create_call_returns_the_first_call_and_rings_once(acs: RunningAcs) -> None:
    headers = _headers()
    first, first_headers = _create(acs, headers)
    again, again_headers = _create(acs, headers)
    assert again.call_connection_id == first.call_connection_id
    assert again.server_call_id == first.server_call_id
    assert _calls(acs) == 1
    assert first_headers["Repeatability-Result"] == "accepted"
    assert again_headers["Repeatability-Result"] == "accepted"


def test_new_request_ids_are_new_calls(acs: RunningAcs) -> None:
    first, _ = _create(acs, _headers())
    second, _ = _create(acs, _headers())
    assert first.call_connection_id != second.call_connection_id
    assert _calls(acs) == 2


def test_a_first_sent_time_outside_the_five_minute_window_is_412(acs: RunningAcs) -> None:
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5, seconds=30)
    error = _refused(acs, _headers(first_sent=stale))
    assert error.status_code == 412
    assert error.response is not None
    assert error.response.headers["Repeatability-Result"] == "rejected"
    assert _calls(acs) == 0
    # Four minutes old is still inside the window.
    _create(acs, _headers(first_sent=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)))
    assert _calls(acs) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Repeatability-Request-ID": "not-a-guid", "Repeatability-First-Sent": formatdate(usegmt=True)},
        {"Repeatability-Request-ID": str(uuid.uuid4()), "Repeatability-First-Sent": "yesterday"},
    ],
)
def test_malformed_repeatability_headers_are_400(acs: RunningAcs, headers: dict[str, str]) -> None:
    error = _refused(acs, headers)
    assert error.status_code == 400
    assert error.response is not None
    assert error.response.headers["Repeatability-Result"] == "rejected"
    assert _calls(acs) == 0


def test_a_reused_request_id_with_another_request_is_400(acs: RunningAcs) -> None:
    headers = _headers()
    _create(acs, headers, context="first")
    error = _refused(acs, headers, context="second")
    assert error.status_code == 400
    assert "does not match" in str(error)
    assert _calls(acs, "second") == 0
