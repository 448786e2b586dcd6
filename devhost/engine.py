"""The embedded Durable Task engine: drives the SDK's own orchestrator replay over a crash-safe SQLite store.

How an orchestration runs here, and why:

- Every instance has an inbox. A dispatch *round* takes every instance with runnable messages, replays each
  once (an *episode*) with all its ready messages appended as new history events (completions that are ready
  together are replayed together, as the real host batches queue messages), and commits the whole round in one
  SQLite transaction (group commit). Side effects (activity work, timers, futures of API callers) are released
  only after that commit, so a crash at any moment loses nothing that was acknowledged and repeats only work
  that was in flight (at-least-once, as on Azure).
- The SDK returns *all* actions of the execution on every replay. Actions beyond the ones already in history
  are new; each one that is not an external-event wait takes the next task id, which is exactly how the SDK
  numbers its tasks (``_sequence_number``). The engine writes the scheduling event (``TaskScheduled``,
  ``TimerCreated``, ...) with that id as ``EventId``; completions reference it as ``TaskScheduledId`` or
  ``TimerId``.
- Retries are the host's job: after a ``TaskFailed`` of a with-retry task the SDK expects a timer and then a
  fresh ``TaskScheduled``, both with ids it takes from the same counter while processing the failure or the
  timer. Those events never resume user code, so the engine places them last in an episode's batch; the ids
  they take then follow the ids of the episode's new actions, and the engine can assign the same ones.
- Replaying an action list that disagrees with history (another activity name, another kind of task) is
  reported as a non-deterministic orchestration: the instance fails with that reason; the engine carries on.
- A round that fails as a whole (or whose commit fails) is void: memory is rebuilt from the store's last
  committed state, every caller of the round gets ``RoundFailedError`` and may send the request again, and
  work whose result was lost runs again. If the store cannot be read back, the engine stops serving and
  says so (``EngineUnavailableError``) rather than leave anyone waiting. ``FAULT_POINTS`` name the windows
  where tests make a round fail on purpose.
- As Azure's host does, the engine stamps host.json's ``defaultVersion`` on new instances, runs only the
  versions its versioning rules allow, pages instance queries (100 per page, ``x-ms-continuation-token``)
  and hands the SDK the Azure Storage timer limits, so long timers are chained as on Azure.

Performance, since every episode replays the whole history (Python has no extended sessions):

- Rounds are pipelined: round N+1 is replayed on the event loop while round N is fsynced in the store thread;
  callers (and waiters) hear back only after their round is durable.
- The SDK is handed only the history events its replay reads (``_IGNORED_BY_SDK`` lists the rest); parsing
  an event's timestamp is most of the SDK's replay cost, so a chain step costs two parsed events, not four.
  The stored history and the status API keep every event.
- Async activities run inline on the loop; sync ones in a thread pool, as the Python worker runs them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import heapq
import inspect
import itertools
import json
import logging
import time
import traceback
import uuid
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from azure.functions._durable_functions import df_dumps, df_loads

from devhost.clock import Clock
from devhost.functions import FunctionIndex
from devhost.store import Batch, InstanceRow, Store

logger = logging.getLogger("devhost.engine")

# History event types (DurableTask's EventType numbering, as the SDK's HistoryEventType).
EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_FAILED = 2
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16
GENERIC_EVENT = 17
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20

EVENT_TYPE_NAMES = {
    0: "ExecutionStarted",
    1: "ExecutionCompleted",
    2: "ExecutionFailed",
    3: "ExecutionTerminated",
    4: "TaskScheduled",
    5: "TaskCompleted",
    6: "TaskFailed",
    7: "SubOrchestrationInstanceCreated",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
    10: "TimerCreated",
    11: "TimerFired",
    12: "OrchestratorStarted",
    13: "OrchestratorCompleted",
    14: "EventSent",
    15: "EventRaised",
    16: "ContinueAsNew",
    17: "GenericEvent",
    18: "HistoryState",
    19: "ExecutionSuspended",
    20: "ExecutionResumed",
}

# Action types of the out-of-process protocol.
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW_ACTION = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12
ACTION_NAMES = {
    0: "CallActivity",
    1: "CallActivityWithRetry",
    2: "CallSubOrchestrator",
    3: "CallSubOrchestratorWithRetry",
    4: "ContinueAsNew",
    5: "CreateTimer",
    6: "WaitForExternalEvent",
    7: "CallEntity",
    8: "CallHttp",
    9: "SignalEntity",
}

PENDING, RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, TERMINATED, SUSPENDED = (
    "Pending",
    "Running",
    "Completed",
    "ContinuedAsNew",
    "Failed",
    "Terminated",
    "Suspended",
)
TERMINAL_STATUSES = frozenset({COMPLETED, FAILED, TERMINATED})
RUNTIME_STATUSES = (PENDING, RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, TERMINATED, SUSPENDED)

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
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
VERSION_MATCH_NONE = "None"
VERSION_MATCH_STRICT = "Strict"
VERSION_MATCH_CURRENT_OR_OLDER = "CurrentOrOlder"
VERSION_MATCH_STRATEGIES = (VERSION_MATCH_NONE, VERSION_MATCH_STRICT, VERSION_MATCH_CURRENT_OR_OLDER)
VERSION_FAILURE_REJECT = "Reject"
VERSION_FAILURE_FAIL = "Fail"
VERSION_FAILURE_STRATEGIES = (VERSION_FAILURE_REJECT, VERSION_FAILURE_FAIL)
# The Durable Task Framework's words when an orchestration's version fails the host's versioning rules.
VERSION_MISMATCH_REASON = "Orchestration version did not comply with Worker Versioning"
DEFAULT_PAGE_SIZE = 100
MAXIMUM_PAGE_SIZE = 1000
MAX_MESSAGES_PER_EPISODE = 1000
LARGE_PAYLOAD_BYTES = 64 * 1024
ENTITY_RESPONSE_PREFIX = "@response:"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_UNPLAYED_PREFIX = '{"IsPlayed": false'
_PLAYED_PREFIX = '{"IsPlayed": true'


class EngineError(Exception):
    """Base of the errors the engine reports to API callers; ``status`` is the HTTP status that fits."""

    status = 400


class InstanceNotFoundError(EngineError):
    """No instance with that id."""

    status = 404


class InstanceGoneError(EngineError):
    """The instance already completed, failed or was terminated."""

    status = 410


class InstanceExistsError(EngineError):
    """An instance with that id is still running (Azure refuses to start it again)."""

    status = 409


class UnknownFunctionError(EngineError):
    """No function of the required trigger type with that name."""

    status = 404


class NotSupportedError(EngineError):
    """An operation devhost does not implement."""

    status = 501


class RoundFailedError(EngineError):
    """The round that carried a caller's change failed; nothing of it was kept and it may be sent again."""

    status = 503


class EngineUnavailableError(EngineError):
    """The engine stopped serving: a change failed and the store could not be read back."""

    status = 503


# Named windows where a round can fail half-way, for tests that force a failure at the exact point
# (``Engine.fault_hook`` is called with the name and may raise):
FAULT_ROUND_AFTER_COMMANDS = "round.after_commands"  # API commands have changed memory, no episode ran yet
FAULT_ROUND_AFTER_EPISODES = "round.after_episodes"  # every episode of the round has changed memory
FAULT_COMMIT = "store.commit"  # inside the round's transaction, after its first writes, before COMMIT
FAULT_RELOAD = "engine.reload"  # reading the store back after a failed round
FAULT_POINTS = (FAULT_ROUND_AFTER_COMMANDS, FAULT_ROUND_AFTER_EPISODES, FAULT_COMMIT, FAULT_RELOAD)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def _status_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(event_type: int, event_id: int, timestamp: str, **fields: Any) -> dict[str, Any]:
    # IsPlayed first: the played copy of the serialized event is made by swapping this prefix.
    event: dict[str, Any] = {
        "IsPlayed": False,
        "EventType": event_type,
        "EventId": event_id,
        "Timestamp": timestamp,
    }
    event.update(fields)
    return event


def _played(unplayed: str) -> str:
    if unplayed.startswith(_UNPLAYED_PREFIX):
        return _PLAYED_PREFIX + unplayed[len(_UNPLAYED_PREFIX) :]
    event = json.loads(unplayed)
    event["IsPlayed"] = True
    return json.dumps(event)


# Event types the SDK's replay never reads (it parses every event it is given, ~0.1 ms each, mostly the
# timestamp): scheduling events, episode and execution ends, suspension markers. They stay in the stored
# history and the status API; the SDK gets the rest, in order, so one step costs two parsed events, not four.
_IGNORED_BY_SDK = frozenset(
    {
        EXECUTION_COMPLETED,
        EXECUTION_FAILED,
        EXECUTION_TERMINATED,
        TASK_SCHEDULED,
        SUB_ORCHESTRATION_CREATED,
        TIMER_CREATED,
        ORCHESTRATOR_COMPLETED,
        EXECUTION_SUSPENDED,
        EXECUTION_RESUMED,
    }
)
_TYPE_OFFSET = len('{"IsPlayed": true, "EventType": ')


def _replayed_by_sdk(played: str) -> bool:
    if played.startswith('{"IsPlayed": true, "EventType": '):
        kind = int(played[_TYPE_OFFSET : played.index(",", _TYPE_OFFSET)])
    else:
        kind = int(json.loads(played)["EventType"])
    return kind not in _IGNORED_BY_SDK


def _parse_json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _flatten_actions(actions: Any) -> Iterator[dict[str, Any]]:
    for action in actions or []:
        if isinstance(action, list):
            yield from _flatten_actions(action)
        elif isinstance(action, dict):
            if action.get("actionType") in (WHEN_ANY, WHEN_ALL):
                yield from _flatten_actions(action.get("compoundActions"))
            else:
                yield action


def _action_name(action: dict[str, Any]) -> str:
    kind = action.get("actionType")
    if kind == WAIT_FOR_EXTERNAL_EVENT:
        return str(action.get("externalEventName", ""))
    if kind in (CALL_ENTITY, SIGNAL_ENTITY):
        return f"{action.get('instanceId')}:{action.get('operation')}"
    if kind in (CREATE_TIMER, CONTINUE_AS_NEW_ACTION):
        return ""
    return str(action.get("functionName", ""))


