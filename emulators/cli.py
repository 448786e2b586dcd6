"""`python -m emulators start ...`: run every emulator in one process until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from emulators.faults import FaultSettings, FaultSpecError, parse_fault_spec
from emulators.openai_service import (
    DEFAULT_CHAT_DEPLOYMENT,
    DEFAULT_CONTENT_FILTER_PHRASE,
    DEFAULT_TRANSCRIPTION_DEPLOYMENT,
    Deployment,
)
from emulators.server import EmulatorOptions, EmulatorServer, settings_json


def default_data_dir() -> Path:
    """Return `$XDG_CACHE_HOME/hireflow/emulators` (or under `~/.cache`): outside the repo, kept."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hireflow" / "emulators"


def build_parser() -> argparse.ArgumentParser:
    """Build the command line: one `start` command with the options of every service."""
    parser = argparse.ArgumentParser(prog="python -m emulators", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve Azure OpenAI, Document Intelligence and ACS on loopback")
    start.add_argument(
        "--port", type=int, default=7081, help="plain HTTP port (OpenAI, Document Intelligence); 0 = free"
    )
    start.add_argument(
        "--acs-port", type=int, default=None, help="HTTPS port for ACS (default: port + 1, or free)"
    )
    start.add_argument("--events-url", default=None, help="Event Grid subscriber for recording events")
    start.add_argument("--faults", default="", help="e.g. 'openai:429=0.2,500=0.05;docintel:503=0.1'")
    start.add_argument(
        "--seed", type=int, default=0, help="seed of fault injection and of the generated keys"
    )
    start.add_argument(
        "--settings-out", type=Path, default=None, help="write the app settings to this JSON file"
    )
    start.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="keeps the TLS CA between runs, so CA_BUNDLE stays valid (default: %(default)s)",
    )
    start.add_argument("--personas", type=Path, default=None, help="JSON file of call personas")
    start.add_argument("--chat-deployment", default=DEFAULT_CHAT_DEPLOYMENT)
    start.add_argument("--transcription-deployment", default=DEFAULT_TRANSCRIPTION_DEPLOYMENT)
    start.add_argument("--openai-rpm", type=int, default=None, help="requests per minute per deployment")
    start.add_argument("--openai-tpm", type=int, default=None, help="tokens per minute per deployment")
    start.add_argument("--rate-window", type=float, default=60.0, help="seconds in the rate-limit window")
    start.add_argument("--content-filter-phrase", default=DEFAULT_CONTENT_FILTER_PHRASE)
    start.add_argument("--recording-ready-delay", type=float, default=1.0, help="seconds after a call ends")
    start.add_argument(
        "--recording-voice",
        choices=("auto", "tones", "espeak-ng"),
        default="auto",
        help="how recordings sound: tones are instant, espeak-ng speech takes a while per call "
        "(default auto: speech when espeak-ng is installed)",
    )
    start.add_argument(
        "--docintel-retry-after", type=int, default=1, help="Retry-After of analyze operations"
    )
    start.add_argument("--fault-slow-seconds", type=float, default=FaultSettings.slow_delay_s)
    start.add_argument("--fault-timeout-seconds", type=float, default=FaultSettings.timeout_hold_s)
    return parser


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    """Emulator options from parsed arguments."""
    deployments = (
        Deployment(args.chat_deployment, "gpt-4o-mini", "chat", args.openai_rpm, args.openai_tpm),
        Deployment(
            args.transcription_deployment, "whisper", "transcription", args.openai_rpm, args.openai_tpm
        ),
    )
    return EmulatorOptions(
        port=args.port,
        acs_port=args.acs_port,
        events_url=args.events_url,
        faults=args.faults,
        seed=args.seed,
        data_dir=args.data_dir,
        personas=args.personas,
        deployments=deployments,
        content_filter_phrases=(args.content_filter_phrase,),
        rate_window_s=args.rate_window,
        docintel_retry_after_s=args.docintel_retry_after,
        recording_ready_delay_s=args.recording_ready_delay,
        recording_voice=args.recording_voice,
        fault_settings=FaultSettings(
            slow_delay_s=args.fault_slow_seconds, timeout_hold_s=args.fault_timeout_seconds
        ),
    )


async def serve(options: EmulatorOptions, settings_out: Path | None) -> None:
    """Start, announce endpoints and settings, wait for SIGINT/SIGTERM, stop."""
    server = EmulatorServer(options)
    settings = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"Azure OpenAI (http):               {settings['AZURE_OPENAI_ENDPOINT']}", flush=True)
        print(f"Document Intelligence (http):      {settings['DOCUMENT_INTELLIGENCE_ENDPOINT']}", flush=True)
        print(f"ACS Call Automation (https):       {settings['ACS_ENDPOINT']}", flush=True)
        print(f"Recording download proxy:          {settings['ACS_RECORDING_PROXY_URL']}", flush=True)
        print(
            "Settings (trust CA_BUNDLE via REQUESTS_CA_BUNDLE / SSL_CERT_FILE or connection_verify):",
            flush=True,
        )
        for key, value in sorted(settings.items()):
            print(f"  {key}={value}", flush=True)
        if settings_out is not None:
            settings_out.parent.mkdir(parents=True, exist_ok=True)
            temporary = settings_out.with_suffix(settings_out.suffix + ".tmp")
            temporary.write_text(settings_json(settings))
            temporary.replace(settings_out)  # readers never see a half-written file
            print(f"Settings written to {settings_out}", flush=True)
        print(f"emulators ready on http://127.0.0.1:{server.http_port} and https://127.0.0.1:{server.https_port}",
              flush=True)  # fmt: skip
        await stop.wait()
    finally:
        await server.stop()
        print("emulators stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m emulators`."""
    args = build_parser().parse_args(argv)
    try:
        parse_fault_spec(args.faults)
    except FaultSpecError as error:
        print(f"error: --faults: {error}", file=sys.stderr)
        return 2
    asyncio.run(serve(options_from(args), args.settings_out))
    return 0
