"""``python -m hireflow submit|status|watch|list|event|cancel|report|health|clock``: hireflow from a terminal.

Talks to the HTTP API of any running host: devhost locally (``--url``, default ``http://127.0.0.1:7071``) or
an Azure Function App (``--url https://APP.azurewebsites.net --key FUNCTION_KEY``; or ``HIREFLOW_URL`` and
``HIREFLOW_KEY``). ``--json`` prints the API's answers as JSON for scripts.

Exit codes: 0 ok; 1 the API answered with an error (the message says which); 2 bad usage; 3 the watched
candidate failed; 4 the watched candidate was cancelled; 5 the host cannot be reached; 6 ``watch`` gave up
waiting; 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from hireflow.client import (
    DEFAULT_URL,
    EVENT_NAMES,
    ApiError,
    Candidate,
    HireflowClient,
    HostUnreachableError,
)
from hireflow.progress import progress_bar

EXIT_OK = 0
EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_CANDIDATE_FAILED = 3
EXIT_CANDIDATE_CANCELLED = 4
EXIT_UNREACHABLE = 5
EXIT_WATCH_TIMEOUT = 6
EXIT_INTERRUPTED = 130

URL_ENV = "HIREFLOW_URL"
KEY_ENV = "HIREFLOW_KEY"
_RESUME_SUFFIXES = (".pdf", ".docx")


class UsageError(Exception):
    """Arguments argparse accepts but that cannot work together (exit 2)."""


# ----------------------------------------------------------------------------------------------------
# Rendering


def candidate_line(candidate: Candidate) -> str:
    """One line per candidate for listings: id, runtime status, stage, outcome, score."""
    score = (candidate.screening or {}).get("score")
    parts = [
        candidate.id,
        candidate.runtime_status or "?",
        candidate.stage,
        candidate.outcome or "-",
        "-" if score is None else f"{score:g}",
    ]
    return "  ".join(parts)


def candidate_summary(candidate: Candidate) -> list[str]:
    """Describe one candidate in a readable block."""
    lines = [
        f"candidate  {candidate.id}",
        f"job        {candidate.job_id or '-'}",
        f"status     {candidate.runtime_status or '?'}",
        f"stage      {candidate.stage}  {progress_bar(candidate.progress)}",
    ]
    if candidate.detail:
        lines.append(f"detail     {candidate.detail}")
    if candidate.outcome:
        lines.append(f"outcome    {candidate.outcome}")
    if candidate.screening:
        decision = candidate.screening.get("decision") or "-"
        lines.append(f"screening  score {candidate.screening.get('score')}  decision {decision}")
    if candidate.interview:
        overall = candidate.interview.get("overall")
        recommendation = candidate.interview.get("recommendation") or "-"
        lines.append(f"interview  overall {overall}  recommendation {recommendation}")
    if candidate.failure:
        lines.append(f"failure    {candidate.failure.get('code')}: {candidate.failure.get('message')}")
    if candidate.report:
        report_link = (candidate.raw.get("links") or {}).get("report")
        lines.append(f"report     {report_link or 'written'}")
    lines.append(f"updated    {candidate.updated_at or '-'}")
    return lines


def exit_code_of(candidate: Candidate) -> int:
    """Map a finished candidate to an exit code: 0 completed, 3 failed, 4 cancelled."""
    if candidate.runtime_status == "Failed":
        return EXIT_CANDIDATE_FAILED
    if candidate.runtime_status == "Terminated":
        return EXIT_CANDIDATE_CANCELLED
    return EXIT_OK


class Output:
    """Where commands write: human text or JSON documents on stdout, problems on stderr."""

    def __init__(self, as_json: bool, out: TextIO, err: TextIO) -> None:
        self.as_json = as_json
        self.out = out
        self.err = err

    def json(self, document: Any) -> None:
        """Print one JSON document on one line."""
        print(json.dumps(document, default=str), file=self.out, flush=True)

    def text(self, *lines: str) -> None:
        """Print human-readable lines."""
        for line in lines:
            print(line, file=self.out, flush=True)

    def problem(self, message: str) -> None:
        """Print an error for a person (stderr, also in ``--json`` mode: stdout stays parseable)."""
        print(f"hireflow: {message}", file=self.err, flush=True)


# ----------------------------------------------------------------------------------------------------
# Commands

Command = Callable[[HireflowClient, argparse.Namespace, Output], int]


def cmd_submit(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Submit a local file (multipart upload) or a resume already in Blob storage."""
    contact = {"name": args.name, "email": args.email, "phone": args.phone, "time_zone": args.time_zone}
    if args.resume_file is not None:
        path = Path(args.resume_file)
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        submission = client.submit_file(args.job_id, path, **contact)
    else:
        submission = client.submit_blob(
            args.job_id, resume_blob=args.blob, resume_url=args.resume_url, **contact
        )
    if output.as_json:
        output.json(asdict(submission))
    else:
        verb = "submitted" if submission.created else "already submitted"
        output.text(f"{verb}: {submission.id}", f"status: {submission.status_url}")
    if args.watch:
        return watch(client, submission.id, output, interval=args.interval, timeout=args.timeout)
    return EXIT_OK


