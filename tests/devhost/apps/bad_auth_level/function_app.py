"""An auth level the library does not know: the decorator refuses it while the app is imported."""

import azure.functions as func

app = func.FunctionApp()


@app.route(route="open", auth_level="everyone")
def open_door(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("open")