def _error_details(error: BaseException) -> str:
    root = error.__cause__ or error
    return "".join(traceback.format_exception(type(root), root, root.__traceback__))


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


def _system_version(text: str) -> tuple[int, ...] | None:
    # System.Version.TryParse: two to four dot-separated non-negative Int32 components.
    parts = text.strip().split(".")
    if not 2 <= len(parts) <= 4 or not all(
        part.strip().isascii() and part.strip().isdigit() for part in parts
    ):
        return None
    numbers = tuple(int(part) for part in parts)
    if any(number > 2**31 - 1 for number in numbers):
        return None
    # An absent build or revision is -1 in .NET, so "1.0" sorts before "1.0.0".
    return numbers + (-1,) * (4 - len(numbers))


def compare_versions(version: str, other: str) -> int:
    """Compare orchestration versions as the Durable Task Framework does (``VersioningSettings``).

    Empty versions are equal and older than any other; two .NET-style versions (``1.0``, ``2.1.3``) compare
    numerically; anything else compares as text, ignoring case. Returns <0, 0 or >0.
    """
    if not version.strip() and not other.strip():
        return 0
    if not version.strip():
        return -1
    if not other.strip():
        return 1
    parsed, parsed_other = _system_version(version), _system_version(other)
    if parsed is not None and parsed_other is not None:
        return (parsed > parsed_other) - (parsed < parsed_other)
    folded, folded_other = version.upper(), other.upper()
    return (folded > folded_other) - (folded < folded_other)


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


