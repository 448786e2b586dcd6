"""host.json is checked as the Functions host checks it at start: what would stop the host stops devhost."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from devhost.functions import AppLoadError, load_app
from devhost.host_config import HostConfigError, load_host_config, parse_host_json, parse_timespan
from tests.devhost.host.support import APPS, REPO_ROOT, start_refused

HOST_JSON = Path("/app/host.json")


def _refusal(document: Any) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(HostConfigError) as raised:
        parse_host_json(text, HOST_JSON)
    return str(raised.value)


def test_hireflow_host_json_is_accepted() -> None:
    config = load_host_config(REPO_ROOT)

    assert config.route_prefix == "api"
    assert config.hub_name == "hireflow"
    assert config.function_timeout == timedelta(minutes=10)


def test_invalid_json_is_a_start_up_error_naming_the_file() -> None:
    message = _refusal('{"version": "2.0",')

    assert message.startswith(f"Unable to parse host configuration file '{HOST_JSON}'.")


def test_a_top_level_array_is_refused() -> None:
    assert "must be a JSON object, not an array" in _refusal([{"version": "2.0"}])


def test_an_empty_object_is_taken_as_the_default_file() -> None:
    assert parse_host_json("{}", HOST_JSON).route_prefix == "api"


def test_a_missing_version_is_refused_with_the_hosts_words() -> None:
    assert _refusal({"functionTimeout": "00:05:00"}).startswith(
        "The host.json file is missing the required 'version' property. "
        "See https://aka.ms/functions-hostjson for steps to migrate the configuration file."
    )


@pytest.mark.parametrize(
    ("version", "shown"), [("1.0", "1.0"), ("3.0", "3.0"), (2, "2"), (2.0, "2"), (True, "True")]
)
def test_a_version_other_than_2_0_is_refused_with_the_hosts_words(version: Any, shown: str) -> None:
    message = _refusal({"version": version})

    assert message.startswith(
        f"'{shown}' is an invalid value for host.json 'version' property. We recommend you set the 'version' "
        "property to '2.0'. "
    )
    assert ("only to the schema version of the host.json file" in message) == shown.startswith("3")


@pytest.mark.parametrize("timeout", ["ten minutes", "00:61:00", "25:00:00", "true", "1:2:3:4"])
def test_a_function_timeout_that_is_not_a_timespan_is_refused(timeout: str) -> None:
    message = _refusal({"version": "2.0", "functionTimeout": timeout})

    assert message.startswith(
        "Failed to convert configuration value at 'AzureFunctionsJobHost:functionTimeout' to type "
        "'System.TimeSpan'."
    )
    assert str(HOST_JSON) in message


def test_a_function_timeout_under_one_second_is_refused() -> None:
    message = _refusal({"version": "2.0", "functionTimeout": "00:00:00.5"})

    assert message.startswith("FunctionTimeout must be greater than 00:00:01")


def test_a_function_timeout_object_is_refused() -> None:
    assert "'functionTimeout' must be a TimeSpan" in _refusal({"version": "2.0", "functionTimeout": {}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:10:00", timedelta(minutes=10)),
        ("1.02:03:04.5", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500)),
        ("7", timedelta(days=7)),
        ("01:30", timedelta(hours=1, minutes=30)),
        ("-00:00:05", timedelta(seconds=-5)),
    ],
)
def test_timespans_parse_as_dotnet_parses_them(text: str, expected: timedelta) -> None:
    assert parse_timespan(text) == expected


def test_minus_one_means_no_function_timeout() -> None:
    assert parse_host_json('{"version": "2.0", "functionTimeout": "-1"}', HOST_JSON).function_timeout is None


@pytest.mark.parametrize("prefix", [{"value": "api"}, ["api"]])
def test_a_route_prefix_that_is_not_a_string_is_refused(prefix: Any) -> None:
    message = _refusal({"version": "2.0", "extensions": {"http": {"routePrefix": prefix}}})

    assert message.startswith(f"{HOST_JSON}: 'extensions.http.routePrefix' must be a string")


def test_an_extensions_section_that_is_not_an_object_is_refused() -> None:
    assert "'extensions' must be a JSON object, not a string" in _refusal(
        {"version": "2.0", "extensions": "x"}
    )


@pytest.mark.parametrize("hub", ["my-hub", "1hub", "ab", "hub_name", "a" * 51, ""])
def test_a_task_hub_name_azure_storage_cannot_use_is_refused_with_the_extensions_words(hub: str) -> None:
    message = _refusal({"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}})

    assert message.startswith(
        f"Task hub name '{hub}' should contain only alphanumeric characters, start with a letter, and have "
        "length between 3 and 45."
    )


@pytest.mark.parametrize("hub", ["abc", "Hireflow2", "a" * 50])
def test_task_hub_names_the_extension_accepts(hub: str) -> None:
    config = parse_host_json(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"hubName": hub}}}), HOST_JSON
    )

    assert config.hub_name == hub


def test_a_task_hub_name_from_an_app_setting_is_resolved_before_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVHOST_TEST_HUB", "fromSetting")
    document = {"version": "2.0", "extensions": {"durableTask": {"hubName": "%DEVHOST_TEST_HUB%"}}}

    assert parse_host_json(json.dumps(document), HOST_JSON).hub_name == "fromSetting"


def test_load_app_refuses_an_app_beside_an_invalid_host_json(tmp_path: Path) -> None:
    shutil.copy(APPS / "host_timers" / "function_app.py", tmp_path / "function_app.py")
    (tmp_path / "host.json").write_text('{"version": "2.0"')

    with pytest.raises(AppLoadError) as raised:
        load_app(tmp_path / "function_app.py")

    assert isinstance(raised.value.__cause__, HostConfigError)
    assert str(tmp_path / "host.json") in str(raised.value)


def test_start_refuses_an_invalid_host_json_and_exits_non_zero(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(APPS / "host_timers" / "function_app.py", app_dir / "function_app.py")
    (app_dir / "host.json").write_text('{"version": "2.0", "extensions": {,}}')

    result = start_refused(app_dir / "function_app.py", tmp_path / "data")

    assert result.returncode == 1
    assert "ready" not in result.stdout
    assert f"Unable to parse host configuration file '{app_dir / 'host.json'}'." in result.stderr
