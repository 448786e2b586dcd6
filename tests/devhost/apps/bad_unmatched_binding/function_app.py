"""An HTTP function with a queue output binding its Python signature does not take."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="enqueue")
@app.queue_output(arg_name="outbox", queue_name="work", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("queued")
