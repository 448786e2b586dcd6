"""``DurableTaskSettings`` from host.json.

Also the storage provider's timer limits handed to the SDK with every episode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from devhost.engine.versioning import (
    VERSION_FAILURE_REJECT,
    VERSION_FAILURE_STRATEGIES,
    VERSION_MATCH_CURRENT_OR_OLDER,
    VERSION_MATCH_NONE,
    VERSION_MATCH_STRATEGIES,
    VERSION_MATCH_STRICT,
    compare_versions,
)

# What the Durable extension hands out-of-process SDKs with every episode (its orchestration trigger binding):
# ``upperSchemaVersion`` V2 for SDKs that predate V3, ``upperSchemaVersionNew`` V3, and the storage provider's
# timer limits. With the Azure Storage provider (the default) a durable timer may be at most 6 days away
# (``MaximumDelayTime``) and longer waits are chained in 3-day intervals (``LongRunningTimerIntervalLength``);
# SDK 1.7 splits a longer ``create_timer`` itself when it receives both values. Other providers (Durable Task
# Scheduler, MSSQL, Netherite) leave both at zero, so the SDK makes one timer.
SCHEMA_V2 = 1
SCHEMA_V3 = 2
AZURE_STORAGE_MAXIMUM_SHORT_TIMER = timedelta(days=6)
AZURE_STORAGE_LONG_TIMER_INTERVAL = timedelta(days=3)
AZURE_STORAGE_PROVIDER = "azurestorage"
MAX_MESSAGES_PER_EPISODE = 1000


def _timespan(span: timedelta) -> str:
    """Format ``span`` as .NET's ``TimeSpan.ToString("c")`` does (``[-][d.]hh:mm:ss[.fffffff]``)."""
    micros = span // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    days, rest = divmod(abs(micros), 86_400_000_000)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    text = f"{sign}{f'{days}.' if days else ''}{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{text}.{fraction * 10:07d}" if fraction else text


def _enum_setting(value: Any, choices: tuple[str, ...]) -> str | None:
    # .NET binds enum settings by name, ignoring case.
    if value is None:
        return None
    wanted = str(value).strip().lower()
    return next((choice for choice in choices if choice.lower() == wanted), None)


def _get_ignoring_case(section: Any, key: str) -> Any:
    # The host binds host.json to its options case-insensitively.
    if not isinstance(section, dict):
        return None
    lowered = key.lower()
    return next((value for name, value in section.items() if str(name).lower() == lowered), None)


@dataclass
class DurableTaskSettings:
    """What the engine takes from ``host.json`` ``extensions.durableTask``, with the extension's defaults.

    ``default_version`` is ``defaultVersion``: the version of every new orchestration and sub-orchestration
    started without an explicit one (the extension's ``DefaultVersion`` is the empty string). The timer limits
    are those of the storage provider named by ``storageProvider.type`` (Azure Storage when absent); the host
    has no setting for them, but tests may change them here.
    """

    default_version: str = ""
    maximum_short_timer: timedelta = AZURE_STORAGE_MAXIMUM_SHORT_TIMER
    long_timer_interval: timedelta = AZURE_STORAGE_LONG_TIMER_INTERVAL
    # With a default version, the host runs only orchestrations whose version matches it: None (any),
    # Strict (equal) or CurrentOrOlder (not newer, the default); others are rejected (their work waits for a
    # host that matches) or, with versionFailureStrategy Fail, failed.
    version_match_strategy: str = VERSION_MATCH_CURRENT_OR_OLDER
    version_failure_strategy: str = VERSION_FAILURE_REJECT

    @classmethod
    def from_host_json(cls, app_dir: Path | None) -> DurableTaskSettings:
        """Read ``host.json`` in ``app_dir``; a missing or unreadable file gives the defaults."""
        if app_dir is None:
            return cls()
        try:
            document = json.loads((app_dir / "host.json").read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            # An invalid host.json is refused when the app is loaded; the engine only reads what it needs.
            return cls()
        section = _get_ignoring_case(_get_ignoring_case(document, "extensions"), "durableTask")
        version = _get_ignoring_case(section, "defaultVersion")
        provider = _get_ignoring_case(_get_ignoring_case(section, "storageProvider"), "type")
        settings = cls(
            default_version="" if version is None else str(version),
            version_match_strategy=_enum_setting(
                _get_ignoring_case(section, "versionMatchStrategy"), VERSION_MATCH_STRATEGIES
            )
            or VERSION_MATCH_CURRENT_OR_OLDER,
            version_failure_strategy=_enum_setting(
                _get_ignoring_case(section, "versionFailureStrategy"), VERSION_FAILURE_STRATEGIES
            )
            or VERSION_FAILURE_REJECT,
        )
        if provider is not None and str(provider).replace("_", "").lower() != AZURE_STORAGE_PROVIDER:
            settings.maximum_short_timer = timedelta(0)
            settings.long_timer_interval = timedelta(0)
        return settings

    def version_verdict(self, version: str) -> str | None:
        """Return None when this host runs an orchestration of ``version``, else the failure strategy."""
        if not self.default_version or self.version_match_strategy == VERSION_MATCH_NONE:
            return None
        if self.version_match_strategy == VERSION_MATCH_STRICT:
            matches = version == self.default_version
        else:
            matches = compare_versions(version, self.default_version) <= 0
        return None if matches else self.version_failure_strategy

    def context_fields(self) -> str:
        """Return the tail of an episode's context JSON: replay schema and timer limits, as the host sends."""
        return (
            f',"upperSchemaVersion":{SCHEMA_V2},"upperSchemaVersionNew":{SCHEMA_V3}'
            f',"longRunningTimerIntervalDuration":"{_timespan(self.long_timer_interval)}"'
            f',"maximumShortTimerDuration":"{_timespan(self.maximum_short_timer)}"}}'
        )
