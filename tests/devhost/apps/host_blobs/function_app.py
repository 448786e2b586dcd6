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


@app.route(route="copy/{name}", methods=["POST"])
@app.blob_input(arg_name="source", path="inbox/{name}", connection="HostTestStorage")
@app.blob_output(arg_name="target", path="outbox/{name}.copy", connection="HostTestStorage")
def copy_blob(req: func.HttpRequest, source: str, target: func.Out[str]) -> func.HttpResponse:
    if source is None:  # a missing blob arrives as None; the worker still wants a plain type annotation
        return func.HttpResponse("no such blob", status_code=404)
    target.set(source + req.params.get("suffix", ""))
    return func.HttpResponse(str(len(source)))


@app.blob_trigger(arg_name="blob", path="convert/{name}", connection="HostTestStorage")
@app.blob_output(
    arg_name="upper", path="outbox/{name}.upper", connection="HostTestStorage", data_type="binary"
)
def uppercase(blob: func.InputStream, upper: func.Out[bytes]) -> None:
    upper.set(blob.read().upper())


@app.route(route="stamp/{name}", methods=["POST"], binding_arg_name="response")
@app.blob_output(arg_name="$return", path="outbox/{name}.stamped", connection="HostTestStorage")
def stamp(req: func.HttpRequest, response: func.Out[func.HttpResponse]) -> str:
    response.set(func.HttpResponse("stamped", status_code=201))
    return "stamp:" + req.get_body().decode()
