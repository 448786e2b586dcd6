"""Blob triggers: poll containers (Azurite locally) and fire once per blob version, with persisted receipts.

As the Functions host's blob extension does, a trigger fires once for each version of a blob (its ETag), and a
receipt remembers that it did, so a restart does not fire again; a blob whose function fails five times is
recorded as poison with the reason and left alone. Receipts and poison records live in a small SQLite file in
the data dir. Triggers declared with ``source="EventGrid"`` are not polled: BlobCreated events posted to the
blob webhook feed them (see ``devhost.eventgrid``), through the same receipts.

The trigger's ``path`` and ``connection`` may hold ``%NAME%`` app setting expressions, resolved when the
service starts, as the host resolves them while indexing. The connection is resolved by
:mod:`devhost.connections` (a connection string, or identity-based ``<name>__...`` settings), for the blob
service and, as the blob extension also builds a queue client for it, the queue service. A trigger whose
settings the host would refuse is disabled with the host's words in the log (``The '<name>' function is in
error: ...``), as the host puts such a function in error while the others run; ``errors`` keeps the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from azure.functions.blob import InputStream
from azure.storage.blob.aio import BlobServiceClient

from devhost.connections import (
    HostIndexingError,
    StorageConnection,
    function_error,
    resolve_app_settings,
    storage_connection,
)
from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.blobs")

MAX_ATTEMPTS = 5
RECEIPTS_FILE = "blob_receipts.sqlite3"
_PARAMETER = re.compile(r"\{([^{}]+)\}")
_SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<name>.+)$")


_FINISHED_STATES = ("done", "poison")


class BlobTriggerConfigError(ValueError):
    """A blob trigger whose path or connection cannot be used, or one that is disabled."""


@dataclass(frozen=True)
class BlobPath:
    """A compiled ``container/pattern`` blob path; ``match(name)`` gives the bound parameters."""

    container: str
    prefix: str
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, path: str) -> BlobPath:
        """Compile a binding path such as ``inbox/{name}`` or ``jobs/{job_id}/{name}.pdf``."""
        container, _, pattern = path.strip("/").partition("/")
        if not container or "{" in container:
            raise BlobTriggerConfigError(f"blob path {path!r} must start with a literal container name")
        pattern = pattern or "{name}"
        parts: list[str] = []
        position = 0
        for found in _PARAMETER.finditer(pattern):
            parts.append(re.escape(pattern[position : found.start()]))
            parts.append(f"(?P<{found.group(1)}>.+?)")
            position = found.end()
        parts.append(re.escape(pattern[position:]))
        first = pattern.find("{")
        prefix = pattern if first < 0 else pattern[:first]
        return cls(container=container, prefix=prefix, regex=re.compile("^" + "".join(parts) + "$"))

    def match(self, blob_name: str) -> dict[str, str] | None:
        """Return the parameters ``blob_name`` (within the container) binds, or ``None`` for no match."""
        found = self.regex.match(blob_name)
        return found.groupdict() if found else None


class ReceiptStore:
    """Receipts and poison records for blob versions, in SQLite (survives restarts)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS blob_receipts ("
            " function TEXT NOT NULL, blob_path TEXT NOT NULL, etag TEXT NOT NULL,"
            " status TEXT NOT NULL, failures INTEGER NOT NULL DEFAULT 0, reason TEXT,"
            " updated_at TEXT NOT NULL,"
            " PRIMARY KEY (function, blob_path, etag))"
        )

    def state(self, function: str, blob_path: str, etag: str) -> tuple[str, int] | None:
        """``(status, failures)`` for one blob version, or ``None`` if never attempted."""
        with self._lock:
            row = self._db.execute(
                "SELECT status, failures FROM blob_receipts WHERE function=? AND blob_path=? AND etag=?",
                (function, blob_path, etag),
            ).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def record_success(self, function: str, blob_path: str, etag: str) -> None:
        """Write the receipt: this version has been processed."""
        self._upsert(function, blob_path, etag, "done", None, count_failure=False)

    def record_failure(self, function: str, blob_path: str, etag: str, reason: str) -> str:
        """Count one failed attempt; returns the new status (``failed`` or ``poison`` at the 5th)."""
        current = self.state(function, blob_path, etag)
        failures = (current[1] if current else 0) + 1
        status = "poison" if failures >= MAX_ATTEMPTS else "failed"
        self._upsert(function, blob_path, etag, status, reason, count_failure=True)
        return status

    def poison(self) -> list[dict[str, Any]]:
        """Every poison record."""
        with self._lock:
            rows = self._db.execute(
                "SELECT function, blob_path, etag, failures, reason, updated_at FROM blob_receipts"
                " WHERE status='poison' ORDER BY updated_at"
            ).fetchall()
        keys = ("function", "blob_path", "etag", "failures", "reason", "updated_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _upsert(
        self,
        function: str,
        blob_path: str,
        etag: str,
        status: str,
        reason: str | None,
        *,
        count_failure: bool,
    ) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.execute(
                "INSERT INTO blob_receipts (function, blob_path, etag, status, failures, reason, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (function, blob_path, etag) DO UPDATE SET status=excluded.status,"
                " failures=blob_receipts.failures + ?,"
                " reason=COALESCE(excluded.reason, blob_receipts.reason),"
                " updated_at=excluded.updated_at",
                (
                    function,
                    blob_path,
                    etag,
                    status,
                    1 if count_failure else 0,
                    reason,
                    now,
                    1 if count_failure else 0,
                ),
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


@dataclass(frozen=True)
class BlobTrigger:
    """One blob-triggered function with its compiled path and connection."""

    info: FunctionInfo
    path: BlobPath
    connection: StorageConnection
    event_grid: bool

    @classmethod
    def from_function(cls, info: FunctionInfo) -> BlobTrigger:
        """Resolve the trigger's settings as the host does while indexing (raises with the host's words)."""
        path = BlobPath.parse(resolve_app_settings(str(info.trigger.get("path", ""))))
        connection_name = info.trigger.get("connection")
        connection = storage_connection(connection_name, "blob")
        # The blob extension also builds a queue client on the same connection (its poison and dispatch
        # queues): identity-based settings without a queue endpoint fail indexing on Azure, so here too.
        storage_connection(connection_name, "queue")
        # ``source`` is an enum the host parses, not a binding expression: no %NAME% there.
        event_grid = str(info.trigger.get("source", "")).lower() == "eventgrid"
        return cls(info=info, path=path, connection=connection, event_grid=event_grid)


class BlobTriggerService:
    """Polls the containers of every polled blob trigger and runs functions for new blob versions."""

    def __init__(
        self,
        index: FunctionIndex,
        invoker: FunctionInvoker,
        data_dir: Path,
        *,
        poll_interval: float = 1.0,
        max_concurrency: int = 8,
    ) -> None:
        self.invoker = invoker
        self.poll_interval = poll_interval
        self.receipts = ReceiptStore(data_dir / RECEIPTS_FILE)
        self.triggers: dict[str, BlobTrigger] = {}
        self.errors: dict[str, str] = {}  # function name -> why it is disabled, in the host's words
        self._clients: dict[StorageConnection, BlobServiceClient] = {}
        self._in_flight: set[tuple[str, str, str]] = set()
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.poll_rounds = 0  # completed polling rounds, so callers can wait for "at least one more look"
        for info in index.of_type("blobTrigger"):
            try:
                self.triggers[info.name] = BlobTrigger.from_function(info)
            except HostIndexingError as error:
                # The host puts such a function in error and runs the others: so does devhost.
                self.errors[info.name] = function_error(info.name, error)
                LOGGER.error("%s", self.errors[info.name])
            except BlobTriggerConfigError as error:
                self.errors[info.name] = f"blob trigger {info.name} disabled: {error}"
                LOGGER.error("%s", self.errors[info.name])

    def _client(self, connection: StorageConnection) -> BlobServiceClient:
        client = self._clients.get(connection)
        if client is None:
            client = connection.blob_service_client()
            self._clients[connection] = client
        return client

    async def start(self) -> None:
        """Start polling (no-op when no trigger is polled)."""
        if any(not trigger.event_grid for trigger in self.triggers.values()):
            self._poller = asyncio.create_task(self._poll_forever(), name="devhost-blob-poller")

    async def stop(self) -> None:
        """Stop polling, wait for running functions, close clients and the receipt store."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in self._clients.values():
            await client.close()
        self.receipts.close()

    async def _poll_forever(self) -> None:
        while True:
            for trigger in list(self.triggers.values()):
                if trigger.event_grid:
                    continue
                try:
                    await self.poll_once(trigger)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    # Storage down or container missing: keep serving and try again next round.
                    LOGGER.debug("blob poll for %s failed: %s", trigger.info.name, error)
            self.poll_rounds += 1
            await asyncio.sleep(self.poll_interval)

    async def poll_once(self, trigger: BlobTrigger) -> None:
        """List the trigger's container once and schedule every unprocessed matching blob version."""
        container = self._client(trigger.connection).get_container_client(trigger.path.container)
        async for blob in container.list_blobs(name_starts_with=trigger.path.prefix or None):
            name = str(blob.name)
            if trigger.path.match(name) is None:
                continue
            etag = str(blob.etag).strip('"')
            key = (trigger.info.name, f"{trigger.path.container}/{name}", etag)
            state = self.receipts.state(*key)
            if key in self._in_flight or (state is not None and state[0] in _FINISHED_STATES):
                continue
            self._in_flight.add(key)
            task = asyncio.create_task(self._run_tracked(trigger, name, key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def in_flight(self) -> int:
        """Blobs listed by a poll whose function run has not finished (skipped time waits for them)."""
        return len(self._in_flight)

    async def _run_tracked(self, trigger: BlobTrigger, name: str, key: tuple[str, str, str]) -> None:
        try:
            async with self._semaphore:
                await self.run_blob(trigger, name, expected_etag=key[2])
        except Exception:
            LOGGER.debug("blob %s failed; it will be retried", key[1])
        finally:
            self._in_flight.discard(key)

    async def run_blob(
        self, trigger: BlobTrigger, name: str, *, expected_etag: str | None = None, use_receipts: bool = True
    ) -> str:
        """Download one blob, run the function and record the outcome: ``done``, ``failed`` or ``poison``.

        A version that already has a receipt (or is poison) is not run again and reports its recorded status.
        ``use_receipts=False`` (an explicit admin invocation) neither checks nor writes receipts.
        """
        blob_client = self._client(trigger.connection).get_blob_client(trigger.path.container, name)
        downloader = await blob_client.download_blob()
        data = await downloader.readall()
        properties = downloader.properties
        etag = str(properties.etag).strip('"')
        blob_path = f"{trigger.path.container}/{name}"
        if expected_etag is not None and etag != expected_etag:
            # A newer version replaced the listed one; the next poll sees and fires for it.
            return "failed"
        recorded = self.receipts.state(trigger.info.name, blob_path, etag) if use_receipts else None
        if recorded is not None and recorded[0] in _FINISHED_STATES:
            return recorded[0]
        stream = InputStream(
            data=data,
            name=blob_path,
            uri=blob_client.url,
            length=len(data),
            blob_properties={
                "ETag": etag,
                "ContentType": properties.content_settings.content_type,
                "LastModified": properties.last_modified.isoformat() if properties.last_modified else None,
                "Length": properties.size,
            },
            metadata=dict(properties.metadata or {}),
        )
        metadata = {**(trigger.path.match(name) or {}), "BlobTrigger": blob_path, "Uri": blob_client.url}
        if not use_receipts:
            await self.invoker.invoke(trigger.info, stream, metadata=metadata)
            return "done"
        try:
            await self.invoker.invoke(trigger.info, stream, metadata=metadata)
        except Exception as error:
            reason = f"{type(error).__name__}: {error}"
            status = self.receipts.record_failure(trigger.info.name, blob_path, etag, reason)
            if status == "poison":
                LOGGER.error(
                    "blob %s is poison for %s after %d attempts: %s",
                    blob_path,
                    trigger.info.name,
                    MAX_ATTEMPTS,
                    reason,
                )
            else:
                LOGGER.warning(
                    "Executed 'Functions.%s' (Failed) for blob %s: %s", trigger.info.name, blob_path, reason
                )
            raise
        self.receipts.record_success(trigger.info.name, blob_path, etag)
        LOGGER.info("Executed 'Functions.%s' (Succeeded) for blob %s", trigger.info.name, blob_path)
        return "done"

    async def handle_blob_created(self, info: FunctionInfo, event: dict[str, Any]) -> None:
        """Run an Event Grid sourced blob trigger for one ``Microsoft.Storage.BlobCreated`` event."""
        trigger = self.triggers.get(info.name)
        if trigger is None:
            reason = self.errors.get(info.name, "see the start-up log")
            raise BlobTriggerConfigError(f"blob trigger {info.name} is disabled: {reason}")
        container, name = blob_location(event)
        if container != trigger.path.container or trigger.path.match(name) is None:
            LOGGER.info(
                "%s: BlobCreated for %s/%s does not match %s; ignored",
                info.name,
                container,
                name,
                trigger.info.trigger.get("path"),
            )
            return
        try:
            await self.run_blob(trigger, name)
        except Exception:
            blob_path = f"{container}/{name}"
            poisoned = any(
                p["blob_path"] == blob_path and p["function"] == info.name for p in self.receipts.poison()
            )
            if not poisoned:
                raise


def blob_location(event: dict[str, Any]) -> tuple[str, str]:
    """``(container, blob name)`` of a BlobCreated event, from its subject or else its ``data.url``."""
    subject = str(event.get("subject", ""))
    found = _SUBJECT.match(subject)
    if found:
        return found.group("container"), found.group("name")
    data = event.get("data")
    url = str(data.get("url", "")) if isinstance(data, dict) else ""
    parts = unquote(urlparse(url).path).lstrip("/").split("/")
    # Azurite URLs carry the account as the first path segment; Azure's carry it in the host name.
    if len(parts) >= 3 and parts[0].startswith("devstoreaccount"):
        parts = parts[1:]
    if len(parts) < 2:
        raise ValueError(
            f"BlobCreated event {event.get('id')} names no blob (subject {subject!r}, url {url!r})"
        )
    return parts[0], "/".join(parts[1:])
