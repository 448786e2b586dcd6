"""The OpenAPI 3.1 description of the Function App's HTTP surface, generated from the pydantic models.

Served at ``GET /api/openapi.json`` without a key: it holds no secret and no data, and a client needs it
before it holds a key (the description says which key goes where). Request bodies are the very models the
handlers validate with (:mod:`triggers.http_api`, :mod:`shared.models`); responses are the models below,
which describe what :mod:`triggers.views` and the handlers return, and the fuzz run (``tests/fuzz``) checks
every answer against them. ``tests/pipeline/triggers/test_openapi.py`` keeps :data:`OPERATIONS` equal to
the HTTP routes the app registers.

Described besides the API: the ACS mid-call callback (authenticated by the JWT ACS signs) and the Event
Grid webhook of the two Event Grid functions (the Functions host's ``/runtime/webhooks/eventgrid``,
authenticated by the ``eventgrid_extension`` system key). Not described: the recruiter dashboard, HTML
pages for a browser with their own sign-in rather than an API.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from orchestrators.identity import (
    CANDIDATE_ID_PATTERN,
    JOB_ID_PATTERN,
    SCREENING_ID_PATTERN,
)
from shared.models import BatchScreeningOutput, IntakePath, Stage

TITLE = "hireflow"
VERSION = "1.0.0"
API_PREFIX = "/api"
REF_TEMPLATE = "#/components/schemas/{model}"
EVENT_GRID_FUNCTIONS = ("recording_file_status_updated", "resume_blob_created")
"""The app's Event Grid triggered functions, the webhook's ``functionName`` values."""

# ----------------------------------------------------------------------------------------------------
# Response bodies


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldError(_Response):
    """One invalid field: where (dotted path) and why; never the value, which may be personal data."""

    field: str
    message: str


class ErrorDetail(_Response):
    """A machine-readable code, a message, and the invalid fields when a request was refused for them."""

    code: str
    message: str
    fields: list[FieldError] | None = Field(default=None, description="absent when no field is at fault")


class ErrorBody(_Response):
    """Every error answer of the API (4xx and 5xx)."""

    error: ErrorDetail


class SubmissionResult(_Response):
    """``POST /jobs/{job_id}/candidates``: the candidate's id and the API's own status URL."""

    id: str
    job_id: str
    created: bool = Field(description="false when this resume already runs for this job")
    runtime_status: str | None
    status_url: str


class BlobLink(_Response):
    """A document in Blob storage."""

    container: str
    name: str
    url: str | None


class ReportLinks(_Response):
    """The written report: JSON and a readable page."""

    json_: BlobLink | None = Field(alias="json")
    page: BlobLink | None


class ScreeningSummary(_Response):
    """Screening score and decision."""

    score: float | None
    decision: str | None


class InterviewSummary(_Response):
    """Interview slot, call attempts and score."""

    overall: float | None
    recommendation: str | None
    slot_start: str | None
    call_attempts: int | None
    incomplete_reason: str | None
    """Why the interview ended early (outcome ``interview_incomplete``); null otherwise."""


class Failure(_Response):
    """Why a candidate or screening ended without its result."""

    code: str
    message: str


class CandidateLinks(_Response):
    """The API's URLs for this candidate (``events`` is a template: replace ``{name}``)."""

    self_: str = Field(alias="self")
    events: str
    cancel: str
    report: str | None


class CandidateView(_Response):
    """Where a candidate stands (:func:`triggers.views.candidate_view`)."""

    id: str
    job_id: str | None
    intake: IntakePath | None
    """How the resume arrived, as the start path recorded it; null for instances that did not record it."""
    runtime_status: str | None
    stage: Stage
    progress: float
    detail: str | None
    created_at: str | None
    updated_at: str | None
    stage_updated_at: str | None
    outcome: str | None
    screening: ScreeningSummary | None
    interview: InterviewSummary | None
    report: ReportLinks | None
    failure: Failure | None
    links: CandidateLinks


class CandidatePage(_Response):
    """One page of a job's candidates; pass ``continuation_token`` back for the next page."""

    job_id: str
    items: list[CandidateView]
    continuation_token: str | None


