"""Benchmark devhost's embedded durable engine against DBOS and durabletask, side by side, in one invocation.

Workloads (sizes in ``bench/workloads.py``; ``--sizes small`` for a quick run):

- W1: 300 five-activity no-op chains started at once -> orchestrations/s (higher is better)
- W2: one orchestration fanning out 500 no-op activities -> seconds
- W3: one 200-step chain -> seconds, next to the *replay floor*: the time the Durable SDK's replay alone
  takes for the histories every episode of that chain sees (``bench/replay_floor.py``)

Systems: devhost (durable: SQLite WAL with fsync on commit; virtual clock; in-process through its Engine
API), DBOS (SQLite system database in WAL mode) and durabletask's in-memory test backend. Each system runs
in its own subprocess (their event loops, thread pools, loggers and globals must not meet), and every figure
is measured in a fresh temp dir after an untimed warm-up. With ``--repeat N`` each figure is the median of N
runs.

The output ends with one JSON line holding every figure and the three ratios:
``w1_ratio_vs_best_peer`` (devhost rate / best peer rate), ``w2_ratio_vs_best_peer`` (best peer time / devhost
time), both higher-is-better, and ``w3_ratio_vs_replay_floor`` (devhost time / floor, 1.0 is the floor).
devhost hands the SDK only the events its replay reads, so it can go below that floor; the extra
``w3_replay_floor_as_fed_s`` and ``w3_ratio_vs_replay_floor_as_fed`` compare it with the SDK's replay of
exactly those events, which isolates the engine's own overhead.

Usage: ``python bench/engine.py [--sizes full|small|tiny] [--only devhost,dbos,durabletask,floor]
[--repeat N]``
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    # Run as a script (``python bench/engine.py``), the repo root is not on the path; ``bench`` and
    # ``devhost`` are imported from it.
    sys.path.insert(0, str(REPO_ROOT))

from bench.workloads import SIZES, WARM_UP, WORKLOADS, Sizes  # noqa: E402

PEERS: tuple[str, ...] = ("dbos", "durabletask")
SYSTEMS: tuple[str, ...] = ("devhost", *PEERS)
FLOOR = "floor"
# The floor child's second figure: the SDK's replay of the histories as devhost hands them over.
AS_FED = "w3_as_fed"
# Run order: the floor right after devhost, so W3's ratio compares two runs made under the same machine load.
RUN_ORDER: tuple[str, ...] = ("devhost", FLOOR, *PEERS)
CHILD_RESULT_PREFIX = "BENCH-RESULT "
# Issue goals, printed next to the ratios.
W1_GOAL = 1.5
W2_GOAL = 1.0
W3_GOAL = 1.25


def figure_key(workload: str, system: str) -> str:
    """The JSON key of one system's figure on one workload."""
    if system == FLOOR:
        return "w3_replay_floor_as_fed_s" if workload == AS_FED else "w3_replay_floor_s"
    unit = "orch_per_s" if workload == "w1" else "s"
    return f"{workload}_{system}_{unit}"


def all_figure_keys() -> list[str]:
    """Every figure key the JSON line holds, whether measured or not."""
    keys = [figure_key(workload, system) for workload in WORKLOADS for system in SYSTEMS]
    return [*keys, figure_key("w3", FLOOR), figure_key(AS_FED, FLOOR)]


# Each system's module exposes ``measure(workload, sizes, warm_up) -> float``; imported only in its own child.
RUNNER_MODULES: dict[str, str] = {
    "devhost": "bench.run_devhost",
    "dbos": "bench.peer_dbos",
    "durabletask": "bench.peer_durabletask",
}

RATIO_KEYS: tuple[str, ...] = (
    "w1_ratio_vs_best_peer",
    "w2_ratio_vs_best_peer",
    "w3_ratio_vs_replay_floor",
    "w3_ratio_vs_replay_floor_as_fed",
)


# ----------------------------------------------------------------------------------------------------
# Child side: one system, every workload, one JSON result line on stdout.


