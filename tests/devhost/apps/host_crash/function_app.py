"""A chain of activities that record each execution, for the SIGKILL crash test.

Every activity appends one line to ``$CRASH_TEST_LOG`` (instance, step) before returning, so the test can
check that each step ran at least once, whatever the kills interrupted.
"""

import json
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

STEPS = 6


@app.route(route="start/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_chain(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("chain", req.route_params["instance_id"], None)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    results = []
    for step in range(STEPS):
        results.append(
            (yield context.call_activity("slow_step", {"instance": context.instance_id, "step": step}))
        )
    return results


@app.activity_trigger(input_name="work")
def slow_step(work: dict) -> str:  # a plain type: the Python worker refuses dict[str, object]
    # Long enough that a kill often lands while an activity is in flight.
    time.sleep(0.15)
    with open(os.environ["CRASH_TEST_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(work) + "\n")
        log.flush()
        os.fsync(log.fileno())
    return f"{work['instance']}:{work['step']}"
