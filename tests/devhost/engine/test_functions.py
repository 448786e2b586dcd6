"""Indexing apps as the Python worker does, and local.settings.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.functions import AppLoadError, load_app, load_local_settings
from tests.devhost.engine.conftest import BASIC_APP

TINY_APP = """
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello/{name}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def hello(req: func.HttpRequest, client) -> func.HttpResponse:
    return func.HttpResponse("hi")


@app.function_name("renamed_activity")
@app.activity_trigger(input_name="payload")
def original_name(payload: str) -> str:
    return payload
"""


def test_index_reports_trigger_types_bindings_and_durable_wrappers() -> None:
    index = load_app(BASIC_APP)
    assert index.app_path == BASIC_APP.resolve()
    assert index.functions["hello_sequence"].trigger_type == "orchestrationTrigger"
    assert index.functions["say_hello"].trigger_parameter == "name"
    assert index.functions["counter"].trigger_type == "entityTrigger"
    assert index.get("SAY_HELLO", "activityTrigger") is index.functions["say_hello"]
    assert index.get("say_hello", "orchestrationTrigger") is None
    assert {f.name for f in index.of_type("entityTrigger")} == {"counter"}
    assert index.functions["start_greeting"].binding_names("durableClient") == ["client"]


def test_load_app_by_path_reads_local_settings_without_overriding_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "function_app.py").write_text(TINY_APP)
    settings = {
        "IsEncrypted": False,
        "Values": {"DEVHOST_TEST_FROM_FILE": "file", "DEVHOST_TEST_BOTH": "file"},
    }
    (tmp_path / "local.settings.json").write_text(json.dumps(settings))
    monkeypatch.setenv("DEVHOST_TEST_BOTH", "environment")
    monkeypatch.delenv("DEVHOST_TEST_FROM_FILE", raising=False)
    index = load_app(tmp_path / "function_app.py")
    try:
        assert os.environ["DEVHOST_TEST_FROM_FILE"] == "file"
        assert os.environ["DEVHOST_TEST_BOTH"] == "environment"
    finally:
        os.environ.pop("DEVHOST_TEST_FROM_FILE", None)
    hello = index.functions["hello"]
    assert hello.trigger_type == "httpTrigger"
    assert hello.trigger["route"] == "hello/{name}"
    assert "renamed_activity" in index.functions
    assert load_local_settings(tmp_path / "missing") == {}


def test_import_failure_carries_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\nraise RuntimeError('broken app')\n"
    )
    with pytest.raises(AppLoadError) as failure:
        load_app(tmp_path / "function_app.py")
    assert "broken app" in failure.value.traceback_text
    assert "Traceback" in failure.value.traceback_text


def test_an_app_without_a_function_app_is_refused(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("VALUE = 1\n")
    with pytest.raises(AppLoadError, match="no FunctionApp"):
        load_app(tmp_path / "function_app.py")


def test_client_binding_points_the_sdk_at_the_host_and_carries_the_system_key(tmp_path: Path) -> None:
    engine = Engine(load_app(BASIC_APP), tmp_path, clock=Clock.real())
    engine.base_url = "http://127.0.0.1:7777"
    engine.system_key = "secret-key"
    binding = json.loads(engine.client_binding())
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:7777/runtime/webhooks/durabletask/"
    assert binding["taskHubName"] == "DevHostHub"
    assert binding["requiredQueryStringParameters"] == "code=secret-key"
    status_url = binding["managementUrls"]["statusQueryGetUri"]
    assert binding["managementUrls"]["id"] in status_url
    assert "code=secret-key" in status_url


def test_loading_an_app_does_not_shadow_a_module_of_the_same_name() -> None:
    import sys

    import function_app as project_app

    index = load_app(BASIC_APP)
    assert "hello_sequence" in index.functions
    assert sys.modules["function_app"] is project_app
    assert str(BASIC_APP.parent) not in sys.path


def test_the_host_keeps_its_app_importable(tmp_path: Path) -> None:
    import sys

    (tmp_path / "kept_app.py").write_text(TINY_APP)
    previous_path = list(sys.path)
    try:
        load_app(tmp_path / "kept_app.py", keep_module=True)
        assert sys.modules["kept_app"].__file__ == str(tmp_path / "kept_app.py")
        assert sys.path[0] == str(tmp_path)
    finally:
        sys.modules.pop("kept_app", None)
        sys.path[:] = previous_path
