"""Start and stop a real Azurite (Microsoft's storage emulator, installed from npm) on loopback."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"

# Azurite's well-known development account; public and documented, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

__all__ = [
    "AZURITE_BIN",
    "DEV_ACCOUNT",
    "DEV_KEY",
    "AzuriteInstance",
    "azurite_command",
    "free_port",
    "port_accepts",
    "running_azurite",
]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only probably free by the time the caller binds it; services that can bind port 0 themselves
    should prefer that.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@dataclass(frozen=True)
class AzuriteInstance:
    """Where a running Azurite answers."""

    blob_port: int
    queue_port: int
    table_port: int

    @classmethod
    def on_free_ports(cls) -> AzuriteInstance:
        """Ports for a new Azurite, each probed free."""
        return cls(blob_port=free_port(), queue_port=free_port(), table_port=free_port())

    @property
    def ports(self) -> tuple[int, int, int]:
        """Blob, queue and table ports."""
        return (self.blob_port, self.queue_port, self.table_port)

    @property
    def blob_endpoint(self) -> str:
        """The Blob service URL of the development account."""
        return f"http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """An explicit connection string: ``UseDevelopmentStorage=true`` always means port 10000."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{DEV_ACCOUNT};"
        )


def azurite_command(instance: AzuriteInstance, location: Path) -> list[str]:
    """Return the Azurite command line for ``instance`` with its data in ``location``.

    ``--skipApiVersionCheck``: azure-storage-blob sends an API version newer than Azurite knows.
    """
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"{AZURITE_BIN} is missing: run `make setup` (npm ci) first")
    return [
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
    ]


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if port_accepts(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"Azurite did not listen on port {port} in time")


@contextlib.contextmanager
def running_azurite(location: Path, *, log_path: Path | None = None) -> Iterator[AzuriteInstance]:
    """Run Azurite with its data in ``location`` for the duration of the block."""
    instance = AzuriteInstance.on_free_ports()
    command = azurite_command(instance, location)
    location.mkdir(parents=True, exist_ok=True)
    log = open(log_path or location / "azurite.log", "ab")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        for port in instance.ports:
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