def measure_in_this_process(system: str, sizes: Sizes, workloads: Sequence[str]) -> dict[str, float]:
    """Measure ``workloads`` on ``system`` here; import only that system's module so peers never meet."""
    figures: dict[str, float] = {}
    if system == FLOOR:
        from bench.replay_floor import engine_omitted_event_types, measure_floor

        figures["w3"] = measure_floor(sizes.w3_chain_length, WARM_UP.w3_chain_length)
        figures[AS_FED] = measure_floor(
            sizes.w3_chain_length, WARM_UP.w3_chain_length, engine_omitted_event_types()
        )
        return figures
    if system not in RUNNER_MODULES:
        raise ValueError(f"unknown system {system!r}")
    runner = importlib.import_module(RUNNER_MODULES[system])
    for workload in workloads:
        figures[workload] = float(runner.measure(workload, sizes, WARM_UP))
    return figures


def child_main(system: str, sizes_name: str, workloads: Sequence[str]) -> int:
    """Entry point of a measuring subprocess: print one result line the parent parses."""
    figures = measure_in_this_process(system, SIZES[sizes_name], workloads)
    sys.stdout.write(CHILD_RESULT_PREFIX + json.dumps(figures) + "\n")
    sys.stdout.flush()
    return 0


# ----------------------------------------------------------------------------------------------------
# Parent side: run the children, aggregate, print.


@dataclass
class Samples:
    """Every run's figure, by JSON key, and the errors of runs that failed."""

    by_key: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        self.by_key.setdefault(key, []).append(value)

    def median(self, key: str) -> float | None:
        values = self.by_key.get(key)
        return statistics.median(values) if values else None


def run_child(system: str, sizes_name: str, workloads: Sequence[str]) -> dict[str, float]:
    """Run one system's workloads in a fresh interpreter and return its figures by workload."""
    env = {**os.environ, "GRPC_VERBOSITY": "ERROR", "PYTHONHASHSEED": "0"}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        system,
        "--sizes",
        sizes_name,
        "--workloads",
        ",".join(workloads),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=False)
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(CHILD_RESULT_PREFIX):
            figures: dict[str, float] = json.loads(line[len(CHILD_RESULT_PREFIX) :])
            return figures
    tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-15:])
    raise RuntimeError(f"{system} exited with {completed.returncode} and no result:\n{tail}")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def collect(systems: Sequence[str], sizes_name: str, repeat: int) -> Samples:
    """Run every selected system ``repeat`` times, round-robin so drifting machine load spreads evenly."""
    samples = Samples()
    for round_index in range(repeat):
        for system in systems:
            workloads = ["w3"] if system == FLOOR else list(WORKLOADS)
            label = f"[{round_index + 1}/{repeat}] {system}"
            print(f"{label}: running {', '.join(workloads)} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            cpu_before = _children_cpu_seconds()
            try:
                figures = run_child(system, sizes_name, workloads)
            except RuntimeError as error:
                samples.errors.append(str(error))
                print(f"{label}: FAILED\n{error}", file=sys.stderr, flush=True)
                continue
            for workload, value in figures.items():
                samples.add(figure_key(workload, system), value)
            # CPU well below wall time means the machine was busy with something else: expect noisy figures.
            wall = time.perf_counter() - started
            cpu = _children_cpu_seconds() - cpu_before
            print(f"{label}: done in {wall:.1f} s (cpu {cpu:.1f} s)", file=sys.stderr, flush=True)
    return samples


def ratios(figures: dict[str, float | None]) -> dict[str, float | None]:
    """The three headline ratios, ``None`` where a figure they need is missing."""

    def peer_figures(workload: str) -> list[float]:
        return [value for peer in PEERS if (value := figures[figure_key(workload, peer)]) is not None]

    # Best peer: the highest rate on W1, the shortest time on W2.
    w1_devhost = figures[figure_key("w1", "devhost")]
    w1_best_peer = max(peer_figures("w1"), default=None)
    w2_devhost = figures[figure_key("w2", "devhost")]
    w2_best_peer = min(peer_figures("w2"), default=None)
    w3_devhost = figures[figure_key("w3", "devhost")]
    w3_floor = figures[figure_key("w3", FLOOR)]
    w3_floor_as_fed = figures[figure_key(AS_FED, FLOOR)]
    return {
        "w1_ratio_vs_best_peer": w1_devhost / w1_best_peer if w1_devhost and w1_best_peer else None,
        "w2_ratio_vs_best_peer": w2_best_peer / w2_devhost if w2_devhost and w2_best_peer else None,
        "w3_ratio_vs_replay_floor": w3_devhost / w3_floor if w3_devhost and w3_floor else None,
        "w3_ratio_vs_replay_floor_as_fed": (
            w3_devhost / w3_floor_as_fed if w3_devhost and w3_floor_as_fed else None
        ),
    }


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:8.1f} {unit}" if unit == "orch/s" else f"{value:8.3f} {unit}"


