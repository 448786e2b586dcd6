"""The embedded Durable Task engine: drives the SDK's own orchestrator replay over a crash-safe SQLite store.

Where things are (one responsibility per module):

- ``core``: the ``Engine`` class, which holds all of the engine's state, starts and stops it, and is the one
  public surface (every public method is here; each phase's work is a function in its own module).
- ``events``: history event and action types (``EventType``, ``ActionType``), runtime statuses, the history's
  wire form (timestamps, played/unplayed serialized events, what the SDK never reads).
- ``records``: what the engine keeps and stores (``Instance``, ``Message``, ``WorkItem``, ``RetryGroup``,
  ``EntityRecord``) and what a round releases after its commit.
- ``errors``: the engine's exceptions and the named fault points tests fail it at.
- ``settings``: ``DurableTaskSettings`` read from host.json, the storage provider's timer limits.
- ``versioning``: orchestration version comparison and the versioning verdicts' words.
- ``dispatch``: the dispatch loop, rounds, group commit, failure rollback and recovery from the store.
- ``replay``: one orchestration episode: building the context JSON and running the SDK's handle.
- ``actions``: applying the replay's new actions with the determinism check; completion, failure,
  continue-as-new, sub-orchestrations.
- ``retries``: the host's half of ``call_*_with_retry`` (retry timers and fresh scheduling events).
- ``timers``: durable timers, the timer loop and the clock's use.
- ``quiescence``: when skipped time may jump (nothing in flight in the engine, the host, or outside services).
- ``activities``: running activity functions (sync on a pool, async inline) and routing their completions.
- ``entities``: entity episodes and signals.
- ``management``: start, raise, terminate, suspend, resume, rewind, restart, purge, status and paged queries.

How the one class is split: the phases are plain functions that take the engine as their first argument
(``engine: Engine``), not mixins, so each module can be read on its own and mypy checks every call. A phase
calls a function of its own module directly and another phase's function through the ``Engine`` method of the
same name, so modules import only the vocabulary below them (events, records, errors, settings, versioning)
and there is no import cycle. Only ``core`` imports the phases.

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

from devhost.engine.core import Engine
from devhost.engine.errors import (
    FAULT_COMMIT,
    FAULT_POINTS,
    FAULT_RELOAD,
    FAULT_ROUND_AFTER_COMMANDS,
    FAULT_ROUND_AFTER_EPISODES,
    EngineError,
    EngineUnavailableError,
    InstanceExistsError,
    InstanceGoneError,
    InstanceNotFoundError,
    InvalidContinuationTokenError,
    NotSupportedError,
    RoundFailedError,
    UnknownFunctionError,
)
from devhost.engine.events import (
    _IGNORED_BY_SDK,
    ACTION_NAMES,
    CALL_ACTIVITY,
    CALL_ACTIVITY_WITH_RETRY,
    CALL_ENTITY,
    CALL_HTTP,
    CALL_SUB_ORCHESTRATOR,
    CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    COMPLETED,
    CONTINUE_AS_NEW,
    CONTINUE_AS_NEW_ACTION,
    CONTINUED_AS_NEW,
    CREATE_TIMER,
    ENTITY_RESPONSE_PREFIX,
    EVENT_RAISED,
    EVENT_SENT,
    EVENT_TYPE_NAMES,
    EXECUTION_COMPLETED,
    EXECUTION_FAILED,
    EXECUTION_RESUMED,
    EXECUTION_STARTED,
    EXECUTION_SUSPENDED,
    EXECUTION_TERMINATED,
    FAILED,
    GENERIC_EVENT,
    ORCHESTRATOR_COMPLETED,
    ORCHESTRATOR_STARTED,
    OUT_OF_PROC_MARKER,
    PENDING,
    RUNNING,
    RUNTIME_STATUSES,
    SIGNAL_ENTITY,
    SUB_ORCHESTRATION_COMPLETED,
    SUB_ORCHESTRATION_CREATED,
    SUB_ORCHESTRATION_FAILED,
    SUSPENDED,
    TASK_COMPLETED,
    TASK_FAILED,
    TASK_SCHEDULED,
    TERMINAL_STATUSES,
    TERMINATED,
    TIMER_CREATED,
    TIMER_FIRED,
    TIMESTAMP_FORMAT,
    WAIT_FOR_EXTERNAL_EVENT,
    WHEN_ALL,
    WHEN_ANY,
    ActionType,
    EventType,
)
from devhost.engine.records import EntityRecord, Instance, Message, RetryGroup, WorkItem
from devhost.engine.settings import DurableTaskSettings, _timespan
from devhost.engine.versioning import compare_versions

__all__ = [
    "ACTION_NAMES",
    "CALL_ACTIVITY",
    "CALL_ACTIVITY_WITH_RETRY",
    "CALL_ENTITY",
    "CALL_HTTP",
    "CALL_SUB_ORCHESTRATOR",
    "CALL_SUB_ORCHESTRATOR_WITH_RETRY",
    "COMPLETED",
    "CONTINUED_AS_NEW",
    "CONTINUE_AS_NEW",
    "CONTINUE_AS_NEW_ACTION",
    "CREATE_TIMER",
    "ENTITY_RESPONSE_PREFIX",
    "EVENT_RAISED",
    "EVENT_SENT",
    "EVENT_TYPE_NAMES",
    "EXECUTION_COMPLETED",
    "EXECUTION_FAILED",
    "EXECUTION_RESUMED",
    "EXECUTION_STARTED",
    "EXECUTION_SUSPENDED",
    "EXECUTION_TERMINATED",
    "FAILED",
    "FAULT_COMMIT",
    "FAULT_POINTS",
    "FAULT_RELOAD",
    "FAULT_ROUND_AFTER_COMMANDS",
    "FAULT_ROUND_AFTER_EPISODES",
    "GENERIC_EVENT",
    "ORCHESTRATOR_COMPLETED",
    "ORCHESTRATOR_STARTED",
    "OUT_OF_PROC_MARKER",
    "PENDING",
    "RUNNING",
    "RUNTIME_STATUSES",
    "SIGNAL_ENTITY",
    "SUB_ORCHESTRATION_COMPLETED",
    "SUB_ORCHESTRATION_CREATED",
    "SUB_ORCHESTRATION_FAILED",
    "SUSPENDED",
    "TASK_COMPLETED",
    "TASK_FAILED",
    "TASK_SCHEDULED",
    "TERMINAL_STATUSES",
    "TERMINATED",
    "TIMER_CREATED",
    "TIMER_FIRED",
    "TIMESTAMP_FORMAT",
    "WAIT_FOR_EXTERNAL_EVENT",
    "WHEN_ALL",
    "WHEN_ANY",
    "_IGNORED_BY_SDK",
    "ActionType",
    "DurableTaskSettings",
    "Engine",
    "EngineError",
    "EngineUnavailableError",
    "EntityRecord",
    "EventType",
    "Instance",
    "InstanceExistsError",
    "InstanceGoneError",
    "InstanceNotFoundError",
    "InvalidContinuationTokenError",
    "Message",
    "NotSupportedError",
    "RetryGroup",
    "RoundFailedError",
    "UnknownFunctionError",
    "WorkItem",
    "_timespan",
    "compare_versions",
]
