"""The engine's notion of time: real, skipping (virtual, jumps to the next timer) or scaled.

Orchestrations see time only through the ``OrchestratorStarted`` timestamps the engine writes into history
(``context.current_utc_datetime`` follows the latest one), so moving this clock moves orchestration time too.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    """A UTC clock in one of three modes.

    - ``real``: wall-clock time.
    - ``skipping``: wall-clock time plus an offset that the engine advances to the next durable timer whenever
      nothing else is runnable, so a day-long wait passes in milliseconds.
    - ``scaled``: time runs ``factor`` times faster than the wall clock from the moment the clock is made.
    """

    def __init__(self, mode: str, factor: float = 1.0) -> None:
        if mode not in ("real", "skipping", "scaled"):
            raise ValueError(f"unknown clock mode {mode!r}")
        if factor <= 0:
            raise ValueError("time scale factor must be positive")
        self.mode = mode
        self.factor = factor if mode == "scaled" else 1.0
        self._origin_wall = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    @classmethod
    def real(cls) -> Clock:
        """Wall-clock time; timers fire when they are due."""
        return cls("real")

    @classmethod
    def skipping(cls) -> Clock:
        """Virtual time that jumps to the next timer as soon as nothing else is runnable."""
        return cls("skipping")

    @classmethod
    def scaled(cls, factor: float) -> Clock:
        """Time running ``factor`` times faster than the wall clock (timers fire that much sooner)."""
        return cls("scaled", factor)

    @property
    def skips(self) -> bool:
        """Whether the engine may jump this clock forward when idle."""
        return self.mode == "skipping"

    def timestamp(self) -> float:
        """Return the current time as POSIX seconds."""
        wall = time.time()
        if self.mode == "scaled":
            return self._origin_wall + (wall - self._origin_wall) * self.factor
        return wall + self._offset

    def now(self) -> datetime:
        """Return the current time, tz-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance_to(self, target: float) -> None:
        """Skip forward so that ``timestamp() >= target`` (skipping mode only; never moves backwards)."""
        if not self.skips:
            return
        with self._lock:
            gap = target - self.timestamp()
            if gap > 0:
                self._offset += gap

    def advance_by(self, delta: timedelta) -> None:
        """Skip forward by ``delta`` (skipping mode only)."""
        self.advance_to(self.timestamp() + delta.total_seconds())

    def real_seconds_until(self, target: float) -> float:
        """Wall-clock seconds until ``timestamp()`` reaches ``target`` (0 when already there)."""
        remaining = target - self.timestamp()
        if remaining <= 0:
            return 0.0
        return remaining / self.factor
