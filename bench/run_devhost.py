"""The workloads on devhost's engine, in-process through its API (no HTTP), durable, with time skipping.

``Engine(durable=True)`` keeps its store in SQLite WAL with ``synchronous=FULL``: every dispatch round's
commit is fsynced before its effects (activity work, futures of callers) are released, so the figures pay for
the same durability DBOS's do.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.df_app import CHAIN_ORCHESTRATOR, FAN_OUT_ORCHESTRATOR, bench_index
from bench.workloads import Sizes
from devhost.clock import Clock
from devhost.engine import Engine

WAIT_TIMEOUT_S = 600.0


async def _run_to_completion(engine: Engine, instance_ids: list[str], expected_output: int) -> None:
    # One waiter at a time: the figure is when the last instance finishes, and a waiter per instance would
    # only add wake-ups to the engine's loop.
    for instance_id in instance_ids:
        status = await engine.wait_for_instance(instance_id, timeout=WAIT_TIMEOUT_S)
        if status.get("runtimeStatus") != "Completed" or status.get("output") != expected_output:
            raise AssertionError(f"instance {instance_id} ended as {json.dumps(status)[:500]}")


async def _w1(engine: Engine, sizes: Sizes) -> float:
    chain_input = json.dumps(sizes.w1_chain_length)
    started = time.perf_counter()
    # Started together, as concurrent callers would: the engine groups the starts into shared commits.
    instance_ids = await asyncio.gather(
        *(
            engine.start_new(CHAIN_ORCHESTRATOR, input_json=chain_input)
            for _ in range(sizes.w1_orchestrations)
        )
    )
    await _run_to_completion(engine, list(instance_ids), sizes.w1_chain_length)
    return sizes.w1_orchestrations / (time.perf_counter() - started)


async def _w2(engine: Engine, sizes: Sizes) -> float:
    started = time.perf_counter()
    instance_id = await engine.start_new(FAN_OUT_ORCHESTRATOR, input_json=json.dumps(sizes.w2_fan_out))
    await _run_to_completion(engine, [instance_id], sizes.w2_fan_out)
    return time.perf_counter() - started


async def _w3(engine: Engine, sizes: Sizes) -> float:
    started = time.perf_counter()
    instance_id = await engine.start_new(CHAIN_ORCHESTRATOR, input_json=json.dumps(sizes.w3_chain_length))
    await _run_to_completion(engine, [instance_id], sizes.w3_chain_length)
    return time.perf_counter() - started


async def measure_async(workload: str, sizes: Sizes, warm_up: Sizes) -> float:
    """Run ``workload`` on a fresh engine in a fresh temp dir, after an untimed warm-up; return its figure."""
    run = {"w1": _w1, "w2": _w2, "w3": _w3}[workload]
    with tempfile.TemporaryDirectory(prefix="bench-devhost-") as data_dir:
        engine = Engine(bench_index(), Path(data_dir), clock=Clock.skipping(), durable=True)
        await engine.start()
        try:
            await run(engine, warm_up)
            return await run(engine, sizes)
        finally:
            await engine.stop()


def measure(workload: str, sizes: Sizes, warm_up: Sizes) -> float:
    """Synchronous entry point, like the peers'."""
    return asyncio.run(measure_async(workload, sizes, warm_up))
