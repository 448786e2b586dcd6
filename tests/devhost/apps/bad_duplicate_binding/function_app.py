"""Two bindings named alike: the worker keeps the last one silently, the host refuses the function."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="compare")
@app.blob_input(arg_name="document", path="docs/first.txt", connection="AzureWebJobsStorage")
@app.blob_input(arg_name="document", path="docs/second.txt", connection="AzureWebJobsStorage")
def compare(req: func.HttpRequest, document: str) -> func.HttpResponse:
    return func.HttpResponse(document)