def cmd_status(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Show where a candidate stands."""
    candidate = client.candidate(args.candidate_id)
    if output.as_json:
        output.json(candidate.raw)
    else:
        output.text(*candidate_summary(candidate))
    return EXIT_OK


def cmd_watch(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Follow a candidate until it finishes."""
    return watch(client, args.candidate_id, output, interval=args.interval, timeout=args.timeout)


def watch(
    client: HireflowClient,
    candidate_id: str,
    output: Output,
    *,
    interval: float,
    timeout: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll a candidate and show each change until a terminal state; exit code from how it ended.

    On a terminal the current stage and bar are redrawn in place; elsewhere (a pipe, a log, ``--json``) one
    line or JSON document is printed per change, so the output stays readable when captured.
    """
    live = not output.as_json and output.out.isatty()
    deadline = None if timeout is None else clock() + timeout
    last: tuple[Any, ...] | None = None
    while True:
        candidate = client.candidate(candidate_id)
        seen = (candidate.runtime_status, candidate.stage, round(candidate.progress, 3), candidate.detail)
        if seen != last:
            last = seen
            if output.as_json:
                output.json(candidate.raw)
            else:
                line = f"{candidate.stage:<20} {progress_bar(candidate.progress)}  {candidate.detail or ''}"
                if live:
                    output.out.write("\r\x1b[2K" + line[: _columns() - 1])
                    output.out.flush()
                else:
                    output.text(line.rstrip())
        if candidate.is_terminal:
            if live:
                output.out.write("\n")
            if not output.as_json:
                output.text(*candidate_summary(candidate))
            return exit_code_of(candidate)
        if deadline is not None and clock() >= deadline:
            if live:
                output.out.write("\n")
            output.problem(f"{candidate_id} is still {candidate.stage} after {timeout:g} s; stopped watching")
            return EXIT_WATCH_TIMEOUT
        sleep(interval)


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def cmd_list(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """List a job's candidates, one page (``--top``, ``--continuation-token``) or all of them (``--all``)."""
    if args.all:
        candidates = list(client.iter_candidates(args.job_id, status=args.status, page_size=args.top))
        token = None
    else:
        page = client.list_candidates(
            args.job_id, status=args.status, top=args.top, continuation_token=args.continuation_token
        )
        candidates, token = page.items, page.continuation_token
    if output.as_json:
        output.json(
            {"job_id": args.job_id, "items": [c.raw for c in candidates], "continuation_token": token}
        )
        return EXIT_OK
    if not candidates:
        output.text("no candidates")
    output.text(*(candidate_line(candidate) for candidate in candidates))
    if token:
        output.text(f"more: --continuation-token {token}")
    return EXIT_OK


def cmd_event(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Send a recruiter decision, a reschedule request or a withdrawal."""
    payload: dict[str, Any] = {}
    if args.data is not None:
        try:
            loaded = json.loads(args.data)
        except ValueError as error:
            raise UsageError(f"--data is not JSON: {error}") from error
        if not isinstance(loaded, dict):
            raise UsageError("--data must be a JSON object")
        payload.update(loaded)
    for pair in args.field or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--field expects KEY=VALUE, got {pair!r}")
        payload[key] = value
    delivery = client.send_event(args.candidate_id, args.event_name, payload)
    if output.as_json:
        output.json(asdict(delivery))
    else:
        output.text(f"{delivery.event} delivered to {', '.join(delivery.delivered_to)}")
    return EXIT_OK


def cmd_cancel(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Cancel a candidate's pipeline."""
    cancellation = client.cancel(args.candidate_id, reason=args.reason)
    if output.as_json:
        output.json(asdict(cancellation))
    else:
        output.text(f"cancelled: {', '.join(cancellation.terminated)}")
    return EXIT_OK


def cmd_report(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Fetch a candidate's report to stdout or a file."""
    report_format = "json" if output.as_json and args.format is None else (args.format or "html")
    content = client.report(args.candidate_id, format=report_format)
    if args.output is not None:
        Path(args.output).write_bytes(content)
        if not output.as_json:
            output.text(f"report written to {args.output} ({len(content)} bytes)")
        else:
            output.json({"id": args.candidate_id, "path": str(args.output), "bytes": len(content)})
        return EXIT_OK
    output.out.write(content.decode("utf-8", "replace"))
    if not content.endswith(b"\n"):
        output.out.write("\n")
    output.out.flush()
    return EXIT_OK


def cmd_health(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Check the host's dependencies; exit 1 when one of them is unhealthy."""
    health = client.health()
    if output.as_json:
        output.json(health.raw)
    else:
        output.text(f"host {client.base_url}: {health.status}")
        for name, check in sorted(health.dependencies.items()):
            state = check.get("status", "?") if isinstance(check, dict) else str(check)
            extra = check.get("error") or check.get("detail") or "" if isinstance(check, dict) else ""
            output.text(f"  {name:<24} {state}  {extra}".rstrip())
    return EXIT_OK if health.healthy else EXIT_API_ERROR


def _clock_line(clock: dict[str, Any]) -> str:
    upcoming = clock.get("nextTimer")
    next_due = f"at {upcoming.get('fireAt')}" if isinstance(upcoming, dict) else "none"
    pending = clock.get("pendingTimers", "?")
    now = clock.get("now", "?")
    return f"clock {clock.get('mode', '?')}: now {now}; {pending} timer(s) pending, next {next_due}"


def cmd_clock(client: HireflowClient, args: argparse.Namespace, output: Output) -> int:
    """Show, advance or switch the local host's clock (devhost's admin API)."""
    if args.clock_command == "advance":
        # devhost validates the duration and says what it accepts; one parser, not two.
        clock = client.advance_clock(by=args.by)
    elif args.clock_command == "mode":
        clock = client.set_clock_mode(args.mode)
    else:
        clock = client.clock()
    if output.as_json:
        output.json(clock)
    else:
        output.text(_clock_line(clock))
    return EXIT_OK


# ----------------------------------------------------------------------------------------------------
# Parser and entry point


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _page_size(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the ``hireflow`` argument parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help=f"host origin (env {URL_ENV}, default {DEFAULT_URL}); an Azure Function App's https URL",
    )
    common.add_argument(
        "--key", default=argparse.SUPPRESS, help=f"function key, sent as x-functions-key (env {KEY_ENV})"
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument(
        "--http-timeout", type=_positive, default=argparse.SUPPRESS, help="seconds per request (default 30)"
    )

    parser = argparse.ArgumentParser(
        prog="hireflow",
        description=__doc__.splitlines()[0],
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[5:9]),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def watching(command: argparse.ArgumentParser) -> None:
        command.add_argument("--interval", type=_positive, default=1.0, help="seconds between polls")
        command.add_argument(
            "--timeout", type=_positive, default=None, help="give up after this many seconds"
        )

    submit = commands.add_parser("submit", parents=[common], help="submit a resume for a job")
    submit.add_argument("job_id")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument("resume_file", nargs="?", default=None, help="local PDF or DOCX to upload")
    source.add_argument("--blob", help="name of a resume already in the resumes container")
    source.add_argument("--resume-url", help="URL of a resume blob in the resumes container")
    submit.add_argument("--name", required=True, help="candidate's name")
    submit.add_argument("--email")
    submit.add_argument("--phone", help="E.164, e.g. +14155550100")
    submit.add_argument("--time-zone", help="IANA time zone, e.g. Europe/Paris (default UTC)")
    submit.add_argument("--watch", action="store_true", help="then follow the candidate until it finishes")
    watching(submit)
    submit.set_defaults(handler=cmd_submit)

    status = commands.add_parser("status", parents=[common], help="where a candidate stands")
    status.add_argument("candidate_id")
    status.set_defaults(handler=cmd_status)

    watch_parser = commands.add_parser("watch", parents=[common], help="follow a candidate until it finishes")
    watch_parser.add_argument("candidate_id")
    watching(watch_parser)
    watch_parser.set_defaults(handler=cmd_watch)

    listing = commands.add_parser("list", parents=[common], help="a job's candidates")
    listing.add_argument("job_id")
    listing.add_argument("--status", help="a stage (awaiting_review) or runtime status (Completed)")
    listing.add_argument("--top", type=_page_size, default=None, help="page size (API default 50)")
    listing.add_argument("--continuation-token", help="token printed after the previous page")
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.set_defaults(handler=cmd_list)

    event = commands.add_parser("event", parents=[common], help="send an event to a candidate")
    event.add_argument("candidate_id")
    event.add_argument("event_name", choices=EVENT_NAMES)
    event.add_argument("--data", help='JSON body, e.g. \'{"decision": "advance"}\'')
    event.add_argument("--field", action="append", metavar="KEY=VALUE", help="a body field (repeatable)")
    event.set_defaults(handler=cmd_event)

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a candidate's pipeline")
    cancel.add_argument("candidate_id")
    cancel.add_argument("--reason")
    cancel.set_defaults(handler=cmd_cancel)

    report = commands.add_parser("report", parents=[common], help="fetch a candidate's report")
    report.add_argument("candidate_id")
    report.add_argument(
        "--format", choices=("html", "json"), default=None, help="default html (json with --json)"
    )
    report.add_argument("-o", "--output", type=Path, default=None, help="write to this file")
    report.set_defaults(handler=cmd_report)

    health = commands.add_parser("health", parents=[common], help="check the host and its dependencies")
    health.set_defaults(handler=cmd_health)

    clock = commands.add_parser("clock", parents=[common], help="show or move the local host's clock")
    clock_commands = clock.add_subparsers(dest="clock_command", metavar="ACTION")
    clock_commands.add_parser("show", parents=[common], help="mode, now and the next due timer (default)")
    advance = clock_commands.add_parser(
        "advance", parents=[common], help="fire the next due timer now, or move time forward --by"
    )
    advance.add_argument("--by", default=None, help="a duration such as 1d, 12h, 30m (default: next timer)")
    mode = clock_commands.add_parser("mode", parents=[common], help="real time, or skip to timers when idle")
    mode.add_argument("mode", choices=("real", "skip"))
    clock.set_defaults(handler=cmd_clock, clock_command="show")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    """Entry point of ``python -m hireflow`` and the ``hireflow`` console script; returns the exit code."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits 2 on bad usage and 0 after --help; hand the code back instead of leaving.
        return int(exit_.code or 0) if isinstance(exit_.code, int) else EXIT_USAGE
    output = Output(bool(getattr(args, "json", False)), out, err)
    url = getattr(args, "url", None) or env.get(URL_ENV) or DEFAULT_URL
    key = getattr(args, "key", None) or env.get(KEY_ENV) or None
    try:
        client = HireflowClient(url, function_key=key, timeout=getattr(args, "http_timeout", 30.0))
    except ValueError as error:
        output.problem(str(error))
        return EXIT_USAGE
    handler: Command = args.handler
    try:
        return handler(client, args, output)
    except UsageError as error:
        output.problem(str(error))
        return EXIT_USAGE
    except ApiError as error:
        output.problem(str(error))
        if output.as_json:
            output.json({"error": {"status": error.status, "code": error.code, "message": error.message}})
        return EXIT_API_ERROR
    except HostUnreachableError as error:
        output.problem(f"{error} (is the host running? set --url or {URL_ENV})")
        return EXIT_UNREACHABLE
    except KeyboardInterrupt:
        output.problem("interrupted")
        return EXIT_INTERRUPTED
