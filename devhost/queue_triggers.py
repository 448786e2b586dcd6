"""Storage queue triggers against Azurite (or any account), with the Functions host's retry and poison rules.

Each queue trigger polls its queue (``queueName``, ``%NAME%`` app settings allowed) through its
``connection`` (resolved by :mod:`devhost.connections`, ``%NAME%`` allowed too; a trigger the host would put
in error is disabled with the host's words in the log), receives up to 16 messages at a time (the host's
default ``batchSize``) and runs them concurrently, hiding each for ten minutes while it runs. A success
deletes the message. A failure makes it visible again at once (the default ``visibilityTimeout`` of zero),
and once it has been dequeued ``maxDequeueCount`` (5) times it moves to ``<queue>-poison`` with its original
text, as on Azure. Message text is base64-decoded first, as the host does by default; ``host.json``
``extensions.queues.messageEncoding: "none"`` turns that off.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from devhost.connections import (
    HostIndexingError,
    StorageConnection,
    function_error,
    resolve_app_settings,
    storage_connection,
)
from devhost.functions import FunctionIndex, FunctionInfo
from devhost.invoke import FunctionInvoker

LOGGER = logging.getLogger("devhost.queues")

BATCH_SIZE = 16
MAX_DEQUEUE_COUNT = 5
PROCESSING_VISIBILITY_SECONDS = 600


class QueueTriggerConfigError(ValueError):
    """A queue trigger whose queue name or connection cannot be used."""


class MessageDecodingError(ValueError):
    """A message that is not valid base64 while the host expects base64."""


def decode_message(text: str, *, base64_encoded: bool) -> str:
    """Return the message body the function sees, base64-decoding it when the host is configured so."""
    if not base64_encoded:
        return text
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise MessageDecodingError(
            "message is not base64; send base64 text or set extensions.queues.messageEncoding to none"
        ) from error


def message_encoding_is_base64(app_dir: Path | None) -> bool:
    """Read ``extensions.queues.messageEncoding`` from ``host.json`` (default base64, as on Azure)."""
    if app_dir is None or not (app_dir / "host.json").is_file():
        return True
    try:
        document = json.loads((app_dir / "host.json").read_text(encoding="utf-8-sig"))
        encoding = document.get("extensions", {}).get("queues", {}).get("messageEncoding", "base64")
    except (ValueError, AttributeError):
        return True
    return str(encoding).lower() != "none"


def queue_name_for(info: FunctionInfo) -> str:
    """Resolve the trigger's ``queueName``: ``%NAME%`` app settings, as the host's name resolver does."""
    name = resolve_app_settings(str(info.trigger.get("queueName", "")))
    if not name:
        raise QueueTriggerConfigError("queue trigger without a queueName")
    return name.lower()


@dataclass(frozen=True)
class QueueTrigger:
    """One queue-triggered function with its queue and connection."""

    info: FunctionInfo
    queue_name: str
    connection: StorageConnection


class QueueTriggerService:
    """Polls every queue trigger's queue while the host serves."""

    def __init__(self, index: FunctionIndex, invoker: FunctionInvoker, *, poll_interval: float = 1.0) -> None:
        self.invoker = invoker
        self.poll_interval = poll_interval
        self.base64 = message_encoding_is_base64(index.app_path.parent if index.app_path else None)
        self.triggers: dict[str, QueueTrigger] = {}
        self.errors: dict[str, str] = {}  # function name -> why it is disabled
        self.poll_rounds = 0
        self._clients: dict[StorageConnection, QueueServiceClient] = {}
        self._poller: asyncio.Task[None] | None = None
        for info in index.of_type("queueTrigger"):
            try:
                self.triggers[info.name] = QueueTrigger(
                    info=info,
                    queue_name=queue_name_for(info),
                    connection=storage_connection(info.trigger.get("connection"), "queue"),
                )
            except HostIndexingError as error:
                # The host puts such a function in error and runs the others: so does devhost.
                self.errors[info.name] = function_error(info.name, error)
                LOGGER.error("%s", self.errors[info.name])
            except (QueueTriggerConfigError, ValueError) as error:
                self.errors[info.name] = f"queue trigger {info.name} disabled: {error}"
                LOGGER.error("%s", self.errors[info.name])

    def _queue(self, trigger: QueueTrigger, queue_name: str | None = None) -> QueueClient:
        service = self._clients.get(trigger.connection)
        if service is None:
            service = trigger.connection.queue_service_client()
            self._clients[trigger.connection] = service
        return service.get_queue_client(queue_name or trigger.queue_name)

    async def start(self) -> None:
        """Start polling (no-op without queue triggers)."""
        if self.triggers:
            self._poller = asyncio.create_task(self._poll_forever(), name="devhost-queue-poller")

    async def stop(self) -> None:
        """Stop polling; a message being processed stays hidden until its visibility timeout passes."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for service in self._clients.values():
            await service.close()

    async def _poll_forever(self) -> None:
        while True:
            for trigger in list(self.triggers.values()):
                try:
                    await self.poll_once(trigger)
                except asyncio.CancelledError:
                    raise
                except ResourceNotFoundError:
                    pass  # the queue does not exist yet; the host waits for it too
                except Exception as error:
                    LOGGER.debug("queue poll for %s failed: %s", trigger.info.name, error)
            self.poll_rounds += 1
            await asyncio.sleep(self.poll_interval)

    async def poll_once(self, trigger: QueueTrigger) -> int:
        """Receive one batch and process it; returns how many messages were received."""
        queue = self._queue(trigger)
        batch = [
            message
            async for message in queue.receive_messages(
                max_messages=BATCH_SIZE, visibility_timeout=PROCESSING_VISIBILITY_SECONDS
            )
        ]
        if batch:
            await asyncio.gather(*(self._process(trigger, queue, message) for message in batch))
        return len(batch)

    async def _process(self, trigger: QueueTrigger, queue: QueueClient, message: Any) -> None:
        try:
            body = decode_message(str(message.content), base64_encoded=self.base64)
            await self.invoker.invoke(
                trigger.info,
                QueueMessage(  # type: ignore[no-untyped-call]
                    id=message.id,
                    body=body,
                    dequeue_count=message.dequeue_count,
                    insertion_time=message.inserted_on,
                    expiration_time=message.expires_on,
                    time_next_visible=message.next_visible_on,
                    pop_receipt=message.pop_receipt,
                ),
                metadata={"QueueTrigger": body, "Id": message.id, "DequeueCount": message.dequeue_count},
            )
        except Exception as error:
            await self._failed(trigger, queue, message, f"{type(error).__name__}: {error}")
            return
        await queue.delete_message(message.id, message.pop_receipt)
        LOGGER.info("Executed 'Functions.%s' (Succeeded, message %s)", trigger.info.name, message.id)

    async def _failed(self, trigger: QueueTrigger, queue: QueueClient, message: Any, reason: str) -> None:
        if int(message.dequeue_count or 0) >= MAX_DEQUEUE_COUNT:
            poison = self._queue(trigger, f"{trigger.queue_name}-poison")
            with contextlib.suppress(ResourceExistsError):
                await poison.create_queue()
            await poison.send_message(message.content)
            await queue.delete_message(message.id, message.pop_receipt)
            LOGGER.error(
                "message %s moved to %s-poison after %d attempts: %s",
                message.id,
                trigger.queue_name,
                message.dequeue_count,
                reason,
            )
            return
        LOGGER.warning(
            "Executed 'Functions.%s' (Failed, message %s): %s", trigger.info.name, message.id, reason
        )
        # Visible again at once: the host's default visibilityTimeout between retries is zero.
        await queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