@dataclass
class RetryGroup:
    """Host-side state of one with-retry task (the SDK's ``RetryOptions``: first interval, max attempts)."""

    kind: int
    name: str
    input: str | None
    max_attempts: int
    interval_ms: int
    attempts: int
    current_id: int
    timer_id: int | None = None
    sub_instance_id: str | None = None
    # A sub-orchestration's version, stamped again on every attempt (absent from state persisted before it).
    version: str | None = None

    def to_json(self) -> list[Any]:
        """Compact persisted form."""
        return [
            self.kind,
            self.name,
            self.input,
            self.max_attempts,
            self.interval_ms,
            self.attempts,
            self.current_id,
            self.timer_id,
            self.sub_instance_id,
            self.version,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> RetryGroup:
        """Inverse of ``to_json``."""
        return cls(*data)


@dataclass
class Message:
    """One inbox message: a history event for an orchestration, or an operation for an entity."""

    msg_id: int
    body: dict[str, Any]


@dataclass
class Instance:
    """Live state of one orchestration instance (the store holds the same, as of the last commit)."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    input: str | None
    created: float
    updated: float
    output: str | None = None
    custom_status: str | None = None
    parent: dict[str, Any] | None = None
    # The version its ExecutionStarted carries (kept here so each episode need not parse history for it).
    version: str = ""
    history: list[str] = field(default_factory=list)
    replay_history: list[str] = field(default_factory=list)
    completed_ids: set[int] = field(default_factory=set)
    next_id: int = 0
    actions: list[list[Any]] = field(default_factory=list)
    retries: dict[int, RetryGroup] = field(default_factory=dict)
    attempt_index: dict[int, int] = field(default_factory=dict)
    timer_index: dict[int, int] = field(default_factory=dict)
    timers: dict[int, str] = field(default_factory=dict)
    inbox: list[Message] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        """Completed, failed or terminated."""
        return self.status in TERMINAL_STATUSES

    def engine_state_json(self) -> str:
        """Serialize the bookkeeping history alone does not tell (task-id counter, actions, retries)."""
        return json.dumps(
            {
                "next_id": self.next_id,
                "actions": self.actions,
                "retries": {str(k): v.to_json() for k, v in self.retries.items()},
                "timers": {str(k): v for k, v in self.timers.items()},
            },
            separators=(",", ":"),
        )

    def load_engine_state(self, text: str | None) -> None:
        """Inverse of ``engine_state_json``."""
        data = json.loads(text) if text else {}
        self.next_id = int(data.get("next_id", 0))
        self.actions = list(data.get("actions", []))
        self.retries = {int(k): RetryGroup.from_json(v) for k, v in data.get("retries", {}).items()}
        self.timers = {int(k): str(v) for k, v in data.get("timers", {}).items()}
        self.attempt_index = {}
        self.timer_index = {}
        for first, group in self.retries.items():
            self.attempt_index[group.current_id] = first
            if group.timer_id is not None:
                self.timer_index[group.timer_id] = first

    def row(self) -> InstanceRow:
        """Return the instance's row in the store."""
        return (
            self.instance_id,
            self.name,
            self.execution_id,
            self.status,
            self.input,
            self.output,
            self.custom_status,
            self.created,
            self.updated,
            json.dumps(self.parent) if self.parent else None,
            None if self.status in (COMPLETED, TERMINATED) else self.engine_state_json(),
        )


@dataclass
class EntityRecord:
    """Live state of one entity (``@name@key``)."""

    entity_id: str
    name: str
    key: str
    state: str | None = None
    exists: bool = False
    updated: float = 0.0
    inbox: list[Message] = field(default_factory=list)

    def row(self) -> tuple[str, str, str, str | None, int, float]:
        """Return the entity's row in the store."""
        return (self.entity_id, self.name, self.key, self.state, int(self.exists), self.updated)


@dataclass
class WorkItem:
    """One activity invocation to run (at least once)."""

    work_id: str
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None

    def to_json(self) -> str:
        """Serialize for the store."""
        return json.dumps([self.instance_id, self.execution_id, self.task_id, self.name, self.input])

    @classmethod
    def from_json(cls, work_id: str, text: str) -> WorkItem:
        """Inverse of ``to_json``."""
        instance_id, execution_id, task_id, name, input_ = json.loads(text)
        return cls(work_id, instance_id, execution_id, int(task_id), name, input_)


@dataclass
class _Effects:
    """What a round releases after its commit."""

    work: list[WorkItem] = field(default_factory=list)
    timers: list[tuple[float, str, str, str, int]] = field(default_factory=list)
    futures: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = field(default_factory=list)


Command = Callable[[Batch, _Effects], Any]


class Engine:
    """An embedded Durable Functions backend for one indexed app.

    The host sets ``base_url`` (and, when keys are required, ``system_key`` and ``rpc_token``) before
    ``start()``. Tests may set ``activity_overrides`` (name -> callable taking the decoded input) to replace
    activities with fakes.
    """

    def __init__(
        self,
        index: FunctionIndex,
        data_dir: Path,
        *,
        clock: Clock,
        task_hub: str = "DevHostHub",
        durable: bool = True,
    ) -> None:
        self.index = index
        self.data_dir = data_dir
        self.clock = clock
        self.task_hub = task_hub
        self.durable = durable
        self.durable_settings = DurableTaskSettings.from_host_json(
            index.app_path.parent if index.app_path else None
        )
        self.base_url: str | None = None
        self.system_key: str | None = None
        # When keys are required, client bindings reach the API through ``/rpc/{rpc_token}/`` under the
        # webhook prefix: the SDK's client cannot add ``code=`` to the URLs it builds from ``rpcBaseUrl``, so
        # that path plays the part of the Functions host's loopback-only RPC endpoint and is never printed.
        self.rpc_token: str | None = None
        self.activity_overrides: dict[str, Callable[..., Any]] = {}
        # Tests turn this off while they arrange events, so a timer is not skipped before they get to it.
        self.skip_timers_when_idle = True
        # Real seconds the engine must stay quiet (no command, completion or timer) before a timer is skipped
        # to. With 0 a timer is skipped the moment nothing is runnable; a host that waits for callbacks from
        # outside (a phone call service posting back, an Event Grid push) needs a short grace, or the deadline
        # that guards the wait fires before the callback lands.
        self.skip_timers_quiet_seconds = 0.0
        self._last_signal = time.monotonic()
        self._store: Store | None = None
        self._instances: dict[str, Instance] = {}
        self._entities: dict[str, EntityRecord] = {}
        self._ready: dict[str, None] = {}
        self._commands: list[tuple[Command, asyncio.Future[Any]]] = []
        self._completions: list[tuple[WorkItem, dict[str, Any]]] = []
        self._due_timers: list[tuple[str, str, str, int, float]] = []
        self._recovered_work: list[WorkItem] = []
        self._timer_heap: list[tuple[float, str]] = []
        self._timer_bodies: dict[str, tuple[float, str, str, int]] = {}
        self._msg_ids = itertools.count(1)
        self._in_flight = 0
        self._pending_commit: tuple[asyncio.Future[None], _Effects] | None = None
        self._running = False
        self._wake: asyncio.Event | None = None
        self._timer_wake: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._activity_tasks: set[asyncio.Future[Any]] = set()
        self._db_executor: ThreadPoolExecutor | None = None
        self._activity_pool: ThreadPoolExecutor | None = None
        self._running_work: set[str] = set()
        # Set once the engine cannot go on (a failed commit whose store could not be read back).
        self._failure: EngineUnavailableError | None = None
        # Tests fail the engine at a named window (FAULT_POINTS) by making this raise; None in normal use.
        self.fault_hook: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Recover persisted state and start dispatching, timers and activity workers."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._db_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devhost-store")
        self._activity_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="devhost-activity")
        self._store = await self._loop.run_in_executor(
            self._db_executor, partial(Store, self.data_dir, durable=self.durable)
        )
        self._store.fault_hook = self._fault_point
        await self._loop.run_in_executor(self._db_executor, self._recover)
        self._running = True
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="devhost-dispatch"),
            asyncio.create_task(self._timer_loop(), name="devhost-timers"),
        ]
        self._wake.set()

    async def stop(self) -> None:
        """Stop cleanly; in-flight work stays persisted and resumes on the next start."""
        self._running = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for pending in list(self._activity_tasks):
            pending.cancel()
        if self._activity_pool is not None:
            self._activity_pool.shutdown(wait=False, cancel_futures=True)
        if self._store is not None and self._db_executor is not None and self._loop is not None:
            await self._loop.run_in_executor(self._db_executor, self._store.close)
        if self._db_executor is not None:
            self._db_executor.shutdown(wait=True)
        self._store = None

    def _recover(self) -> None:
        store = self._require_store()
        rows = store.load_instances()
        histories = store.load_histories(row[0] for row in rows)
        for row in rows:
            (
                instance_id,
                name,
                execution_id,
                status,
                input_,
                output,
                custom,
                created,
                updated,
                parent,
                state,
            ) = row
            instance = Instance(
                instance_id=instance_id,
                name=name,
                execution_id=execution_id,
                status=status,
                input=input_,
                created=created,
                updated=updated,
                output=output,
                custom_status=custom,
                parent=json.loads(parent) if parent else None,
            )
            instance.history = histories.get(instance_id, [])
            instance.replay_history = [text for text in instance.history if _replayed_by_sdk(text)]
            if status not in (COMPLETED, TERMINATED):
                instance.load_engine_state(state)
                for text in instance.history:
                    event = json.loads(text)
                    if event.get("EventType") == EXECUTION_STARTED:
                        instance.version = str(event.get("Version") or "")
                    completed = self._completion_key(event)
                    if completed is not None:
                        instance.completed_ids.add(completed)
            self._instances[instance_id] = instance
        for entity_id, name, key, state_text, present, updated in store.load_entities():
            self._entities[entity_id] = EntityRecord(entity_id, name, key, state_text, bool(present), updated)
        last_msg = 0
        for msg_id, target, body in store.load_inbox():
            last_msg = max(last_msg, msg_id)
            message = Message(msg_id, json.loads(body))
            if target.startswith("@"):
                entity = self._entity(target)
                entity.inbox.append(message)
                self._ready[target] = None
            elif target in self._instances:
                instance = self._instances[target]
                event = message.body.get("event") or {}
                if event.get("EventType") == EXECUTION_STARTED and not instance.history:
                    instance.version = str(event.get("Version") or "")
                instance.inbox.append(message)
                self._mark_ready(instance)
        self._msg_ids = itertools.count(last_msg + 1)
        for timer_key, _instance_id, fire_at, body in store.load_timers():
            instance_id, execution_id, timer_id = json.loads(body)
            self._arm_timer(fire_at, timer_key, instance_id, execution_id, int(timer_id))
        self._recovered_work = [WorkItem.from_json(work_id, body) for work_id, body in store.load_work()]

    def _require_store(self) -> Store:
        if self._store is None:
            raise RuntimeError("engine is not started")
        return self._store

    # ------------------------------------------------------------------ client binding

    def client_binding(self) -> str:
        """Return the JSON string a ``durableClient`` binding parameter receives."""
        base = (self.base_url or "http://127.0.0.1:7071").rstrip("/")
        webhooks = f"{base}/runtime/webhooks/durabletask"
        query = f"taskHub={self.task_hub}&connection=Storage"
        if self.system_key:
            query += f"&code={self.system_key}"
        instance = f"{webhooks}/instances/INSTANCEID"
        management = {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        }
        creation = {
            "createNewInstancePostUri": f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
            "createAndWaitOnNewInstancePostUri": (
                f"{webhooks}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}&{query}"
            ),
        }
        required = f"code={self.system_key}" if self.system_key else ""
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": creation,
                "managementUrls": management,
                "baseUrl": webhooks,
                "requiredQueryStringParameters": required,
                "rpcBaseUrl": f"{webhooks}/rpc/{self.rpc_token}/" if self.rpc_token else f"{webhooks}/",
                "httpBaseUrl": webhooks,
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    # ------------------------------------------------------------------ dispatch machinery

    def _signal(self) -> None:
        self._last_signal = time.monotonic()
        if self._wake is not None:
            self._wake.set()

    def _mark_ready(self, instance: Instance) -> None:
        if instance.inbox and instance.status != SUSPENDED and not instance.terminal:
            self._ready[instance.instance_id] = None

    def _has_runnable(self) -> bool:
        return bool(self._ready or self._commands or self._completions or self._due_timers)

    def _is_idle(self) -> bool:
        return not self._has_runnable() and self._in_flight == 0 and self._pending_commit is None

    async def _dispatch_loop(self) -> None:
        assert self._wake is not None
        if self._recovered_work:
            self._start_recovered_work()
        while self._running:
            if not self._has_runnable():
                if self._pending_commit is not None:
                    # Keep going as soon as new work arrives (an inline activity completing, say) instead
                    # of waiting for the fsync: the next round is replayed while this one is written.
                    woken: asyncio.Future[Any] = asyncio.ensure_future(self._wake.wait())
                    committed: asyncio.Future[Any] = self._pending_commit[0]
                    await asyncio.wait((woken, committed), return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                    if committed.done():
                        await self._finish_commit()
                    continue
                self._notify_progress()
                await self._wake.wait()
            self._wake.clear()
            if not self._has_runnable():
                continue
            effects = _Effects()
            try:
                batch = self._compute_round(effects)
            except Exception as failure:
                # Per-instance failures are handled inside; a round that fails as a whole has already changed
                # memory (commands ran, messages were taken), so memory goes back to the store's state and
                # every caller of the round hears of the failure.
                logger.exception("a dispatch round failed; going back to the last committed state")
                await self._roll_back(failure, effects)
                continue
            # Work and timers may start before their round is durable: if the commit is lost, the consumed
            # messages are still in the store, the episode runs again and schedules them again
            # (at-least-once), and their completions can only be committed by a later round anyway.
            for item in effects.work:
                self._start_work(item)
            for fire_at, timer_key, instance_id, execution_id, timer_id in effects.timers:
                self._arm_timer(fire_at, timer_key, instance_id, execution_id, timer_id)
            if not await self._finish_commit(effects):
                # This round was computed on top of one that never reached the store: it went with it.
                continue
            assert self._loop is not None
            future = self._loop.run_in_executor(self._db_executor, self._require_store().commit, batch)
            self._pending_commit = (future, effects)

    async def _finish_commit(self, next_round: _Effects | None = None) -> bool:
        """Wait for the pending commit and answer its callers; False when it failed (memory was rolled back).

        ``next_round`` is a round computed on top of the pending one; when the pending commit fails it is
        void as well, and its callers hear of the failure too.
        """
        if self._pending_commit is None:
            return True
        future, effects = self._pending_commit
        try:
            await future
        except Exception as commit_error:
            self._pending_commit = None
            logger.exception("committing a dispatch round failed; going back to the last committed state")
            await self._roll_back(commit_error, effects, *([next_round] if next_round else []))
            return False
        self._pending_commit = None
        # Callers hear back only once their change is durable.
        for waiter, result, command_error in effects.futures:
            if waiter.done():
                continue
            if command_error is not None:
                waiter.set_exception(command_error)
            else:
                waiter.set_result(result)
        self._notify_progress()
        return True

    async def _roll_back(self, cause: BaseException, *voided: _Effects) -> None:
        """Bring memory back to the store's last committed state after a failed round or commit.

        Every caller of a voided round gets ``RoundFailedError`` (nothing of their change was kept). Commands,
        completions and due timers not yet taken into a round stay queued. If the store cannot even be read
        back, the engine stops serving: every caller, now and later, gets ``EngineUnavailableError``.
        """
        failure = RoundFailedError(
            f"devhost could not save this change ({type(cause).__name__}: {cause}); nothing of it was kept "
            "and the engine went back to its last saved state, so the request can be sent again."
        )
        # A round still being written is older than the failure: its callers get its own outcome first.
        await self._finish_commit()
        try:
            # On the loop, blocking it for the read: nothing may look at memory while it is rebuilt, and the
            # store thread is idle now that no commit is pending.
            self._reload()
        except Exception as reload_error:
            self._fail_callers(failure, voided)
            logger.exception("the store cannot be read back; the engine stops serving")
            self._stop_serving(
                EngineUnavailableError(
                    f"devhost's durable engine stopped: a change could not be saved ({cause}) and the store "
                    f"could not be read back ({reload_error}); restart devhost to recover from the store."
                )
            )
            return
        # Callers hear of the failure only once memory is back to the store's state, so a retry sees it.
        self._fail_callers(failure, voided)
        self._start_recovered_work()
        self._signal()
        self._notify_progress()

    @staticmethod
    def _fail_callers(failure: EngineError, voided: tuple[_Effects, ...]) -> None:
        for effects in voided:
            for waiter, _, _ in effects.futures:
                if not waiter.done():
                    waiter.set_exception(failure)

    def _reload(self) -> None:
        self._fault_point(FAULT_RELOAD)
        self._instances = {}
        self._entities = {}
        self._ready = {}
        self._timer_heap = []
        self._timer_bodies = {}
        self._recover()

    def _start_recovered_work(self) -> None:
        work, self._recovered_work = self._recovered_work, []
        for item in work:
            # An activity still running from before a roll-back completes as it is; only lost work restarts.
            if item.work_id not in self._running_work:
                self._start_work(item)

    def _stop_serving(self, failure: EngineUnavailableError) -> None:
        self._failure = failure
        self._running = False
        commands, self._commands = self._commands, []
        for _, waiter in commands:
            if not waiter.done():
                waiter.set_exception(failure)
        if self._wake is not None:
            self._wake.set()
        self._notify_progress()

    def _fault_point(self, name: str) -> None:
        """Let a test fail the engine at the named window (see ``FAULT_POINTS``); a no-op otherwise."""
        if self.fault_hook is not None:
            self.fault_hook(name)

    def _notify_progress(self) -> None:
        if self._progress is not None:
            self._progress.set()
        if self._timer_wake is not None:
            self._timer_wake.set()

    def _compute_round(self, effects: _Effects) -> Batch:
        batch = Batch()
        commands, self._commands = self._commands, []
        for command, waiter in commands:
            try:
                result = command(batch, effects)
                effects.futures.append((waiter, result, None))
            except Exception as error:
                effects.futures.append((waiter, None, error))
        self._fault_point(FAULT_ROUND_AFTER_COMMANDS)
        completions, self._completions = self._completions, []
        for item, event in completions:
            self._route_completion(item, event, batch)
        due, self._due_timers = self._due_timers, []
        for timer_key, instance_id, execution_id, timer_id, fire_at in due:
            self._route_timer(timer_key, instance_id, execution_id, timer_id, fire_at, batch)
        ready, self._ready = list(self._ready), {}
        for target in ready:
            try:
                if target.startswith("@"):
                    self._entity_episode(target, batch)
                else:
                    instance = self._instances.get(target)
                    if instance is not None and instance.inbox:
                        self._orchestration_episode(instance, batch, effects)
            except Exception as failure:
                logger.exception("engine error while running %s", target)
                broken = self._instances.get(target)
                if broken is not None and not broken.terminal:
                    reason = f"devhost engine error: {type(failure).__name__}: {failure}"
                    self._fail(broken, reason, _error_details(failure), [], _iso(self.clock.now()), batch)
                    batch.instances[target] = broken.row()
        self._fault_point(FAULT_ROUND_AFTER_EPISODES)
        return batch

    async def _submit(self, command: Command) -> Any:
        if self._failure is not None:
            raise self._failure
        if not self._running or self._loop is None:
            raise RuntimeError("engine is not running")
        future: asyncio.Future[Any] = self._loop.create_future()
        self._commands.append((command, future))
        self._signal()
        return await future

    def _send(self, target: str, body: dict[str, Any], batch: Batch) -> None:
        msg_id = next(self._msg_ids)
        message = Message(msg_id, body)
        if target.startswith("@"):
            self._entity(target).inbox.append(message)
            self._ready[target] = None
        else:
            instance = self._instances.get(target)
            if instance is None or instance.terminal:
                return
            instance.inbox.append(message)
            self._mark_ready(instance)
        batch.inbox_inserts[msg_id] = (msg_id, target, body)

    # ------------------------------------------------------------------ timers

    def _arm_timer(
        self, fire_at: float, timer_key: str, instance_id: str, execution_id: str, timer_id: int
    ) -> None:
        self._timer_bodies[timer_key] = (fire_at, instance_id, execution_id, timer_id)
        heapq.heappush(self._timer_heap, (fire_at, timer_key))
        if self._timer_wake is not None:
            self._timer_wake.set()

    def _next_timer(self) -> tuple[float, str] | None:
        while self._timer_heap:
            fire_at, key = self._timer_heap[0]
            body = self._timer_bodies.get(key)
            if body is None or body[0] != fire_at:
                heapq.heappop(self._timer_heap)
                continue
            return fire_at, key
        return None

    def pending_timer_count(self) -> int:
        """Durable timers armed and not yet fired."""
        return len(self._timer_bodies)

    # Clock control for people (``devhost.clock_api``); call these on the engine's event loop.

    def next_timer(self) -> tuple[float, str, int] | None:
        """Return ``(fire_at, instance_id, timer_id)`` of the next armed timer, or None."""
        upcoming = self._next_timer()
        if upcoming is None:
            return None
        fire_at, key = upcoming
        _, instance_id, _, timer_id = self._timer_bodies[key]
        return fire_at, instance_id, timer_id

    def due_timer_count(self) -> int:
        """Timers whose time has come and that have not fired into their instance yet."""
        now = self.clock.timestamp()
        return len(self._due_timers) + sum(1 for body in self._timer_bodies.values() if body[0] <= now)

    def advance_clock_to_next_timer(self) -> float | None:
        """Move the clock to the next armed timer, which then fires; returns its time (None: no timer)."""
        upcoming = self._next_timer()
        if upcoming is None:
            return None
        self.advance_clock_to(upcoming[0])
        return upcoming[0]

    def advance_clock_to(self, target: float) -> None:
        """Move the clock forward to ``target`` (POSIX seconds), whatever its mode; due timers fire."""
        self.clock.jump_to(target)
        self._clock_changed()

    def advance_clock_by(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``, whatever its mode; due timers fire."""
        self.clock.jump_by(delta)
        self._clock_changed()

    def set_clock_mode(self, mode: str) -> None:
        """Switch the clock between real and skipping time (see ``Clock.set_mode``)."""
        self.clock.set_mode(mode)
        self._clock_changed()

    def _clock_changed(self) -> None:
        # The timer loop may be sleeping until a timer that is now due, or waiting to skip in another mode.
        if self._timer_wake is not None:
            self._timer_wake.set()

    async def _timer_loop(self) -> None:
        assert self._timer_wake is not None
        while self._running:
            self._timer_wake.clear()
            upcoming = self._next_timer()
            if upcoming is None:
                await self._timer_wake.wait()
                continue
            fire_at, key = upcoming
            if self.clock.timestamp() >= fire_at:
                heapq.heappop(self._timer_heap)
                _, instance_id, execution_id, timer_id = self._timer_bodies.pop(key)
                self._due_timers.append((key, instance_id, execution_id, timer_id, fire_at))
                self._signal()
                continue
            if self.clock.skips and self.skip_timers_when_idle and self._is_idle():
                quiet_left = self.skip_timers_quiet_seconds - (time.monotonic() - self._last_signal)
                if quiet_left > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._timer_wake.wait(), timeout=quiet_left)
                    continue
                self.clock.advance_to(fire_at)
                continue
            delay = self.clock.real_seconds_until(fire_at)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timer_wake.wait(), timeout=min(delay, 60.0))

    def _route_timer(
        self, timer_key: str, instance_id: str, execution_id: str, timer_id: int, fire_at: float, batch: Batch
    ) -> None:
        batch.delete_timer(timer_key)
        instance = self._instances.get(instance_id)
        if instance is None or instance.terminal or instance.execution_id != execution_id:
            return
        if instance.timers.pop(timer_id, None) is None:
            return
        fire_text = _iso(datetime.fromtimestamp(fire_at, UTC))
        event = _event(TIMER_FIRED, -1, _iso(self.clock.now()), TimerId=timer_id, FireAt=fire_text)
        self._send(instance_id, {"execution": execution_id, "event": event}, batch)

    # ------------------------------------------------------------------ activities

    def _start_work(self, item: WorkItem) -> None:
        assert self._loop is not None
        self._in_flight += 1
        self._running_work.add(item.work_id)
        task = self._loop.create_task(self._run_work(item))
        self._activity_tasks.add(task)
        task.add_done_callback(self._activity_tasks.discard)

    async def _run_work(self, item: WorkItem) -> None:
        now = _iso(self.clock.now())
        try:
            result = await self._invoke_activity(item.name, item.input)
            event = _event(TASK_COMPLETED, -1, now, TaskScheduledId=item.task_id, Result=result)
            self._warn_if_large(result, "activity result", item.name, item.instance_id)
        except asyncio.CancelledError:
            self._in_flight -= 1
            self._running_work.discard(item.work_id)
            raise
        except Exception as error:
            reason = f"Activity function '{item.name}' failed: {type(error).__name__}: {error}"
            event = _event(
                TASK_FAILED,
                -1,
                now,
                TaskScheduledId=item.task_id,
                Reason=reason,
                Details=_error_details(error),
            )
        self._in_flight -= 1
        # The result is the engine's from here: a roll-back before it is committed runs the work again.
        self._running_work.discard(item.work_id)
        if self._running:
            self._completions.append((item, event))
            self._signal()

    async def _invoke_activity(self, name: str, input_json: str | None) -> str:
        try:
            decoded = df_loads(input_json) if input_json is not None else None
        except json.JSONDecodeError:
            # The worker's activity trigger converter falls back to the raw string for non-JSON input.
            decoded = input_json
        fake = self._override(name)
        if fake is not None:
            outcome = await self._call_maybe_async(fake, (decoded,), {})
            return str(df_dumps(outcome))
        info = self.index.get(name, "activityTrigger")
        if info is None:
            raise UnknownFunctionError(
                f"The function '{name}' doesn't exist, is disabled, or is not an activity."
            )
        kwargs: dict[str, Any] = {info.trigger_parameter: decoded}
        for client_name in info.binding_names("durableClient"):
            kwargs[client_name] = self.client_binding()
        if _accepts_context(info.user_function) and "context" not in kwargs:
            # The worker passes the invocation context to any function with a parameter named ``context``.
            kwargs["context"] = _InvocationContext(
                uuid.uuid4().hex, info.name, str(self.index.app_path or "")
            )
        outcome = await self._call_maybe_async(info.user_function, (), kwargs)
        return str(df_dumps(outcome))

    def _override(self, name: str) -> Callable[..., Any] | None:
        fake = self.activity_overrides.get(name)
        if fake is None:
            lowered = name.lower()
            fake = next((f for n, f in self.activity_overrides.items() if n.lower() == lowered), None)
        return fake

    async def _call_maybe_async(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        # Async activities run inline on the loop (no thread hop); sync ones in the pool, as the worker does.
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        assert self._loop is not None
        outcome = await self._loop.run_in_executor(self._activity_pool, partial(fn, *args, **kwargs))
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome

    def _route_completion(self, item: WorkItem, event: dict[str, Any], batch: Batch) -> None:
        batch.delete_work(item.work_id)
        instance = self._instances.get(item.instance_id)
        if instance is None or instance.terminal or instance.execution_id != item.execution_id:
            return
        self._send(item.instance_id, {"execution": item.execution_id, "event": event}, batch)

    def _warn_if_large(self, payload: str | None, what: str, function_name: str, instance_id: str) -> None:
        if payload is not None and len(payload) > LARGE_PAYLOAD_BYTES:
            logger.warning(
                "%s of '%s' is %d bytes (instance %s): payloads over 64 KB in history are costly on Azure",
                what,
                function_name,
                len(payload),
                instance_id,
            )

    # ------------------------------------------------------------------ orchestration episodes

    @staticmethod
    def _completion_key(event: dict[str, Any]) -> int | None:
        kind = event.get("EventType")
        if kind in (TASK_COMPLETED, TASK_FAILED, SUB_ORCHESTRATION_COMPLETED, SUB_ORCHESTRATION_FAILED):
            return int(event["TaskScheduledId"])
        if kind == TIMER_FIRED:
            return int(event["TimerId"])
        return None

    def _orchestration_episode(self, instance: Instance, batch: Batch, effects: _Effects) -> None:
        verdict = self.durable_settings.version_verdict(instance.version)
        if verdict == VERSION_FAILURE_REJECT:
            # As the framework abandons such a work item, its messages stay queued for a host whose version
            # matches (devhost started again with another defaultVersion); a new message looks again.
            logger.warning(
                "instance %s has version %r, which this host (defaultVersion %r, versionMatchStrategy %s) "
                "does not run; its work waits for a host whose version matches",
                instance.instance_id,
                instance.version,
                self.durable_settings.default_version,
                self.durable_settings.version_match_strategy,
            )
            return
        messages = instance.inbox[:MAX_MESSAGES_PER_EPISODE]
        del instance.inbox[: len(messages)]
        start: dict[str, Any] | None = None
        normal: list[dict[str, Any]] = []
        late: list[dict[str, Any]] = []
        for message in messages:
            batch.delete_inbox(message.msg_id)
            body = message.body
            execution = body.get("execution")
            if execution is not None and execution != instance.execution_id:
                continue
            event = body["event"]
            kind = event["EventType"]
            if kind == EXECUTION_STARTED:
                if not instance.history and start is None:
                    start = event
                continue
            if not instance.history and start is None:
                # The start message always comes first in an inbox; anything before it is stale.
                continue
            key = self._completion_key(event)
            if key is not None:
                # Dedupe: an activity that ran twice (at-least-once) completes its task only once.
                if key in instance.completed_ids or key >= instance.next_id:
                    continue
                instance.completed_ids.add(key)
                if self._consumes_retry_id(instance, event):
                    late.append(event)
                    continue
                self._settle_retry(instance, event)
            normal.append(event)
        if start is None and not normal and not late:
            return
        self._replay(instance, start, normal, late, batch, effects)

    def _settle_retry(self, instance: Instance, event: dict[str, Any]) -> None:
        """Forget a retry group once its task succeeded or its final failure reached the orchestrator."""
        kind = event["EventType"]
        if kind in (TASK_COMPLETED, SUB_ORCHESTRATION_COMPLETED):
            first = instance.attempt_index.pop(int(event["TaskScheduledId"]), None)
        elif kind == TIMER_FIRED:
            first = instance.timer_index.pop(int(event["TimerId"]), None)
        else:
            return
        if first is not None:
            instance.retries.pop(first, None)

    def _consumes_retry_id(self, instance: Instance, event: dict[str, Any]) -> bool:
        kind = event["EventType"]
        if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
            return int(event["TaskScheduledId"]) in instance.attempt_index
        if kind == TIMER_FIRED:
            first = instance.timer_index.get(int(event["TimerId"]))
            if first is not None:
                group = instance.retries[first]
                return group.attempts < group.max_attempts
        return False

    def _replay(
        self,
        instance: Instance,
        start: dict[str, Any] | None,
        normal: list[dict[str, Any]],
        late: list[dict[str, Any]],
        batch: Batch,
        effects: _Effects,
    ) -> None:
        now = self.clock.now()
        timestamp = _iso(now)
        new_events = [_event(ORCHESTRATOR_STARTED, -1, timestamp)]
        if start is not None:
            new_events.append(start)
            instance.status = RUNNING
        new_events.extend(normal)
        new_events.extend(late)
        new_unplayed = [json.dumps(event) for event in new_events]
        orchestrator = self.index.get(instance.name, "orchestrationTrigger")
        appended: list[str] = [_played(text) for text in new_unplayed]
        state: dict[str, Any] = {}
        error: str | None = None
        details = ""
        if self.durable_settings.version_verdict(instance.version) == VERSION_FAILURE_FAIL:
            instance.updated = now.timestamp()
            self._fail(instance, "", "VersionMismatch", appended, timestamp, batch, VERSION_MISMATCH_REASON)
            batch.instances[instance.instance_id] = instance.row()
            return
        if orchestrator is None:
            error = f"The orchestrator function '{instance.name}' doesn't exist."
        else:
            context = "".join(
                (
                    '{"history":[',
                    ",".join(itertools.chain(instance.replay_history, new_unplayed)),
                    '],"instanceId":',
                    json.dumps(instance.instance_id),
                    ',"isReplaying":',
                    "true" if instance.history else "false",
                    ',"parentInstanceId":',
                    json.dumps(instance.parent["instance_id"] if instance.parent else None),
                    ',"input":',
                    json.dumps(instance.input),
                    self.durable_settings.context_fields(),
                )
            )
            try:
                with warnings.catch_warnings():
                    # The SDK warns on every replay about events raised before their wait, which it
                    # buffers by design (and duplicates never reach it: the engine dedupes completions).
                    warnings.filterwarnings("ignore", message="Potential duplicate Task completion")
                    state = json.loads(orchestrator.user_function(context))
            except Exception as failure:
                message = str(failure)
                head, marker, tail = message.partition(OUT_OF_PROC_MARKER)
                if marker:
                    with contextlib.suppress(ValueError):
                        state = json.loads(tail)
                error = str(state.get("error") or head or type(failure).__name__)
                details = _error_details(failure)
        custom = state.get("customStatus")
        if custom is not None:
            instance.custom_status = json.dumps(custom)
        continue_input: str | None = None
        continued = False
        scheduled: list[dict[str, Any]] = []
        if error is None:
            actions = list(_flatten_actions(state.get("actions")))
            try:
                continued, continue_input = self._apply_actions(
                    instance, actions, scheduled, batch, effects, timestamp
                )
                self._apply_retries(instance, late, scheduled, batch, effects, now)
            except _NonDeterminismError as nondeterminism:
                error = str(nondeterminism)
                details = ""
            except Exception as malformed:
                # Actions the engine cannot apply fail this instance, never the engine.
                logger.exception("cannot apply the actions of %s", instance.instance_id)
                error = f"devhost could not apply the orchestrator's actions: {malformed!r}"
                details = _error_details(malformed)
        scheduled_unplayed = [json.dumps(event) for event in scheduled]
        appended.extend(_played(text) for text in scheduled_unplayed)
        instance.updated = now.timestamp()
        if error is not None:
            self._fail(instance, error, details, appended, timestamp, batch)
        elif continued:
            self._append_history(instance, appended, batch)
            self._continue_as_new(instance, continue_input, batch)
        elif state.get("isDone"):
            output = state.get("output")
            result = json.dumps(output)
            self._warn_if_large(result, "orchestration output", instance.name, instance.instance_id)
            appended.append(
                _played(
                    json.dumps(
                        _event(
                            EXECUTION_COMPLETED, -1, timestamp, OrchestrationStatus=COMPLETED, Result=result
                        )
                    )
                )
            )
            instance.status = COMPLETED
            instance.output = result
            self._append_history(instance, appended, batch)
            self._finish(instance, batch)
            if instance.parent:
                self._notify_parent(
                    instance, _event(SUB_ORCHESTRATION_COMPLETED, -1, timestamp, Result=result), batch
                )
        else:
            self._append_history(instance, appended, batch)
        batch.instances[instance.instance_id] = instance.row()

    def _append_history(self, instance: Instance, events: list[str], batch: Batch) -> None:
        base = len(instance.history)
        instance.history.extend(events)
        instance.replay_history.extend(text for text in events if _replayed_by_sdk(text))
        batch.history.extend((instance.instance_id, base + i, text) for i, text in enumerate(events))

    def _apply_actions(
        self,
        instance: Instance,
        actions: list[dict[str, Any]],
        scheduled: list[dict[str, Any]],
        batch: Batch,
        effects: _Effects,
        timestamp: str,
    ) -> tuple[bool, str | None]:
        known = instance.actions
        for position in range(min(len(actions), len(known))):
            action = actions[position]
            task_id, kind, name = known[position]
            if action.get("actionType") != kind or _action_name(action) != name:
                raise _NonDeterminismError(
                    "Non-Deterministic workflow detected: the orchestrator scheduled "
                    f"{ACTION_NAMES.get(action.get('actionType', -1), '?')} '{_action_name(action)}' as its "
                    f"action #{position}, but its history holds {ACTION_NAMES.get(kind, '?')} '{name}'. "
                    "Orchestrator code must be deterministic."
                )
            if kind == CREATE_TIMER and action.get("isCanceled") and task_id in instance.timers:
                batch.delete_timer(instance.timers.pop(task_id))
                self._timer_bodies.pop(self._timer_key(instance, task_id), None)
        continued = False
        continue_input: str | None = None
        for action in actions[len(known) :]:
            kind = int(action.get("actionType", -1))
            if kind == WAIT_FOR_EXTERNAL_EVENT:
                known.append([-1, kind, _action_name(action)])
                continue
            task_id = instance.next_id
            instance.next_id += 1
            known.append([task_id, kind, _action_name(action)])
            if kind in (CALL_ACTIVITY, CALL_ACTIVITY_WITH_RETRY):
                name = str(action["functionName"])
                input_ = action.get("input")
                self._warn_if_large(input_, "activity input", name, instance.instance_id)
                scheduled.append(_event(TASK_SCHEDULED, task_id, timestamp, Name=name, Input=input_))
                self._schedule_work(instance, task_id, name, input_, batch, effects)
                if kind == CALL_ACTIVITY_WITH_RETRY:
                    self._register_retry(instance, task_id, kind, name, input_, action, None)
            elif kind in (CALL_SUB_ORCHESTRATOR, CALL_SUB_ORCHESTRATOR_WITH_RETRY):
                name = str(action["functionName"])
                input_ = action.get("input")
                child_id = action.get("instanceId") or f"{instance.instance_id}:{task_id:04d}"
                # As on Azure, a child started without a version of its own gets host.json's defaultVersion,
                # not its parent's version.
                version = str(action.get("version") or self.durable_settings.default_version)
                scheduled.append(
                    _event(
                        SUB_ORCHESTRATION_CREATED,
                        task_id,
                        timestamp,
                        Name=name,
                        Input=input_,
                        InstanceId=child_id,
                        Version=version,
                    )
                )
                self._start_child(instance, task_id, name, input_, str(child_id), batch, timestamp, version)
                if kind == CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                    self._register_retry(
                        instance, task_id, kind, name, input_, action, str(action.get("instanceId") or "")
                    )
                    instance.retries[task_id].version = version
            elif kind == CREATE_TIMER:
                fire_at_text = str(action["fireAt"])
                scheduled.append(_event(TIMER_CREATED, task_id, timestamp, FireAt=fire_at_text))
                if not action.get("isCanceled"):
                    fire_at = _parse_fire_at(fire_at_text)
                    self._schedule_timer(instance, task_id, fire_at, batch, effects)
            elif kind in (CALL_ENTITY, SIGNAL_ENTITY):
                target = str(action["instanceId"])
                request_key = f"{instance.instance_id}/{instance.execution_id}/{task_id}"
                request_id = f"{ENTITY_RESPONSE_PREFIX}{uuid.uuid5(uuid.NAMESPACE_URL, request_key)}"
                operation = str(action.get("operation"))
                signal = kind == SIGNAL_ENTITY
                payload = {"id": request_id, "op": operation, "signal": signal, "input": action.get("input")}
                scheduled.append(
                    _event(
                        EVENT_SENT,
                        task_id,
                        timestamp,
                        InstanceId=target,
                        Name="op",
                        Input=json.dumps(payload),
                    )
                )
                self._send(
                    target,
                    {
                        "op": operation,
                        "input": action.get("input"),
                        "id": request_id,
                        "signal": signal,
                        "parent": None if signal else instance.instance_id,
                        "parent_execution": instance.execution_id,
                    },
                    batch,
                )
            elif kind == CONTINUE_AS_NEW_ACTION:
                continued = True
                continue_input = action.get("input")
            elif kind == CALL_HTTP:
                raise _NonDeterminismError("Durable HTTP calls (call_http) are not supported by devhost.")
        return continued, continue_input

    def _register_retry(
        self,
        instance: Instance,
        task_id: int,
        kind: int,
        name: str,
        input_: str | None,
        action: dict[str, Any],
        sub_instance_id: str | None,
    ) -> None:
        options = action.get("retryOptions") or {}
        group = RetryGroup(
            kind=kind,
            name=name,
            input=input_,
            max_attempts=int(options.get("maxNumberOfAttempts", 1)),
            interval_ms=int(options.get("firstRetryIntervalInMilliseconds", 0)),
            attempts=1,
            current_id=task_id,
            sub_instance_id=sub_instance_id or None,
        )
        instance.retries[task_id] = group
        instance.attempt_index[task_id] = task_id

    def _apply_retries(
        self,
        instance: Instance,
        late: list[dict[str, Any]],
        scheduled: list[dict[str, Any]],
        batch: Batch,
        effects: _Effects,
        now: datetime,
    ) -> None:
        timestamp = _iso(now)
        for event in late:
            kind = event["EventType"]
            if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
                first = instance.attempt_index.pop(int(event["TaskScheduledId"]))
                group = instance.retries[first]
                timer_id = instance.next_id
                instance.next_id += 1
                fire_at = now.timestamp() + group.interval_ms / 1000.0
                fire_text = _iso(datetime.fromtimestamp(fire_at, UTC))
                scheduled.append(_event(TIMER_CREATED, timer_id, timestamp, FireAt=fire_text))
                group.timer_id = timer_id
                instance.timer_index[timer_id] = first
                self._schedule_timer(instance, timer_id, fire_at, batch, effects)
            else:
                first = instance.timer_index.pop(int(event["TimerId"]))
                group = instance.retries[first]
                task_id = instance.next_id
                instance.next_id += 1
                group.attempts += 1
                group.current_id = task_id
                group.timer_id = None
                instance.attempt_index[task_id] = first
                if group.kind == CALL_ACTIVITY_WITH_RETRY:
                    scheduled.append(
                        _event(TASK_SCHEDULED, task_id, timestamp, Name=group.name, Input=group.input)
                    )
                    self._schedule_work(instance, task_id, group.name, group.input, batch, effects)
                else:
                    child_id = group.sub_instance_id or f"{instance.instance_id}:{task_id:04d}"
                    version = (
                        group.version if group.version is not None else self.durable_settings.default_version
                    )
                    scheduled.append(
                        _event(
                            SUB_ORCHESTRATION_CREATED,
                            task_id,
                            timestamp,
                            Name=group.name,
                            Input=group.input,
                            InstanceId=child_id,
                            Version=version,
                        )
                    )
                    self._start_child(
                        instance, task_id, group.name, group.input, child_id, batch, timestamp, version
                    )

    def _schedule_work(
        self, instance: Instance, task_id: int, name: str, input_: str | None, batch: Batch, effects: _Effects
    ) -> None:
        work_id = f"{instance.instance_id}\x1f{instance.execution_id}\x1f{task_id}"
        item = WorkItem(work_id, instance.instance_id, instance.execution_id, task_id, name, input_)
        batch.work_inserts[work_id] = (work_id, item.to_json())
        effects.work.append(item)

    def _timer_key(self, instance: Instance, timer_id: int) -> str:
        return f"{instance.instance_id}\x1f{instance.execution_id}\x1f{timer_id}"

    def _schedule_timer(
        self, instance: Instance, timer_id: int, fire_at: float, batch: Batch, effects: _Effects
    ) -> None:
        key = self._timer_key(instance, timer_id)
        instance.timers[timer_id] = key
        body = json.dumps([instance.instance_id, instance.execution_id, timer_id])
        batch.timer_inserts[key] = (key, instance.instance_id, fire_at, body)
        effects.timers.append((fire_at, key, instance.instance_id, instance.execution_id, timer_id))

    def _start_child(
        self,
        parent: Instance,
        task_id: int,
        name: str,
        input_: str | None,
        child_id: str,
        batch: Batch,
        timestamp: str,
        version: str,
    ) -> None:
        existing = self._instances.get(child_id)
        if existing is not None and not existing.terminal:
            failure = _event(
                SUB_ORCHESTRATION_FAILED,
                -1,
                timestamp,
                TaskScheduledId=task_id,
                Reason=f"An orchestration instance with id '{child_id}' is already running.",
                Details="",
            )
            self._send(parent.instance_id, {"execution": parent.execution_id, "event": failure}, batch)
            return
        link = {"instance_id": parent.instance_id, "execution_id": parent.execution_id, "task_id": task_id}
        self._create_instance(child_id, name, input_, batch, parent=link, version=version)

    def _notify_parent(self, instance: Instance, event: dict[str, Any], batch: Batch) -> None:
        assert instance.parent is not None
        event["TaskScheduledId"] = instance.parent["task_id"]
        self._send(
            instance.parent["instance_id"],
            {"execution": instance.parent["execution_id"], "event": event},
            batch,
        )

    def _fail(
        self,
        instance: Instance,
        error: str,
        details: str,
        appended: list[str],
        timestamp: str,
        batch: Batch,
        reason: str | None = None,
    ) -> None:
        reason = reason or f"Orchestrator function '{instance.name}' failed: {error}"
        appended.append(
            _played(
                json.dumps(
                    _event(
                        EXECUTION_FAILED,
                        -1,
                        timestamp,
                        OrchestrationStatus=FAILED,
                        Reason=reason,
                        Details=details,
                    )
                )
            )
        )
        instance.status = FAILED
        instance.output = json.dumps(reason)
        self._append_history(instance, appended, batch)
        # A failed instance keeps its replay bookkeeping: rewind needs it.
        self._finish(instance, batch, keep_bookkeeping=True)
        logger.warning("instance %s failed: %s", instance.instance_id, reason)
        if instance.parent:
            self._notify_parent(
                instance,
                _event(SUB_ORCHESTRATION_FAILED, -1, timestamp, Reason=reason, Details=details),
                batch,
            )

    def _finish(self, instance: Instance, batch: Batch, *, keep_bookkeeping: bool = False) -> None:
        """Release what a finished instance still holds: pending timers, unconsumed messages, bookkeeping."""
        for key in instance.timers.values():
            batch.delete_timer(key)
            self._timer_bodies.pop(key, None)
        instance.timers.clear()
        for message in instance.inbox:
            batch.delete_inbox(message.msg_id)
        instance.inbox.clear()
        if keep_bookkeeping:
            return
        instance.actions = []
        instance.retries.clear()
        instance.attempt_index.clear()
        instance.timer_index.clear()
        instance.completed_ids.clear()

    def _continue_as_new(self, instance: Instance, new_input: str | None, batch: Batch) -> None:
        first = json.loads(instance.history[1]) if len(instance.history) > 1 else {}
        version = str(first.get("Version") or "")
        waits: dict[str, int] = {}
        for _, kind, name in instance.actions:
            if kind == WAIT_FOR_EXTERNAL_EVENT:
                waits[name] = waits.get(name, 0) + 1
        raised: dict[str, list[dict[str, Any]]] = {}
        for text in instance.history:
            if '"EventType": 15,' in text:
                event = json.loads(text)
                name = str(event.get("Name"))
                if not name.startswith(ENTITY_RESPONSE_PREFIX):
                    raised.setdefault(name, []).append(event)
        # Events that arrived but were never waited for carry over to the new execution, oldest first.
        carried = [event for name, events in raised.items() for event in events[waits.get(name, 0) :]]
        pending_events = [m for m in instance.inbox if m.body["event"]["EventType"] == EVENT_RAISED]
        for key in instance.timers.values():
            batch.delete_timer(key)
            self._timer_bodies.pop(key, None)
        for message in instance.inbox:
            batch.delete_inbox(message.msg_id)
        instance.inbox = []
        instance.execution_id = uuid.uuid4().hex
        instance.input = new_input
        instance.status = CONTINUED_AS_NEW
        instance.history = []
        instance.replay_history = []
        instance.completed_ids = set()
        instance.next_id = 0
        instance.actions = []
        instance.retries = {}
        instance.attempt_index = {}
        instance.timer_index = {}
        instance.timers = {}
        batch.history_resets.add(instance.instance_id)
        batch.history = [row for row in batch.history if row[0] != instance.instance_id]
        timestamp = _iso(self.clock.now())
        start = _event(EXECUTION_STARTED, -1, timestamp, Name=instance.name, Input=new_input, Version=version)
        self._send(instance.instance_id, {"execution": instance.execution_id, "event": start}, batch)
        for event in carried:
            event["IsPlayed"] = False
            self._send(instance.instance_id, {"execution": None, "event": event}, batch)
        for message in pending_events:
            self._send(instance.instance_id, message.body, batch)

    # ------------------------------------------------------------------ entities

    def _entity(self, entity_id: str) -> EntityRecord:
        record = self._entities.get(entity_id)
        if record is None:
            name, _, key = entity_id[1:].partition("@")
            record = EntityRecord(entity_id, name, key)
            self._entities[entity_id] = record
        return record

    def _entity_episode(self, entity_id: str, batch: Batch) -> None:
        record = self._entity(entity_id)
        messages = record.inbox[:MAX_MESSAGES_PER_EPISODE]
        del record.inbox[: len(messages)]
        if not messages:
            return
        for message in messages:
            batch.delete_inbox(message.msg_id)
        operations = [m.body for m in messages]
        function = self.index.get(record.name, "entityTrigger")
        results: list[tuple[bool, str]]
        if function is None:
            failure = json.dumps(f"The entity function '{record.name}' doesn't exist.")
            results = [(True, failure)] * len(operations)
        else:
            batch_input = [
                {
                    "name": op["op"],
                    "input": json.dumps(op.get("input")) if op.get("input") is not None else "null",
                }
                for op in operations
            ]
            context = json.dumps(
                {
                    "self": {"name": record.name, "key": record.key},
                    "exists": record.exists,
                    "state": record.state,
                    "batch": batch_input,
                }
            )
            try:
                output = json.loads(function.user_function(context))
                record.exists = bool(output.get("entityExists"))
                state = output.get("entityState")
                record.state = state if record.exists else None
                results = [(bool(r.get("isError")), str(r.get("result"))) for r in output.get("results", [])]
            except Exception as error:
                logger.exception("entity %s failed", entity_id)
                results = [(True, json.dumps(str(error)))] * len(operations)
        record.updated = self.clock.timestamp()
        batch.entities[entity_id] = record.row()
        timestamp = _iso(self.clock.now())
        for operation, (is_error, result) in zip(operations, results, strict=False):
            parent = operation.get("parent")
            if operation.get("signal") or not parent:
                continue
            response: dict[str, Any] = {"result": result}
            if is_error:
                response["exceptionType"] = "Exception"
            event = _event(EVENT_RAISED, -1, timestamp, Name=operation["id"], Input=json.dumps(response))
            self._send(parent, {"execution": operation.get("parent_execution"), "event": event}, batch)

    # ------------------------------------------------------------------ API operations

    def _create_instance(
        self,
        instance_id: str,
        name: str,
        input_: str | None,
        batch: Batch,
        parent: dict[str, Any] | None = None,
        version: str | None = None,
    ) -> Instance:
        now = self.clock.timestamp()
        existing = self._instances.get(instance_id)
        if existing is not None:
            self._finish(existing, batch)
            batch.history_resets.add(instance_id)
            batch.history = [row for row in batch.history if row[0] != instance_id]
        instance = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=uuid.uuid4().hex,
            status=PENDING,
            input=input_,
            created=now,
            updated=now,
            parent=parent,
            version=version or "",
        )
        self._instances[instance_id] = instance
        self._warn_if_large(input_, "orchestration input", name, instance_id)
        start = _event(
            EXECUTION_STARTED, -1, _iso(self.clock.now()), Name=name, Input=input_, Version=version or ""
        )
        batch.instances[instance_id] = instance.row()
        self._send(instance_id, {"execution": instance.execution_id, "event": start}, batch)
        return instance

    async def start_new(
        self,
        name: str,
        instance_id: str | None = None,
        input_json: str | None = None,
        version: str | None = None,
    ) -> str:
        """Start orchestrator ``name``; ``input_json`` is the input already JSON-encoded. Returns the id.

        Starting with the id of a running instance fails (``InstanceExistsError``) as on Azure; the id of a
        completed, failed or terminated one starts a fresh run. Without a ``version`` (or with an empty one)
        the instance gets host.json's ``defaultVersion``.
        """
        info = self.index.get(name, "orchestrationTrigger")
        if info is None:
            raise UnknownFunctionError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator."
            )
        if instance_id is not None and (not instance_id or instance_id.startswith("@") or "/" in instance_id):
            raise EngineError(f"Invalid instance id {instance_id!r}.")
        new_id = instance_id or uuid.uuid4().hex
        _check_json(input_json)

        def command(batch: Batch, effects: _Effects) -> str:
            existing = self._instances.get(new_id)
            if existing is not None and not existing.terminal:
                raise InstanceExistsError(
                    f"An Orchestration instance with the status {existing.status} already exists."
                )
            stamped = version or self.durable_settings.default_version
            self._create_instance(new_id, info.name, input_json, batch, version=stamped)
            return new_id

        return str(await self._submit(command))

    def _require(self, instance_id: str) -> Instance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise InstanceNotFoundError(f"No instance with ID '{instance_id}' found.")
        return instance

    async def raise_event(self, instance_id: str, event_name: str, data_json: str | None = None) -> None:
        """Deliver an external event (buffered until the orchestration waits for it)."""
        _check_json(data_json)

        def command(batch: Batch, effects: _Effects) -> None:
            instance = self._require(instance_id)
            if instance.terminal:
                raise InstanceGoneError(f"Instance with ID {instance_id} is gone: either completed or failed")
            self._warn_if_large(data_json, f"event '{event_name}' payload", instance.name, instance_id)
            event = _event(EVENT_RAISED, -1, _iso(self.clock.now()), Name=event_name, Input=data_json)
            self._send(instance_id, {"execution": None, "event": event}, batch)

        await self._submit(command)

    async def terminate(self, instance_id: str, reason: str = "") -> None:
        """Terminate a running instance (``InstanceGoneError`` when it already finished)."""

        def command(batch: Batch, effects: _Effects) -> None:
            instance = self._require(instance_id)
            if instance.terminal:
                raise InstanceGoneError(f"Instance {instance_id} already finished.")
            timestamp = _iso(self.clock.now())
            event = _event(EXECUTION_TERMINATED, -1, timestamp, Input=json.dumps(reason))
            instance.status = TERMINATED
            instance.output = json.dumps(reason)
            instance.updated = self.clock.timestamp()
            self._append_history(instance, [_played(json.dumps(event))], batch)
            self._finish(instance, batch)
            batch.instances[instance_id] = instance.row()

        await self._submit(command)

    async def suspend(self, instance_id: str, reason: str = "") -> None:
        """Suspend: messages stay queued until ``resume``."""

        def command(batch: Batch, effects: _Effects) -> None:
            instance = self._require(instance_id)
            if instance.terminal:
                raise InstanceGoneError(f"Instance {instance_id} already finished.")
            if instance.status == SUSPENDED:
                return
            if instance.history:
                event = _event(EXECUTION_SUSPENDED, -1, _iso(self.clock.now()), Reason=reason)
                self._append_history(instance, [_played(json.dumps(event))], batch)
            instance.status = SUSPENDED
            instance.updated = self.clock.timestamp()
            self._ready.pop(instance_id, None)
            batch.instances[instance_id] = instance.row()

        await self._submit(command)

    async def resume(self, instance_id: str, reason: str = "") -> None:
        """Resume a suspended instance."""

        def command(batch: Batch, effects: _Effects) -> None:
            instance = self._require(instance_id)
            if instance.terminal:
                raise InstanceGoneError(f"Instance {instance_id} already finished.")
            if instance.status != SUSPENDED:
                return
            if instance.history:
                event = _event(EXECUTION_RESUMED, -1, _iso(self.clock.now()), Reason=reason)
                self._append_history(instance, [_played(json.dumps(event))], batch)
                instance.status = RUNNING
            else:
                instance.status = PENDING
            instance.updated = self.clock.timestamp()
            self._mark_ready(instance)
            batch.instances[instance_id] = instance.row()

        await self._submit(command)

    async def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        """Start the orchestration again with its original input; returns the id of the new run."""
        instance = self._require(instance_id)
        return await self.start_new(instance.name, None if new_instance_id else instance_id, instance.input)

    async def rewind(self, instance_id: str, reason: str = "") -> None:
        """Run a failed instance again from its last healthy point.

        The failed tasks of the episode that failed lose their failure events and run again; tasks that were
        still pending are dispatched again and finished sub-orchestrations report again; an orchestrator that
        failed in its own code is simply replayed. A failure that exhausted ``RetryOptions`` cannot be
        rewound here (the SDK's retry bookkeeping would disagree): ``NotSupportedError``, use restart.
        """

        def command(batch: Batch, effects: _Effects) -> None:
            instance = self._require(instance_id)
            if instance.status != FAILED:
                raise InstanceGoneError(
                    "The rewind operation is only supported on failed orchestration instances."
                )
            self._rewind(instance, reason, batch, effects)

        await self._submit(command)

    def _rewind(self, instance: Instance, reason: str, batch: Batch, effects: _Effects) -> None:
        events = [json.loads(text) for text in instance.history]
        last_start = max(
            (i for i, e in enumerate(events) if e["EventType"] == ORCHESTRATOR_STARTED), default=0
        )
        action_ids = {task_id for task_id, _, _ in instance.actions if task_id >= 0}
        rewound: set[int] = set()
        for event in events[last_start:]:
            kind = event["EventType"]
            if kind == TIMER_FIRED and int(event["TimerId"]) not in action_ids:
                raise NotSupportedError(
                    "Rewinding a failure that exhausted its retries is not supported; use restart."
                )
            if kind in (TASK_FAILED, SUB_ORCHESTRATION_FAILED):
                rewound.add(int(event["TaskScheduledId"]))
        if rewound & set(instance.attempt_index) or any(
            g.current_id in rewound for g in instance.retries.values()
        ):
            raise NotSupportedError("Rewinding a task with RetryOptions is not supported; use restart.")
        kept = [
            e
            for i, e in enumerate(events)
            if e["EventType"] != EXECUTION_FAILED
            and not (i >= last_start and e["EventType"] in (TASK_FAILED, SUB_ORCHESTRATION_FAILED))
        ]
        timestamp = _iso(self.clock.now())
        instance.history = []
        instance.replay_history = []
        batch.history_resets.add(instance.instance_id)
        batch.history = [row for row in batch.history if row[0] != instance.instance_id]
        self._append_history(instance, [_played(json.dumps(e)) for e in kept], batch)
        instance.completed_ids = {k for k in (self._completion_key(e) for e in kept) if k is not None}
        instance.status = RUNNING
        instance.output = None
        instance.updated = self.clock.timestamp()
        fired = {int(e["TimerId"]) for e in kept if e["EventType"] == TIMER_FIRED}
        for event in kept:
            task_id = int(event.get("EventId", -1))
            if task_id < 0 or task_id in instance.completed_ids:
                continue
            kind = event["EventType"]
            if kind == TASK_SCHEDULED:
                self._schedule_work(instance, task_id, str(event["Name"]), event.get("Input"), batch, effects)
            elif kind == TIMER_CREATED and task_id not in fired:
                self._schedule_timer(instance, task_id, _parse_fire_at(str(event["FireAt"])), batch, effects)
            elif kind == SUB_ORCHESTRATION_CREATED:
                self._resume_child(instance, task_id, event, batch, timestamp)
        # A generic event gives the orchestrator an episode even when no task had to run again.
        nudge = _event(GENERIC_EVENT, -1, timestamp, Data=f"rewound: {reason}")
        self._send(instance.instance_id, {"execution": instance.execution_id, "event": nudge}, batch)
        batch.instances[instance.instance_id] = instance.row()

    def _resume_child(
        self, parent: Instance, task_id: int, created: dict[str, Any], batch: Batch, timestamp: str
    ) -> None:
        child_id = str(created.get("InstanceId"))
        child = self._instances.get(child_id)
        if child is not None and child.status == COMPLETED:
            done = _event(
                SUB_ORCHESTRATION_COMPLETED, -1, timestamp, TaskScheduledId=task_id, Result=child.output
            )
            self._send(parent.instance_id, {"execution": parent.execution_id, "event": done}, batch)
        elif child is None or child.terminal:
            version = created.get("Version")
            self._start_child(
                parent,
                task_id,
                str(created["Name"]),
                created.get("Input"),
                child_id,
                batch,
                timestamp,
                self.durable_settings.default_version if version is None else str(version),
            )

    async def purge(self, instance_id: str) -> int:
        """Delete a finished instance and its history; returns how many were deleted (0 or 1)."""

        def command(batch: Batch, effects: _Effects) -> int:
            instance = self._instances.get(instance_id)
            if instance is None:
                return 0
            if not instance.terminal:
                raise EngineError(
                    f"Instance {instance_id} is still {instance.status}; terminate it before purging."
                )
            del self._instances[instance_id]
            batch.purges.append(instance_id)
            batch.history = [row for row in batch.history if row[0] != instance_id]
            return 1

        return int(await self._submit(command))

    async def purge_by(
        self,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: list[str] | None = None,
    ) -> int:
        """Delete finished instances created in the window (and of the given statuses); returns the count."""

        def command(batch: Batch, effects: _Effects) -> int:
            victims = [
                i.instance_id
                for i in self._instances.values()
                if i.terminal and _matches(i, created_from, created_to, statuses, None)
            ]
            for instance_id in victims:
                del self._instances[instance_id]
                batch.purges.append(instance_id)
            batch.history = [row for row in batch.history if row[0] not in set(victims)]
            return len(victims)

        return int(await self._submit(command))

    async def signal_entity(self, name: str, key: str, operation: str, input_json: str | None = None) -> None:
        """Queue a one-way operation on entity ``name``/``key``."""
        info = self.index.get(name, "entityTrigger")
        if info is None:
            raise UnknownFunctionError(f"No entity function named '{name}'.")
        entity_id = f"@{name.lower()}@{key}"

        def command(batch: Batch, effects: _Effects) -> None:
            body = {
                "op": operation,
                "input": input_json,
                "id": uuid.uuid4().hex,
                "signal": True,
                "parent": None,
            }
            self._send(entity_id, body, batch)

        await self._submit(command)

    def read_entity_state(self, name: str, key: str) -> tuple[bool, str | None]:
        """(exists, state JSON) of an entity."""
        record = self._entities.get(f"@{name.lower()}@{key}")
        if record is None or not record.exists:
            return False, None
        return True, record.state

    def instance(self, instance_id: str) -> Instance | None:
        """Return the live instance (read-only use)."""
        return self._instances.get(instance_id)

    def history(self, instance_id: str) -> list[dict[str, Any]]:
        """Return the current execution's history events as dicts (PascalCase keys, int ``EventType``)."""
        instance = self._require(instance_id)
        return [json.loads(text) for text in instance.history]

    def status(
        self,
        instance_id: str,
        *,
        show_input: bool = True,
        show_history: bool = False,
        show_history_output: bool = False,
    ) -> dict[str, Any]:
        """Return the status document of the Durable HTTP API for one instance."""
        return _status_document(self._require(instance_id), show_input, show_history, show_history_output)

    def query(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        statuses: list[str] | None = None,
        prefix: str | None = None,
        show_input: bool = False,
        top: int | None = None,
        continuation: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of matching status documents and the token of the next page (None on the last).

        As on Azure (the extension's ``OrchestrationStatusQueryCondition.PageSize``), a page holds 100
        instances unless ``top`` says otherwise, and never more than 1,000 (the most one Azure Storage table
        query returns). Pages follow instance ids in order, as the Azure Storage instances table does; the
        token names the last id of its page, so instances created or purged between two pages never shift
        another one in or out of view.
        """
        size = DEFAULT_PAGE_SIZE if top is None or top <= 0 else min(top, MAXIMUM_PAGE_SIZE)
        after = _decode_continuation(continuation) if continuation else None
        matching = sorted(
            (
                i
                for i in self._instances.values()
                if (after is None or i.instance_id > after)
                and _matches(i, created_from, created_to, statuses, prefix)
            ),
            key=lambda i: i.instance_id,
        )
        page = matching[:size]
        token = _encode_continuation(page[-1].instance_id) if len(matching) > size else None
        return [_status_document(i, show_input, False, False) for i in page], token

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Return when nothing is runnable (and, when skipping time, no timer is pending)."""
        await self._wait(lambda: self._is_idle() and not (self.clock.skips and self._timer_bodies), timeout)

    async def wait_for_instance(self, instance_id: str, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the instance is completed, failed or terminated; returns its status document."""

        def finished() -> bool:
            instance = self._instances.get(instance_id)
            return instance is not None and instance.terminal

        await self._wait(finished, timeout)
        return self.status(instance_id)

    async def _wait(self, condition: Callable[[], bool], timeout: float | None) -> None:
        assert self._progress is not None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        # Memory runs ahead of the store by at most one round; answer only from committed state.
        while not (condition() and self._pending_commit is None):
            if self._failure is not None:
                raise self._failure
            self._progress.clear()
            if self._timer_wake is not None:
                self._timer_wake.set()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("timed out waiting for the engine")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), timeout=min(remaining or 0.05, 0.05))


@dataclass(frozen=True)
class _InvocationContext:
    """What ``azure.functions.Context`` offers an activity: invocation id, function name and directory."""

    invocation_id: str
    function_name: str
    function_directory: str


_CONTEXT_PARAMETER_CACHE: weakref.WeakKeyDictionary[Callable[..., Any], bool] = weakref.WeakKeyDictionary()


def _accepts_context(fn: Callable[..., Any]) -> bool:
    known = _CONTEXT_PARAMETER_CACHE.get(fn)
    if known is None:
        try:
            known = "context" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            known = False
        with contextlib.suppress(TypeError):
            _CONTEXT_PARAMETER_CACHE[fn] = known
    return known


class _NonDeterminismError(Exception):
    pass


def _check_json(text: str | None) -> None:
    if text is None:
        return
    try:
        json.loads(text)
    except ValueError as error:
        raise EngineError(f"The payload is not valid JSON: {error}") from error


class InvalidContinuationTokenError(EngineError):
    """A continuation token this engine did not hand out."""

    status = 400


def _encode_continuation(last_instance_id: str) -> str:
    document = json.dumps({"after": last_instance_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii")


def _decode_continuation(token: str) -> str:
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8"))
        after = document["after"]
    except (ValueError, TypeError, KeyError, UnicodeError) as error:
        raise InvalidContinuationTokenError(f"The continuation token {token!r} is not valid.") from error
    if not isinstance(after, str):
        raise InvalidContinuationTokenError(f"The continuation token {token!r} is not valid.")
    return after


def _parse_fire_at(text: str) -> float:
    cleaned = text.rstrip("Z")
    if "." in cleaned:
        head, fraction = cleaned.split(".", 1)
        cleaned = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _matches(
    instance: Instance,
    created_from: datetime | None,
    created_to: datetime | None,
    statuses: list[str] | None,
    prefix: str | None,
) -> bool:
    if created_from is not None and instance.created < created_from.timestamp():
        return False
    if created_to is not None and instance.created > created_to.timestamp():
        return False
    if statuses and instance.status.lower() not in {s.lower() for s in statuses}:
        return False
    return not (prefix and not instance.instance_id.startswith(prefix))


def _history_document(event: dict[str, Any], show_output: bool) -> dict[str, Any]:
    kind = int(event.get("EventType", -1))
    document: dict[str, Any] = {
        "EventType": EVENT_TYPE_NAMES.get(kind, str(kind)),
        "EventId": event.get("EventId"),
    }
    document["Timestamp"] = event.get("Timestamp")
    for key in (
        "Name",
        "TaskScheduledId",
        "TimerId",
        "FireAt",
        "InstanceId",
        "Reason",
        "OrchestrationStatus",
    ):
        if event.get(key) is not None:
            document["FunctionName" if key == "Name" and kind != EVENT_RAISED else key] = event[key]
    if show_output:
        if event.get("Result") is not None:
            document["Result"] = _parse_json(event["Result"])
        if event.get("Input") is not None:
            document["Input"] = _parse_json(event["Input"])
        if event.get("Details"):
            document["Details"] = event["Details"]
    return document


def _status_document(
    instance: Instance, show_input: bool, show_history: bool, show_output: bool
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": instance.name,
        "instanceId": instance.instance_id,
        "runtimeStatus": instance.status,
        "input": _parse_json(instance.input) if show_input else None,
        "customStatus": _parse_json(instance.custom_status),
        "output": _parse_json(instance.output),
        "createdTime": _status_time(instance.created),
        "lastUpdatedTime": _status_time(instance.updated),
    }
    if show_history:
        events = [_history_document(json.loads(text), show_output) for text in instance.history]
        events = [e for e in events if e["EventType"] not in ("OrchestratorStarted", "OrchestratorCompleted")]
        document["historyEvents"] = events
        document["history"] = events
    return document


AsyncCallable = Callable[..., Awaitable[Any]]
