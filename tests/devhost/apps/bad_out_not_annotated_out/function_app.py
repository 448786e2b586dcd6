"""An output binding parameter annotated as a plain ``str`` instead of ``func.Out[str]``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="enqueue")
@app.queue_output(arg_name="outbox", queue_name="work", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, outbox: str) -> func.HttpResponse:
    return func.HttpResponse("queued")
