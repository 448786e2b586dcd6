"""HTTP triggers over real HTTP, with real azure.functions request and response objects."""

import json
import threading
from pathlib import Path

import pytest

from devhost.functions import FunctionIndex
from devhost.server import route_prefix_for
from tests.devhost.host.support import InProcessHost, call, in_process_host, wait_until


def test_int_constrained_route_binds_route_params(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/items/42"))
    assert (reply.status, reply.text) == (200, "id=42")


def test_literal_route_wins_over_parameter_route(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/items/special")).text == "special"


def test_constraint_selects_between_templates(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/items/widget")).text == "name=widget"


def test_request_maps_headers_query_body_and_route(http_host: InProcessHost) -> None:
    reply = call(
        "POST",
        http_host.url("/api/describe/one/two?x=1&y=hello%20there"),
        body=b"\x00\xffraw",
        headers={"X-Trace": "abc", "Content-Type": "application/octet-stream"},
    )
    seen = reply.json()
    assert seen["method"] == "POST"
    assert seen["params"] == {"x": "1", "y": "hello there"}
    assert seen["route_params"] == {"a": "one", "b": "two"}
    assert seen["headers"]["x-trace"] == "abc"
    assert seen["body"] == "\x00\xffraw"
    assert seen["url"].endswith("/api/describe/one/two?x=1&y=hello%20there")


def test_optional_route_parameter_can_be_omitted(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/describe/only")).json()["route_params"] == {"a": "only"}


def test_catch_all_route(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/files/a/b/c.txt")).text == "path=a/b/c.txt"


def test_default_route_is_the_function_name(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/default_route")).status == 200


def test_method_not_listed_is_not_found(http_host: InProcessHost) -> None:
    assert call("DELETE", http_host.url("/api/describe/one")).status == 404


def test_unknown_route_is_404(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/no/such/thing")).status == 404


def test_async_function_returns_bytes_status_and_mimetype(http_host: InProcessHost) -> None:
    payload = bytes(range(256))
    reply = call("POST", http_host.url("/api/echo"), body=payload)
    assert reply.status == 201
    assert reply.body == payload
    assert reply.headers["Content-Type"] == "application/octet-stream"


def test_text_response_gets_charset_in_content_type(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/items/1"))
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_explicit_content_type_header_wins(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/teapot"))
    assert reply.status == 418
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert json.loads(reply.body) == {"short": "stout"}


def test_repeated_response_headers_are_all_sent(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/cookies"))
    assert reply.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert reply.headers["X-Custom"] == "yes"


def test_string_return_value_is_the_body(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/plain-string"))
    assert (reply.status, reply.text) == (200, "just a string")


def test_named_http_output_binding(http_host: InProcessHost) -> None:
    reply = call("GET", http_host.url("/api/named-output"))
    assert (reply.status, reply.text) == (202, "set through the named output")


def test_context_parameter_receives_invocation_context(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/with-context")).text == "with_context:True"


def test_raising_function_is_500_and_host_keeps_serving(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/raises")).status == 500
    assert call("GET", http_host.url("/api/items/3")).status == 200


def test_unsupported_return_type_is_500(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/wrong-type")).status == 500


def test_keys_are_not_enforced_by_default(http_host: InProcessHost) -> None:
    assert call("GET", http_host.url("/api/secured/admin")).status == 200


def test_route_prefix_option_moves_the_triggers(tmp_path: Path) -> None:
    with in_process_host("host_http", tmp_path, route_prefix="v1") as host:
        assert call("GET", host.url("/v1/items/4")).text == "id=4"
        assert call("GET", host.url("/api/items/4")).status == 404


def test_route_prefix_comes_from_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": ""}}})
    )
    index = FunctionIndex(app_path=tmp_path / "function_app.py", functions={})
    assert route_prefix_for(index) == ""
    assert route_prefix_for(FunctionIndex(app_path=None, functions={})) == "api"


def test_wsgi_function_app_serves_through_its_catch_all_route(tmp_path: Path) -> None:
    with in_process_host("host_wsgi", tmp_path) as host:
        reply = call("POST", host.url("/api/orders/7?expand=lines"), body="payload")
        assert reply.status == 201
        assert reply.headers["X-Served-By"] == "wsgi"
        assert reply.text == "POST /api/orders/7 expand=lines payload"


def test_cors_preflight_and_allowed_origin(tmp_path: Path) -> None:
    with in_process_host("host_http", tmp_path, cors_origins=("http://app.local",)) as host:
        preflight = call(
            "OPTIONS",
            host.url("/api/echo"),
            headers={
                "Origin": "http://app.local",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://app.local"
        assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
        allowed = call("GET", host.url("/api/items/1"), headers={"Origin": "http://app.local"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "http://app.local"
        other = call("GET", host.url("/api/items/1"), headers={"Origin": "http://elsewhere.local"})
        assert other.headers.get("Access-Control-Allow-Origin") is None


def test_blocking_sync_function_does_not_stall_the_host(http_host: InProcessHost) -> None:
    results: list[str] = []
    waiter = threading.Thread(
        target=lambda: results.append(call("GET", http_host.url("/api/blocking/wait")).text)
    )
    waiter.start()
    waiting = http_host.module_value("blocking_wait", "WAITING")
    wait_until(waiting.is_set, what="the blocking function to start")
    # The release request is served while the first function still blocks its worker thread.
    wait_until(lambda: call("GET", http_host.url("/api/blocking/release")).text == "ok", what="the release")
    waiter.join(timeout=15)
    assert results == ["released"]


def test_function_disabled_by_app_setting_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureWebJobs.item_by_id.Disabled", "true")
    with in_process_host("host_http", tmp_path) as host:
        assert call("GET", host.url("/api/items/4")).status == 404
        assert call("GET", host.url("/api/items/special")).text == "special"
