"""A ``$return`` binding declared as an input: the worker refuses it."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="read")
@app.generic_input_binding(arg_name="$return", type="blob", path="docs/readme.txt")
def read(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("read")
