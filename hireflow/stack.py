"""The whole pipeline on one machine: Azurite, the emulators and devhost, as supervised subprocesses.

``LocalStack`` starts the three services in dependency order, each on free loopback ports, awaits each one's
readiness with a deadline, computes the app settings the pipeline needs and hands them to devhost as
environment variables (which beat ``local.settings.json``), and stops everything on exit, on error and on
Ctrl-C. Every service writes its output to one log folder; a service that fails to start is named in the error
with the tail of its log.

Start order matters: the ACS emulator must know where to push Event Grid events (devhost's Event Grid webhook
for the recording trigger) before devhost exists, so devhost's port is probed free first and the emulators are
told the URL it will have.

Keys: with ``require_keys`` (or ``--require-keys`` among ``devhost_args``) devhost enforces function, admin
and system keys as Azure does. The webhook URL the emulator pushes to must then carry the Event Grid
extension's system key, which devhost only generates when it starts; so the stack has the keys file created
in devhost's data dir first (devhost keeps the keys it finds there) and gives the emulator the keyed URL
through a file, because a command line is visible to every user and copied into the logs. No key is ever
printed: the stack's ``keys_file`` says where they are.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import IO, Any
from urllib.parse import quote

from azure.storage.blob import BlobServiceClient, ContentSettings

from hireflow.azurite import REPO_ROOT, AzuriteInstance, azurite_command, free_port, port_accepts
from hireflow.client import HireflowClient

__all__ = [
    "APP_PATH",
    "RECORDING_TRIGGER",
    "SAMPLES_DIR",
    "LocalStack",
    "ServiceProcess",
    "StackError",
    "StackOptions",
]

APP_PATH = REPO_ROOT / "function_app.py"
SAMPLES_DIR = REPO_ROOT / "samples"
RECORDING_TRIGGER = "recording_file_status_updated"
"""The Event Grid triggered function that turns ``RecordingFileStatusUpdated`` into ``RecordingReady``."""

START_DEADLINE_S = 60.0
STOP_GRACE_S = 10.0
_PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal a process gets when the thread that started it ends."""
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
LOG_TAIL_LINES = 25
SKIP_TIMERS_QUIET_S = 0.5
"""Fixed quiet time before devhost skips to a timer. The emulators need none: devhost asks them what they
still owe (ACS callbacks, Event Grid pushes, recordings) at their ``/admin/pending``. It is for the one
party nobody can observe: a person, or a script playing one (the demo answers reviews, polling every
0.2 s), who must see a review request before its deadline is skipped to. Runs without reviews use 0."""

_DEVHOST_READY = re.compile(r"devhost ready on (http://\S+)")
_EMULATORS_READY = re.compile(r"emulators ready on (http://\S+)")


