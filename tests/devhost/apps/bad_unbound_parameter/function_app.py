"""An HTTP function with a parameter no binding fills: the worker refuses it."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="hello")
def hello(req: func.HttpRequest, greeting: str) -> func.HttpResponse:
    return func.HttpResponse(greeting)
