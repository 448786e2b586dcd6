"""Starting ``python -m emulators start`` as a subprocess and reading it until it says it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_emulators(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the emulators on free ports with ``data_dir``; return the process and its lines up to ready.

    Raises AssertionError (the process killed) when no ready line comes within 30 s.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators", "start", "--port", "0", "--data-dir", str(data_dir), *extra],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("emulators ready"):
            return process, lines
    process.kill()
    process.wait()
    raise AssertionError(f"no ready line; output so far: {lines}")