class EventDelivered(_Response):
    """Which instances the event was raised on."""

    id: str
    event: str
    delivered_to: list[str]


class CancelResult(_Response):
    """The instances terminated (the interview first, when one was running)."""

    id: str
    terminated: list[str]


class ScreeningStarted(_Response):
    """``POST /jobs/{job_id}/screenings``."""

    id: str
    job_id: str
    candidates: int
    status_url: str
    created: bool


class ScreeningView(_Response):
    """Progress of a batch screening, and its ranked shortlist once finished."""

    id: str
    runtime_status: str | None
    progress: float
    detail: str | None
    created_at: str | None
    updated_at: str | None
    result: BatchScreeningOutput | None
    failure: Failure | None


class DependencyCheck(_Response):
    """One dependency's check."""

    status: Literal["healthy", "unhealthy", "not_configured"]
    latency_ms: float
    detail: str | None = None
    error: str | None = None


class HealthReport(_Response):
    """``GET /health``: healthy only when every dependency is."""

    status: Literal["healthy", "unhealthy"]
    dependencies: dict[str, DependencyCheck]


class CallbackResult(_Response):
    """The call events raised on the interview."""

    raised: list[str]


class CallbackError(_Response):
    """The ACS callback endpoint's refusals."""

    error: str


class CallbackEvent(BaseModel):
    """One ACS Call Automation event (CloudEvents 1.0)."""

    model_config = ConfigDict(extra="allow")

    id: str
    source: str
    type: str = Field(description="e.g. Microsoft.Communication.CallConnected")
    specversion: str
    data: dict[str, Any] | None = None


EVENT_TIME_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?Z$"
)
"""Event times as Event Grid writes them: UTC, ``Z``, up to seven fractional digits."""
_EVENT_TYPES = ["Microsoft.Storage.BlobCreated", "Microsoft.Communication.RecordingFileStatusUpdated"]
_RECORDING_DATA: dict[str, Any] = {
    "recordingStorageInfo": {
        "recordingChunks": [{"documentId": "d", "index": 0, "contentLocation": "https://r/d"}]
    },
    "recordingDurationMs": 1000,
}


class GridEvent(BaseModel):
    """An event in the Event Grid schema."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "1",
                    "topic": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/x",
                    "subject": "/recording/call/c/serverCallId/s",
                    "eventType": _EVENT_TYPES[1],
                    "eventTime": "2026-01-01T10:00:00Z",
                    "dataVersion": "1.0",
                    "data": _RECORDING_DATA,
                }
            ]
        },
    )

    id: str = Field(min_length=1)
    topic: str | None = None
    subject: str
    event_type: str = Field(alias="eventType", min_length=1, examples=_EVENT_TYPES)
    event_time: str = Field(alias="eventTime", pattern=EVENT_TIME_PATTERN)
    data_version: str = Field(alias="dataVersion")
    data: Any = None


class CloudEvent(BaseModel):
    """An event in the CloudEvents 1.0 schema."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "2",
                    "source": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/x",
                    "subject": "/blobServices/default/containers/resumes/blobs/job/cv.pdf",
                    "type": _EVENT_TYPES[0],
                    "specversion": "1.0",
                    "time": "2026-01-01T10:00:00Z",
                    "data": {"url": "https://a.blob.core.windows.net/resumes/job/cv.pdf"},
                }
            ]
        },
    )

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1, examples=_EVENT_TYPES)
    specversion: Literal["1.0"]
    time: str | None = Field(default=None, pattern=EVENT_TIME_PATTERN)
    subject: str | None = None
    data: Any = None


class ValidationResponse(_Response):
    """The answer to Event Grid's subscription validation handshake."""

    validation_response: str = Field(alias="validationResponse")


