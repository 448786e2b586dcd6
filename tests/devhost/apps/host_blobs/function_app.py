"""Blob triggers exercised by tests/devhost/host against a real Azurite.

The connection setting ``HostTestStorage`` is set by the tests (an explicit Azurite connection string).
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

SEEN: list[dict[str, object]] = []
FAILURES: list[str] = []


def _record(function: str, blob: func.InputStream) -> None:
    SEEN.append(
        {
            "function": function,
            "name": blob.name,
            "uri": blob.uri,
            "length": blob.length,
            "content": blob.read().decode(),
            "metadata": dict(blob.metadata or {}),
        }
    )


@app.blob_trigger(arg_name="blob", path="inbox/{name}", connection="HostTestStorage")
def on_inbox(blob: func.InputStream) -> None:
    _record("on_inbox", blob)


@app.blob_trigger(arg_name="blob", path="jobs/{job_id}/{name}.txt", connection="HostTestStorage")
def on_job_file(blob: func.InputStream) -> None:
    _record("on_job_file", blob)


@app.blob_trigger(arg_name="blob", path="poison/{name}", connection="HostTestStorage")
def always_fails(blob: func.InputStream) -> None:
    FAILURES.append(str(blob.name))
    raise RuntimeError(f"cannot process {blob.name}")


@app.blob_trigger(
    arg_name="blob", path="pushed/{name}", connection="HostTestStorage", source=func.BlobSource.EVENT_GRID
)
def on_pushed(blob: func.InputStream) -> None:
    _record("on_pushed", blob)
