"""An HTTP function whose return annotation is a generic alias, not a type."""

from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="report")
def report(req: func.HttpRequest) -> dict[str, Any]:
    return {}
