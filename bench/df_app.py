"""The benchmark's workloads as a Python v2 Durable Functions app, for devhost and for the replay floor.

Activities are no-ops so that every figure measures the orchestration machinery, not user code.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from devhost.functions import FunctionIndex, index_app

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

CHAIN_ORCHESTRATOR = "bench_chain"
FAN_OUT_ORCHESTRATOR = "bench_fan_out"
NOOP_ACTIVITY = "bench_noop"


@app.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def bench_chain(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Call the no-op activity ``input`` times, one after another."""
    steps = int(context.get_input())
    for step in range(steps):
        yield context.call_activity(NOOP_ACTIVITY, step)
    return steps


@app.orchestration_trigger(context_name="context")  # type: ignore[untyped-decorator]
def bench_fan_out(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Call the no-op activity ``input`` times in parallel and wait for all of them."""
    width = int(context.get_input())
    results = yield context.task_all([context.call_activity(NOOP_ACTIVITY, index) for index in range(width)])
    return len(results)


@app.activity_trigger(input_name="value")  # type: ignore[untyped-decorator]
def bench_noop(value: int) -> int:
    """Return the input unchanged."""
    return value


@functools.cache
def bench_index() -> FunctionIndex:
    """The app's function index, as devhost builds it (cached: an app can be indexed once per process)."""
    return index_app(app)
