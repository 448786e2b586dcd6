"""``host.json`` read and checked as the Functions host reads it at start-up, refusing what the host refuses.

The host parses ``host.json`` before anything else: a file that is not a JSON object, a missing ``version``
or a version other than ``"2.0"`` stops the host with the messages below (``HostJsonFileConfigurationSource``
in azure-functions-host). Values are then bound to typed options: ``functionTimeout`` must parse as a .NET
``TimeSpan`` at least one second long (``-1``: no limit), and the Durable Task extension refuses a task hub
name that Azure Storage cannot use for its tables, queues and containers (``AzureStorageOptions
.ValidateHubName``). devhost applies the same checks when it loads an app, so a ``host.json`` that would stop
the host on Azure stops devhost too, with a message that names the file.

Where the host would silently ignore a value of the wrong shape (an object where a string belongs: the .NET
configuration binder leaves the default), devhost refuses it instead, because the default it would run with
is not what the author meant.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

HOST_JSON = "host.json"
SUPPORTED_VERSION = "2.0"
DEFAULT_ROUTE_PREFIX = "api"
HOST_JSON_HELP = "https://aka.ms/functions-hostjson"
MIN_FUNCTION_TIMEOUT = timedelta(seconds=1)
UNBOUNDED_TIMEOUT = "-1"
# Azure Storage names the task hub's tables, queues and containers after it: a letter, then letters or digits,
# 3 to 50 characters in all (the extension's message says 45, its check allows 50).
_HUB_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,49}")
_HUB_NAME_MIN, _HUB_NAME_MAX = 3, 45
# .NET TimeSpan.Parse: [-][d.]hh:mm[:ss[.fffffff]], or a whole number of days.
_TIMESPAN = re.compile(
    r"\s*(?P<sign>-)?(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{1,2})"
    r"(?::(?P<seconds>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?\s*"
)
_TIMESPAN_DAYS = re.compile(r"\s*(?P<sign>-)?(?P<days>\d+)\s*")
_APP_SETTING = re.compile(r"%([^%]+)%")


class HostConfigError(ValueError):
    """``host.json`` would stop the Functions host; the message names the file and what is wrong."""


@dataclass(frozen=True)
class HostConfig:
    """What devhost takes from ``host.json`` (defaults when the file is absent)."""

    path: Path | None = None
    document: dict[str, Any] = field(default_factory=lambda: {"version": SUPPORTED_VERSION})
    route_prefix: str = DEFAULT_ROUTE_PREFIX
    function_timeout: timedelta | None = None  # None: the host's default; unbounded with "-1"
    hub_name: str | None = None


def load_host_config(app_dir: Path | None) -> HostConfig:
    """Read and check ``host.json`` in ``app_dir``; raise ``HostConfigError`` where the host would refuse it.

    A missing file gives the defaults (the host writes ``{"version": "2.0"}`` and carries on).
    """
    if app_dir is None:
        return HostConfig()
    path = app_dir / HOST_JSON
    if not path.is_file():
        return HostConfig()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise HostConfigError(f"Unable to parse host configuration file '{path}'. ({error})") from error
    return parse_host_json(text, path)


def parse_host_json(text: str, path: Path) -> HostConfig:
    """Check the text of ``host.json`` (at ``path``, for the messages) and return what devhost uses."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise HostConfigError(f"Unable to parse host configuration file '{path}'. ({error})") from error
    if not isinstance(document, dict):
        raise HostConfigError(
            f"Unable to parse host configuration file '{path}'. (the top level must be a JSON object, "
            f"not {_json_kind(document)})"
        )
    if not document:
        # The host writes the default file over an empty object and starts.
        return HostConfig(path=path)
    _check_version(document.get("version"), path)
    function_timeout = _function_timeout(document.get("functionTimeout"), path)
    extensions = _section(document, "extensions", path)
    http = _section(extensions, "http", path, parent="extensions")
    route_prefix = _string(http, "routePrefix", path, parent="extensions.http")
    durable = _section(extensions, "durableTask", path, parent="extensions")
    hub_name = _string(durable, "hubName", path, parent="extensions.durableTask")
    if hub_name is not None:
        hub_name = _resolve_app_setting(hub_name)
        _check_hub_name(hub_name, path)
    return HostConfig(
        path=path,
        document=document,
        route_prefix=(route_prefix if route_prefix is not None else DEFAULT_ROUTE_PREFIX).strip("/"),
        function_timeout=function_timeout,
        hub_name=hub_name,
    )