class StackError(RuntimeError):
    """A service of the local stack failed to start or stopped unexpectedly."""

    def __init__(self, service: str, problem: str, log_path: Path | None = None) -> None:
        self.service = service
        self.log_path = log_path
        tail = _log_tail(log_path) if log_path is not None else ""
        message = f"{service}: {problem}"
        if log_path is not None:
            message += (
                f"\n--- last lines of {log_path} ---\n{tail}" if tail else f" (log {log_path} is empty)"
            )
        super().__init__(message)


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class StackOptions:
    """How to run the local stack."""

    work_dir: Path
    """Logs under ``work_dir/logs``, each service's data under ``work_dir/<service>``."""
    skip_timers: bool = True
    """Fire durable timers as soon as nothing is in flight in the stack (a day-long wait passes at once)."""
    time_scale: float | None = None
    """Run timers this many times faster than real time instead (wins over ``skip_timers``)."""
    emulator_args: Sequence[str] = ()
    """Extra ``python -m emulators start`` arguments, e.g. ``("--openai-tpm", "20000")``."""
    devhost_args: Sequence[str] = ()
    """Extra ``python -m devhost start`` arguments."""
    extra_settings: Mapping[str, str] = field(default_factory=dict)
    """App settings overriding the computed ones."""
    personas: Path | None = None
    """Call personas of the ACS emulator (default ``samples/personas.json``)."""
    recording_ready_delay_s: float = 0.05
    """Seconds between a call's end and the emulator's ``RecordingFileStatusUpdated`` push."""
    ring_delay_s: float = 0.05
    """Seconds a placed call rings in the ACS emulator before it connects."""
    skip_timers_quiet_s: float = SKIP_TIMERS_QUIET_S
    """Real seconds devhost must be quiet before it skips to a timer (the fallback; see ``quiescence``)."""
    quiescence: bool = True
    """With skipped time, devhost skips only when the emulators owe nothing (``--quiescence-url`` pointed at
    their ``/admin/pending``)."""
    recording_voice: str = "tones"
    """How the ACS emulator's recordings sound: ``tones`` are made at once; ``espeak-ng`` speech takes about
    a second per interview (skipped time waits for it: a recording being made is work the emulator owes)."""
    require_keys: bool = False
    """Enforce function, admin and system keys as Azure does (also implied by ``--require-keys`` in
    ``devhost_args``)."""

    @property
    def keyed(self) -> bool:
        """Whether devhost runs with keys enforced."""
        return self.require_keys or "--require-keys" in self.devhost_args


def _end_with_the_starter(starter_pid: int) -> Callable[[], None] | None:
    """Return what a service runs before its program on Linux: SIGTERM for it when its starter is gone.

    A stack's owner that is killed outright (a benchmark killed by its timeout, a test runner's SIGKILL) never
    runs its clean-up; without this its services would go on serving ports and holding data directories.
    The signal comes when the *thread* that started the service ends, so a stack is started on the thread that
    owns it (the main one, everywhere in this repository).
    """
    libc = _LIBC
    if libc is None:
        return None

    def arrange() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != starter_pid:  # the starter died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


