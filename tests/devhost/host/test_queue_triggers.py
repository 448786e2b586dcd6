"""Queue triggers against a real Azurite: base64 messages, delete on success, retries, poison queue."""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueServiceClient

from devhost.queue_triggers import MAX_DEQUEUE_COUNT, MessageDecodingError, decode_message
from tests.devhost.host.support import InProcessHost, in_process_host, wait_until
from tests.support.azurite import AzuriteInstance

pytestmark = pytest.mark.azurite
SETTINGS = ("HostTestStorage", "HostTestOrdersQueue")


@pytest.fixture(scope="module")
def queues(azurite: AzuriteInstance) -> Iterator[QueueServiceClient]:
    previous = {name: os.environ.get(name) for name in SETTINGS}
    # App settings keep the app's own casing, as in local.settings.json.
    os.environ.update({"HostTestStorage": azurite.connection_string, "HostTestOrdersQueue": "host-orders"})
    service = QueueServiceClient.from_connection_string(azurite.connection_string)
    for name in ("host-orders", "host-broken"):
        with contextlib.suppress(ResourceExistsError):
            service.create_queue(name)
    yield service
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def queue_host(
    queues: QueueServiceClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcessHost]:
    with in_process_host(
        "host_queues", tmp_path_factory.mktemp("queue-host"), queue_poll_interval=0.1
    ) as host:
        yield host


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_message_reaches_the_function_and_is_deleted(
    queue_host: InProcessHost, queues: QueueServiceClient
) -> None:
    text = f"order-{uuid.uuid4().hex[:8]}"
    queues.get_queue_client("host-orders").send_message(encoded(text))
    received = queue_host.module_value("on_order", "RECEIVED")
    record = wait_until(
        lambda: next((r for r in received if r["body"] == text), None), what="the queue trigger"
    )
    assert record["dequeue_count"] == 1
    assert record["id"]

    def queue_empty() -> bool:
        return not list(queues.get_queue_client("host-orders").peek_messages(max_messages=32))

    wait_until(queue_empty, what="the message to be deleted")


def test_failing_message_moves_to_the_poison_queue(
    queue_host: InProcessHost, queues: QueueServiceClient
) -> None:
    text = f"bad-{uuid.uuid4().hex[:8]}"
    queues.get_queue_client("host-broken").send_message(encoded(text))
    poison = queues.get_queue_client("host-broken-poison")

    def poisoned() -> list[str]:
        try:
            return [m.content for m in poison.peek_messages(max_messages=32) if m.content == encoded(text)]
        except Exception:
            return []

    wait_until(poisoned, what="the poison message")
    assert queue_host.module_value("always_fails", "ATTEMPTS").count(text) == MAX_DEQUEUE_COUNT


def test_base64_decoding_and_its_refusal() -> None:
    assert decode_message(encoded("héllo"), base64_encoded=True) == "héllo"
    assert decode_message("plain text", base64_encoded=False) == "plain text"
    with pytest.raises(MessageDecodingError):
        decode_message("not base64!", base64_encoded=True)
