"""A running host for the command line's tests: devhost with the real app, the emulators and Azurite.

One host per module (starting it costs a second or two): devhost serves ``function_app.py`` over real HTTP on
a free loopback port and requires function keys, as an Azure Function App does; the activities call the
emulators; storage is the session's Azurite with containers of this module's own.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devhost.keys import load_or_create_keys
from emulators.server import EmulatorOptions, emulators_in_thread
from hireflow.cli import main
from hireflow.client import HireflowClient
from shared.clients import reset_clients
from shared.settings import get_settings, reset_settings, setting_keys
from shared.storage import reset_storage, upload_bytes
from tests.support.azurite import AzuriteInstance
from tests.support.host_thread import HostThread

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
JOB_ID = "python-backend-engineer"


@dataclass
class LiveHost:
    """What the tests need of the running host: its URL, its function key, and a way to stage resumes."""

    url: str
    key: str
    samples: dict[str, dict[str, Any]]

    def client(self) -> HireflowClient:
        """A client holding the host's function key."""
        return HireflowClient(self.url, function_key=self.key)

    def stage_resume(self, sample_key: str) -> str:
        """Upload a sample resume under a fresh name (a candidate of its own); return the blob name."""
        sample = self.samples[sample_key]
        source = SAMPLES / sample["resume"]
        name = f"{JOB_ID}/{uuid.uuid4().hex[:8]}-{source.name}"
        upload_bytes(get_settings().resumes_container, name, source.read_bytes())
        return name

    def wait_for_stage(self, candidate_id: str, stage: str, timeout: float = 30.0) -> None:
        """Poll the candidate until it reaches ``stage``."""
        client = self.client()
        deadline = time.monotonic() + timeout
        current = client.candidate(candidate_id)
        while current.stage != stage:
            assert not current.is_terminal, f"{candidate_id} ended {current.runtime_status} before {stage}"
            assert time.monotonic() < deadline, f"{candidate_id} still {current.stage}, not {stage}"
            time.sleep(0.1)
            current = client.candidate(candidate_id)


@pytest.fixture(scope="module")
def live_host(azurite: AzuriteInstance, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHost]:
    """devhost + emulators + Azurite for one test module, with the sample job seeded."""
    suffix = uuid.uuid4().hex[:10]
    settings = {
        "HIREFLOW_PROFILE": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "ACS_CALLBACK_SECRET": "cli-tests-callback-secret",
        "RESUMES_CONTAINER": f"resumes-{suffix}",
        "JOBS_CONTAINER": f"jobs-{suffix}",
        "ARTIFACTS_CONTAINER": f"artifacts-{suffix}",
        "REPORTS_CONTAINER": f"reports-{suffix}",
        "RECORDINGS_CONTAINER": f"recordings-{suffix}",
    }
    data_dir = tmp_path_factory.mktemp("cli-host")
    samples = {c["key"]: c for c in json.loads((SAMPLES / "candidates.json").read_text())}
    with pytest.MonkeyPatch.context() as patch:
        for key in setting_keys():
            patch.delenv(key, raising=False)
        for key, value in settings.items():
            patch.setenv(key, value)
        options = EmulatorOptions(personas=SAMPLES / "personas.json", recording_ready_delay_s=0.0)
        with emulators_in_thread(options) as emulators:
            for key, value in emulators.settings.items():
                if key in setting_keys():
                    patch.setenv(key, value)
            host = HostThread(data_dir, require_keys=True)
            try:
                patch.setenv("CALLBACK_BASE_URL", host.running.base_url)
                _reset()
                from samples.seed import seed_jobs

                seed_jobs()
                key = load_or_create_keys(data_dir).default_function_key
                yield LiveHost(url=host.running.base_url, key=key, samples=samples)
            finally:
                host.close()
                _reset()


def _reset() -> None:
    reset_settings()
    reset_clients()
    reset_storage()


CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def hireflow(live_host: LiveHost) -> CliRun:
    """Run ``hireflow`` in-process against the live host; return (exit code, stdout, stderr).

    ``key=False`` leaves the function key out; ``url`` points somewhere else.
    """

    def run(*argv: str, key: bool = True, url: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        environ = {"HIREFLOW_URL": url or live_host.url}
        if key:
            environ["HIREFLOW_KEY"] = live_host.key
        code = main(list(argv), stdout=out, stderr=err, environ=environ)
        return code, out.getvalue(), err.getvalue()

    return run
