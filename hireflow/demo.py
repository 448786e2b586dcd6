"""``python -m hireflow demo``: the whole pipeline on this machine, every bundled candidate, one command.

Starts Azurite, the emulators and devhost (``LocalStack``, time skipped), seeds the bundled
job, submits every bundled candidate through its intake path (``samples/expectations.json``), shows live
progress, plays the recruiter for candidates whose screening needs a review, and ends with a ranked table and
each report's location. Exits 0 only when every candidate reached the terminal state it is expected to reach.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from hireflow.azurite import REPO_ROOT
from hireflow.client import ApiError, HireflowClient, HireflowError
from hireflow.progress import ProgressBoard
from hireflow.samples import SampleCandidate, load_samples, submit_sample
from hireflow.stack import LocalStack, StackError, StackOptions

__all__ = ["DemoResult", "decide_review", "follow_candidates", "main", "rank", "run_demo"]

DEFAULT_WORK_DIR = REPO_ROOT / ".local" / "demo"
DEFAULT_TIMEOUT_S = 110.0
POLL_INTERVAL_S = 0.2
TERMINAL = frozenset({"Completed", "Failed", "Terminated"})
# The pipeline's own defaults (shared.settings), used when the stack does not override them.
DEFAULT_ADVANCE_THRESHOLD = 0.7
DEFAULT_REJECT_THRESHOLD = 0.4
EXIT_UNEXPECTED = 1
EXIT_STACK_FAILED = 2
EXIT_INTERRUPTED = 130


@dataclass
class DemoResult:
    """One candidate's run: its id and its latest view from the API."""

    sample: SampleCandidate
    candidate_id: str
    view: dict[str, Any]
    review_decision: str | None = None

    @property
    def terminal(self) -> bool:
        """Whether the pipeline ended."""
        return self.view.get("runtime_status") in TERMINAL

    @property
    def problems(self) -> list[str]:
        """How the final state differs from the expectation (empty when as expected)."""
        if not self.terminal:
            return [f"still {self.view.get('stage', 'not started')} when the demo gave up"]
        return self.sample.expectation.mismatches(self.view)


def decide_review(screening_score: float | None, advance_at: float, reject_at: float) -> tuple[str, str]:
    """Play the recruiter: advance when the screening score is at least midway between the two thresholds.

    Returns the decision and the reason, said to the user.
    """
    midpoint = (advance_at + reject_at) / 2
    if screening_score is None:
        return "reject", "no screening score to go on"
    if screening_score >= midpoint:
        return (
            "advance",
            f"screening score {screening_score:.2f} >= {midpoint:.2f}, midway between thresholds",
        )
    return "reject", f"screening score {screening_score:.2f} < {midpoint:.2f}, midway between thresholds"


def rank(results: Sequence[DemoResult]) -> list[DemoResult]:
    """Order candidates by interview score, then screening score, best first; unscored ones last."""

    def key(result: DemoResult) -> tuple[float, float]:
        interview = (result.view.get("interview") or {}).get("overall")
        screening = (result.view.get("screening") or {}).get("score")
        return (
            -(float(interview) if interview is not None else -1.0),
            -(float(screening) if screening is not None else -1.0),
        )

    return sorted(results, key=key)


def _threshold(stack: LocalStack, name: str, default: float) -> float:
    try:
        return float(stack.settings.get(name, default))
    except ValueError:
        return default


