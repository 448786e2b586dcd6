"""devhost indexes with the Azure Functions Python worker's rules and refuses what the worker refuses.

Each ``bad_*`` app under ``tests/devhost/apps`` breaks one rule. The expected messages were produced by the
real worker's loader (4.x) on these same files; devhost must refuse the same functions with the same words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.functions import AppLoadError, index_app, load_app
from devhost.worker_rules import WorkerIndexingError, blob_trigger_path_problem
from tests.devhost.host.support import APPS, start_refused

# app folder -> (refused function, the worker's exception type, the worker's message)
WORKER_REFUSALS = {
    "bad_generic_alias": (
        "summarize",
        "FunctionLoadError",
        "cannot load the summarize function: binding payload has invalid non-type annotation "
        "dict[str, typing.Any]",
    ),
    "bad_optional_annotation": (
        "echo",
        "FunctionLoadError",
        "cannot load the echo function: binding payload has invalid non-type annotation str | None",
    ),
    "bad_unbound_parameter": (
        "hello",
        "FunctionLoadError",
        "cannot load the hello function: the following parameters are declared in Python but not in "
        "function.json: {'greeting'}",
    ),
    "bad_unmatched_binding": (
        "enqueue",
        "FunctionLoadError",
        "cannot load the enqueue function: the following parameters are declared in function.json but not "
        "in Python: {'outbox'}",
    ),
    "bad_context_annotation": (
        "whoami",
        "FunctionLoadError",
        'cannot load the whoami function: the "context" parameter is expected to be of type '
        "azure.functions.Context, got <class 'str'>",
    ),
    "bad_out_not_annotated_out": (
        "enqueue",
        "FunctionLoadError",
        'cannot load the enqueue function: binding outbox is declared to have the "out" direction, but its '
        "annotation in Python is not a subclass of azure.functions.Out",
    ),
    "bad_in_annotated_out": (
        "read",
        "FunctionLoadError",
        'cannot load the read function: binding document is declared to have the "in" direction in '
        "function.json, but its annotation is azure.functions.Out in Python",
    ),
    "bad_annotation_type_mismatch": (
        "count",
        "FunctionLoadError",
        'cannot load the count function: \'req\' binding type "httpTrigger" and dataType "None" in '
        'function.json do not match the corresponding function parameter\'s Python type annotation "int"',
    ),
    "bad_return_annotation": (
        "report",
        "FunctionLoadError",
        "cannot load the report function: has invalid non-type return annotation dict[str, typing.Any]",
    ),
    "bad_return_out": (
        "report",
        "FunctionLoadError",
        "cannot load the report function: return annotation should not be azure.functions.Out",
    ),
    "bad_retry_interval": (
        "sweep",
        "ValueError",
        "time data '10 seconds' does not match format '%H:%M:%S'",
    ),
    "bad_return_direction": (
        "read",
        "FunctionLoadError",
        'cannot load the read function: "$return" binding must have direction set to "out"',
    ),
}

# app folder -> (function, the Functions host's message); the real worker indexes these apps, the host then
# puts the function in error (azure-functions-host: ValidateHttpFunction, HttpRoutesConflict, name rules).
HOST_REFUSALS = {
    "bad_admin_route": (
        "health",
        "The 'health' function is in error: The specified route conflicts with one or more built in routes.",
    ),
    "bad_route_conflict": (
        "create_item",
        "The 'create_item' function is in error: The route specified conflicts with the route defined by "
        "function 'list_items'.",
    ),
    "bad_duplicate_binding": (
        "compare",
        "The 'compare' function is in error: Multiple bindings with name 'document' discovered. Binding "
        "names must be unique.",
    ),
    "bad_blob_path": (
        "on_upload",
        "The 'on_upload' function is in error: Error indexing method 'Functions.on_upload'. Invalid blob "
        "trigger path 'inbox/'. Paths must be in the format 'container/blob'.",
    ),
    "bad_function_name": (
        "reports.nightly",
        "The 'reports.nightly' function is in error: 'reports.nightly' is not a valid function name.",
    ),
}

# app folder -> the error azure.functions' decorators raise while the app is imported (on Azure as here)
IMPORT_REFUSALS = {
    "bad_http_method": (
        "Can not parse '['FETCH']' to Optional[Iterable[HttpMethod]]. Please ensure param all list elements "
        "exist in ['GET', 'POST', 'DELETE', 'HEAD', 'PATCH', 'PUT', 'OPTIONS']"
    ),
    "bad_auth_level": (
        "Can not parse str 'everyone' to AuthLevel. Allowed values are ['FUNCTION', 'ANONYMOUS', 'ADMIN']"
    ),
}

# app folder -> the ValueError get_functions() / the worker's loader raises for the whole app
APP_REFUSALS = {
    "bad_duplicate_names": (
        "Function status does not have a unique function name. Please change @app.function_name() or the "
        "function method name to be unique."
    ),
    "bad_no_trigger": (
        "Function orphan does not have a trigger. A valid function must have one and only one trigger "
        "registered."
    ),
    "bad_two_apps": "More than one FunctionApp or other top level function app instances are defined.",
}


def _refusals_of(app_name: str) -> list[tuple[str, str, str]]:
    with pytest.raises(AppLoadError) as raised:
        load_app(APPS / app_name / "function_app.py")
    return [(r.function_name, r.error_type, r.message) for r in raised.value.worker_refusals]


def test_hireflow_function_app_indexes_with_the_workers_rules() -> None:
    from function_app import app

    registered = {builder._function.get_function_name() for builder in app._function_builders}

    index = index_app(app)

    # Every function the app registers survives the strict indexer (28 when this was written).
    assert set(index.functions) == registered
    assert len(registered) >= 28


def test_activity_with_generic_alias_annotation_is_refused_like_the_worker() -> None:
    assert _refusals_of("bad_generic_alias") == [WORKER_REFUSALS["bad_generic_alias"]]


@pytest.mark.parametrize("app_name", sorted(WORKER_REFUSALS))
def test_app_breaking_a_registration_rule_is_refused_with_the_workers_words(app_name: str) -> None:
    assert _refusals_of(app_name) == [WORKER_REFUSALS[app_name]]


@pytest.mark.parametrize("app_name", sorted(APP_REFUSALS))
def test_app_the_workers_loader_refuses_as_a_whole_is_refused(app_name: str) -> None:
    with pytest.raises(AppLoadError) as raised:
        load_app(APPS / app_name / "function_app.py")
    assert isinstance(raised.value.__cause__, ValueError)
    assert str(raised.value.__cause__) == APP_REFUSALS[app_name]
    assert raised.value.worker_refusals == []


@pytest.mark.parametrize("app_name", sorted(HOST_REFUSALS))
def test_app_the_host_would_put_in_error_is_refused_with_the_hosts_words(app_name: str) -> None:
    with pytest.raises(AppLoadError) as raised:
        load_app(APPS / app_name / "function_app.py")

    function, message = HOST_REFUSALS[app_name]
    assert [(r.function_name, r.raised_by, r.message) for r in raised.value.worker_refusals] == [
        (function, "host", message)
    ]


@pytest.mark.parametrize("app_name", sorted(IMPORT_REFUSALS))
def test_app_whose_decorators_refuse_a_value_fails_while_importing(app_name: str) -> None:
    with pytest.raises(AppLoadError) as raised:
        load_app(APPS / app_name / "function_app.py")

    assert isinstance(raised.value.__cause__, KeyError)
    assert raised.value.__cause__.args[0] == IMPORT_REFUSALS[app_name]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("resumes/{job_id}/{name}", None),
        ("resumes", None),
        ("$root/readme.txt", None),
        ("%DEVHOST_TEST_CONTAINER%/{name}", None),
        ("/resumes", "Paths must be in the format 'container/blob'."),
        ("resumes\\x/{name}", "Paths must be in the format 'container/blob'."),
        ("{tenant}/{name}", "Container paths cannot contain {resolve} tokens."),
        ("Resumes/cv.pdf", "Invalid container name: Resumes"),
        ("ab/cv.pdf", "Invalid container name: ab"),
        ("resumes/cv.", "has an invalid suffix"),
        ("resumes/" + "x" * 1025, "is too long"),
    ],
)
def test_blob_trigger_paths_are_checked_as_the_blob_extension_checks_them(
    path: str, problem: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVHOST_TEST_CONTAINER", "uploads")

    found = blob_trigger_path_problem(path)

    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_one_route_with_disjoint_methods_on_two_functions_is_allowed() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="items", methods=["GET"])
    def read_items(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("[]")

    @app.route(route="items", methods=["DELETE"])
    def delete_items(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=204)

    @app.route(route="administrators-guide")  # the host refuses any route beginning "admin"
    def guide(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("guide")

    with pytest.raises(WorkerIndexingError) as raised:
        index_app(app)

    assert [refusal.function_name for refusal in raised.value.refusals] == ["guide"]


@pytest.mark.parametrize(
    "app_name",
    ["host_http", "host_events", "host_blobs", "host_queues", "host_timers", "host_crash", "host_hostile"],
)
def test_host_test_apps_index_as_the_worker_indexes_them(app_name: str) -> None:
    index = load_app(APPS / app_name / "function_app.py")
    assert index.functions


def test_index_app_refuses_in_process_and_lists_every_refused_function() -> None:
    app = df.DFApp()

    @app.activity_trigger(input_name="payload")
    def first(payload: dict[str, Any]) -> str:
        return str(payload)

    @app.activity_trigger(input_name="payload")
    def second(payload: list[int]) -> str:
        return str(payload)

    @app.activity_trigger(input_name="payload")
    def fine(payload: dict) -> str:  # type: ignore[type-arg]
        return str(payload)

    with pytest.raises(WorkerIndexingError) as raised:
        index_app(app)

    assert [refusal.function_name for refusal in raised.value.refusals] == ["first", "second"]
    assert "binding payload has invalid non-type annotation list[int]" in str(raised.value)


def test_typing_generics_and_plain_types_are_accepted_as_the_worker_accepts_them() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="fine")
    @app.queue_output(arg_name="outbox", queue_name="work", connection="AzureWebJobsStorage")
    def fine(req: func.HttpRequest, outbox: func.Out[str], context: func.Context) -> func.HttpResponse:
        return func.HttpResponse("ok")

    @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
    @app.retry(
        strategy="exponential_backoff",
        max_retry_count="3",
        minimum_interval="00:00:01",
        maximum_interval="00:01:00",
    )
    def tick(timer: func.TimerRequest) -> None:
        return None

    index = index_app(app)

    assert set(index.functions) == {"fine", "tick"}


def test_start_refuses_an_app_the_worker_refuses_and_exits_non_zero(tmp_path: Path) -> None:
    result = start_refused(APPS / "bad_generic_alias" / "function_app.py", tmp_path)

    assert result.returncode == 1
    assert "ready" not in result.stdout
    function, error_type, message = WORKER_REFUSALS["bad_generic_alias"]
    assert f"Worker failed to index function {function}: {error_type}: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_names_a_function_the_host_would_put_in_error(tmp_path: Path) -> None:
    result = start_refused(APPS / "bad_admin_route" / "function_app.py", tmp_path)

    assert result.returncode == 1
    assert f"devhost: {HOST_REFUSALS['bad_admin_route'][1]}" in result.stderr
    assert "would be in error and never run" in result.stderr
