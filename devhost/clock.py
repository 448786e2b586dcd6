"""The engine's notion of time: real, skipping (virtual, jumps to the next timer) or scaled.

Orchestrations see time only through the ``OrchestratorStarted`` timestamps the engine writes into history
(``context.current_utc_datetime`` follows the latest one), so moving this clock moves orchestration time too.

People can take the clock in hand while the host runs (``/admin/clock``, see ``devhost.clock_api``): switch
between skipping and real time, and move it forward on purpose (``jump_by``, ``jump_to``) in any mode. Time
never runs backwards: a switch keeps the current time and goes on from there.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

REAL = "real"
SKIPPING = "skipping"
SCALED = "scaled"
MODES = (REAL, SKIPPING, SCALED)
# Modes a running clock may be switched to; scaled time is chosen at start only.
SWITCHABLE_MODES = (REAL, SKIPPING)


class Clock:
    """A UTC clock in one of three modes.

    - ``real``: wall-clock time (plus whatever people skipped on purpose).
    - ``skipping``: wall-clock time plus an offset that the engine advances to the next durable timer whenever
      nothing else is runnable, so a day-long wait passes in milliseconds.
    - ``scaled``: time runs ``factor`` times faster than the wall clock from the moment the clock is made.
    """

    def __init__(self, mode: str, factor: float = 1.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown clock mode {mode!r}")
        if factor <= 0:
            raise ValueError("time scale factor must be positive")
        self.mode = mode
        self.factor = factor if mode == SCALED else 1.0
        self._origin_wall = time.time()
        # Scaled time is origin_virtual + elapsed wall time * factor; the others are wall time + offset.
        self._origin_virtual = self._origin_wall
        self._offset = 0.0
        self._lock = threading.Lock()

    @classmethod
    def real(cls) -> Clock:
        """Wall-clock time; timers fire when they are due."""
        return cls(REAL)

    @classmethod
    def skipping(cls) -> Clock:
        """Virtual time that jumps to the next timer as soon as nothing else is runnable."""
        return cls(SKIPPING)

    @classmethod
    def scaled(cls, factor: float) -> Clock:
        """Time running ``factor`` times faster than the wall clock (timers fire that much sooner)."""
        return cls(SCALED, factor)

    @property
    def skips(self) -> bool:
        """Whether the engine may jump this clock forward when idle."""
        return self.mode == SKIPPING

    def timestamp(self) -> float:
        """Return the current time as POSIX seconds."""
        wall = time.time()
        if self.mode == SCALED:
            return self._origin_virtual + (wall - self._origin_wall) * self.factor
        return wall + self._offset

    def now(self) -> datetime:
        """Return the current time, tz-aware UTC."""
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def advance_to(self, target: float) -> None:
        """Skip forward so that ``timestamp() >= target`` (skipping mode only; never moves backwards)."""
        if self.skips:
            self.jump_to(target)

    def advance_by(self, delta: timedelta) -> None:
        """Skip forward by ``delta`` (skipping mode only)."""
        self.advance_to(self.timestamp() + delta.total_seconds())

    def jump_to(self, target: float) -> None:
        """Move forward so that ``timestamp() >= target``, whatever the mode (a person's deliberate skip)."""
        with self._lock:
            gap = target - self.timestamp()
            if gap <= 0:
                return
            if self.mode == SCALED:
                self._origin_virtual += gap
            else:
                self._offset += gap

    def jump_by(self, delta: timedelta) -> None:
        """Move forward by ``delta``, whatever the mode."""
        if delta < timedelta(0):
            raise ValueError("the clock never moves backwards")
        with self._lock:
            if self.mode == SCALED:
                self._origin_virtual += delta.total_seconds()
            else:
                self._offset += delta.total_seconds()

    def set_mode(self, mode: str) -> None:
        """Switch to ``real`` or ``skipping`` time, going on from the current time without a jump."""
        if mode not in SWITCHABLE_MODES:
            raise ValueError(
                f"a running clock switches to {' or '.join(SWITCHABLE_MODES)} only, not {mode!r}"
            )
        with self._lock:
            now = self.timestamp()
            self.mode = mode
            self.factor = 1.0
            self._offset = now - time.time()

    def real_seconds_until(self, target: float) -> float:
        """Wall-clock seconds until ``timestamp()`` reaches ``target`` (0 when already there)."""
        remaining = target - self.timestamp()
        if remaining <= 0:
            return 0.0
        return remaining / self.factor
