"""History event and action types, runtime statuses, and the history's wire form.

The wire form: timestamps, events serialized once and marked played by a prefix swap, and the event types
the SDK's replay never reads.
"""

from __future__ import annotations

import json
import traceback
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from devhost.engine.errors import EngineError


class EventType(IntEnum):
    """History event types (DurableTask's EventType numbering, as the SDK's HistoryEventType)."""

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
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


class ActionType(IntEnum):
    """Action types of the out-of-process protocol (what the SDK's replay returns)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


# Module-level names for the members: the engine and its importers compare raw JSON ints against them.
EXECUTION_STARTED = EventType.EXECUTION_STARTED
EXECUTION_COMPLETED = EventType.EXECUTION_COMPLETED
EXECUTION_FAILED = EventType.EXECUTION_FAILED
EXECUTION_TERMINATED = EventType.EXECUTION_TERMINATED
TASK_SCHEDULED = EventType.TASK_SCHEDULED
TASK_COMPLETED = EventType.TASK_COMPLETED
TASK_FAILED = EventType.TASK_FAILED
SUB_ORCHESTRATION_CREATED = EventType.SUB_ORCHESTRATION_CREATED
SUB_ORCHESTRATION_COMPLETED = EventType.SUB_ORCHESTRATION_COMPLETED
SUB_ORCHESTRATION_FAILED = EventType.SUB_ORCHESTRATION_FAILED
TIMER_CREATED = EventType.TIMER_CREATED
TIMER_FIRED = EventType.TIMER_FIRED
ORCHESTRATOR_STARTED = EventType.ORCHESTRATOR_STARTED
ORCHESTRATOR_COMPLETED = EventType.ORCHESTRATOR_COMPLETED
EVENT_SENT = EventType.EVENT_SENT
EVENT_RAISED = EventType.EVENT_RAISED
CONTINUE_AS_NEW = EventType.CONTINUE_AS_NEW
GENERIC_EVENT = EventType.GENERIC_EVENT
EXECUTION_SUSPENDED = EventType.EXECUTION_SUSPENDED
EXECUTION_RESUMED = EventType.EXECUTION_RESUMED

EVENT_TYPE_NAMES: dict[int, str] = {
    EventType.EXECUTION_STARTED: "ExecutionStarted",
    EventType.EXECUTION_COMPLETED: "ExecutionCompleted",
    EventType.EXECUTION_FAILED: "ExecutionFailed",
    EventType.EXECUTION_TERMINATED: "ExecutionTerminated",
    EventType.TASK_SCHEDULED: "TaskScheduled",
    EventType.TASK_COMPLETED: "TaskCompleted",
    EventType.TASK_FAILED: "TaskFailed",
    EventType.SUB_ORCHESTRATION_CREATED: "SubOrchestrationInstanceCreated",
    EventType.SUB_ORCHESTRATION_COMPLETED: "SubOrchestrationInstanceCompleted",
    EventType.SUB_ORCHESTRATION_FAILED: "SubOrchestrationInstanceFailed",
    EventType.TIMER_CREATED: "TimerCreated",
    EventType.TIMER_FIRED: "TimerFired",
    EventType.ORCHESTRATOR_STARTED: "OrchestratorStarted",
    EventType.ORCHESTRATOR_COMPLETED: "OrchestratorCompleted",
    EventType.EVENT_SENT: "EventSent",
    EventType.EVENT_RAISED: "EventRaised",
    EventType.CONTINUE_AS_NEW: "ContinueAsNew",
    EventType.GENERIC_EVENT: "GenericEvent",
    EventType.HISTORY_STATE: "HistoryState",
    EventType.EXECUTION_SUSPENDED: "ExecutionSuspended",
    EventType.EXECUTION_RESUMED: "ExecutionResumed",
}

CALL_ACTIVITY = ActionType.CALL_ACTIVITY
CALL_ACTIVITY_WITH_RETRY = ActionType.CALL_ACTIVITY_WITH_RETRY
CALL_SUB_ORCHESTRATOR = ActionType.CALL_SUB_ORCHESTRATOR
CALL_SUB_ORCHESTRATOR_WITH_RETRY = ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY
CONTINUE_AS_NEW_ACTION = ActionType.CONTINUE_AS_NEW
CREATE_TIMER = ActionType.CREATE_TIMER
WAIT_FOR_EXTERNAL_EVENT = ActionType.WAIT_FOR_EXTERNAL_EVENT
CALL_ENTITY = ActionType.CALL_ENTITY
CALL_HTTP = ActionType.CALL_HTTP
SIGNAL_ENTITY = ActionType.SIGNAL_ENTITY
WHEN_ANY = ActionType.WHEN_ANY
WHEN_ALL = ActionType.WHEN_ALL
ACTION_NAMES: dict[int, str] = {
    ActionType.CALL_ACTIVITY: "CallActivity",
    ActionType.CALL_ACTIVITY_WITH_RETRY: "CallActivityWithRetry",
    ActionType.CALL_SUB_ORCHESTRATOR: "CallSubOrchestrator",
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY: "CallSubOrchestratorWithRetry",
    ActionType.CONTINUE_AS_NEW: "ContinueAsNew",
    ActionType.CREATE_TIMER: "CreateTimer",
    ActionType.WAIT_FOR_EXTERNAL_EVENT: "WaitForExternalEvent",
    ActionType.CALL_ENTITY: "CallEntity",
    ActionType.CALL_HTTP: "CallHttp",
    ActionType.SIGNAL_ENTITY: "SignalEntity",
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
ENTITY_RESPONSE_PREFIX = "@response:"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_UNPLAYED_PREFIX = '{"IsPlayed": false'
_PLAYED_PREFIX = '{"IsPlayed": true'


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


def _error_details(error: BaseException) -> str:
    root = error.__cause__ or error
    return "".join(traceback.format_exception(type(root), root, root.__traceback__))


def _check_json(text: str | None) -> None:
    if text is None:
        return
    try:
        json.loads(text)
    except ValueError as error:
        raise EngineError(f"The payload is not valid JSON: {error}") from error


def _parse_fire_at(text: str) -> float:
    cleaned = text.rstrip("Z")
    if "." in cleaned:
        head, fraction = cleaned.split(".", 1)
        cleaned = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
