"""Profile devhost's engine on one benchmark workload: where the wall time goes, and the hottest functions.

Usage: ``python bench/profile_devhost.py w1|w2|w3 [--sizes full|small|tiny] [--top N] [--no-cprofile]
[--memoize-sdk-timestamps]``

It runs the same workload as ``bench/engine.py`` (fresh engine, fresh temp dir, untimed warm-up) and prints:

- a phase split: time inside the SDK (context parsing, replay), the engine's episode bookkeeping around it,
  store commits (on the store thread) and activity invocations, with call counts; the phases overlap (commits
  and activities run while the loop replays), so they do not add up to the wall time;
- with cProfile (default), the functions with the most own time on the event-loop thread.

``--memoize-sdk-timestamps`` is an experiment, not a setting of the engine: it caches the SDK's timestamp
parser (a pure function of the string, returning immutable datetimes) to show what replay costs once parsing
stops being repeated every episode. The replay floor in ``bench/engine.py`` always uses the SDK as shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import io
import pstats
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.workloads import SIZES, WARM_UP, WORKLOADS  # noqa: E402

HISTORY_EVENT_MODULE = "azure.durable_functions.models.history.HistoryEvent"


class PhaseClock:
    """Accumulates wall time and calls per phase, by wrapping methods in place."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def wrap(self, owner: Any, attribute: str, phase: str) -> None:
        # The engine's private methods change as it evolves; a missing one is reported, not fatal.
        original = getattr(owner, attribute, None)
        if original is None:
            print(f"(no {getattr(owner, '__name__', owner)}.{attribute}: phase {phase!r} not measured)")
            return
        if asyncio.iscoroutinefunction(original):
            setattr(owner, attribute, self._async_wrapper(original, phase))
        else:
            setattr(owner, attribute, self._wrapper(original, phase))

    def _wrapper(self, original: Callable[..., Any], phase: str) -> Callable[..., Any]:
        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started
                self.calls[phase] += 1

        return timed

    def _async_wrapper(self, original: Callable[..., Any], phase: str) -> Callable[..., Any]:
        @functools.wraps(original)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - started
                self.calls[phase] += 1

        return timed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def memoize_sdk_timestamps() -> None:
    """Cache the SDK's timestamp parser (experiment; see the module docstring)."""
    import azure.durable_functions.models.history.HistoryEvent  # noqa: F401

    # The package re-exports the class under the module's name, so reach the module through sys.modules.
    module = sys.modules[HISTORY_EVENT_MODULE]
    module.dt_parse = functools.lru_cache(maxsize=1 << 16)(module.dt_parse)  # type: ignore[attr-defined]


def instrument(phases: PhaseClock) -> None:
    """Wrap the SDK entry points and the engine's phases."""
    from azure.durable_functions.models.DurableOrchestrationContext import DurableOrchestrationContext
    from azure.durable_functions.orchestrator import Orchestrator

    from devhost.engine import Engine
    from devhost.store import Store

    phases.wrap(DurableOrchestrationContext, "from_json", "sdk: parse context + history (timestamps)")
    phases.wrap(Orchestrator, "handle", "sdk: replay generator")
    phases.wrap(Engine, "_orchestration_episode", "engine: episode incl. sdk")
    phases.wrap(Store, "commit", "store: commit (fsync), store thread")
    # Activities overlap one another: this phase is their summed latency (start to result), not loop time.
    phases.wrap(Engine, "_invoke_activity", "activities: summed latency (concurrent)")


def main(argv: list[str] | None = None) -> int:
    """Profile one workload and print the phase split and the hottest functions."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--sizes", choices=sorted(SIZES), default="full")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-cprofile", action="store_true", help="phase split only (no cProfile overhead)")
    parser.add_argument("--memoize-sdk-timestamps", action="store_true")
    args = parser.parse_args(argv)

    if args.memoize_sdk_timestamps:
        memoize_sdk_timestamps()
    from bench import run_devhost
    from bench.df_app import bench_index

    phases = PhaseClock()
    instrument(phases)
    sizes = SIZES[args.sizes]
    profiler = None if args.no_cprofile else cProfile.Profile()

    async def measured_run() -> float:
        # The same shape as run_devhost.measure_async, with the warm-up kept out of phases and profile.
        import tempfile

        from devhost.clock import Clock
        from devhost.engine import Engine

        run = {"w1": run_devhost._w1, "w2": run_devhost._w2, "w3": run_devhost._w3}[args.workload]
        with tempfile.TemporaryDirectory(prefix="bench-profile-") as data_dir:
            engine = Engine(bench_index(), Path(data_dir), clock=Clock.skipping(), durable=True)
            await engine.start()
            try:
                await run(engine, WARM_UP)
                phases.reset()
                if profiler is not None:
                    profiler.enable()
                try:
                    return await run(engine, sizes)
                finally:
                    if profiler is not None:
                        profiler.disable()
            finally:
                await engine.stop()

    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    figure = asyncio.run(measured_run())
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    unit = "orchestrations/s" if args.workload == "w1" else "s"
    print(f"{sizes.describe(args.workload)}")
    print(f"figure: {figure:.3f} {unit}   (process incl. warm-up: wall {wall:.2f} s, cpu {cpu:.2f} s)")
    print("phases (measured run only):")
    for phase, seconds in sorted(phases.seconds.items(), key=lambda item: -item[1]):
        print(f"  {phase:<45}{seconds:9.3f} s  {phases.calls[phase]:7d} calls")
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.top)
        print(text.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
