"""An HTTP route in the host's reserved ``admin`` space: the worker loads it, the host puts it in error."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="admin/health")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")
