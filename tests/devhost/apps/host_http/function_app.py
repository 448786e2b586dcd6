"""HTTP triggers and durable client functions exercised by tests/devhost/host."""

import asyncio
import json
import threading
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _describe(req: func.HttpRequest) -> func.HttpResponse:
    document = {
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "body": req.get_body().decode("latin-1"),
    }
    return func.HttpResponse(json.dumps(document), mimetype="application/json")


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"id={req.route_params['id']}")


@app.route(route="items/{name:alpha}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"name={req.route_params['name']}")


@app.route(route="items/special", methods=["GET"])
def item_special(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("special")


@app.route(route="describe/{a}/{b?}", methods=["GET", "POST", "PUT"])
def describe(req: func.HttpRequest) -> func.HttpResponse:
    return _describe(req)


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("path=" + req.route_params.get("path", ""))


@app.route()
def default_route(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("default route is the function name")


@app.route(route="echo", methods=["POST"])
async def echo_bytes(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return func.HttpResponse(req.get_body(), status_code=201, mimetype="application/octet-stream")


@app.route(route="cookies")
def cookies(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse("two cookies", status_code=200, headers={"X-Custom": "yes"})
    response.headers.add_header("Set-Cookie", "a=1; Path=/")
    response.headers.add_header("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="teapot")
def teapot(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        '{"short": "stout"}', status_code=418, headers={"Content-Type": "application/problem+json"}
    )


@app.route(route="plain-string")
def plain_string(req: func.HttpRequest) -> str:
    return "just a string"


@app.route(route="named-output", binding_arg_name="outcome")
def named_output(req: func.HttpRequest, outcome: func.Out[func.HttpResponse]) -> None:
    outcome.set(func.HttpResponse("set through the named output", status_code=202))


@app.route(route="with-context")
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return func.HttpResponse(f"{context.function_name}:{bool(context.invocation_id)}")


@app.route(route="raises")
def raises(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("the function failed on purpose")


@app.route(route="wrong-type")
def wrong_type(req: func.HttpRequest) -> func.HttpResponse:
    return {"not": "a response"}  # type: ignore[return-value]


@app.route(route="secured/function", auth_level=func.AuthLevel.FUNCTION)
def secured_function(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function level")


@app.route(route="secured/admin", auth_level=func.AuthLevel.ADMIN)
def secured_admin(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin level")


# Durable client functions: the real DurableOrchestrationClient against devhost's Durable HTTP API.


@app.route(route="orchestrators/{name}/{instance_id?}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_orchestration(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["name"], req.route_params.get("instance_id") or None, payload
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="run/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def run_and_wait(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None, json.loads(body) if body else None)
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=20000, retry_interval_in_milliseconds=100
    )


@app.route(route="status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def get_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    status = await client.get_status(req.route_params["instance_id"], show_history=True)
    return func.HttpResponse(json.dumps(status.to_json(), default=str), mimetype="application/json")


@app.route(route="events/{instance_id}/{event}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def raise_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.raise_event(req.route_params["instance_id"], req.route_params["event"], req.get_json())
    return func.HttpResponse(status_code=202)


@app.route(route="terminate/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def terminate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    await client.terminate(req.route_params["instance_id"], "stopped by a test")
    return func.HttpResponse(status_code=202)


@app.orchestration_trigger(context_name="context")
def greet_then_wait(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    name = context.get_input() or "world"
    greeting = yield context.call_activity("make_greeting", name)
    yield context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    approval = yield context.wait_for_external_event("Approval")
    return {"greeting": greeting, "approval": approval}


@app.orchestration_trigger(context_name="context")
def greet(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield context.call_activity("make_greeting", context.get_input() or "world"))


@app.activity_trigger(input_name="name")
def make_greeting(name: str) -> str:
    return f"Hello, {name}!"


RELEASE = threading.Event()
WAITING = threading.Event()


@app.route(route="blocking/wait")
def blocking_wait(req: func.HttpRequest) -> func.HttpResponse:
    # Blocks its thread; the host must keep serving other requests meanwhile.
    WAITING.set()
    return func.HttpResponse("released" if RELEASE.wait(timeout=10) else "timed out")


@app.route(route="blocking/release")
def blocking_release(req: func.HttpRequest) -> func.HttpResponse:
    RELEASE.set()
    return func.HttpResponse("ok")
