"""How long the app's own functions ran, so a run can tell the app's work from the host's.

Every activity the engine runs and every trigger the host invokes (HTTP, Event Grid, blob, queue, timer) is
measured; orchestrator and entity functions are not: their replays are the durable engine's own work.
``busy_s`` is the time at least one measured function was running (overlapping invocations count once), so
over a window in which one piece of work runs alone, ``wall time - busy_s`` is what the host and the durable
engine added: dispatch, replay, commits, timers and the waits between one function and the next.

``GET /admin/stats`` (``devhost/admin.py``) serves :meth:`FunctionTime.snapshot`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class _PerFunction:
    count: int = 0
    seconds: float = 0.0


class FunctionTime:
    """Counts invocations and their seconds per function, and the seconds any of them was running."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._running = 0
        self._busy_since = 0.0
        self._busy_s = 0.0
        self._invocations = 0
        self._by_function: dict[str, _PerFunction] = {}

    @contextlib.contextmanager
    def measure(self, function_name: str) -> Iterator[None]:
        """Measure the block as one invocation of ``function_name`` (failed ones count too)."""
        started = self._enter()
        try:
            yield
        finally:
            self._leave(function_name, started)

    def _enter(self) -> float:
        with self._lock:
            now = self._clock()
            if self._running == 0:
                self._busy_since = now
            self._running += 1
            return now

    def _leave(self, function_name: str, started: float) -> None:
        with self._lock:
            now = self._clock()
            self._running -= 1
            if self._running == 0:
                self._busy_s += now - self._busy_since
            self._invocations += 1
            entry = self._by_function.setdefault(function_name, _PerFunction())
            entry.count += 1
            entry.seconds += now - started

    @property
    def busy_seconds(self) -> float:
        """Seconds at least one measured function was running, including one running now."""
        with self._lock:
            running_part = self._clock() - self._busy_since if self._running else 0.0
            return self._busy_s + running_part

    def snapshot(self) -> dict[str, Any]:
        """``busy_s``, ``running``, ``invocations`` and, per function, ``count`` and ``seconds``."""
        busy = self.busy_seconds
        with self._lock:
            return {
                "busy_s": busy,
                "running": self._running,
                "invocations": self._invocations,
                "by_function": {
                    name: {"count": entry.count, "seconds": entry.seconds}
                    for name, entry in sorted(self._by_function.items())
                },
            }
