"""The workloads on Microsoft's ``durabletask`` SDK against its in-memory test backend.

``durabletask.testing.InMemoryOrchestrationBackend`` keeps all state in memory (no durability at all) and
talks to the worker and client over gRPC, as the real sidecar does. Its ``start()`` listens on every
interface; the subclass below binds loopback on a free port instead, so the benchmark opens nothing beyond
this machine.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Generator
from concurrent import futures
from typing import Any, cast

import durabletask.internal.orchestrator_service_pb2_grpc as service_stubs
import grpc  # type: ignore[import-untyped]
from durabletask import task
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.worker import TaskHubGrpcWorker

from bench.workloads import Sizes

WAIT_TIMEOUT_S = 600


class LoopbackBackend(InMemoryOrchestrationBackend):
    """The in-memory backend, served on 127.0.0.1 and a port the OS picks."""

    def start(self) -> str:
        self._shutdown_event.clear()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
        service_stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        port = server.add_insecure_port("127.0.0.1:0")
        self._server = server
        self._port = port
        server.start()
        return f"127.0.0.1:{port}"


def noop_activity(context: task.ActivityContext, value: int) -> int:
    return value


def chain_orchestrator(context: task.OrchestrationContext, steps: int) -> Generator[task.Task[Any], Any, int]:
    for step in range(steps):
        yield context.call_activity(noop_activity, input=step)
    return steps


def fan_out_orchestrator(
    context: task.OrchestrationContext, width: int
) -> Generator[task.Task[Any], Any, int]:
    calls: list[task.Task[Any]] = [
        context.call_activity(noop_activity, input=index) for index in range(width)
    ]
    results = yield task.when_all(calls)
    return len(results)


# The SDK's Orchestrator alias is a union its generics cannot infer from a plain generator function.
CHAIN: task.Orchestrator[int, int] = cast("task.Orchestrator[int, int]", chain_orchestrator)
FAN_OUT: task.Orchestrator[int, int] = cast("task.Orchestrator[int, int]", fan_out_orchestrator)


def _quiet_logger(name: str) -> logging.Logger:
    # The SDK logs every instance start and completion at INFO (printing thousands of lines would be measured
    # too) and a warning when the worker stops and its stream is cancelled, which is the normal shutdown.
    logger = logging.Logger(name, level=logging.ERROR)
    logger.addHandler(logging.StreamHandler())
    return logger


def _wait_completed(client: TaskHubGrpcClient, instance_id: str, expected: int) -> None:
    state = client.wait_for_orchestration_completion(instance_id, timeout=WAIT_TIMEOUT_S)
    if state is None or state.runtime_status != OrchestrationStatus.COMPLETED:
        raise AssertionError(f"instance {instance_id} did not complete: {state}")
    if state.serialized_output != str(expected):
        raise AssertionError(f"instance {instance_id} returned {state.serialized_output}")


def _w1(client: TaskHubGrpcClient, sizes: Sizes) -> float:
    started = time.perf_counter()
    instance_ids = [
        client.schedule_new_orchestration(CHAIN, input=sizes.w1_chain_length)
        for _ in range(sizes.w1_orchestrations)
    ]
    for instance_id in instance_ids:
        _wait_completed(client, instance_id, sizes.w1_chain_length)
    return sizes.w1_orchestrations / (time.perf_counter() - started)


def _w2(client: TaskHubGrpcClient, sizes: Sizes) -> float:
    started = time.perf_counter()
    instance_id = client.schedule_new_orchestration(FAN_OUT, input=sizes.w2_fan_out)
    _wait_completed(client, instance_id, sizes.w2_fan_out)
    return time.perf_counter() - started


def _w3(client: TaskHubGrpcClient, sizes: Sizes) -> float:
    started = time.perf_counter()
    instance_id = client.schedule_new_orchestration(CHAIN, input=sizes.w3_chain_length)
    _wait_completed(client, instance_id, sizes.w3_chain_length)
    return time.perf_counter() - started


def measure(workload: str, sizes: Sizes, warm_up: Sizes) -> float:
    """Run ``workload`` on a fresh backend and worker, after an untimed warm-up; return its figure."""
    run = {"w1": _w1, "w2": _w2, "w3": _w3}[workload]
    # The backend keeps nothing on disk; the temp dir only keeps the rule "every figure in a fresh temp dir".
    with tempfile.TemporaryDirectory(prefix="bench-durabletask-"):
        backend = LoopbackBackend(port=0)
        address = backend.start()
        worker = TaskHubGrpcWorker(host_address=address, logger=_quiet_logger("durabletask-worker"))
        worker.add_orchestrator(CHAIN)
        worker.add_orchestrator(FAN_OUT)
        worker.add_activity(noop_activity)
        worker.start()  # type: ignore[no-untyped-call]
        client = TaskHubGrpcClient(host_address=address, logger=_quiet_logger("durabletask-client"))
        try:
            run(client, warm_up)
            figure = run(client, sizes)
        finally:
            client.close()
            worker.stop()  # type: ignore[no-untyped-call]
            backend.stop()
    return figure