class ServiceProcess:
    """One service as a subprocess in its own process group, its output appended to a log file.

    On Linux the service is sent SIGTERM if the process that started it dies without stopping it.
    """

    def __init__(self, name: str, command: Sequence[str], log_path: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self.env = dict(env)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int:
        """The running process's id."""
        if self.process is None:
            raise StackError(self.name, "is not running")
        return self.process.pid

    def start(self) -> None:
        """Launch the process (a new session, so signals to the terminal do not reach it directly)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log_offset = self._log.tell()
        self._log.write(f"=== {time.strftime('%H:%M:%S')} starting: {' '.join(self.command)}\n".encode())
        self._log.flush()
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # One libc call between fork and exec, nothing that takes a lock a parent's thread could hold.
            preexec_fn=_end_with_the_starter(os.getpid()),
        )

    def output_since_start(self) -> str:
        """Return what the process logged since its latest start."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def wait_until(self, ready: Callable[[], str | None], deadline_s: float = START_DEADLINE_S) -> str:
        """Poll ``ready`` until it returns a value; fail if the process exits or the deadline passes."""
        deadline = time.monotonic() + deadline_s
        while True:
            value = ready()
            if value is not None:
                return value
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise StackError(self.name, f"exited with status {code} before it was ready", self.log_path)
            if time.monotonic() > deadline:
                raise StackError(self.name, f"not ready within {deadline_s:.0f} s", self.log_path)
            time.sleep(0.05)

    def wait_for_line(self, pattern: re.Pattern[str], deadline_s: float = START_DEADLINE_S) -> str:
        """Wait for a log line matching ``pattern``; returns its first group."""

        def matched() -> str | None:
            found = pattern.search(self.output_since_start())
            return found.group(1) if found else None

        return self.wait_until(matched, deadline_s)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash, not a shutdown)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self._close_log()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the process group, then SIGKILL whatever is still there after ``grace_s``."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None:
            # Children that outlived their leader (npm shims) go with the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class LocalStack:
    """Azurite, the emulators and devhost running ``function_app.py``; a context manager.

    Attributes, once entered: ``api_url`` (devhost's base URL; the HTTP API is under ``/api``; the dashboard's
    sign-in link is :attr:`dashboard_url`), ``settings``
    (every app setting devhost was started with), ``storage_connection_string``, ``emulators_url`` (the plain
    HTTP emulator site, admin and stats included), ``logs_dir``, ``emulator_settings_file`` and, when keyed,
    ``keys_file``, ``function_key`` (for the HTTP API), ``master_key`` and ``system_keys`` (by extension).
    """

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.work_dir = options.work_dir.resolve()
        self.logs_dir = self.work_dir / "logs"
        self.api_url = ""
        self.emulators_url = ""
        self.storage_connection_string = ""
        self.settings: Mapping[str, str] = MappingProxyType({})
        self.azurite: AzuriteInstance | None = None
        self.keys_file: Path | None = None
        self.function_key: str | None = None
        self.master_key: str | None = None
        self.system_keys: Mapping[str, str] = MappingProxyType({})
        self.emulator_settings_file = self.work_dir / "emulators" / "settings.json"
        self._devhost_port = 0
        self._services: list[ServiceProcess] = []
        self._devhost: ServiceProcess | None = None

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start Azurite, then the emulators, then devhost; each awaited ready before the next."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._start_azurite()
        self._devhost_port = free_port()
        self.api_url = f"http://127.0.0.1:{self._devhost_port}"
        if self.options.keyed:
            self._create_devhost_keys()
        emulator_settings = self._start_emulators()
        self.settings = MappingProxyType(self._app_settings(emulator_settings))
        self.start_devhost()

    def stop(self) -> None:
        """Stop every service, newest first; safe to call twice."""
        while self._services:
            service = self._services.pop()
            with contextlib.suppress(Exception):
                service.stop()
        self._devhost = None

    # ------------------------------------------------------------------ services

    def _service(
        self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> ServiceProcess:
        base = dict(os.environ if env is None else env)
        base["PYTHONUNBUFFERED"] = "1"
        service = ServiceProcess(name, command, self.logs_dir / f"{name}.log", base)
        self._services.append(service)
        service.start()
        return service

    def _start_azurite(self) -> None:
        instance = AzuriteInstance.on_free_ports()
        location = self.work_dir / "azurite"
        location.mkdir(parents=True, exist_ok=True)
        service = self._service("azurite", azurite_command(instance, location))

        def listening() -> str | None:
            return "ready" if all(port_accepts(port) for port in instance.ports) else None

        service.wait_until(listening)
        self.azurite = instance
        self.storage_connection_string = instance.connection_string

    def _create_devhost_keys(self) -> None:
        # devhost reads the keys file of its data dir and keeps the keys it finds; creating it now gives the
        # stack the Event Grid system key before devhost runs, as Azure has it before any event is pushed.
        from devhost.keys import load_or_create_keys

        keys = load_or_create_keys(self.work_dir / "devhost")
        self.keys_file = keys.path
        self.function_key = keys.default_function_key
        self.master_key = keys.master_key
        self.system_keys = MappingProxyType(dict(keys.system_keys))

    def _events_url_file(self) -> Path:
        """Write the (keyed) webhook URL the emulator pushes recording events to; only the owner reads it."""
        path = self.work_dir / "emulators" / "events-url"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(self.event_grid_url(RECORDING_TRIGGER, keyed=True) + "\n")
        return path

    def _start_emulators(self) -> dict[str, str]:
        settings_path = self.emulator_settings_file
        settings_path.unlink(missing_ok=True)
        personas = self.options.personas or SAMPLES_DIR / "personas.json"
        command = [
            sys.executable,
            "-m",
            "emulators",
            "start",
            "--port",
            "0",
            "--acs-port",
            "0",
            "--events-url-file",
            str(self._events_url_file()),
            "--settings-out",
            str(settings_path),
            "--data-dir",
            str(self.work_dir / "emulators"),
            "--personas",
            str(personas),
            "--recording-ready-delay",
            str(self.options.recording_ready_delay_s),
            "--ring-delay",
            str(self.options.ring_delay_s),
            "--recording-voice",
            self.options.recording_voice,
            *self.options.emulator_args,
        ]
        service = self._service("emulators", command)
        self.emulators_url = service.wait_for_line(_EMULATORS_READY)
        loaded = json.loads(settings_path.read_text(encoding="utf-8"))
        return {str(key): str(value) for key, value in loaded.items()}

    def _app_settings(self, emulator_settings: Mapping[str, str]) -> dict[str, str]:
        settings = {
            "HIREFLOW_PROFILE": "local",
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": self.storage_connection_string,
            # The resume blob trigger's path names %RESUMES_CONTAINER%; the host resolves it from here.
            "RESUMES_CONTAINER": "resumes",
            **emulator_settings,
            # ACS posts mid-call events here; devhost serves the app's callback route.
            "CALLBACK_BASE_URL": self.api_url,
            "ACS_CALLBACK_SECRET": secrets.token_urlsafe(24),
            # Its own secret: the dashboard's sign-in links and sessions verify nowhere else.
            "DASHBOARD_SIGNING_SECRET": secrets.token_urlsafe(24),
        }
        if self.master_key:
            # A keyed devhost keeps /admin/clock behind its master key; the dashboard's clock panel sends it.
            settings["DEVHOST_ADMIN_KEY"] = self.master_key
        settings.update(self.options.extra_settings)
        return settings

    def _devhost_command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app",
            str(APP_PATH),
            "--port",
            str(self._devhost_port),
            "--data-dir",
            str(self.work_dir / "devhost"),
            "--blob-poll-interval",
            "0.2",
        ]
        if self.options.time_scale is not None:
            command += ["--time-scale", str(self.options.time_scale)]
        elif self.options.skip_timers:
            command += ["--skip-timers", "--skip-timers-quiet", str(self.options.skip_timers_quiet_s)]
            if self.options.quiescence and self.emulators_url:
                command += ["--quiescence-url", f"{self.emulators_url.rstrip('/')}/admin/pending"]
        if self.options.require_keys and "--require-keys" not in self.options.devhost_args:
            command.append("--require-keys")
        return command + list(self.options.devhost_args)

    def start_devhost(self) -> None:
        """(Re)start devhost on the same data dir and port and wait until it serves."""
        if self._devhost is not None and self._devhost.process is not None:
            if self._devhost.process.poll() is None:
                raise StackError("devhost", "is already running")
            self._services.remove(self._devhost)
        if port_accepts(self._devhost_port):
            # A killed devhost's socket is gone at once; anything answering here is someone else.
            raise StackError("devhost", f"port {self._devhost_port} is taken by another process")
        env = {**os.environ, **self.settings}
        self._devhost = self._service("devhost", self._devhost_command(), env)
        self._devhost.wait_for_line(_DEVHOST_READY)

    def kill_devhost(self) -> None:
        """SIGKILL devhost (and its process group), for crash tests; the other services keep running."""
        if self._devhost is None:
            raise StackError("devhost", "is not running")
        self._devhost.kill()

    @property
    def devhost_pid(self) -> int:
        """Process id of devhost."""
        if self._devhost is None:
            raise StackError("devhost", "is not running")
        return self._devhost.pid

    # ------------------------------------------------------------------ helpers

    def event_grid_url(self, function_name: str, *, keyed: bool = False) -> str:
        """Return devhost's Event Grid webhook URL for an ``eventGridTrigger`` function.

        With ``keyed`` and a keyed stack the URL carries the Event Grid extension's system key in ``code``, as
        an Azure Event Grid subscription's endpoint does; it is then a secret, not something to print.
        """
        url = f"{self.api_url}/runtime/webhooks/eventgrid?functionName={function_name}"
        system_key = self.system_keys.get("eventgrid_extension")
        if keyed and system_key:
            url += f"&code={quote(system_key, safe='')}"
        return url

    def durable_api_headers(self) -> dict[str, str]:
        """Headers for devhost's Durable HTTP API: its system key when keyed (the Durable extension's)."""
        system_key = self.system_keys.get("durabletask_extension")
        return {"x-functions-key": system_key} if system_key else {}

    def secret_values(self) -> list[str]:
        """Every secret the stack knows (keys, connection strings, the callback secret), for log scans."""
        found = [self.storage_connection_string] if self.storage_connection_string else []
        for name, value in self.settings.items():
            connection_string = "CONNECTION_STRING" in name or name == "AzureWebJobsStorage"
            if value and (name.endswith(("_KEY", "_SECRET")) or connection_string):
                found.append(value)
            if value and connection_string:
                found += [
                    part.split("=", 1)[1]
                    for part in value.split(";")
                    if part.lower().startswith(("accesskey=", "accountkey=")) and "=" in part
                ]
        found += [key for key in (self.function_key, self.master_key) if key]
        found += list(self.system_keys.values())
        if self.keys_file is not None and self.keys_file.is_file():
            document = json.loads(self.keys_file.read_text(encoding="utf-8"))
            found += [str(document.get("masterKey") or "")]
            for section in ("functionKeys", "systemKeys"):
                found += [str(value) for value in dict(document.get(section) or {}).values()]
        return sorted({value for value in found if value})

    @property
    def dashboard_url(self) -> str:
        """A sign-in link to the dashboard that a browser opens as it is; each read mints a new one.

        The link carries a one-time ticket signed with a key derived from the secret the stack gave the app
        (``DASHBOARD_SIGNING_SECRET``); the app trades it for a session cookie and redirects to the clean URL.
        """
        from triggers.dashboard_auth import mint_sign_in_ticket

        secret = self.settings.get("DASHBOARD_SIGNING_SECRET")
        if not self.api_url or not secret:
            raise StackError("devhost", "is not running: no dashboard to sign in to")
        return f"{self.api_url}/api/dashboard?ticket={mint_sign_in_ticket(secret)}"

    def use_real_time(self) -> None:
        """Switch devhost's clock from skipped to real time, so human deadlines wait for humans.

        Timers then fire when due; people move time on purpose with :meth:`advance_clock` (or
        ``python -m hireflow clock advance``, or the dashboard).
        """
        self._admin_client().set_clock_mode("real")

    def advance_clock(self, *, by: str | None = None) -> dict[str, Any]:
        """Move devhost's clock to the next due timer, or forward ``by`` (``"1d"``, ``"2h"``)."""
        return self._admin_client().advance_clock(by=by)

    def _admin_client(self) -> HireflowClient:
        # devhost's admin API takes only the master key when keys are required.
        return HireflowClient(self.api_url, function_key=self.master_key)

    def blob_service(self) -> BlobServiceClient:
        """Return a Blob client on the stack's Azurite."""
        return BlobServiceClient.from_connection_string(self.storage_connection_string)

    def container_name(self, setting: str, default: str) -> str:
        """Return the container an app setting such as ``RESUMES_CONTAINER`` names."""
        return self.settings.get(setting) or default

    def seed_jobs(self) -> list[str]:
        """Upload every ``samples/jobs/<job_id>.json`` into the jobs container; returns the job ids."""
        container = self.blob_service().get_container_client(self.container_name("JOBS_CONTAINER", "jobs"))
        with contextlib.suppress(Exception):
            container.create_container()
        job_ids: list[str] = []
        for path in sorted((SAMPLES_DIR / "jobs").glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("job_id") != path.stem:
                raise ValueError(
                    f"{path.name}: job_id {document.get('job_id')!r} does not match the file name"
                )
            container.upload_blob(
                path.name,
                path.read_bytes(),
                overwrite=True,
                content_settings=ContentSettings(content_type="application/json"),
            )
            job_ids.append(path.stem)
        return job_ids
