"""Event Grid, timer and queue triggers exercised by tests/devhost/host (webhook and admin invoke)."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# The in-process tests read what each function saw from these module-level lists.
RECEIVED_EVENTS: list[dict[str, object]] = []
RECEIVED_CLOUD_EVENTS: list[dict[str, object]] = []
TIMER_CALLS: list[bool] = []
QUEUE_MESSAGES: list[str] = []
STARTED_INSTANCES: list[str] = []


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    RECEIVED_EVENTS.append(
        {
            "id": event.id,
            "type": event.event_type,
            "subject": event.subject,
            "topic": event.topic,
            "data": event.get_json(),
            "time": event.event_time.isoformat() if event.event_time else None,
            "data_version": event.data_version,
        }
    )


@app.event_grid_trigger(arg_name="event")
def on_cloud_event(event: func.CloudEvent) -> None:
    # What a CloudEvents subscription hands the function: the library's CloudEvent, fields as they came.
    RECEIVED_CLOUD_EVENTS.append(
        {
            "class": type(event).__name__,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "specversion": event.specversion,
            "subject": event.subject,
            "time": event.time.isoformat() if event.time else None,
            "datacontenttype": event.datacontenttype,
            "dataschema": event.dataschema,
            "data": event.get_json(),
            "extensions": event.extension_attrs,
        }
    )


@app.event_grid_trigger(arg_name="event")
def failing_event(event: func.EventGridEvent) -> None:
    raise ValueError(f"cannot handle {event.id}")


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def start_from_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient) -> None:
    STARTED_INSTANCES.append(await client.start_new("echo_orchestrator", None, event.get_json()))


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False)
def nightly(timer: func.TimerRequest) -> None:
    TIMER_CALLS.append(timer.past_due)


@app.queue_trigger(arg_name="message", queue_name="work", connection="AzureWebJobsStorage")
def on_message(message: func.QueueMessage) -> None:
    QUEUE_MESSAGES.append(message.get_body().decode())


@app.orchestration_trigger(context_name="context")
def echo_orchestrator(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield context.call_activity("echo_activity", context.get_input()))


@app.activity_trigger(input_name="value")
def echo_activity(value: object) -> object:
    return value
