"""Every devhost endpoint that reads a body, for the hostile-input tests (nesting, huge numbers, size)."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# What each function received, so a test can tell that a refused body reached no function.
RECEIVED: list[str] = []


@app.route(route="echo", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    RECEIVED.append("echo")
    return func.HttpResponse(str(len(req.get_body())))


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    RECEIVED.append(f"on_event:{event.id}")


@app.blob_trigger(
    arg_name="blob", path="uploads/{name}", connection="DevhostHostileStorage", source="EventGrid"
)
def on_upload(blob: func.InputStream) -> None:
    RECEIVED.append(f"on_upload:{blob.name}")


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *")
def nightly(timer: func.TimerRequest) -> None:
    RECEIVED.append("nightly")
