"""Command line: ``python -m devhost start --app PATH/function_app.py --port 7071 --data-dir DIR``.

Prints every function with its trigger (and URL for HTTP triggers), where the keys file is when keys are
required (never a key), then one line containing ``ready`` once the host serves; serves until SIGINT or
SIGTERM and shuts down cleanly. An app the Python worker would refuse to index, or a ``host.json`` the host
would refuse, is reported in their words; a failing import prints the traceback; both exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devhost.clock import Clock
from devhost.engine import Engine
from devhost.engine.quiescence import OutsideWork, QuiescenceUrlError, check_quiescence_url
from devhost.functions import LOCAL_SETTINGS_FILE, AppLoadError, FunctionIndex, load_app
from devhost.host_config import HostConfigError
from devhost.keys import HostKeys, KeysFileError
from devhost.server import (
    DEFAULT_MAX_BODY_BYTES,
    HOST_KEYS,
    HTTP_ROUTER,
    ROUTE_PREFIX,
    HostOptions,
    RunningHost,
    is_disabled,
    run_host,
)

DEFAULT_PORT = 7071
BODY_SIZE_LIMIT_SETTING = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"  # the host's app setting, in bytes
EXIT_LOAD_FAILED = 1
EXIT_BAD_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Build the ``devhost`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="host a Functions app until SIGINT/SIGTERM")
    start.add_argument("--app", required=True, type=Path, help="path to the app's function_app.py")
    start.add_argument(
        "--port",
        type=int,
        default=None,
        help="port to listen on; 0 picks a free one (default: Host.LocalHttpPort in local settings, or 7071)",
    )
    start.add_argument(
        "--cors",
        default=None,
        metavar="ORIGINS",
        help="comma-separated browser origins to allow, * for any (default: Host.CORS in local settings)",
    )
    start.add_argument(
        "--cors-credentials", action="store_true", help="allow credentialed cross-origin requests"
    )
    start.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    start.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where durable state, keys and blob receipts live (default: .devhost beside the app)",
    )
    timing = start.add_mutually_exclusive_group()
    timing.add_argument(
        "--skip-timers",
        action="store_true",
        help="fire durable timers as soon as nothing else is runnable (virtual clock)",
    )
    timing.add_argument(
        "--time-scale",
        type=float,
        default=None,
        metavar="X",
        help="run durable timers X times faster than real time",
    )
    start.add_argument(
        "--skip-timers-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --skip-timers, skip to a timer only after the engine was quiet this long: the fallback "
        "for callbacks from outside that no --quiescence-url can account for (default 0)",
    )
    start.add_argument(
        "--quiescence-url",
        action="append",
        default=[],
        metavar="URL",
        help='with --skip-timers, skip to a timer only when this URL answers {"pending": 0}: a service '
        "that calls back (ACS callbacks, Event Grid pushes) says what it still owes; repeatable",
    )
    start.add_argument(
        "--require-keys",
        action="store_true",
        help="enforce function/admin/system keys (generated once into the data dir)",
    )
    start.add_argument(
        "--max-body-mb",
        type=float,
        default=None,
        help="largest request body accepted, in MB (default: the app setting "
        f"{BODY_SIZE_LIMIT_SETTING} in bytes, as on Azure, else 100 MB, the host's default)",
    )
    start.add_argument(
        "--blob-poll-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often blob triggers list their containers (default 1 s)",
    )
    start.add_argument(
        "--queue-poll-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often queue triggers look for messages (default 1 s)",
    )
    start.add_argument(
        "--no-timer-triggers",
        action="store_true",
        help="do not run timer triggers on their schedules (invoke them through /admin/functions/NAME)",
    )
    start.add_argument("--log-level", default="INFO", help="host log level (default INFO)")
    return parser


def local_host_settings(app_dir: Path) -> dict[str, Any]:
    """Return the ``Host`` section of ``local.settings.json`` (port and CORS, as ``func start`` reads it)."""
    settings_path = app_dir / LOCAL_SETTINGS_FILE
    try:
        document = json.loads(settings_path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    section = document.get("Host") if isinstance(document, dict) else None
    return dict(section) if isinstance(section, dict) else {}


def describe_functions(index: FunctionIndex, running: RunningHost) -> list[str]:
    """One line per function: name, trigger, and the URL of HTTP triggers (as ``func start`` lists them)."""
    router = running.app[HTTP_ROUTER]
    http = {function.info.name: function for function in router.functions}
    prefix = running.app[ROUTE_PREFIX]
    base = f"{running.base_url}/{prefix}/" if prefix else f"{running.base_url}/"
    lines = ["Functions:", ""]
    for info in index.functions.values():
        if is_disabled(info.name):
            lines.append(f"        {info.name}: {info.trigger_type} (disabled)")
        elif info.name in http:
            function = http[info.name]
            methods = ",".join(sorted(function.methods)) if function.methods else "*"
            url = base + function.route.template
            lines.append(f"        {info.name}: [{methods}] {url}")
        elif info.trigger_type == "eventGridTrigger":
            lines.append(
                f"        {info.name}: eventGridTrigger "
                f"{running.base_url}/runtime/webhooks/eventgrid?functionName={info.name}"
            )
        elif info.trigger_type == "queueTrigger":
            lines.append(f"        {info.name}: queueTrigger {info.trigger.get('queueName')}")
        elif info.trigger_type == "timerTrigger":
            lines.append(f"        {info.name}: timerTrigger {info.trigger.get('schedule')}")
        elif info.trigger_type == "blobTrigger":
            source = (
                " (source EventGrid)" if str(info.trigger.get("source", "")).lower() == "eventgrid" else ""
            )
            lines.append(f"        {info.name}: blobTrigger {info.trigger.get('path')}{source}")
        else:
            lines.append(f"        {info.name}: {info.trigger_type}")
    return lines


def body_size_limit(max_body_mb: float | None) -> int:
    """Return the largest request body in bytes: the option, else the host's app setting, else 100 MB.

    Read after the app's local settings are loaded, so ``FUNCTIONS_REQUEST_BODY_SIZE_LIMIT`` in
    ``local.settings.json`` counts as it does for the host.
    """
    if max_body_mb is not None:
        return int(max_body_mb * 1024 * 1024)
    configured = os.environ.get(BODY_SIZE_LIMIT_SETTING, "").strip()
    if not configured:
        return DEFAULT_MAX_BODY_BYTES
    if not configured.isdigit() or int(configured) <= 0:
        raise ValueError(f"{BODY_SIZE_LIMIT_SETTING} must be a positive number of bytes, not {configured!r}")
    return int(configured)


def describe_keys(keys: HostKeys) -> list[str]:
    """Say that keys are required and where they are kept, never a key itself.

    Host logs are collected, shipped and shared; a key printed there is a key leaked. Tools read the keys
    file (mode 0600), as ``func`` users read them from the portal.
    """
    system = ", ".join(f"systemKeys.{name}" for name in keys.system_keys)
    return [
        f"Keys required (--require-keys); they are in {keys.path}:",
        f"        masterKey, functionKeys.default, {system}",
    ]


def print_load_failure(error: AppLoadError, app_path: Path) -> None:
    """Say why the app cannot start: the worker's refusal per function, else the import's traceback.

    A refusal by the worker's indexing rules is a finding about the app, not a crash of devhost, so it is
    printed as the host logs it on Azure (function name, the worker's exception and words), without a
    traceback.
    """
    refusals = error.worker_refusals
    if isinstance(error.__cause__, HostConfigError):
        print(f"devhost: {error}", file=sys.stderr)
        return
    if not refusals:
        print(error.traceback_text, file=sys.stderr, end="")
        print(f"devhost: {error}", file=sys.stderr)
        return
    for refusal in refusals:
        if refusal.raised_by == "host":
            print(f"devhost: {refusal.message}", file=sys.stderr)
        else:
            print(
                f"devhost: Worker failed to index function {refusal.function_name}: "
                f"{refusal.error_type}: {refusal.message}",
                file=sys.stderr,
            )
    refused = ", ".join(refusal.function_name for refusal in refusals)
    if any(refusal.raised_by == "worker" for refusal in refusals):
        consequence = "on Azure no function of this app would start (No job functions found)"
    else:
        consequence = "on Azure these functions would be in error and never run"
    print(f"devhost: {app_path} is refused: {consequence}. Refused: {refused}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.time_scale is not None and args.time_scale <= 0:
        parser.error("--time-scale must be a positive factor")
    if args.skip_timers_quiet < 0:
        parser.error("--skip-timers-quiet must not be negative")
    if args.max_body_mb is not None and args.max_body_mb <= 0:
        parser.error("--max-body-mb must be positive")
    for url in args.quiescence_url:
        try:
            check_quiescence_url(url)
        except QuiescenceUrlError as error:
            parser.error(f"--quiescence-url: {error}")
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    app_path: Path = args.app
    if not app_path.is_file():
        print(f"devhost: no such app file: {app_path}", file=sys.stderr)
        return EXIT_BAD_USAGE
    try:
        index = load_app(app_path, keep_module=True)
    except AppLoadError as error:
        print_load_failure(error, app_path)
        return EXIT_LOAD_FAILED
    try:
        max_body_bytes = body_size_limit(args.max_body_mb)
    except ValueError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return EXIT_BAD_USAGE
    data_dir: Path = args.data_dir or app_path.resolve().parent / ".devhost"
    data_dir.mkdir(parents=True, exist_ok=True)
    if args.skip_timers:
        clock = Clock.skipping()
    elif args.time_scale is not None:
        clock = Clock.scaled(args.time_scale)
    else:
        clock = Clock.real()
    engine = Engine(index, data_dir, clock=clock)
    engine.skip_timers_quiet_seconds = args.skip_timers_quiet
    if args.quiescence_url:
        engine.outside_work = OutsideWork(args.quiescence_url)
    host_section = local_host_settings(app_path.resolve().parent)
    port = args.port if args.port is not None else int(host_section.get("LocalHttpPort") or DEFAULT_PORT)
    cors = args.cors if args.cors is not None else str(host_section.get("CORS") or "")
    options = HostOptions(
        data_dir=data_dir,
        host=args.host,
        port=port,
        cors_origins=tuple(origin.strip() for origin in cors.split(",") if origin.strip()),
        cors_credentials=args.cors_credentials or bool(host_section.get("CORSCredentials")),
        require_keys=args.require_keys,
        max_body_bytes=max_body_bytes,
        blob_poll_interval=args.blob_poll_interval,
        queue_poll_interval=args.queue_poll_interval,
        timer_triggers=not args.no_timer_triggers,
    )

    def on_ready(running: RunningHost) -> None:
        lines = describe_functions(index, running)
        keys = running.app[HOST_KEYS]
        if keys is not None:
            lines += ["", *describe_keys(keys)]
        lines += ["", f"devhost ready on {running.base_url} (data dir {data_dir})"]
        print("\n".join(lines), flush=True)

    try:
        asyncio.run(run_host(index, engine, options, on_ready=on_ready))
    except KeysFileError as error:
        print(f"devhost: {error}", file=sys.stderr)
        return EXIT_LOAD_FAILED
    except OSError as error:
        print(f"devhost: cannot serve on {args.host}:{port}: {error}", file=sys.stderr)
        return EXIT_LOAD_FAILED
    except Exception:
        # The engine failed to start (a corrupt store, for instance): say why, exit non-zero.
        traceback.print_exc()
        return EXIT_LOAD_FAILED
    return 0
