"""The pipeline benchmark runs every phase on the real local stack at tiny sizes and ends in one JSON line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench.pipeline import FIGURE_KEYS

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.subprocess
@pytest.mark.timeout(60)
def test_tiny_run_prints_every_figure_in_one_json_line(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "pipeline.py"),
            "--sizes",
            "tiny",
            "--work-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=58,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads(completed.stdout.strip().splitlines()[-1])

    assert set(summary) == {"sizes", "settings", *FIGURE_KEYS}
    assert summary["sizes"] == "tiny"
    assert "quota_utilization" in summary
    assert "recording_fetch_peak_mb_above_idle" in summary
    for key in FIGURE_KEYS:
        value = summary[key]
        assert isinstance(value, int | float), f"{key} = {value!r}"
        assert math.isfinite(value), f"{key} = {value!r}"
    assert summary["failed_candidates"] == 0
    assert summary["quota_failed_candidates"] == 0
    # The quota really bound: the shared token budget made callers wait (429s are what it spares them).
    assert summary["quota_budget_waits"] > 0
    assert summary["quota_admitted_requests"] > 0
    assert summary["quota_utilization"] > 0
    assert 0 < summary["quota_utilization_strict"] <= 1.0
    assert summary["recording_bytes"] >= 6 * 1024 * 1024
    assert summary["wall_s"] > 0
    assert summary["overhead_median_s"] <= summary["candidate_wall_median_s"]
    # devhost measured the app's functions in the candidate's window: they ran, and not longer than it.
    assert 0 < summary["app_function_median_s"] < summary["candidate_wall_median_s"]
    assert 0 < summary["orchestration_overhead_median_s"] < summary["candidate_wall_median_s"]