# ----------------------------------------------------------------------------------------------------
# Operations


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter."""

    name: str
    location: Literal["path", "query", "header"]
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class Operation:
    """One operation: the registered route and method, and what it takes and answers."""

    function: str
    method: str
    path: str
    summary: str
    auth: Literal["function", "anonymous", "acs_jwt", "eventgrid_system"]
    responses: dict[int, tuple[str, type[BaseModel] | str | None]]
    parameters: tuple[Parameter, ...] = ()
    body: tuple[type[BaseModel], ...] = ()
    body_required: bool = False
    multipart: bool = False
    tags: tuple[str, ...] = field(default=("candidates",))


def _path_param(name: str, pattern: str, description: str) -> Parameter:
    return Parameter(name, "path", {"type": "string", "pattern": pattern}, description, required=True)


JOB_ID = _path_param("job_id", JOB_ID_PATTERN.pattern, "the job's id (a lower-case slug)")
CANDIDATE_ID = _path_param("instance_id", CANDIDATE_ID_PATTERN.pattern, "a candidate's id")
SCREENING_ID = _path_param("instance_id", SCREENING_ID_PATTERN.pattern, "a screening's id")
_BAD = "the request is invalid (see error.fields)"
_KEY = "no valid function key"


def _operations() -> tuple[Operation, ...]:
    # Imported here: http_api imports this module to serve the description.
    from triggers import http_api

    list_parameters = (
        JOB_ID,
        Parameter(
            "status",
            "query",
            {
                "type": "string",
                "enum": sorted(
                    {
                        *(stage.value for stage in Stage),
                        *(status.value for status in http_api.RUNTIME_STATUSES),
                    }
                ),
            },
            "a stage (as GET /candidates/{id} shows it) or a runtime status",
        ),
        Parameter(
            "top",
            "query",
            {"type": "integer", "minimum": 1, "maximum": http_api.MAX_PAGE_SIZE},
            f"page size, {http_api.DEFAULT_PAGE_SIZE} by default",
        ),
        Parameter(
            "continuation_token",
            "query",
            {"type": "string", "pattern": http_api.TOKEN_PATTERN},
            "the previous page's token (also accepted in the x-ms-continuation-token header)",
        ),
    )
    event_name = Parameter(
        "event_name", "path", {"type": "string", "enum": list(http_api.EVENT_MODELS)}, "the event", True
    )
    report_format = Parameter(
        "format", "query", {"type": "string", "enum": list(http_api.REPORT_FORMATS)}, "html by default"
    )
    running = "the candidate's pipeline has finished, or awaits no such event"
    return (
        Operation(
            "submit_candidate",
            "post",
            "/jobs/{job_id}/candidates",
            "Start the pipeline for a resume (idempotent per job and resume)",
            "function",
            {
                200: ("this resume already runs for this job", SubmissionResult),
                202: ("started", SubmissionResult),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such job", ErrorBody),
                413: ("the resume or the body is too large", ErrorBody),
                415: ("not JSON or multipart, or not a PDF or DOCX resume", ErrorBody),
            },
            (JOB_ID,),
            (http_api.CandidateSubmission,),
            body_required=True,
            multipart=True,
        ),
        Operation(
            "list_candidates",
            "get",
            "/jobs/{job_id}/candidates",
            "One page of a job's candidates, filtered by stage or runtime status",
            "function",
            {
                200: ("a page", CandidatePage),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("not a job id", ErrorBody),
            },
            list_parameters,
        ),
        Operation(
            "get_candidate",
            "get",
            "/candidates/{instance_id}",
            "Where a candidate stands",
            "function",
            {
                200: ("the candidate", CandidateView),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such candidate", ErrorBody),
            },
            (CANDIDATE_ID,),
        ),
        Operation(
            "get_candidate_report",
            "get",
            "/candidates/{instance_id}/report",
            "The candidate's written report",
            "function",
            {
                200: ("the report (html, or json with ?format=json)", "text/html,application/json"),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such candidate, or no report yet", ErrorBody),
            },
            (CANDIDATE_ID, report_format),
        ),
        Operation(
            "send_candidate_event",
            "post",
            "/candidates/{instance_id}/events/{event_name}",
            "Deliver a recruiter decision, a reschedule request or a withdrawal",
            "function",
            {
                202: ("raised", EventDelivered),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such candidate or event", ErrorBody),
                409: (running, ErrorBody),
                413: ("the body is too large", ErrorBody),
            },
            (CANDIDATE_ID, event_name),
            tuple(http_api.EVENT_MODELS.values()),
        ),
        Operation(
            "cancel_candidate",
            "post",
            "/candidates/{instance_id}/cancel",
            "Stop a candidate's pipeline and its interview",
            "function",
            {
                202: ("terminated", CancelResult),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such candidate", ErrorBody),
                409: ("the candidate's pipeline has finished", ErrorBody),
                413: ("the body is too large", ErrorBody),
            },
            (CANDIDATE_ID,),
            (http_api.CancelRequest,),
        ),
        Operation(
            "start_screening",
            "post",
            "/jobs/{job_id}/screenings",
            "Screen many resumes of a job at once (idempotent per job and set of resumes)",
            "function",
            {
                200: ("this screening already exists", ScreeningStarted),
                202: ("started", ScreeningStarted),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such job", ErrorBody),
                413: ("too many resumes, or the body is too large", ErrorBody),
            },
            (JOB_ID,),
            (http_api.ScreeningRequest,),
            tags=("screenings",),
        ),
        Operation(
            "get_screening",
            "get",
            "/screenings/{instance_id}",
            "Progress of a batch screening and its shortlist",
            "function",
            {
                200: ("the screening", ScreeningView),
                400: (_BAD, ErrorBody),
                401: (_KEY, None),
                404: ("no such screening", ErrorBody),
            },
            (SCREENING_ID,),
            tags=("screenings",),
        ),
        Operation(
            "health",
            "get",
            "/health",
            "Check every dependency",
            "anonymous",
            {200: ("healthy", HealthReport), 503: ("a dependency is unhealthy", HealthReport)},
            tags=("operations",),
        ),
        Operation(
            "openapi_description",
            "get",
            "/openapi.json",
            "This description",
            "anonymous",
            {200: ("the OpenAPI 3.1 description", "application/json")},
            tags=("operations",),
        ),
        Operation(
            "acs_callback",
            "post",
            "/acs/callbacks",
            "ACS Call Automation mid-call events for one interview",
            "acs_jwt",
            {
                200: ("processed", CallbackResult),
                400: ("no instanceId, or not a list of events", CallbackError),
                401: ("no valid ACS token", CallbackError),
                503: ("ACS's signing keys cannot be read right now; ACS retries", CallbackError),
            },
            (
                Parameter("instanceId", "query", {"type": "string"}, "the interview", True),
                Parameter("token", "query", {"type": "string"}, "the interview's callback token"),
            ),
            (CallbackEvent,),
            tags=("callbacks",),
        ),
    )


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every described operation under the ``api`` prefix."""
    return _operations()


