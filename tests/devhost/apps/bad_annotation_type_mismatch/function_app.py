"""An HTTP trigger parameter annotated ``int``: the http converter does not produce one."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="count")
def count(req: int) -> func.HttpResponse:
    return func.HttpResponse(str(req))
