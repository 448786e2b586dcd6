"""How ``watch`` draws progress: in place on a terminal, a line per change elsewhere, JSON with ``--json``."""

from __future__ import annotations

import io
import json
from typing import Any

from hireflow.cli import (
    EXIT_CANDIDATE_FAILED,
    EXIT_OK,
    EXIT_WATCH_TIMEOUT,
    Output,
    progress_bar,
    watch,
)
from hireflow.client import Candidate, HireflowClient


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class ScriptedHost(HireflowClient):
    """Answers ``candidate`` from a script of views, one per poll (the last one repeats)."""

    def __init__(self, views: list[dict[str, Any]]) -> None:
        super().__init__("http://127.0.0.1:9")
        self.views = views
        self.polls = 0

    def candidate(self, candidate_id: str) -> Candidate:
        view = self.views[min(self.polls, len(self.views) - 1)]
        self.polls += 1
        return Candidate.from_json({"id": candidate_id, **view})


def _view(stage: str, progress: float, status: str = "Running", **extra: Any) -> dict[str, Any]:
    return {"stage": stage, "progress": progress, "runtime_status": status, **extra}


SCRIPT = [
    _view("extracting", 0.1),
    _view("extracting", 0.1),  # unchanged: not drawn again
    _view("screening", 0.3, detail="scoring the resume"),
    _view("completed", 1.0, "Completed", outcome="interviewed"),
]


def _watch(host: ScriptedHost, output: Output, timeout: float | None = None) -> int:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    return watch(host, "c-1", output, interval=1.0, timeout=timeout, clock=lambda: now[0], sleep=sleep)


def test_a_terminal_gets_the_stage_redrawn_in_place() -> None:
    out = Terminal()

    code = _watch(ScriptedHost(SCRIPT), Output(False, out, io.StringIO()))

    assert code == EXIT_OK
    drawn = out.getvalue()
    assert drawn.count("\r\x1b[2K") == 3  # three distinct states, each redrawn over the previous one
    assert "screening" in drawn
    assert "scoring the resume" in drawn
    assert "outcome    interviewed" in drawn


def test_a_pipe_gets_one_plain_line_per_change() -> None:
    out = io.StringIO()

    code = _watch(ScriptedHost(SCRIPT), Output(False, out, io.StringIO()))

    lines = out.getvalue().splitlines()
    assert code == EXIT_OK
    assert "\r" not in out.getvalue()
    assert [line.split()[0] for line in lines[:3]] == ["extracting", "screening", "completed"]
    assert progress_bar(0.3) in lines[1]


def test_json_mode_prints_each_change_as_a_document() -> None:
    out = io.StringIO()

    _watch(ScriptedHost(SCRIPT), Output(True, out, io.StringIO()))

    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["stage"] for d in documents] == ["extracting", "screening", "completed"]


def test_a_failed_candidate_exits_3_and_a_timeout_6() -> None:
    failed = [_view("failed", 1.0, "Failed", failure={"code": "corrupt_document", "message": "unreadable"})]
    assert _watch(ScriptedHost(failed), Output(False, io.StringIO(), io.StringIO())) == EXIT_CANDIDATE_FAILED

    err = io.StringIO()
    stuck = ScriptedHost([_view("awaiting_review", 0.5)])
    assert _watch(stuck, Output(False, io.StringIO(), err), timeout=5) == EXIT_WATCH_TIMEOUT
    assert "still awaiting_review after 5 s" in err.getvalue()


def test_the_bar_is_clamped_and_proportional() -> None:
    assert progress_bar(0.5, width=10) == "[#####-----]  50%"
    assert progress_bar(1.7, width=4) == "[####] 100%"
    assert progress_bar(-1, width=4) == "[----]   0%"
