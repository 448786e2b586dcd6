"""Two functions on one route with an overlapping method: the host puts the second one in error."""

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items", methods=["GET", "POST"])
def list_items(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("[]")


@app.route(route="Items/", methods=["POST"])
def create_item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("created", status_code=201)


@app.route(route="items", methods=["DELETE"])
def delete_items(req: func.HttpRequest) -> func.HttpResponse:
    # Same route, no method in common with list_items: allowed.
    return func.HttpResponse(status_code=204)
