"""An input binding parameter annotated ``func.Out[str]``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="read")
@app.blob_input(arg_name="document", path="docs/readme.txt", connection="AzureWebJobsStorage")
def read(req: func.HttpRequest, document: func.Out[str]) -> func.HttpResponse:
    return func.HttpResponse("read")
