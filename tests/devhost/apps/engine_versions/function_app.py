"""Orchestrations that report their version and wait on long timers; host.json sets defaultVersion "2.0"."""

from __future__ import annotations

from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def report_version(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def versioned_parent(context: df.DurableOrchestrationContext):
    inherited = yield context.call_sub_orchestrator("report_version", None, f"{context.instance_id}-default")
    pinned = yield context.call_sub_orchestrator(
        "report_version", None, f"{context.instance_id}-pinned", version="1.5"
    )
    retried = yield context.call_sub_orchestrator_with_retry(
        "report_version",
        df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2),
        None,
        f"{context.instance_id}-retried",
        version="1.7",
    )
    return {"parent": context.version, "default": inherited, "pinned": pinned, "retried": retried}


@app.orchestration_trigger(context_name="context")
def long_wait(context: df.DurableOrchestrationContext):
    days = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(days=days))
    return {"started": started.isoformat(), "resumed": context.current_utc_datetime.isoformat()}


@app.orchestration_trigger(context_name="context")
def long_deadline(context: df.DurableOrchestrationContext):
    """Wait for an event with a two-week deadline; when the event wins, cancel the deadline and go on."""
    deadline = context.create_timer(context.current_utc_datetime + timedelta(days=14))
    answer = context.wait_for_external_event("answer")
    winner = yield context.task_any([answer, deadline])
    if winner == answer:
        deadline.cancel()
        follow_up = yield context.wait_for_external_event("follow_up")
        return {"answer": answer.result, "follow_up": follow_up}
    return {"answer": None, "timed_out_at": context.current_utc_datetime.isoformat()}
