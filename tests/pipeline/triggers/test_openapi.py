"""The OpenAPI description matches what the app registers, and is served without a key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from devhost.functions import FunctionIndex, load_app
from triggers.openapi import EVENT_GRID_FUNCTIONS, ErrorBody, openapi_document, operations

ROOT = Path(__file__).resolve().parents[3]
# The recruiter dashboard serves HTML pages to a browser with its own sign-in: not part of the API.
NOT_DESCRIBED_PREFIX = "dashboard"


@pytest.fixture(scope="module")
def index() -> FunctionIndex:
    return load_app(ROOT / "function_app.py")


def _registered_routes(index: FunctionIndex) -> dict[tuple[str, str], str]:
    routes: dict[tuple[str, str], str] = {}
    for info in index.of_type("httpTrigger"):
        route = str(info.trigger["route"])
        if route.startswith(NOT_DESCRIBED_PREFIX):
            continue
        for method in info.trigger.get("methods") or []:
            routes[("/api/" + route, str(method).lower())] = info.name
    return routes


def _described_routes() -> dict[tuple[str, str], str]:
    document = openapi_document()
    described: dict[tuple[str, str], str] = {}
    for path, methods in document["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in methods.items():
            described[(path, method)] = operation["operationId"]
    return described


def test_every_registered_route_is_described_and_every_described_route_exists(index: FunctionIndex) -> None:
    registered = _registered_routes(index)
    described = _described_routes()

    assert described == registered
    assert len(registered) >= 11


def test_the_event_grid_webhook_names_every_event_grid_function(index: FunctionIndex) -> None:
    names = {info.name for info in index.of_type("eventGridTrigger")}
    webhook = openapi_document()["paths"]["/runtime/webhooks/eventgrid"]["post"]
    function_names = next(p for p in webhook["parameters"] if p["name"] == "functionName")["schema"]["enum"]

    assert set(EVENT_GRID_FUNCTIONS) == names
    assert set(function_names) == names


def test_auth_levels_agree_with_the_security_of_each_operation(index: FunctionIndex) -> None:
    by_name = {info.name: info for info in index.of_type("httpTrigger")}
    for operation in operations():
        level = str(by_name[operation.function].trigger.get("authLevel", "")).lower()
        if operation.auth == "function":
            assert level == "function", operation.function
        else:
            assert level == "anonymous", operation.function


def test_the_description_is_valid_openapi_3_1_with_resolvable_references() -> None:
    import schemathesis

    document = openapi_document()
    schema = schemathesis.openapi.from_dict(document)
    labels = [result.ok().label for result in schema.get_all_operations()]

    assert document["openapi"] == "3.1.0"
    assert len(labels) == len(operations()) + 1
    schemas: dict[str, Any] = document["components"]["schemas"]
    for definition in schemas.values():
        Draft202012Validator.check_schema(definition)
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert referenced <= set(schemas)


def test_request_and_error_shapes_come_from_the_models() -> None:
    from triggers.http_api import CancelRequest, ScreeningRequest

    schemas = openapi_document()["components"]["schemas"]

    assert schemas["ScreeningRequest"] == ScreeningRequest.model_json_schema()
    assert schemas["CancelRequest"] == CancelRequest.model_json_schema()
    assert schemas["ErrorBody"]["required"] == ["error"]
    detail = ErrorBody.model_json_schema()["$defs"]["ErrorDetail"]
    assert schemas["ErrorDetail"]["required"] == detail["required"] == ["code", "message"]
    assert schemas["ErrorDetail"]["properties"].keys() == {"code", "message", "fields"}
