"""An HTTP function whose return annotation is ``func.Out``."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="report")
def report(req: func.HttpRequest) -> func.Out[func.HttpResponse]:
    raise NotImplementedError
