"""A WSGI app served through azure.functions.WsgiFunctionApp (one catch-all HTTP function)."""

from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    query = environ.get("QUERY_STRING", "")
    text = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {query} {body.decode()}"
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Served-By", "wsgi")])
    return [text.encode()]


app = func.WsgiFunctionApp(app=wsgi_app, http_auth_level=func.AuthLevel.ANONYMOUS)
