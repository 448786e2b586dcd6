"""An HTTP method the library does not know: the decorator refuses it while the app is imported."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="fetch", methods=["FETCH"])
def fetch(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("fetched")
