"""SQLite persistence for the engine: one transaction per dispatch round (group commit).

The engine keeps the live state in memory and stages every change of a round in a ``Batch``; the batch is
written in one transaction, so each episode (history, status, outgoing work, timers and messages to other
instances) is atomic, and many episodes share one fsync. After a crash the store holds exactly the state of
the last committed round: inbox messages not yet consumed, work items not yet completed, timers not yet
fired.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    parent TEXT,
    engine_state TEXT
);
CREATE INDEX IF NOT EXISTS instances_created ON instances (created, instance_id);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    msg_id INTEGER PRIMARY KEY,
    instance_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS work (
    work_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    timer_key TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    fire_at REAL NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    entity_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT,
    present INTEGER NOT NULL,
    updated REAL NOT NULL
) WITHOUT ROWID;
"""

InstanceRow = tuple[
    str, str, str, str, str | None, str | None, str | None, float, float, str | None, str | None
]


@dataclass
class Batch:
    """Every change of one dispatch round, applied in one transaction."""

    instances: dict[str, InstanceRow] = field(default_factory=dict)
    history_resets: set[str] = field(default_factory=set)
    history: list[tuple[str, int, str]] = field(default_factory=list)
    # Message bodies are serialized at commit time, off the dispatch loop; most messages are consumed in the
    # round that sends them and never serialized at all.
    inbox_inserts: dict[int, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    inbox_deletes: list[int] = field(default_factory=list)
    work_inserts: dict[str, tuple[str, str]] = field(default_factory=dict)
    work_deletes: list[str] = field(default_factory=list)
    timer_inserts: dict[str, tuple[str, str, float, str]] = field(default_factory=dict)
    timer_deletes: list[str] = field(default_factory=list)
    entities: dict[str, tuple[str, str, str, str | None, int, float]] = field(default_factory=dict)
    purges: list[str] = field(default_factory=list)
    entity_purges: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Tell whether the round changed nothing durable."""
        return not (
            self.instances
            or self.history_resets
            or self.history
            or self.inbox_inserts
            or self.inbox_deletes
            or self.work_inserts
            or self.work_deletes
            or self.timer_inserts
            or self.timer_deletes
            or self.entities
            or self.purges
            or self.entity_purges
        )

    def delete_inbox(self, msg_id: int) -> None:
        """Consume a message; one inserted in this same round never reaches the disk at all."""
        if self.inbox_inserts.pop(msg_id, None) is None:
            self.inbox_deletes.append(msg_id)

    def delete_work(self, work_id: str) -> None:
        """Drop a work item (completed or obsolete)."""
        if self.work_inserts.pop(work_id, None) is None:
            self.work_deletes.append(work_id)

    def delete_timer(self, timer_key: str) -> None:
        """Drop a timer (fired, cancelled or obsolete)."""
        if self.timer_inserts.pop(timer_key, None) is None:
            self.timer_deletes.append(timer_key)


class Store:
    """The engine's SQLite database (WAL). Used from one thread at a time."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "durable.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL fsyncs the WAL on every commit: a committed round survives power loss, not only kill -9.
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._db.executescript(SCHEMA)
        # Called with a fault point's name inside the commit's transaction (the engine's test hook).
        self.fault_hook: Callable[[str], None] | None = None

    def close(self) -> None:
        """Close the connection (committed data stays)."""
        with self._lock:
            self._db.close()

    def commit(self, batch: Batch) -> None:
        """Apply ``batch`` atomically."""
        if batch.is_empty():
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                if batch.purges:
                    ids = [(i,) for i in batch.purges]
                    db.executemany("DELETE FROM instances WHERE instance_id = ?", ids)
                    db.executemany("DELETE FROM history WHERE instance_id = ?", ids)
                    db.executemany("DELETE FROM inbox WHERE instance_id = ?", ids)
                    db.executemany("DELETE FROM timers WHERE instance_id = ?", ids)
                if batch.entity_purges:
                    db.executemany(
                        "DELETE FROM entities WHERE entity_id = ?", [(i,) for i in batch.entity_purges]
                    )
                if batch.history_resets:
                    db.executemany(
                        "DELETE FROM history WHERE instance_id = ?", [(i,) for i in batch.history_resets]
                    )
                if batch.instances:
                    db.executemany(
                        "INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        batch.instances.values(),
                    )
                if batch.history:
                    db.executemany("INSERT OR REPLACE INTO history VALUES (?,?,?)", batch.history)
                if self.fault_hook is not None:
                    # Between the round's first writes and COMMIT: a failure here must leave no trace.
                    self.fault_hook("store.commit")
                if batch.inbox_deletes:
                    db.executemany("DELETE FROM inbox WHERE msg_id = ?", [(i,) for i in batch.inbox_deletes])
                if batch.inbox_inserts:
                    db.executemany(
                        "INSERT OR REPLACE INTO inbox VALUES (?,?,?)",
                        [
                            (msg_id, target, json.dumps(body))
                            for msg_id, target, body in batch.inbox_inserts.values()
                        ],
                    )
                if batch.work_deletes:
                    db.executemany("DELETE FROM work WHERE work_id = ?", [(i,) for i in batch.work_deletes])
                if batch.work_inserts:
                    db.executemany("INSERT OR REPLACE INTO work VALUES (?,?)", batch.work_inserts.values())
                if batch.timer_deletes:
                    db.executemany(
                        "DELETE FROM timers WHERE timer_key = ?", [(i,) for i in batch.timer_deletes]
                    )
                if batch.timer_inserts:
                    db.executemany(
                        "INSERT OR REPLACE INTO timers VALUES (?,?,?,?)", batch.timer_inserts.values()
                    )
                if batch.entities:
                    db.executemany(
                        "INSERT OR REPLACE INTO entities VALUES (?,?,?,?,?,?)", batch.entities.values()
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params))

    def load_instances(self) -> list[InstanceRow]:
        """Every instance row."""
        return [tuple(row) for row in self._query("SELECT * FROM instances")]

    def load_history(self, instance_id: str) -> list[str]:
        """Return the current execution's history events (JSON strings) in order."""
        return [
            r[0]
            for r in self._query(
                "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
            )
        ]

    def load_histories(self, instance_ids: Iterable[str]) -> dict[str, list[str]]:
        """Histories of several instances at once."""
        wanted = set(instance_ids)
        result: dict[str, list[str]] = {i: [] for i in wanted}
        for instance_id, event in self._query(
            "SELECT instance_id, event FROM history ORDER BY instance_id, seq"
        ):
            if instance_id in wanted:
                result[instance_id].append(event)
        return result

    def load_inbox(self) -> list[tuple[int, str, str]]:
        """Unconsumed messages in arrival order."""
        return [tuple(r) for r in self._query("SELECT msg_id, instance_id, body FROM inbox ORDER BY msg_id")]

    def load_work(self) -> list[tuple[str, str]]:
        """Work items not yet completed."""
        return [tuple(r) for r in self._query("SELECT work_id, body FROM work")]

    def load_timers(self) -> list[tuple[str, str, float, str]]:
        """Timers not yet fired."""
        return [tuple(r) for r in self._query("SELECT timer_key, instance_id, fire_at, body FROM timers")]

    def load_entities(self) -> list[tuple[str, str, str, str | None, int, float]]:
        """Every entity row."""
        return [tuple(r) for r in self._query("SELECT * FROM entities")]
