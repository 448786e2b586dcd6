"""Two functions registered under one name: ``get_functions()`` refuses the app, on Azure and here."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.function_name("status")
@app.route(route="status/live")
def live(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("live")


@app.function_name("status")
@app.route(route="status/ready")
def ready(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ready")
