"""--require-keys: function, admin and system keys from the data dir; request size limit."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.keys import KEYS_FILE, KeysFileError, load_or_create_keys
from tests.devhost.host.support import APPS, InProcessHost, call, in_process_host, start_refused


@pytest.fixture(scope="module")
def keyed_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHost]:
    with in_process_host("host_http", tmp_path_factory.mktemp("keyed-host"), require_keys=True) as host:
        yield host


def keys_of(host: InProcessHost):  # type: ignore[no-untyped-def]
    return load_or_create_keys(host.data_dir)


def test_keys_are_generated_once_into_the_data_dir(tmp_path: Path) -> None:
    first = load_or_create_keys(tmp_path)
    second = load_or_create_keys(tmp_path)
    assert (tmp_path / KEYS_FILE).is_file()
    assert first.master_key == second.master_key
    assert first.default_function_key == second.default_function_key
    assert first.master_key != first.default_function_key


def test_function_level_without_key_is_401(keyed_host: InProcessHost) -> None:
    assert call("GET", keyed_host.url("/api/secured/function")).status == 401


def test_function_key_in_code_query(keyed_host: InProcessHost) -> None:
    key = keys_of(keyed_host).default_function_key
    assert call("GET", keyed_host.url(f"/api/secured/function?code={key}")).status == 200


def test_function_key_in_header(keyed_host: InProcessHost) -> None:
    key = keys_of(keyed_host).default_function_key
    reply = call("GET", keyed_host.url("/api/secured/function"), headers={"x-functions-key": key})
    assert reply.status == 200


def test_wrong_key_is_401(keyed_host: InProcessHost) -> None:
    assert call("GET", keyed_host.url("/api/secured/function?code=wrong")).status == 401


def test_admin_level_rejects_function_key(keyed_host: InProcessHost) -> None:
    key = keys_of(keyed_host).default_function_key
    assert call("GET", keyed_host.url(f"/api/secured/admin?code={key}")).status == 401


def test_admin_level_accepts_master_key(keyed_host: InProcessHost) -> None:
    key = keys_of(keyed_host).master_key
    assert call("GET", keyed_host.url(f"/api/secured/admin?code={key}")).status == 200


def test_anonymous_functions_stay_open(keyed_host: InProcessHost) -> None:
    assert call("GET", keyed_host.url("/api/items/5")).status == 200


def test_durable_client_works_with_keys_required(keyed_host: InProcessHost) -> None:
    reply = call("POST", keyed_host.url("/api/run/greet"), body='"keys"')
    assert reply.status == 200
    assert reply.text == "Hello, keys!"


def test_oversized_body_is_413_and_host_keeps_serving(tmp_path: Path) -> None:
    with in_process_host("host_http", tmp_path, max_body_bytes=1024) as host:
        assert call("POST", host.url("/api/echo"), body=b"x" * 4096).status == 413
        assert call("POST", host.url("/api/echo"), body=b"x" * 512).status == 201


def test_admin_endpoint_requires_the_master_key(keyed_host: InProcessHost) -> None:
    keys = keys_of(keyed_host)
    assert call("POST", keyed_host.url("/admin/functions/nope"), body="{}").status == 401
    function_key = keys.default_function_key
    assert call("POST", keyed_host.url(f"/admin/functions/nope?code={function_key}"), body="{}").status == 401
    # Past the key check, the unknown function is what is wrong.
    assert (
        call("POST", keyed_host.url(f"/admin/functions/nope?code={keys.master_key}"), body="{}").status == 404
    )


def test_admin_stats_require_the_master_key(keyed_host: InProcessHost) -> None:
    keys = keys_of(keyed_host)
    assert call("GET", keyed_host.url("/admin/stats")).status == 401
    assert call("GET", keyed_host.url(f"/admin/stats?code={keys.default_function_key}")).status == 401
    reply = call("GET", keyed_host.url(f"/admin/stats?code={keys.master_key}"))
    assert (reply.status, sorted(reply.json()["functions"])) == (
        200,
        ["busy_s", "by_function", "invocations", "running"],
    )


def test_event_grid_webhook_requires_its_system_key(keyed_host: InProcessHost) -> None:
    keys = keys_of(keyed_host)
    url = keyed_host.url("/runtime/webhooks/eventgrid?functionName=nope")
    assert call("POST", url, body="[]").status == 401
    system_key = keys.system_keys["eventgrid_extension"]
    assert call("POST", url + f"&code={system_key}", body="[]").status == 404


def test_durable_http_api_requires_its_system_key(keyed_host: InProcessHost) -> None:
    keys = keys_of(keyed_host)
    url = keyed_host.url("/runtime/webhooks/durabletask/instances")
    assert call("GET", url).status == 401
    assert call("GET", url + f"?code={keys.default_function_key}").status == 401
    assert (
        call("POST", keyed_host.url("/runtime/webhooks/durabletask/orchestrators/greet"), body='"x"').status
        == 401
    )
    system_key = keys.system_keys["durabletask_extension"]
    assert call("GET", url + f"?code={system_key}").status == 200
    assert call("GET", url, headers={"x-functions-key": keys.master_key}).status == 200


def test_management_urls_carry_the_key_and_client_bindings_need_none(keyed_host: InProcessHost) -> None:
    started = call("POST", keyed_host.url("/api/orchestrators/greet"), body='"rpc"')
    assert started.status == 202
    urls = started.json()
    instance_id = urls["id"]
    # The client function reached the API without a key, through the binding's private RPC path ...
    status = call("GET", keyed_host.url(f"/api/status/{instance_id}")).json()
    assert status["instanceId"] == instance_id
    # ... and the URLs it hands out work because they carry the system key.
    system_key = keys_of(keyed_host).system_keys["durabletask_extension"]
    assert f"code={system_key}" in urls["statusQueryGetUri"]
    assert call("GET", urls["statusQueryGetUri"]).status in (200, 202)
    without_key = urls["statusQueryGetUri"].split("?")[0]
    assert call("GET", without_key).status == 401


def test_the_rpc_path_is_private_to_the_running_host(keyed_host: InProcessHost) -> None:
    binding = json.loads(keyed_host.engine.client_binding())
    assert binding["rpcBaseUrl"].startswith(keyed_host.base_url + "/runtime/webhooks/durabletask/rpc/")
    assert call("GET", binding["rpcBaseUrl"] + "instances").status == 200
    guessed = keyed_host.url("/runtime/webhooks/durabletask/rpc/guess/instances")
    assert call("GET", guessed).status == 404


@pytest.mark.parametrize(
    "content",
    ['{"masterKey": "SECRET-half-written', '["SECRET-not-an-object"]', '{"functionKeys": "SECRET-flat"}'],
    ids=["truncated", "array", "wrong-shape"],
)
def test_an_unreadable_keys_file_is_refused_without_showing_its_content(tmp_path: Path, content: str) -> None:
    (tmp_path / KEYS_FILE).write_text(content)

    with pytest.raises(KeysFileError) as raised:
        load_or_create_keys(tmp_path)

    assert str(tmp_path / KEYS_FILE) in str(raised.value)
    assert "SECRET" not in str(raised.value)
    assert (tmp_path / KEYS_FILE).read_text() == content  # left as it was, for its owner to look at


@pytest.mark.subprocess
def test_start_with_an_unreadable_keys_file_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / KEYS_FILE).write_text('{"masterKey": "SECRET-half-written')

    result = start_refused(APPS / "host_http" / "function_app.py", tmp_path, "--require-keys")

    assert result.returncode == 1
    assert f"devhost: {tmp_path / KEYS_FILE} is not a keys file devhost can read" in result.stderr
    assert "SECRET" not in result.stdout + result.stderr
