"""The workloads on DBOS, with its system database in SQLite (WAL, synchronous=FULL: fsync on commit).

DBOS records every workflow start and every step outcome in its system database, which is its durability
mechanism, so the figures include the same kind of commits devhost makes. Fan-out (W2) starts one child
workflow per no-op step from inside the parent workflow, DBOS's durable way to run steps in parallel (a queue
with a short polling interval measured the same here; direct children avoid tuning a poll).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from dbos import DBOS, DBOSConfig

from bench.workloads import Sizes


@DBOS.step()
def noop_step(value: int) -> int:
    return value


@DBOS.workflow()
def chain_workflow(steps: int) -> int:
    for step in range(steps):
        noop_step(step)
    return steps


@DBOS.workflow()
def fan_out_workflow(width: int) -> int:
    handles = [DBOS.start_workflow(noop_step, index) for index in range(width)]
    return len([handle.get_result() for handle in handles])


def _launch(data_dir: Path) -> Path:
    database = data_dir / "dbos_system.sqlite"
    # DBOS leaves SQLite's journal mode alone; WAL is a property of the file, so setting it before DBOS opens
    # the file makes every DBOS connection use it. synchronous stays at SQLite's default, FULL.
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    config: DBOSConfig = {
        "name": "bench",
        "system_database_url": f"sqlite:///{database}",
        "log_level": "WARNING",
    }
    DBOS(config=config)
    DBOS.launch()
    return database


def _check_durability_settings(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        journal_mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = connection.execute("PRAGMA synchronous").fetchone()[0]
    if journal_mode != "wal" or synchronous != 2:
        raise RuntimeError(
            f"DBOS database not in WAL/FULL: journal_mode={journal_mode} synchronous={synchronous}"
        )


def _w1(sizes: Sizes) -> float:
    started = time.perf_counter()
    handles = [
        DBOS.start_workflow(chain_workflow, sizes.w1_chain_length) for _ in range(sizes.w1_orchestrations)
    ]
    for handle in handles:
        if handle.get_result() != sizes.w1_chain_length:
            raise AssertionError("chain returned the wrong result")
    return sizes.w1_orchestrations / (time.perf_counter() - started)


def _w2(sizes: Sizes) -> float:
    started = time.perf_counter()
    if fan_out_workflow(sizes.w2_fan_out) != sizes.w2_fan_out:
        raise AssertionError("fan-out returned the wrong result")
    return time.perf_counter() - started


def _w3(sizes: Sizes) -> float:
    started = time.perf_counter()
    if chain_workflow(sizes.w3_chain_length) != sizes.w3_chain_length:
        raise AssertionError("chain returned the wrong result")
    return time.perf_counter() - started


def measure(workload: str, sizes: Sizes, warm_up: Sizes) -> float:
    """Run ``workload`` on a fresh DBOS in a fresh temp dir, after an untimed warm-up; return its figure."""
    run = {"w1": _w1, "w2": _w2, "w3": _w3}[workload]
    with tempfile.TemporaryDirectory(prefix="bench-dbos-") as data_dir:
        database = _launch(Path(data_dir))
        try:
            run(warm_up)
            figure = run(sizes)
            _check_durability_settings(database)
        finally:
            DBOS.destroy()
    return figure
