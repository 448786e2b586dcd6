"""The HTTP API: submit candidates, see where they stand, send them events, cancel them, screen in batches.

Routes (under the host's ``api`` prefix; function-key auth except ``health`` and ``openapi.json``):

- ``POST /jobs/{job_id}/candidates``: JSON (``resume_blob`` or ``resume_url`` + contact details) or a
  multipart upload (``resume`` file + the same fields). 202 with the candidate's status URL when started,
  200 when this resume already runs for this job; 404 unknown job, 400 field errors, 415 file type, 413 size.
- ``GET /candidates/{id}``: the domain view (:func:`triggers.views.candidate_view`); 404 unknown.
- ``GET /candidates/{id}/report?format=html|json``: the written report, served from Blob storage.
- ``GET /jobs/{job_id}/candidates?status=&top=&continuation_token=``: one page of candidate views; the
  next page's token comes back in the body and the ``x-ms-continuation-token`` header.
- ``POST /candidates/{id}/events/{name}``: ``RecruiterDecision``, ``RescheduleRequested`` and
  ``CandidateWithdrew`` with validated bodies, delivered to the instance that waits for them.
- ``POST /candidates/{id}/cancel``: terminate the candidate (and its running interview).
- ``POST /jobs/{job_id}/screenings`` and ``GET /screenings/{id}``: start and watch ``batch_screening``.
- ``GET /health``: each dependency checked with a timeout.
- ``GET /openapi.json``: the OpenAPI 3.1 description (:mod:`triggers.openapi`).

Every refusal is a 4xx with ``{"error": {"code", "message", "fields"?}}``: ids must have the shapes of
:mod:`orchestrators.identity`, query parameters are parsed strictly (ASCII digits, bounds, enums), JSON bodies
are bounded in size and nesting, and no request answers 500 for what it carries.

Only this API's own URLs are handed out, never the durable extension's management URLs, which embed the
system key.

In-process surface: each route is a thin ``api_response(handle_<action>(req, client))``. The ``handle_*``
handlers take a ``func.HttpRequest`` (route parameters in ``route_params``) and the durable client, and raise
:class:`ApiError` for refusals; :func:`api_response` turns those into the 4xx answer. The dashboard acts
through the same pair, so validation, 404/409 answers and idempotency are the API's in both places.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Awaitable
from typing import Annotated, Any, Self
from urllib.parse import quote, urlsplit

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrators.batch_screening import ORCHESTRATOR_NAME as BATCH_SCREENING
from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.identity import (
    InvalidIdentifierError,
    batch_instance_id,
    interview_instance_id,
    job_instance_prefix,
    normalize_resume_blob,
    validate_candidate_instance_id,
    validate_job_id,
    validate_screening_instance_id,
)
from shared.json_limits import json_nesting_depth
from shared.models import (
    BatchCandidate,
    BatchScreeningInput,
    BlobRef,
    CandidateContact,
    CandidateWithdrew,
    EventName,
    FreeText,
    IntakePath,
    RecruiterDecision,
    RescheduleRequested,
    SingleLineText,
    Stage,
)
from shared.settings import get_settings
from triggers.durable import (
    escaped,
    instance_status,
    query_instances,
    raise_event,
    start_instance,
    terminate,
)
from triggers.health import check_dependencies
from triggers.intake import (
    LOGGER,
    MAX_RESUME_BYTES,
    InvalidContactError,
    ResumeTooLargeError,
    UnknownJobError,
    UnsupportedResumeError,
    contact_from_metadata,
    ensure_job_exists,
    existing_resume,
    resume_content_type,
    start_candidate,
    store_uploaded_resume,
    valid_time_zone,
)
from triggers.views import INTERVIEW_STAGES, InstanceSnapshot, candidate_view, screening_view

bp = df.Blueprint()

API_AUTH = func.AuthLevel.FUNCTION
JSON_TYPE = "application/json"
CONTINUATION_HEADER = "x-ms-continuation-token"
DEFAULT_PAGE_SIZE = 50
REPORT_FORMATS = ("html", "json")
MAX_PAGE_SIZE = 500
MAX_BATCH_SIZE = 200
"""Resumes one batch may hold: its input (blob names, contacts) must stay below the 64 KB history cap."""
# Multipart framing adds a little to the file itself; anything beyond this cannot hold an acceptable resume.
MAX_UPLOAD_BYTES = MAX_RESUME_BYTES + 64 * 1024
MAX_JSON_BYTES = 512 * 1024
"""JSON bodies above this are refused (413); the largest valid one, a full screening request, fits."""
MAX_JSON_DEPTH = 32
"""JSON nested deeper than this is refused before parsing: no valid body comes close."""
MAX_TOKEN_LENGTH = 256
_ASCII_DIGITS = re.compile(r"[0-9]{1,12}")
TOKEN_PATTERN = rf"^[A-Za-z0-9_-]{{1,{MAX_TOKEN_LENGTH}}}$"
_TOKEN_CHARS = re.compile(TOKEN_PATTERN)

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RUNTIME_STATUSES = tuple(df.OrchestrationRuntimeStatus)
_RUNTIME_STATUSES = {status.value.lower(): status for status in RUNTIME_STATUSES}
_STAGES = frozenset(stage.value for stage in Stage)
INTERVIEW = "interview"

# ----------------------------------------------------------------------------------------------------
# Request bodies


class ContactFields(BaseModel):
    """Contact details of an application (personal data: validated, never logged)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: SingleLineText = Field(min_length=1, max_length=200)
    email: SingleLineText | None = Field(default=None, max_length=320)
    phone: SingleLineText | None = Field(default=None, max_length=32, description="E.164, e.g. +14155550100")
    time_zone: SingleLineText = Field(
        default="UTC", max_length=64, description="IANA time zone of the candidate"
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("not an email address")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _E164.fullmatch(value):
            raise ValueError("phone must be in E.164 form, e.g. +14155550100")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return valid_time_zone(value)

    def contact(self) -> CandidateContact:
        """Return the contact details as the pipeline models them."""
        return CandidateContact(name=self.name, email=self.email, phone=self.phone, time_zone=self.time_zone)


class CandidateSubmission(ContactFields):
    """JSON body of ``POST /jobs/{job_id}/candidates``: a resume already in Blob storage."""

    resume_blob: str | None = Field(
        default=None, max_length=1100, description="blob name in the resumes container"
    )
    resume_url: str | None = Field(
        default=None, max_length=2048, description="URL of the blob in the resumes container"
    )

    @model_validator(mode="after")
    def _one_resume(self) -> Self:
        if (self.resume_blob is None) == (self.resume_url is None):
            raise ValueError("give exactly one of resume_blob and resume_url")
        return self


class CancelRequest(BaseModel):
    """Optional body of ``POST /candidates/{id}/cancel``."""

    model_config = ConfigDict(extra="forbid")

    reason: FreeText = Field(default="cancelled through the API", max_length=500)


class ScreeningRequest(BaseModel):
    """Body of ``POST /jobs/{job_id}/screenings``; without ``resume_blobs``, every resume of the job."""

    model_config = ConfigDict(extra="forbid")

    resume_blobs: list[Annotated[str, Field(max_length=1100)]] | None = Field(
        default=None, max_length=MAX_BATCH_SIZE
    )
    max_concurrency: int = Field(default=4, ge=1, le=64)
    shortlist_size: int = Field(default=10, ge=1, le=MAX_BATCH_SIZE)


EVENT_MODELS: dict[str, type[BaseModel]] = {
    EventName.RECRUITER_DECISION.value: RecruiterDecision,
    EventName.RESCHEDULE_REQUESTED.value: RescheduleRequested,
    EventName.CANDIDATE_WITHDREW.value: CandidateWithdrew,
}
"""Events the API accepts; call and recording events come only from ACS and Event Grid."""

# ----------------------------------------------------------------------------------------------------
# Responses


class ApiError(Exception):
    """An error response: status, machine-readable code, message and optional field errors."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def response(self) -> func.HttpResponse:
        """Render the JSON error response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            error["fields"] = self.fields
        return json_response({"error": error}, self.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """Build a JSON response."""
    return func.HttpResponse(
        json.dumps(body, default=str), status_code=status, mimetype=JSON_TYPE, headers=headers
    )


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``{"field", "message"}`` pairs (no input values: they may be personal data)."""
    return [
        {"field": ".".join(str(part) for part in item["loc"]) or "(body)", "message": item["msg"]}
        for item in error.errors(include_input=False, include_url=False)
    ]


def _validated(model: type[BaseModel], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise ApiError(400, "invalid_request", "the request body is invalid", field_errors(error)) from error


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_body(req: func.HttpRequest, *, empty: Any = None) -> Any:
    raw = req.get_body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "payload_too_large", f"JSON bodies are limited to {MAX_JSON_BYTES} bytes")
    if not raw.strip():
        if empty is not None:
            return empty
        raise ApiError(400, "invalid_request", "a JSON body is required")
    if json_nesting_depth(raw, stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ApiError(400, "invalid_json", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from error
    except (ValueError, RecursionError) as error:
        # Integers longer than Python's digit limit, NaN and Infinity: valid-looking, never meaningful here.
        raise ApiError(400, "invalid_json", f"the body holds a value JSON cannot carry: {error}") from error


def _origin(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def candidate_status_url(req: func.HttpRequest, instance_id: str) -> str:
    """Return the API's own status URL of a candidate (never the management URL with its system key)."""
    return f"{_origin(req)}/api/candidates/{escaped(instance_id)}"


def _query(req: func.HttpRequest, name: str) -> str | None:
    """Return query parameter ``name``; an empty value counts as absent."""
    value = req.params.get(name)
    return value if value else None


def _invalid_parameter(name: str, message: str, summary: str | None = None) -> ApiError:
    fields = [{"field": name, "message": message}]
    return ApiError(400, "invalid_request", summary or f"invalid {name}", fields)


def _candidate_id(req: func.HttpRequest) -> str:
    instance_id = req.route_params.get("instance_id", "")
    try:
        return validate_candidate_instance_id(instance_id)
    except InvalidIdentifierError as error:
        raise _invalid_parameter("instance_id", str(error), "not a candidate id") from error


def _screening_id(req: func.HttpRequest) -> str:
    instance_id = req.route_params.get("instance_id", "")
    try:
        return validate_screening_instance_id(instance_id)
    except InvalidIdentifierError as error:
        raise _invalid_parameter("instance_id", str(error), "not a screening id") from error


def _job_id(req: func.HttpRequest) -> str:
    job_id = req.route_params.get("job_id", "")
    try:
        return validate_job_id(job_id)
    except InvalidIdentifierError as error:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}") from error


async def _known_job(req: func.HttpRequest) -> str:
    job_id = _job_id(req)
    try:
        await ensure_job_exists(job_id)
    except UnknownJobError as error:
        raise ApiError(404, "job_not_found", f"no job {job_id!r}") from error
    return job_id


async def _snapshot(
    client: Any, instance_id: str, orchestrator: str, *, with_input: bool = False
) -> InstanceSnapshot | None:
    # The input only when asked: a batch's holds every resume, and only the candidate view reads it (the
    # intake path its start recorded there; nothing of the input is shown).
    status = await instance_status(client, instance_id, show_input=with_input)
    if status is None or status.name != orchestrator:
        return None
    return InstanceSnapshot.from_status(status)


def _blob_url(ref: BlobRef) -> str | None:
    from shared.clients import blob_service_client

    try:
        account_url = str(blob_service_client().url).rstrip("/")
    except Exception:  # storage not configured: the view still names the blob
        return None
    return f"{account_url}/{quote(ref.container)}/{quote(ref.name)}"


async def _candidate_view(
    client: Any, snapshot: InstanceSnapshot, *, known_interviews: dict[str, InstanceSnapshot] | None = None
) -> dict[str, Any]:
    """Build a candidate's view, reading its interview's status while the interview holds the stage."""
    interview: InstanceSnapshot | None = None
    stage = snapshot.custom_status.get("stage") if isinstance(snapshot.custom_status, dict) else None
    if stage in {s.value for s in INTERVIEW_STAGES}:
        interview_id = interview_instance_id(snapshot.instance_id)
        interview = (known_interviews or {}).get(interview_id)
        if interview is None:
            # Not among the listed instances (a runtime-status filter left it out): ask for it.
            interview = await _snapshot(client, interview_id, INTERVIEW)
    return candidate_view(snapshot, interview=interview, blob_url=_blob_url)


async def api_response(work: Awaitable[func.HttpResponse]) -> func.HttpResponse:
    """Await one of the ``handle_*`` handlers; an :class:`ApiError` it raises becomes its 4xx answer.

    The HTTP routes and the dashboard both answer through this, so a refusal reads the same everywhere.
    """
    try:
        response: func.HttpResponse = await work
    except ApiError as error:
        return error.response()
    return response


# ----------------------------------------------------------------------------------------------------
# Submit


async def _resume_from_json(job_id: str, req: func.HttpRequest) -> tuple[BlobRef, CandidateContact]:
    submission: CandidateSubmission = _validated(CandidateSubmission, _json_body(req))
    field = "resume_blob" if submission.resume_blob is not None else "resume_url"
    reference = submission.resume_blob or submission.resume_url or ""
    try:
        blob_name = normalize_resume_blob(reference, get_settings().resumes_container)
        resume_content_type(blob_name)
        resume = await existing_resume(blob_name)
    except InvalidIdentifierError as error:
        raise ApiError(
            400, "invalid_request", "the resume reference is invalid", [_field(field, error)]
        ) from error
    if resume is None:
        missing = {"field": field, "message": "no such blob in the resumes container"}
        raise ApiError(400, "invalid_request", "the resume does not exist", [missing])
    return resume, submission.contact()


def _field(name: str, error: Exception) -> dict[str, str]:
    return {"field": name, "message": str(error)}


async def _resume_from_upload(job_id: str, req: func.HttpRequest) -> tuple[BlobRef, CandidateContact]:
    upload = req.files.get("resume")
    if upload is None or not upload.filename:
        missing = {"field": "resume", "message": "attach the resume file as the form field 'resume'"}
        raise ApiError(400, "invalid_request", "no resume file in the upload", [missing])
    fields = {key: value for key, value in req.form.items() if value != ""}
    contact: ContactFields = _validated(ContactFields, fields)
    resume_content_type(upload.filename)  # refuse an unsupported type before reading the body
    data = upload.read(MAX_RESUME_BYTES + 1)
    resume = await store_uploaded_resume(job_id, upload.filename, data, contact.contact())
    return resume, contact.contact()


async def handle_submit(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``POST /jobs/{job_id}/candidates`` (JSON reference or multipart upload): start, or find, the pipeline.

    ``req.route_params["job_id"]`` names the job. 202 when started, 200 when this resume already runs;
    raises :class:`ApiError` (404 job, 400 fields, 413 size, 415 type).
    """
    job_id = await _known_job(req)
    content_type = (req.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    declared_length = req.headers.get("content-length")
    if declared_length and not _ASCII_DIGITS.fullmatch(declared_length.strip()):
        raise ApiError(400, "invalid_request", "the Content-Length header is not a number")
    if declared_length and int(declared_length) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "payload_too_large", f"the limit is {MAX_RESUME_BYTES} bytes per resume")
    try:
        if content_type == "multipart/form-data":
            resume, contact = await _resume_from_upload(job_id, req)
            intake = IntakePath.UPLOAD
        elif content_type in (JSON_TYPE, ""):
            resume, contact = await _resume_from_json(job_id, req)
            intake = IntakePath.HTTP
        else:
            raise ApiError(415, "unsupported_media_type", "send application/json or multipart/form-data")
    except UnsupportedResumeError as error:
        raise ApiError(415, "unsupported_media_type", str(error)) from error
    except ResumeTooLargeError as error:
        raise ApiError(413, "payload_too_large", str(error)) from error

    outcome = await start_candidate(client, job_id=job_id, resume=resume, contact=contact, intake=intake)
    status_url = candidate_status_url(req, outcome.instance_id)
    body = {
        "id": outcome.instance_id,
        "job_id": job_id,
        "created": outcome.created,
        "runtime_status": outcome.runtime_status,
        "status_url": status_url,
    }
    if outcome.created:
        return json_response(body, 202, {"Location": status_url, "Retry-After": "10"})
    return json_response(body, 200, {"Location": status_url})


@bp.route(route="jobs/{job_id}/candidates", methods=["POST"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def submit_candidate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the pipeline for a resume (JSON reference or multipart upload); idempotent per job + resume."""
    return await api_response(handle_submit(req, client))


# ----------------------------------------------------------------------------------------------------
# Read


async def handle_get_candidate(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /candidates/{instance_id}``: the candidate view; raises :class:`ApiError` 404 when unknown."""
    instance_id = _candidate_id(req)
    snapshot = await _snapshot(client, instance_id, CANDIDATE_PIPELINE, with_input=True)
    if snapshot is None:
        raise ApiError(404, "candidate_not_found", f"no candidate {instance_id!r}")
    return json_response(await _candidate_view(client, snapshot))


@bp.route(route="candidates/{instance_id}", methods=["GET"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def get_candidate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Where a candidate stands: stage, progress, timestamps, scores, report link, failure reason."""
    return await api_response(handle_get_candidate(req, client))


async def handle_get_report(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /candidates/{instance_id}/report?format=html|json``: the report's bytes from Blob storage.

    Raises :class:`ApiError` 404 (no candidate, no report yet, blob gone) or 400 (format).
    """
    from shared.storage import download_bytes

    instance_id = _candidate_id(req)
    wanted = _query(req, "format") or "html"
    if wanted not in REPORT_FORMATS:
        raise _invalid_parameter("format", f"one of {', '.join(REPORT_FORMATS)}", "format is html or json")
    snapshot = await _snapshot(client, instance_id, CANDIDATE_PIPELINE)
    if snapshot is None:
        raise ApiError(404, "candidate_not_found", f"no candidate {instance_id!r}")
    report = candidate_view(snapshot)["report"] or {}
    ref = report.get("page" if wanted == "html" else "json")
    if not ref:
        raise ApiError(404, "report_not_ready", "the candidate has no report yet")
    from azure.core.exceptions import ResourceNotFoundError

    blob = BlobRef(container=ref["container"], name=ref["name"])
    try:
        data = await asyncio.to_thread(download_bytes, blob)
    except ResourceNotFoundError as error:
        raise ApiError(404, "report_not_found", "the report blob no longer exists") from error
    mimetype = "text/html" if wanted == "html" else JSON_TYPE
    return func.HttpResponse(data, status_code=200, mimetype=mimetype, charset="utf-8")


@bp.route(route="candidates/{instance_id}/report", methods=["GET"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def get_candidate_report(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Serve the candidate's report from Blob storage (``?format=html``, the default, or ``json``)."""
    return await api_response(handle_get_report(req, client))


def encode_continuation(last_instance_id: str) -> str:
    """Encode an opaque page token: the last instance id of the page (ids are listed in order)."""
    return base64.urlsafe_b64encode(last_instance_id.encode()).decode().rstrip("=")


def decode_continuation(token: str) -> str:
    """Decode the instance id a token continues after; a malformed token is a 400."""
    malformed = _invalid_parameter(
        "continuation_token", "a token from an earlier page", "the continuation token is malformed"
    )
    if not _TOKEN_CHARS.fullmatch(token):
        raise malformed
    try:
        padded = token + "=" * (-len(token) % 4)
        after = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
        return validate_candidate_instance_id(after)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise malformed from error


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    # ASCII digits only: str.isdigit() also accepts digits int() cannot read, such as superscripts.
    if not _ASCII_DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise _invalid_parameter("top", f"an integer from 1 to {MAX_PAGE_SIZE}", "invalid page size")
    return int(raw)


def _status_filter(raw: str | None) -> tuple[df.OrchestrationRuntimeStatus | None, str | None]:
    """Split ``?status=`` into a runtime status (``Completed``...) or a stage (``calling``...)."""
    if raw is None:
        return None, None
    if raw.lower() in _RUNTIME_STATUSES:
        return _RUNTIME_STATUSES[raw.lower()], None
    if raw in _STAGES:
        return None, raw
    allowed = sorted({*_STAGES, *(s.value for s in df.OrchestrationRuntimeStatus)})
    raise _invalid_parameter("status", f"one of {', '.join(allowed)}", "unknown status filter")


async def handle_list_candidates(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /jobs/{job_id}/candidates``: one page of candidate views, with the next page's token."""
    job_id = _job_id(req)
    top = _page_size(_query(req, "top"))
    runtime_filter, stage_filter = _status_filter(_query(req, "status"))
    token = _query(req, "continuation_token") or req.headers.get(CONTINUATION_HEADER)
    after = decode_continuation(token) if token else None

    # One query over the job's prefix returns its candidates and their interviews (ids share the prefix),
    # so each candidate's stage is derived as GET /candidates/{id} derives it, without a call per candidate.
    statuses = await query_instances(
        client,
        prefix=job_instance_prefix(job_id),
        runtime_status=[runtime_filter] if runtime_filter is not None else None,
        show_input=True,
    )
    snapshots = [InstanceSnapshot.from_status(status) for status in statuses if status]
    interviews = {s.instance_id: s for s in snapshots if s.name == INTERVIEW}
    candidates = sorted(
        (s for s in snapshots if s.name == CANDIDATE_PIPELINE), key=lambda snapshot: snapshot.instance_id
    )
    items: list[dict[str, Any]] = []
    next_token: str | None = None
    for snapshot in candidates:
        if after is not None and snapshot.instance_id <= after:
            continue
        view = await _candidate_view(client, snapshot, known_interviews=interviews)
        if stage_filter is not None and view["stage"] != stage_filter:
            continue
        if len(items) == top:
            next_token = encode_continuation(items[-1]["id"])
            break
        items.append(view)
    headers = {CONTINUATION_HEADER: next_token} if next_token else None
    return json_response({"job_id": job_id, "items": items, "continuation_token": next_token}, 200, headers)


@bp.route(route="jobs/{job_id}/candidates", methods=["GET"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def list_candidates(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """One page of a job's candidates, optionally filtered by stage or runtime status."""
    return await api_response(handle_list_candidates(req, client))


# ----------------------------------------------------------------------------------------------------
# Events and cancellation


async def handle_send_event(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``POST /candidates/{instance_id}/events/{event_name}``: validate the body, deliver it where it waits.

    Raises :class:`ApiError` 404 (unknown event or candidate), 409 (finished, or nothing awaits the event),
    400 (body).
    """
    instance_id = _candidate_id(req)
    event_name = req.route_params.get("event_name", "")
    model = EVENT_MODELS.get(event_name)
    if model is None:
        raise ApiError(404, "unknown_event", f"events accepted here: {', '.join(EVENT_MODELS)}")
    payload = _validated(model, _json_body(req, empty={}))
    snapshot = await _snapshot(client, instance_id, CANDIDATE_PIPELINE)
    if snapshot is None:
        raise ApiError(404, "candidate_not_found", f"no candidate {instance_id!r}")
    if not snapshot.is_running:
        raise ApiError(409, "candidate_finished", f"the candidate's pipeline is {snapshot.runtime_status}")
    stage = snapshot.custom_status.get("stage") if isinstance(snapshot.custom_status, dict) else None
    interview = await _snapshot(client, interview_instance_id(instance_id), INTERVIEW)
    interview_running = interview is not None and interview.is_running

    targets: list[str]
    if event_name == EventName.RECRUITER_DECISION.value:
        if stage != Stage.AWAITING_REVIEW.value:
            raise ApiError(409, "not_awaiting_review", "no recruiter decision is awaited for this candidate")
        targets = [instance_id]
    elif event_name == EventName.RESCHEDULE_REQUESTED.value:
        if not interview_running or interview is None:
            raise ApiError(409, "no_interview", "no interview is being scheduled for this candidate")
        targets = [interview.instance_id]
    else:
        # The parent reacts while screening or awaiting review; a running interview reacts on its own.
        targets = [instance_id] + ([interview.instance_id] if interview_running and interview else [])

    body = payload.model_dump(mode="json")
    for target in targets:
        await raise_event(client, target, event_name, body)
    LOGGER.info("raised %s on %s", event_name, ", ".join(targets))
    return json_response({"id": instance_id, "event": event_name, "delivered_to": targets}, 202)


@bp.route(route="candidates/{instance_id}/events/{event_name}", methods=["POST"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def send_candidate_event(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Deliver a recruiter decision, a reschedule request or a withdrawal to the waiting orchestration."""
    return await api_response(handle_send_event(req, client))


async def handle_cancel(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``POST /candidates/{instance_id}/cancel``: terminate the interview, then the pipeline (202).

    Raises :class:`ApiError` 404 (unknown candidate) or 409 (already finished).
    """
    instance_id = _candidate_id(req)
    request: CancelRequest = _validated(CancelRequest, _json_body(req, empty={}))
    snapshot = await _snapshot(client, instance_id, CANDIDATE_PIPELINE)
    if snapshot is None:
        raise ApiError(404, "candidate_not_found", f"no candidate {instance_id!r}")
    if not snapshot.is_running:
        raise ApiError(409, "candidate_finished", f"the candidate's pipeline is {snapshot.runtime_status}")
    # Terminating a parent leaves its sub-orchestrations running, so the interview is terminated first.
    interview = await _snapshot(client, interview_instance_id(instance_id), INTERVIEW)
    terminated = []
    if interview is not None and interview.is_running:
        await terminate(client, interview.instance_id, request.reason)
        terminated.append(interview.instance_id)
    await terminate(client, instance_id, request.reason)
    terminated.append(instance_id)
    LOGGER.info("cancelled %s", ", ".join(terminated))
    return json_response({"id": instance_id, "terminated": terminated}, 202)


@bp.route(route="candidates/{instance_id}/cancel", methods=["POST"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def cancel_candidate(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Stop a candidate's pipeline (and its interview, if one is running)."""
    return await api_response(handle_cancel(req, client))


# ----------------------------------------------------------------------------------------------------
# Batch screening


def _list_job_resumes(job_id: str) -> list[BatchCandidate]:
    from shared.storage import container_client

    container = get_settings().resumes_container
    candidates: list[BatchCandidate] = []
    for blob in container_client(container).list_blobs(name_starts_with=f"{job_id}/", include=["metadata"]):
        try:
            content_type = resume_content_type(blob.name)
        except UnsupportedResumeError:
            continue
        resume = BlobRef(container=container, name=blob.name, size_bytes=blob.size, content_type=content_type)
        try:
            contact = contact_from_metadata(blob.metadata)
        except InvalidContactError as error:
            LOGGER.warning("leaving resume %s out of the screening: %s", blob.name, error)
            continue
        candidates.append(BatchCandidate(resume=resume, contact=contact))
        if len(candidates) > MAX_BATCH_SIZE:
            break
    return candidates


async def _named_resumes(names: list[str]) -> list[BatchCandidate]:
    from shared.storage import blob_properties

    container = get_settings().resumes_container
    candidates: list[BatchCandidate] = []
    problems: list[dict[str, str]] = []
    for index, reference in enumerate(names):
        field = f"resume_blobs.{index}"
        try:
            name = normalize_resume_blob(reference, container)
            content_type = resume_content_type(name)
        except (InvalidIdentifierError, UnsupportedResumeError) as error:
            problems.append(_field(field, error))
            continue
        properties = await asyncio.to_thread(blob_properties, container, name)
        if properties is None:
            problems.append({"field": field, "message": "no such blob in the resumes container"})
            continue
        resume = BlobRef(
            container=container, name=name, size_bytes=int(properties.size), content_type=content_type
        )
        try:
            contact = contact_from_metadata(properties.metadata)
        except InvalidContactError as error:
            problems.append(_field(field, error))
            continue
        candidates.append(BatchCandidate(resume=resume, contact=contact))
    if problems:
        raise ApiError(400, "invalid_request", "some resumes cannot be screened", problems)
    return candidates


async def handle_start_screening(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``POST /jobs/{job_id}/screenings``: start ``batch_screening`` (202), or find the same one (200).

    Raises :class:`ApiError` 404 (job), 400 (body, no resumes) or 413 (too many resumes).
    """
    job_id = await _known_job(req)
    request: ScreeningRequest = _validated(ScreeningRequest, _json_body(req, empty={}))
    if request.resume_blobs is not None:
        candidates = await _named_resumes(request.resume_blobs)
    else:
        candidates = await asyncio.to_thread(_list_job_resumes, job_id)
    if not candidates:
        raise ApiError(400, "no_resumes", f"no resumes to screen for job {job_id!r}")
    if len(candidates) > MAX_BATCH_SIZE:
        raise ApiError(413, "batch_too_large", f"at most {MAX_BATCH_SIZE} resumes per screening")
    instance_id = batch_instance_id(job_id, [candidate.resume.name for candidate in candidates])
    status_url = f"{_origin(req)}/api/screenings/{escaped(instance_id)}"
    body: dict[str, Any] = {"id": instance_id, "job_id": job_id, "candidates": len(candidates)}
    body["status_url"] = status_url
    if await instance_status(client, instance_id) is not None:
        return json_response({**body, "created": False}, 200, {"Location": status_url})
    batch = BatchScreeningInput(
        job_id=job_id,
        candidates=candidates,
        max_concurrency=request.max_concurrency,
        shortlist_size=request.shortlist_size,
    )
    await start_instance(client, BATCH_SCREENING, instance_id, batch.model_dump(mode="json"))
    LOGGER.info("started batch screening %s over %d resumes", instance_id, len(candidates))
    return json_response({**body, "created": True}, 202, {"Location": status_url, "Retry-After": "10"})


@bp.route(route="jobs/{job_id}/screenings", methods=["POST"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def start_screening(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Screen many resumes of a job at once (``batch_screening``); idempotent per job + set of resumes."""
    return await api_response(handle_start_screening(req, client))


async def handle_get_screening(req: func.HttpRequest, client: Any) -> func.HttpResponse:
    """``GET /screenings/{instance_id}``: progress and shortlist; a 404 :class:`ApiError` when unknown."""
    instance_id = _screening_id(req)
    snapshot = await _snapshot(client, instance_id, BATCH_SCREENING)
    if snapshot is None:
        raise ApiError(404, "screening_not_found", f"no screening {instance_id!r}")
    return json_response(screening_view(snapshot))


@bp.route(route="screenings/{instance_id}", methods=["GET"], auth_level=API_AUTH)
@bp.durable_client_input(client_name="client")
async def get_screening(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Progress of a batch screening, and its ranked shortlist once finished."""
    return await api_response(handle_get_screening(req, client))


# ----------------------------------------------------------------------------------------------------
# Health and the description


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def health(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Check every dependency with a timeout; 200 when all answer, 503 with the failing ones otherwise."""
    report = await check_dependencies(client)
    return json_response(report, 200 if report["status"] == "healthy" else 503)


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_description(req: func.HttpRequest) -> func.HttpResponse:
    """Serve the OpenAPI 3.1 description of this app's HTTP API (anonymous: it holds no secret, no data)."""
    from triggers.openapi import openapi_document

    return json_response(openapi_document())
