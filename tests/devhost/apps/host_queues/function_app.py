"""Queue triggers exercised by tests/devhost/host/test_queue_triggers.py against a real Azurite.

The connection setting ``HostTestStorage`` is set by the tests (an explicit Azurite connection string).
"""

import azure.functions as func

app = func.FunctionApp()

RECEIVED: list[dict[str, object]] = []
ATTEMPTS: list[str] = []


@app.queue_trigger(arg_name="message", queue_name="%HostTestOrdersQueue%", connection="HostTestStorage")
def on_order(message: func.QueueMessage) -> None:
    RECEIVED.append(
        {"id": message.id, "body": message.get_body().decode(), "dequeue_count": message.dequeue_count}
    )


@app.queue_trigger(arg_name="message", queue_name="host-broken", connection="HostTestStorage")
def always_fails(message: func.QueueMessage) -> None:
    ATTEMPTS.append(message.get_body().decode())
    raise RuntimeError("cannot handle this message")
