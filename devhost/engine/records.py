"""The records the engine keeps in memory and in the store.

Instances, messages, work items, retry groups, entities, and what a round releases after its commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devhost.engine.events import COMPLETED, TERMINAL_STATUSES, TERMINATED
from devhost.store import Batch, InstanceRow


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