def follow_candidates(
    stack: LocalStack,
    client: HireflowClient,
    results: list[DemoResult],
    board: ProgressBoard,
    deadline: float,
) -> None:
    """Poll every candidate until all have ended or ``deadline`` (monotonic) passes; answer review requests.

    Each result's ``view`` holds the latest candidate view; a candidate whose screening needs a review gets a
    ``RecruiterDecision`` chosen by :func:`decide_review`, said on the board.
    """
    advance_at = _threshold(stack, "SCREENING_ADVANCE_THRESHOLD", DEFAULT_ADVANCE_THRESHOLD)
    reject_at = _threshold(stack, "SCREENING_REJECT_THRESHOLD", DEFAULT_REJECT_THRESHOLD)
    while time.monotonic() < deadline and not all(result.terminal for result in results):
        for result in results:
            if result.terminal:
                continue
            try:
                result.view = client.candidate(result.candidate_id).raw
            except ApiError as error:
                if error.status == 404:  # a dropped blob: the trigger has not started it yet
                    continue
                raise
            view = result.view
            board.update(
                result.sample.key,
                stage=str(view.get("stage")),
                progress=float(view.get("progress") or 0.0),
                detail=view.get("detail"),
                state=str(view.get("runtime_status")),
            )
            if view.get("stage") == "awaiting_review" and result.review_decision is None:
                score = (view.get("screening") or {}).get("score")
                decision, reason = decide_review(score, advance_at, reject_at)
                client.send_event(
                    result.candidate_id,
                    "RecruiterDecision",
                    {"decision": decision, "recruiter": "hireflow demo", "note": reason},
                )
                result.review_decision = decision
                board.note(f"  {result.sample.name} needs a review; the demo decides {decision}: {reason}")
        board.render()
        time.sleep(POLL_INTERVAL_S)
    board.close()


def _score(value: Any) -> str:
    return f"{float(value):.2f}" if value is not None else "-"


