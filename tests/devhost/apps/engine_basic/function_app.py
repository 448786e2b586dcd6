"""Small orchestrations, activities and an entity, one per durable behaviour the engine tests check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Attempts per key for the flaky activity; tests reset it.
ATTEMPTS: dict[str, int] = {}
# Replays of the non-deterministic orchestrator; each replay picks another activity.
REPLAYS: dict[str, int] = {"count": 0}


@app.orchestration_trigger(context_name="context")
def hello_sequence(context: df.DurableOrchestrationContext):
    cities = context.get_input() or ["Tokyo", "Seattle", "London"]
    results = []
    for city in cities:
        results.append((yield context.call_activity("say_hello", city)))
    return results


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("double", i) for i in range(count)])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def retry_activity(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    spec = context.get_input()
    return (yield context.call_activity_with_retry("flaky", options, spec))


@app.orchestration_trigger(context_name="context")
def retry_then_more(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=500, max_number_of_attempts=2)
    first, second = yield context.task_all(
        [
            context.call_activity_with_retry("flaky", options, {"key": "left", "fail_times": 1}),
            context.call_activity_with_retry("flaky", options, {"key": "right", "fail_times": 1}),
        ]
    )
    third = yield context.call_activity("say_hello", "after")
    return [first, second, third]


@app.orchestration_trigger(context_name="context")
def catch_retry_exhausted(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("flaky", options, {"key": "never", "fail_times": 99})
    except Exception as error:
        return f"gave up: {error}"
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    child = yield context.call_sub_orchestrator("hello_sequence", ["Paris"])
    named = yield context.call_sub_orchestrator(
        "hello_sequence", ["Oslo"], instance_id=f"{context.instance_id}-kid"
    )
    return child + named


@app.orchestration_trigger(context_name="context")
def parent_of_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator("always_fails", None)
    except Exception as error:
        return f"child failed: {error}"
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def retry_sub(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    return (yield context.call_sub_orchestrator_with_retry("flaky_child", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def always_fails(context: df.DurableOrchestrationContext):
    raise ValueError("E_CHILD: nothing works")
    yield  # pragma: no cover


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(seconds=seconds))
    return (context.current_utc_datetime - started).total_seconds()


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(days=3)
    timeout = context.create_timer(deadline)
    decision = context.wait_for_external_event("decision")
    winner = yield context.task_any([decision, timeout])
    if winner == decision:
        timeout.cancel()
        return {"decision": decision.result}
    return {"decision": "timed out"}


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("first")
    second = yield context.wait_for_external_event("second")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def with_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    value = yield context.wait_for_external_event("go")
    context.set_custom_status({"stage": "done", "value": value})
    return value


@app.orchestration_trigger(context_name="context")
def counter_loop(context: df.DurableOrchestrationContext):
    state = context.get_input() or {"n": 0, "seen": []}
    if state["n"] >= 3:
        return state
    if state["n"] == 1:
        state["seen"].append((yield context.wait_for_external_event("tick")))
    yield context.call_activity("say_hello", str(state["n"]))
    state["n"] += 1
    context.continue_as_new(state)
    return None


@app.orchestration_trigger(context_name="context")
def crashes(context: df.DurableOrchestrationContext):
    yield context.call_activity("say_hello", "before")
    raise RuntimeError("E_BOOM: the orchestrator broke")


@app.orchestration_trigger(context_name="context")
def activity_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("fail_always", "E_BAD_INPUT: the input was rejected")
    except Exception as error:
        return str(error)
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def unhandled_activity_failure(context: df.DurableOrchestrationContext):
    yield context.call_activity("fail_always", "E_FATAL: gave up")
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    REPLAYS["count"] += 1
    name = "say_hello" if REPLAYS["count"] == 1 else "double"
    yield context.call_activity(name, 1)
    yield context.call_activity("say_hello", "end")
    return "done"


@app.orchestration_trigger(context_name="context")
def entity_user(context: df.DurableOrchestrationContext):
    counter = df.EntityId("counter", context.get_input())
    context.signal_entity(counter, "add", 5)
    yield context.call_entity(counter, "add", 10)
    return (yield context.call_entity(counter, "get"))


@app.orchestration_trigger(context_name="context")
def big_output(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("make_big", 70_000))


@app.orchestration_trigger(context_name="context")
def noop_chain(context: df.DurableOrchestrationContext):
    steps = context.get_input() or 5
    for step in range(steps):
        yield context.call_activity("noop", step)
    return steps


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="value")
async def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="value")
async def noop(value: Any) -> Any:
    return value


@app.activity_trigger(input_name="spec")
def flaky(spec: dict) -> str:  # a plain type: the Python worker refuses dict[str, Any] here
    key = spec["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= spec["fail_times"]:
        raise ConnectionError(f"E_TRANSIENT: attempt {ATTEMPTS[key]} of {key} failed")
    return f"{key} ok after {ATTEMPTS[key]}"


@app.activity_trigger(input_name="message")
def fail_always(message: str) -> None:
    raise ValueError(message)


@app.activity_trigger(input_name="size")
def make_big(size: int) -> str:
    return "x" * size


@app.entity_trigger(context_name="context")
def counter(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_state(value)
    elif operation == "reset":
        context.set_state(0)
    elif operation == "get":
        context.set_result(value)
    elif operation == "fail":
        raise ValueError("E_ENTITY: refused")


@app.orchestration_trigger(context_name="context")
def fan_noop(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def client_in_activity(context: df.DurableOrchestrationContext):
    started = yield context.call_activity("start_greeting", context.get_input())
    info = yield context.call_activity("describe_invocation", None)
    return {"started": started, "info": info}


@app.activity_trigger(input_name="city")
@app.durable_client_input(client_name="client")
async def start_greeting(city: str, client: df.DurableOrchestrationClient) -> str:
    return await client.start_new("hello_sequence", f"greeting-{city}", [city])


@app.activity_trigger(input_name="unused")
def describe_invocation(unused: None, context: func.Context) -> str:
    return context.function_name


@app.orchestration_trigger(context_name="context")
def retry_races_event(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)
    attempt = context.call_activity_with_retry("flaky", options, {"key": "race", "fail_times": 1})
    stop = context.wait_for_external_event("stop")
    winner = yield context.task_any([attempt, stop])
    after = yield context.call_activity("say_hello", "after race")
    return [winner.result, after]


@app.orchestration_trigger(context_name="context")
def entities_with_activities(context: df.DurableOrchestrationContext):
    counter = df.EntityId("counter", context.get_input())
    added, doubled = yield context.task_all(
        [context.call_entity(counter, "add", 2), context.call_activity("double", 21)]
    )
    total = yield context.call_entity(counter, "get")
    try:
        yield context.call_entity(counter, "fail")
    except Exception as error:
        refused = str(error)
    else:
        refused = "not refused"
    return [added, doubled, total, refused]


@app.orchestration_trigger(context_name="context")
def calls_missing_activity(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("no_such_activity", 1)
    except Exception as error:
        return str(error)
    return "unexpected"


@app.orchestration_trigger(context_name="context")
def report_version(context: df.DurableOrchestrationContext):
    return context.version
    yield  # pragma: no cover