def _goal(ratio: float | None, goal: float, *, higher_is_better: bool) -> str:
    if ratio is None:
        return "n/a"
    met = ratio >= goal if higher_is_better else ratio <= goal
    sign = "≥" if higher_is_better else "≤"
    return f"{ratio:.2f}x (goal {sign} {goal}x: {'met' if met else 'NOT met'})"


def report(sizes: Sizes, figures: dict[str, float | None], headline: dict[str, float | None]) -> str:
    """The human-readable side-by-side table."""
    lines: list[str] = []
    for workload in WORKLOADS:
        unit = "orch/s" if workload == "w1" else "s"
        lines.append(sizes.describe(workload))
        for system in SYSTEMS:
            lines.append(f"  {system:<18}{_format(figures[figure_key(workload, system)], unit)}")
        if workload == "w3":
            lines.append(f"  {'SDK replay floor':<18}{_format(figures[figure_key('w3', FLOOR)], unit)}")
            floor_as_fed = _format(figures[figure_key(AS_FED, FLOOR)], unit)
            lines.append(f"  {'  as devhost feeds':<18}{floor_as_fed}  (the events devhost hands the SDK)")
        if workload == "w1":
            verdict = _goal(headline["w1_ratio_vs_best_peer"], W1_GOAL, higher_is_better=True)
            lines.append(f"  devhost / best peer:  {verdict}")
        elif workload == "w2":
            verdict = _goal(headline["w2_ratio_vs_best_peer"], W2_GOAL, higher_is_better=True)
            lines.append(f"  best peer / devhost:  {verdict}")
        else:
            verdict = _goal(headline["w3_ratio_vs_replay_floor"], W3_GOAL, higher_is_better=False)
            lines.append(f"  devhost / floor:      {verdict}")
            as_fed = headline["w3_ratio_vs_replay_floor_as_fed"]
            lines.append(f"  devhost / as-fed floor: {'n/a' if as_fed is None else f'{as_fed:.2f}x'}")
        lines.append("")
    return "\n".join(lines)


def parse_only(text: str) -> list[str]:
    """Validate ``--only``; the floor comes with devhost because W3's ratio needs it."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in (*SYSTEMS, FLOOR)]
    if unknown or not names:
        choices = ", ".join((*SYSTEMS, FLOOR))
        raise argparse.ArgumentTypeError(f"--only takes names from {choices}; got {text!r}")
    if "devhost" in names and FLOOR not in names:
        names.append(FLOOR)
    return [name for name in RUN_ORDER if name in names]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--child``, one system's share of it)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--only", type=parse_only, default=list(RUN_ORDER), help="comma-separated systems")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the median is reported")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child, args.sizes, args.workloads.split(","))
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    sizes = SIZES[args.sizes]
    samples = collect(args.only, args.sizes, args.repeat)
    figures = {key: samples.median(key) for key in all_figure_keys()}
    headline = ratios(figures)
    print()
    print(report(sizes, figures, headline))
    summary: dict[str, object] = {"sizes": args.sizes, "repeat": args.repeat, **figures, **headline}
    print(json.dumps(summary))
    return 1 if samples.errors else 0


if __name__ == "__main__":
    sys.exit(main())