def print_summary(results: Sequence[DemoResult], api_url: str, out: TextIO) -> None:
    """Print the ranked table, then where each report is."""
    rows = [
        ("#", "candidate", "intake", "screening", "decision", "interview", "outcome", "final state", "ok")
    ]
    for position, result in enumerate(rank(results), start=1):
        view = result.view
        screening = view.get("screening") or {}
        decision = str(screening.get("decision") or "-")
        if result.review_decision:
            decision += f" -> {result.review_decision}"
        final = str(view.get("runtime_status") or "-")
        failure = (view.get("failure") or {}).get("code")
        if failure:
            final += f" ({failure})"
        rows.append(
            (
                str(position),
                result.sample.name,
                result.sample.intake,
                _score(screening.get("score")),
                decision,
                _score((view.get("interview") or {}).get("overall")),
                str(view.get("outcome") or "-"),
                final,
                "yes" if not result.problems else "NO",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    out.write("\n")
    for index, row in enumerate(rows):
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n"
        )
        if index == 0:
            out.write("  ".join("-" * width for width in widths) + "\n")
    out.write(
        "\nReports (their URLs answer while the stack runs, see --keep-running; the blobs stay in Azurite):\n"
    )
    for result in rank(results):
        report = result.view.get("report") or {}
        page = report.get("page") or {}
        if page:
            link = (result.view.get("links") or {}).get(
                "report"
            ) or f"/api/candidates/{result.candidate_id}/report"
            out.write(
                f"  {result.sample.name}: {api_url}{link}  "
                f"(blob {page.get('container')}/{page.get('name')})\n"
            )
        else:
            out.write(f"  {result.sample.name}: no report ({result.view.get('outcome') or 'not finished'})\n")
    out.flush()


def run_demo(
    work_dir: Path,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    out: TextIO = sys.stdout,
    live: bool | None = None,
    keep_running: bool = False,
    require_keys: bool = True,
) -> int:
    """Run the demo in ``work_dir`` (emptied first); returns the exit status.

    With ``keep_running`` the stack keeps serving after the summary (reports, the API, the CLI) until Ctrl-C.
    ``require_keys`` (the default) enforces function and system keys as Azure does; the keys stay in their
    file and are never printed.
    """
    started = time.monotonic()
    samples = load_samples()
    if work_dir.exists():
        shutil.rmtree(work_dir)
    out.write(f"hireflow demo: starting Azurite, the emulators and devhost (logs in {work_dir / 'logs'})\n")
    out.flush()
    with LocalStack(StackOptions(work_dir=work_dir, require_keys=require_keys)) as stack:
        keys_note = (
            f"function key required, as on Azure (keys in {stack.keys_file})"
            if stack.keys_file
            else "no keys required"
        )
        out.write(
            f"  devhost (the Functions app):  {stack.api_url}/api ({keys_note})\n"
            f"  emulators (OpenAI, DocIntel): {stack.emulators_url}\n"
            f"  emulator keys and endpoints:  {stack.emulator_settings_file}\n"
            f"  ready in {time.monotonic() - started:.1f} s; time is skipped: interview slots and "
            "call retries days away pass in about a second\n"
        )
        jobs = stack.seed_jobs()
        out.write(f"Seeded job(s): {', '.join(jobs)}\n")
        client = HireflowClient(stack.api_url, function_key=stack.function_key)
        blobs = stack.blob_service()
        results: list[DemoResult] = []
        for sample in samples:
            candidate_id = submit_sample(client, blobs, sample)
            results.append(DemoResult(sample, candidate_id, {"stage": "submitted"}))
            out.write(
                f"  submitted {sample.name} ({sample.resume.name}) by {sample.intake}; "
                f"expected {sample.expectation.describe()}\n"
            )
        out.flush()
        board = ProgressBoard(out, {s.key: s.name for s in samples}, live=live)
        follow_candidates(stack, client, results, board, started + timeout_s)
        print_summary(results, stack.api_url, out)
        failures = [(result, result.problems) for result in results if result.problems]
        elapsed = time.monotonic() - started
        if failures:
            out.write(f"\n{len(failures)} of {len(results)} candidate(s) did not end as expected:\n")
            for result, problems in failures:
                out.write(f"  {result.sample.name}: {'; '.join(problems)}\n")
            out.write(f"Logs: {stack.logs_dir}\n")
        else:
            out.write(f"\nAll {len(results)} candidates reached their expected state in {elapsed:.1f} s.\n")
        if keep_running:
            key_hint = (
                f" (with HIREFLOW_KEY set to functionKeys.default of {stack.keys_file})"
                if stack.keys_file
                else ""
            )
            # The demo's candidates are done: from now on human deadlines wait for humans, and people move
            # time on purpose (the dashboard's clock panel, or `python -m hireflow clock advance`).
            try:
                stack.use_real_time()
            except HireflowError as error:
                out.write(f"The clock stays skipped: devhost did not switch it to real time ({error}).\n")
            master_hint = f" (HIREFLOW_KEY = masterKey of {stack.keys_file})" if stack.keys_file else ""
            out.write(
                f"\nDashboard (a one-time sign-in link): {stack.dashboard_url}\n"
                "The clock now runs in real time, so a review waits for you; move it on purpose with the\n"
                "dashboard's clock panel, or with\n"
                f"  python -m hireflow clock advance [--by 1d] --url {stack.api_url}{master_hint}\n"
                "Serving until Ctrl-C; try: python -m hireflow list python-backend-engineer "
                f"--url {stack.api_url}{key_hint}\n"
            )
            out.flush()
            while True:
                time.sleep(3600)
        return EXIT_UNEXPECTED if failures else 0


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m hireflow demo``."""
    parser = argparse.ArgumentParser(prog="python -m hireflow demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="logs and data (emptied first)"
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds before giving up")
    parser.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    parser.add_argument(
        "--keep-running", action="store_true", help="keep the stack serving after the summary, until Ctrl-C"
    )
    parser.add_argument(
        "--no-keys",
        action="store_true",
        help="serve the API without function keys (as func start does); by default keys are required, as "
        "on Azure",
    )
    args = parser.parse_args(argv)
    # SIGTERM stops the stack the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return run_demo(
            args.work_dir,
            timeout_s=args.timeout,
            live=False if args.plain else None,
            keep_running=args.keep_running,
            require_keys=not args.no_keys,
        )
    except StackError as error:
        print(f"hireflow demo: the local stack failed: {error}", file=sys.stderr)
        return EXIT_STACK_FAILED
    except KeyboardInterrupt:
        print("\nhireflow demo: interrupted; every service was stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