def _schema_ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _body_models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for operation in operations():
        pairs += [(model, "validation") for model in operation.body]
        pairs += [
            (model, "serialization")
            for _, model in operation.responses.values()
            if isinstance(model, type) and issubclass(model, BaseModel)
        ]
    pairs += [(GridEvent, "validation"), (CloudEvent, "validation"), (ValidationResponse, "serialization")]
    return list(dict.fromkeys(pairs))


def _components() -> dict[str, Any]:
    _, document = models_json_schema(_body_models(), ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = document.get("$defs", {})
    return schemas


def _security(auth: str) -> list[dict[str, list[str]]]:
    if auth == "function":
        return [{"functionKeyHeader": []}, {"functionKeyQuery": []}]
    if auth == "acs_jwt":
        return [{"acsCallbackToken": []}]
    if auth == "eventgrid_system":
        return [{"systemKeyQuery": []}, {"functionKeyHeader": []}]
    return []


_HOST_NOT_FOUND = {"text/plain": {"schema": {"type": "string"}}}
"""The Functions host's own answer to a path that matches no route (an id with a line break, say)."""


def _content(model: type[BaseModel] | str | None) -> dict[str, Any] | None:
    if model is None:
        return None
    if isinstance(model, str):
        return {
            media_type: {
                "schema": {"type": "string"} if media_type.startswith("text/") else {"type": "object"}
            }
            for media_type in model.split(",")
        }
    return {"application/json": {"schema": _schema_ref(model)}}


def _multipart_schema(model: type[BaseModel]) -> dict[str, Any]:
    contact = {
        name: {"type": "string"} for name in model.model_fields if name not in ("resume_blob", "resume_url")
    }
    return {
        "type": "object",
        "required": ["resume", "name"],
        "properties": {
            "resume": {"type": "string", "contentMediaType": "application/octet-stream"},
            **contact,
        },
    }


def _operation_document(operation: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.function,
        "summary": operation.summary,
        "tags": list(operation.tags),
        "security": _security(operation.auth),
        "parameters": [
            {
                "name": parameter.name,
                "in": parameter.location,
                "required": parameter.required,
                "description": parameter.description,
                "schema": parameter.schema,
            }
            for parameter in operation.parameters
        ],
        "responses": {},
    }
    for status, (description, model) in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": description}
        content = _content(model)
        if content is not None and status == 404 and any(p.location == "path" for p in operation.parameters):
            content = {**content, **_HOST_NOT_FOUND}
        if content is not None:
            response["content"] = content
        document["responses"][str(status)] = response
    if operation.body:
        schema = (
            _schema_ref(operation.body[0])
            if len(operation.body) == 1
            else {"anyOf": [_schema_ref(model) for model in operation.body]}
        )
        if operation.function == "acs_callback":
            schema = {"type": "array", "items": schema}
        content = {"application/json": {"schema": schema}}
        if operation.multipart:
            content["multipart/form-data"] = {"schema": _multipart_schema(operation.body[0])}
        document["requestBody"] = {"required": operation.body_required, "content": content}
    return document


def _event_grid_webhook() -> dict[str, Any]:
    any_event = {"anyOf": [_schema_ref(GridEvent), _schema_ref(CloudEvent)]}
    return {
        "post": {
            "operationId": "event_grid_webhook",
            "summary": "Event Grid deliveries to the app's Event Grid functions (the host's webhook)",
            "tags": ["events"],
            "security": _security("eventgrid_system"),
            "parameters": [
                {
                    "name": "functionName",
                    "in": "query",
                    "required": True,
                    "description": "the Event Grid triggered function",
                    "schema": {"type": "string", "enum": list(EVENT_GRID_FUNCTIONS)},
                },
                {
                    "name": "aeg-event-type",
                    "in": "header",
                    "required": False,
                    "description": "Notification, SubscriptionValidation or Unsubscribe",
                    "schema": {"type": "string", "enum": ["Notification", "SubscriptionValidation"]},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"type": "array", "items": any_event}},
                    "application/cloudevents+json": {"schema": _schema_ref(CloudEvent)},
                    "application/cloudevents-batch+json": {
                        "schema": {"type": "array", "items": _schema_ref(CloudEvent)}
                    },
                },
            },
            "responses": {
                "200": {
                    "description": "subscription validated",
                    "content": {"application/json": {"schema": _schema_ref(ValidationResponse)}},
                },
                "202": {"description": "delivered (events the function cannot use are acknowledged too)"},
                "400": {"description": "not an Event Grid or CloudEvents delivery"},
                "401": {"description": "no eventgrid_extension system key"},
                "404": {"description": "no such Event Grid function"},
            },
        }
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Build the OpenAPI 3.1 description of the app's HTTP surface."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations():
        paths.setdefault(API_PREFIX + operation.path, {})[operation.method] = _operation_document(operation)
    paths["/runtime/webhooks/eventgrid"] = _event_grid_webhook()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "AI-assisted hiring pipeline. Every error answers the ErrorBody shape; ids have the shapes "
                "given by their patterns; lists page with top and continuation_token."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _components(),
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
                "systemKeyQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "code",
                    "description": "the eventgrid_extension system key",
                },
                "acsCallbackToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "signed by ACS; audience is the ACS resource's immutable id",
                },
            },
        },
    }
