"""Live progress of several candidates: a redrawn board on a terminal, one line per change otherwise."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

__all__ = ["ProgressBoard", "progress_bar"]

BAR_WIDTH = 20


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """Draw ``fraction`` (0..1, clamped) as a bar and a percentage: ``[#####-----]  50%``.

    The one progress bar of the project: the live board here and the CLI's ``status`` and ``watch`` draw
    with it, so a candidate looks the same wherever it is shown.
    """
    clamped = min(1.0, max(0.0, fraction))
    filled = round(clamped * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {clamped * 100:3.0f}%"


@dataclass
class _Row:
    label: str
    stage: str = "submitted"
    progress: float = 0.0
    detail: str = ""
    state: str = ""


class ProgressBoard:
    """Shows where each candidate stands.

    On a terminal the board is redrawn in place (ANSI cursor movement); when the output is a file or a pipe
    every change is printed once as a plain line, so logs stay readable.
    """

    def __init__(self, stream: TextIO, labels: dict[str, str], *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._rows = {key: _Row(label) for key, label in labels.items()}
        self._label_width = max((len(label) for label in labels.values()), default=10)
        self._drawn_lines = 0
        self._started = time.monotonic()

    def update(self, key: str, *, stage: str, progress: float, detail: str | None, state: str) -> None:
        """Record a candidate's latest stage; prints a line (plain mode) when the stage or state changed."""
        row = self._rows[key]
        changed = (stage, state) != (row.stage, row.state)
        row.stage, row.progress, row.detail, row.state = stage, progress, detail or "", state
        if not self.live and changed:
            self._print(self._line(row))

    def note(self, message: str) -> None:
        """Print a message above the board (or as its own line)."""
        if self.live:
            self._clear()
        self._print(message)
        if self.live:
            self.render()

    def render(self) -> None:
        """Redraw the board (terminal only)."""
        if not self.live:
            return
        self._clear()
        lines = [self._line(row) for row in self._rows.values()]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn_lines = len(lines)

    def close(self) -> None:
        """Leave the final board on screen."""
        if self.live:
            self.render()
            self._drawn_lines = 0

    def _line(self, row: _Row) -> str:
        elapsed = time.monotonic() - self._started
        state = f" {row.state}" if row.state and row.state != "Running" else ""
        detail = f" ({row.detail})" if row.detail else ""
        text = (
            f"{elapsed:6.1f}s {row.label:<{self._label_width}} {progress_bar(row.progress)} "
            f"{row.stage}{state}{detail}"
        )
        return text[:160] if self.live else text

    def _clear(self) -> None:
        if self._drawn_lines:
            # Up to the board's first line, then erase to the end of the screen.
            self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
            self._drawn_lines = 0

    def _print(self, message: str) -> None:
        self.stream.write(message + "\n")
        self.stream.flush()
