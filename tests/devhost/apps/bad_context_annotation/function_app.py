"""A function whose ``context`` parameter is annotated with something other than azure.functions.Context."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="whoami")
def whoami(req: func.HttpRequest, context: str) -> func.HttpResponse:
    return func.HttpResponse(context)
