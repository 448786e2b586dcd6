"""The engine benchmark runs end to end at tiny sizes and ends with the JSON line the issue specifies."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.engine import RATIO_KEYS, all_figure_keys

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.subprocess
@pytest.mark.timeout(60)
def test_tiny_run_prints_every_figure_and_ratio_in_one_json_line() -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "engine.py"), "--sizes", "tiny"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=55,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    last_line = completed.stdout.strip().splitlines()[-1]
    summary = json.loads(last_line)

    expected = {"sizes", "repeat", *all_figure_keys(), *RATIO_KEYS}
    assert set(summary) == expected
    assert summary["sizes"] == "tiny"
    for key in (*all_figure_keys(), *RATIO_KEYS):
        value = summary[key]
        assert isinstance(value, float), f"{key} = {value!r}"
        assert math.isfinite(value), f"{key} = {value!r}"
        assert value > 0, f"{key} = {value!r}"
    # The human-readable table comes before the JSON line, one block per workload.
    for heading in ("W1:", "W2:", "W3:", "SDK replay floor"):
        assert heading in completed.stdout
