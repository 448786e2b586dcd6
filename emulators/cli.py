"""`python -m emulators start ...`: run every emulator in one process until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

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
    start.add_argument(
        "--events-url",
        default=None,
        help="Event Grid subscriber for recording events (a URL with a key belongs in --events-url-file)",
    )
    start.add_argument(
        "--events-url-file",
        type=Path,
        default=None,
        help="read the Event Grid subscriber URL from this file: a webhook URL carries its system key in "
        "?code=, and a command line is visible to every user of the machine and copied into logs",
    )
    start.add_argument("--faults", default="", help="e.g. 'openai:429=0.2,500=0.05;docintel:503=0.1'")
    start.add_argument(
        "--seed", type=int, default=0, help="seed of fault injection and of the generated keys"
    )
    start.add_argument(
        "--settings-out",
        type=Path,
        default=None,
        help="where to write the app settings, keys included (default: settings.json in the data dir); "
        "the output names this file and never prints a key",
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
        "--ring-delay",
        type=float,
        default=0.05,
        help="seconds a placed call rings before it connects (0: at once)",
    )
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
        ring_delay_s=args.ring_delay,
        recording_voice=args.recording_voice,
        fault_settings=FaultSettings(
            slow_delay_s=args.fault_slow_seconds, timeout_hold_s=args.fault_timeout_seconds
        ),
    )


def write_settings_file(settings: Mapping[str, str], path: Path) -> None:
    """Write ``settings`` to ``path`` atomically (readers never see half a file), mode 0600: it holds keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(settings_json(settings))
    os.chmod(temporary, 0o600)  # an existing file keeps its old mode through O_CREAT
    temporary.replace(path)


_SECRET_QUERY = re.compile(r"([?&](?:code|token|secret|sig|key|access_token)=)[^&\s'\"]+", re.IGNORECASE)


class RedactingFormatter(logging.Formatter):
    """Formats log records with every known secret replaced, whatever a library put into the message.

    Event Grid delivery errors name the subscriber URL, whose ``?code=`` is the receiver's system key; an
    SDK error may quote a header. Redacting at the one handler covers them all.
    """

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        # Longest first, so a key inside a connection string never leaves the rest of the string behind.
        self._secrets = sorted({secret for secret in secrets if len(secret) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` and replace every secret with ``[redacted]``."""
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        # Secrets the emulator never saw in its settings: the app's callback token, a webhook's code.
        return _SECRET_QUERY.sub(r"\1[redacted]", text)


def secret_values(settings: Mapping[str, str], events_url: str | None) -> list[str]:
    """Every value that must never be printed: keys, the connection string and its access key, URL keys."""
    found = [
        value
        for name, value in settings.items()
        if value and (name.endswith(("_KEY", "_SECRET")) or "CONNECTION_STRING" in name)
    ]
    for name, value in settings.items():
        if "CONNECTION_STRING" in name:
            found += [
                part.split("=", 1)[1] for part in value.split(";") if part.lower().startswith("accesskey=")
            ]
    if events_url:
        found += [value for _, value in parse_qsl(urlsplit(events_url).query)]
    return found


def _log_to_stderr_redacted(secrets: Sequence[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


async def serve(options: EmulatorOptions, settings_out: Path) -> None:
    """Start, announce endpoints and where the settings are, wait for SIGINT/SIGTERM, stop."""
    server = EmulatorServer(options)
    settings = await server.start()
    _log_to_stderr_redacted(secret_values(settings, options.events_url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"Azure OpenAI (http):               {settings['AZURE_OPENAI_ENDPOINT']}", flush=True)
        print(f"Document Intelligence (http):      {settings['DOCUMENT_INTELLIGENCE_ENDPOINT']}", flush=True)
        print(f"ACS Call Automation (https):       {settings['ACS_ENDPOINT']}", flush=True)
        print(f"Recording download proxy:          {settings['ACS_RECORDING_PROXY_URL']}", flush=True)
        # Keys and the connection string go to a file readable by its owner only, never to the output:
        # logs are collected, shared and pasted into issues.
        write_settings_file(settings, settings_out)
        print(f"Settings (keys, connection string, CA_BUNDLE) written to {settings_out}", flush=True)
        print(
            "For the ACS endpoint trust CA_BUNDLE (REQUESTS_CA_BUNDLE, SSL_CERT_FILE or connection_verify)",
            flush=True,
        )
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
    if args.events_url_file is not None:
        try:
            args.events_url = args.events_url_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            print(f"error: --events-url-file: {error}", file=sys.stderr)
            return 2
        if not args.events_url:
            print(f"error: --events-url-file: {args.events_url_file} is empty", file=sys.stderr)
            return 2
    settings_out = args.settings_out or args.data_dir / "settings.json"
    asyncio.run(serve(options_from(args), settings_out))
    return 0