def _check_version(value: Any, path: Path) -> None:
    version = _dotnet_text(value)
    if not version:
        raise HostConfigError(
            f"The {HOST_JSON} file is missing the required 'version' property. See {HOST_JSON_HELP} for "
            f"steps to migrate the configuration file. ({path})"
        )
    if version != SUPPORTED_VERSION:
        message = (
            f"'{version}' is an invalid value for {HOST_JSON} 'version' property. We recommend you set the "
            f"'version' property to '{SUPPORTED_VERSION}'. "
        )
        if version.lower().startswith("3"):
            message += (
                "This does not correspond to the function runtime version, only to the schema version of "
                f"the {HOST_JSON} file. "
            )
        message += f"See {HOST_JSON_HELP} for more information on this configuration file. ({path})"
        raise HostConfigError(message)


def _function_timeout(value: Any, path: Path) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise HostConfigError(
            f"{path}: 'functionTimeout' must be a TimeSpan such as \"00:10:00\", not {_json_kind(value)}"
        )
    text = _dotnet_text(value)
    if text.strip() == UNBOUNDED_TIMEOUT:
        return None
    timeout = parse_timespan(text)
    if timeout is None:
        raise HostConfigError(
            "Failed to convert configuration value at 'AzureFunctionsJobHost:functionTimeout' to type "
            f"'System.TimeSpan'. ({path}: {text!r} is not a TimeSpan such as \"00:10:00\")"
        )
    if timeout < MIN_FUNCTION_TIMEOUT:
        raise HostConfigError(
            f"FunctionTimeout must be greater than 00:00:01 and less than 10675199.02:48:05.4775807. "
            f"({path}: functionTimeout is {text!r})"
        )
    return timeout


def parse_timespan(text: str) -> timedelta | None:
    """Parse a .NET ``TimeSpan`` (``[-][d.]hh:mm[:ss[.fffffff]]`` or whole days); ``None`` when invalid."""
    days_only = _TIMESPAN_DAYS.fullmatch(text)
    if days_only is not None:
        days = int(days_only["days"])
        return -timedelta(days=days) if days_only["sign"] else timedelta(days=days)
    found = _TIMESPAN.fullmatch(text)
    if found is None:
        return None
    hours, minutes = int(found["hours"]), int(found["minutes"])
    seconds = int(found["seconds"] or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    fraction = found["fraction"] or ""
    value = timedelta(
        days=int(found["days"] or 0),
        hours=hours,
        minutes=minutes,
        seconds=seconds,
        microseconds=int(fraction.ljust(7, "0")[:6]) if fraction else 0,
    )
    return -value if found["sign"] else value


def _section(document: dict[str, Any], key: str, path: Path, *, parent: str = "") -> dict[str, Any]:
    value = document.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        where = f"{parent}.{key}" if parent else key
        raise HostConfigError(f"{path}: '{where}' must be a JSON object, not {_json_kind(value)}")
    return value


def _string(section: dict[str, Any], key: str, path: Path, *, parent: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise HostConfigError(f"{path}: '{parent}.{key}' must be a string, not {_json_kind(value)}")
    return _dotnet_text(value)


def _check_hub_name(hub_name: str, path: Path) -> None:
    if _HUB_NAME.fullmatch(hub_name) is None:
        raise HostConfigError(
            f"Task hub name '{hub_name}' should contain only alphanumeric characters, start with a letter, "
            f"and have length between {_HUB_NAME_MIN} and {_HUB_NAME_MAX}. ({path}: "
            "extensions.durableTask.hubName)"
        )


def _resolve_app_setting(value: str) -> str:
    # "%Name%" binds to the app setting Name, as every host.json string value may.
    return _APP_SETTING.sub(lambda found: os.environ.get(found.group(1), found.group(0)), value)


def _dotnet_text(value: Any) -> str:
    """Return the text the .NET configuration binder sees for a JSON scalar (it stores values as text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return "a string"
