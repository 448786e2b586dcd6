"""Start and stop a real Azurite (Microsoft's storage emulator, installed from npm) on loopback."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"

# Azurite's well-known development account; public and documented, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzuriteInstance:
    """Where a running Azurite answers."""

    blob_port: int
    queue_port: int
    table_port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        # An explicit connection string, because UseDevelopmentStorage=true always means port 10000.
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{DEV_ACCOUNT};"
        )


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"Azurite did not listen on port {port} in time")


@contextlib.contextmanager
def running_azurite(location: Path, *, log_path: Path | None = None) -> Iterator[AzuriteInstance]:
    """Run Azurite with its data in `location` for the duration of the block."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"{AZURITE_BIN} is missing: run `make setup` (npm ci) first")
    instance = AzuriteInstance(blob_port=free_port(), queue_port=free_port(), table_port=free_port())
    location.mkdir(parents=True, exist_ok=True)
    log = open(log_path or location / "azurite.log", "ab")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--location",
            str(location),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(instance.blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(instance.queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(instance.table_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        for port in (instance.blob_port, instance.queue_port, instance.table_port):
            _wait_for_port(port, deadline)
        yield instance
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
