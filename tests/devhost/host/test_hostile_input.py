"""Hostile bodies at devhost's own layers: 400 with a reason or 413, never a 500, and the host keeps serving.

Deeply nested JSON makes ``json.loads`` raise ``RecursionError`` and a 5,000-digit integer a plain
``ValueError`` (Python's 4,300-digit conversion limit); neither is a ``JSONDecodeError``, so a handler that
catches only that answered 500. Bodies over the size limit (the Functions host's is 100 MB) answer 413.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devhost.cli import BODY_SIZE_LIMIT_SETTING, body_size_limit, build_parser
from devhost.http_triggers import JsonBodyError, parse_json_body
from devhost.server import DEFAULT_MAX_BODY_BYTES
from tests.devhost.host.support import InProcessHost, call, in_process_host

SMALL_LIMIT = 256 * 1024  # above the hostile bodies (about 100 KB), far below the default
DEEP_ARRAY = b"[" * 100_000
DEEP_OBJECT = b'{"id": "deep", "data": ' + b"[" * 100_000
HUGE_INTEGER = b'[{"id": "big", "eventType": "T", "subject": "s", "data": ' + b"9" * 5_000 + b"}]"
NOTIFICATION = {"aeg-event-type": "Notification", "Content-Type": "application/json"}
STORAGE_SETTING = "DevhostHostileStorage"


@pytest.fixture(scope="module")
def hostile_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHost]:
    previous = os.environ.get(STORAGE_SETTING)
    # The Event Grid sourced blob trigger needs its connection setting; nothing connects to it here.
    os.environ[STORAGE_SETTING] = "UseDevelopmentStorage=true"
    try:
        with in_process_host(
            "host_hostile",
            tmp_path_factory.mktemp("hostile-host"),
            max_body_bytes=SMALL_LIMIT,
            timer_triggers=False,
        ) as host:
            yield host
    finally:
        if previous is None:
            os.environ.pop(STORAGE_SETTING, None)
        else:
            os.environ[STORAGE_SETTING] = previous


def received(host: InProcessHost) -> list[str]:
    return list(host.module_value("echo", "RECEIVED"))


def assert_still_serving(host: InProcessHost) -> None:
    assert call("GET", host.url("/admin/host/status")).json()["state"] == "Running"


@pytest.mark.parametrize(
    ("body", "reason"),
    [(DEEP_ARRAY, "nested too deeply"), (DEEP_OBJECT, "nested too deeply"), (HUGE_INTEGER, "digits")],
    ids=["deep-array", "deep-object", "huge-integer"],
)
@pytest.mark.parametrize(
    "path",
    [
        "/runtime/webhooks/eventgrid?functionName=on_event",
        "/runtime/webhooks/blobs?functionName=Host.Functions.on_upload",
    ],
    ids=["eventgrid", "blobs"],
)
def test_webhooks_answer_400_to_hostile_json(
    hostile_host: InProcessHost, path: str, body: bytes, reason: str
) -> None:
    before = received(hostile_host)

    reply = call("POST", hostile_host.url(path), body=body, headers=NOTIFICATION)

    assert reply.status == 400
    assert reason in reply.json()["error"]
    assert received(hostile_host) == before
    assert_still_serving(hostile_host)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP_ARRAY, "nested too deeply"),
        (b'{"input": ' + b"[" * 100_000, "nested too deeply"),
        (b'{"input": ' + b"7" * 5_000 + b"}", "digits"),
    ],
    ids=["deep-array", "deep-input", "huge-integer"],
)
def test_admin_invoke_answers_400_to_hostile_json(
    hostile_host: InProcessHost, body: bytes, reason: str
) -> None:
    reply = call("POST", hostile_host.url("/admin/functions/nightly"), body=body)

    assert reply.status == 400
    assert reason in reply.json()["error"]
    assert "nightly" not in received(hostile_host)
    assert_still_serving(hostile_host)


@pytest.mark.parametrize(
    "body",
    [b'{"a": ' + b"[" * 100_000, b'{"n": ' + b"1" * 5_000 + b"}"],
    ids=["deep-object", "huge-integer"],
)
def test_http_trigger_gets_a_hostile_json_body_as_it_is(hostile_host: InProcessHost, body: bytes) -> None:
    # devhost reads a JSON body only for binding expressions; one it cannot read goes to the function
    # unparsed, and the function decides what it means.
    reply = call(
        "POST", hostile_host.url("/api/echo"), body=body, headers={"Content-Type": "application/json"}
    )

    assert reply.status == 200
    assert reply.text == str(len(body))


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/runtime/webhooks/eventgrid?functionName=on_event", NOTIFICATION),
        ("/runtime/webhooks/blobs?functionName=Host.Functions.on_upload", NOTIFICATION),
        ("/admin/functions/nightly", {}),
        ("/api/echo", {}),
    ],
    ids=["eventgrid", "blobs", "admin", "http-trigger"],
)
def test_a_body_over_the_limit_is_413_and_reaches_no_function(
    hostile_host: InProcessHost, path: str, headers: dict[str, str]
) -> None:
    before = received(hostile_host)

    reply = call("POST", hostile_host.url(path), body=b"[" + b" " * SMALL_LIMIT + b"]", headers=headers)

    assert reply.status == 413
    assert received(hostile_host) == before
    assert_still_serving(hostile_host)


def test_a_body_at_the_limit_is_read() -> None:
    # A limit that refused everything would pass the 413 tests; a body just under it must still parse.
    body = b"[" + b" " * (SMALL_LIMIT - 2) + b"]"
    assert parse_json_body(body) == []


def test_the_default_body_limit_is_the_functions_hosts_100_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BODY_SIZE_LIMIT_SETTING, raising=False)
    args = build_parser().parse_args(["start", "--app", "function_app.py"])

    assert DEFAULT_MAX_BODY_BYTES == 100 * 1024 * 1024
    assert body_size_limit(args.max_body_mb) == DEFAULT_MAX_BODY_BYTES


def test_the_body_limit_follows_the_hosts_app_setting_unless_the_option_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(BODY_SIZE_LIMIT_SETTING, "4096")

    assert body_size_limit(None) == 4096
    assert body_size_limit(2.0) == 2 * 1024 * 1024
    monkeypatch.setenv(BODY_SIZE_LIMIT_SETTING, "4 MB")
    with pytest.raises(ValueError, match=BODY_SIZE_LIMIT_SETTING):
        body_size_limit(None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP_ARRAY, "nested too deeply"),
        (b"9" * 5_000, "digits"),
        (b"\xff\xfe{", "not UTF-8"),
        (b'{"a": }', "Expecting value"),
    ],
)
def test_parse_json_body_turns_every_failure_into_a_clear_error(body: bytes, reason: str) -> None:
    with pytest.raises(JsonBodyError, match=reason):
        parse_json_body(body)


def test_parse_json_body_reads_json_with_a_byte_order_mark() -> None:
    assert parse_json_body(b'\xef\xbb\xbf{"a": [1, 2]}') == {"a": [1, 2]}
