"""A typed client for hireflow's HTTP API, for devhost locally or an Azure Function App.

Synchronous: the command line and the benchmarks call it from plain threads, and a user's script should not
need an event loop to submit a resume. Every non-2xx answer raises
:class:`ApiError` with the HTTP status and the API's error body (``{"error": {"code", "message",
"fields"}}``); a host that cannot be reached raises :class:`HostUnreachableError`. Both are
:class:`HireflowError`, so one ``except`` covers everything the client can raise.

The HTTP library is ``requests``: its ``files=`` builds the multipart upload (field quoting included), so no
form encoding is written by hand here. Not ``httpx``: it is no dependency of this project, while ``requests``
already is one (``azure-core``, under every Azure SDK the app uses, depends on it), so the command line adds
no package and keeps one HTTP library. Each call is one ``requests.request`` (a fresh session), because a
client may be shared by threads and a ``requests.Session`` does not promise thread safety.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

DEFAULT_URL = "http://127.0.0.1:7071"
DEFAULT_TIMEOUT_S = 30.0
KEY_HEADER = "x-functions-key"
CONTINUATION_HEADER = "x-ms-continuation-token"
TERMINAL_RUNTIME_STATUSES = frozenset({"Completed", "Failed", "Terminated"})
"""Runtime statuses after which a candidate never changes again."""
EVENT_NAMES = ("RecruiterDecision", "RescheduleRequested", "CandidateWithdrew")
"""Events the API accepts (call and recording events come only from ACS and Event Grid)."""
_ROUTE_PREFIX = "/api"
_NO_ANSWER = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
"""Refused, unresolvable, TLS failure, timed out, or dropped mid-answer: the host gave no answer to report."""


class HireflowError(Exception):
    """Anything the client can raise: an error answer from the API or a host that cannot be reached."""


class ApiError(HireflowError):
    """The API answered with an error status; ``code``, ``message`` and ``fields`` come from its body."""

    def __init__(self, status: int, body: Any, *, method: str, url: str) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or f"http_{status}")
            message = str(error.get("message") or "")
            raw_fields = error.get("fields")
        elif isinstance(error, str):
            # The host's own refusals (missing function key, unknown route) carry just a message.
            code, message, raw_fields = f"http_{status}", error, None
        else:
            # Not the API's own error shape (a proxy, the platform's 401, an HTML page): keep a short excerpt.
            code = f"http_{status}"
            message = (body if isinstance(body, str) else json.dumps(body))[:300] if body else ""
            raw_fields = None
        fields = [dict(item) for item in raw_fields] if isinstance(raw_fields, list) else []
        super().__init__(_describe(status, code, message, fields))
        self.status = status
        self.code = code
        self.message = message or f"HTTP {status}"
        self.fields: list[dict[str, str]] = fields
        self.body = body
        self.method = method
        self.url = url


class HostUnreachableError(HireflowError):
    """No HTTP answer at all: connection refused, DNS failure, timeout, TLS failure."""

    def __init__(self, url: str, reason: object) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


def _describe(status: int, code: str, message: str, fields: list[dict[str, str]]) -> str:
    text = f"HTTP {status} {code}: {message}" if message else f"HTTP {status} {code}"
    for item in fields:
        text += f"\n  {item.get('field', '?')}: {item.get('message', '')}"
    return text


# ----------------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True)
class Submission:
    """Answer of a submit: the candidate's id and whether this call started it (false: it already ran)."""

    id: str
    job_id: str
    created: bool
    runtime_status: str | None
    status_url: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Submission:
        """Read the API's submit answer."""
        return cls(
            id=str(body["id"]),
            job_id=str(body["job_id"]),
            created=bool(body.get("created")),
            runtime_status=body.get("runtime_status"),
            status_url=str(body.get("status_url") or ""),
        )


@dataclass(frozen=True)
class Candidate:
    """Where a candidate stands (the API's candidate view); ``raw`` keeps every field the API sent."""

    id: str
    job_id: str | None
    runtime_status: str | None
    stage: str
    progress: float
    detail: str | None
    outcome: str | None
    created_at: str | None
    updated_at: str | None
    screening: dict[str, Any] | None
    interview: dict[str, Any] | None
    report: dict[str, Any] | None
    failure: dict[str, Any] | None
    intake: str | None = None
    """How the resume arrived (``http``, ``upload``, ``blob_trigger``, ``event_grid``, ``batch``), or None."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Candidate:
        """Read one candidate view."""
        return cls(
            id=str(body["id"]),
            job_id=body.get("job_id"),
            runtime_status=body.get("runtime_status"),
            stage=str(body.get("stage") or "received"),
            progress=float(body.get("progress") or 0.0),
            detail=body.get("detail"),
            outcome=body.get("outcome"),
            created_at=body.get("created_at"),
            updated_at=body.get("updated_at"),
            screening=body.get("screening"),
            interview=body.get("interview"),
            report=body.get("report"),
            failure=body.get("failure"),
            intake=body.get("intake"),
            raw=dict(body),
        )

    @property
    def is_terminal(self) -> bool:
        """True once the pipeline completed, failed or was cancelled."""
        return self.runtime_status in TERMINAL_RUNTIME_STATUSES


@dataclass(frozen=True)
class CandidatePage:
    """One page of a job's candidates; ``continuation_token`` is None on the last page."""

    job_id: str
    items: list[Candidate]
    continuation_token: str | None


@dataclass(frozen=True)
class EventDelivery:
    """Answer of sending an event: which orchestration instances received it."""

    id: str
    event: str
    delivered_to: list[str]


@dataclass(frozen=True)
class Cancellation:
    """Answer of a cancel: the instances terminated (the interview first, then the candidate)."""

    id: str
    terminated: list[str]


@dataclass(frozen=True)
class Health:
    """``GET /health``: overall status and each dependency's check (the API answers 503 when unhealthy)."""

    status: str
    dependencies: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        """True when every dependency answered."""
        return self.status == "healthy"


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


# ----------------------------------------------------------------------------------------------------
# Client


class HireflowClient:
    """The pipeline's HTTP API: submit, status, list, events, cancel, reports, health.

    ``base_url`` is the host's origin (``http://127.0.0.1:7071`` for devhost, ``https://APP.azurewebsites.net``
    for a Function App); the API's ``/api`` prefix is added here. ``function_key`` is sent as
    ``x-functions-key`` on every call (``health`` is anonymous and ignores it).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        function_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) URL such as {DEFAULT_URL}, got {base_url!r}")
        path = parts.path.rstrip("/")
        # Accept the URL with or without the route prefix: users copy either from the host's output.
        if path.endswith(_ROUTE_PREFIX):
            path = path[: -len(_ROUTE_PREFIX)]
        self.base_url = f"{parts.scheme}://{parts.netloc}{path}"
        self.function_key = function_key or None
        self.timeout = timeout

    # -- submit ------------------------------------------------------------------------------------

    def submit_blob(
        self,
        job_id: str,
        *,
        name: str,
        resume_blob: str | None = None,
        resume_url: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        time_zone: str | None = None,
    ) -> Submission:
        """Start the pipeline for a resume already in the resumes container (by blob name or URL)."""
        if (resume_blob is None) == (resume_url is None):
            raise ValueError("give exactly one of resume_blob and resume_url")
        body: dict[str, Any] = {"name": name}
        if resume_blob is not None:
            body["resume_blob"] = resume_blob
        if resume_url is not None:
            body["resume_url"] = resume_url
        body.update(_optional(email=email, phone=phone, time_zone=time_zone))
        response = self._request("POST", f"/jobs/{_segment(job_id)}/candidates", json_body=body)
        return Submission.from_json(response.json())

    def submit_file(
        self,
        job_id: str,
        resume: Path | str,
        *,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        time_zone: str | None = None,
        filename: str | None = None,
    ) -> Submission:
        """Upload a local resume (PDF or DOCX) as multipart form data and start the pipeline for it."""
        path = Path(resume)
        fields = {"name": name, **_optional(email=email, phone=phone, time_zone=time_zone)}
        upload_name = filename or path.name
        content_type = mimetypes.guess_type(upload_name)[0] or "application/octet-stream"
        response = self._request(
            "POST",
            f"/jobs/{_segment(job_id)}/candidates",
            form=fields,
            files={"resume": (upload_name, path.read_bytes(), content_type)},
        )
        return Submission.from_json(response.json())

    # -- read --------------------------------------------------------------------------------------

    def candidate(self, candidate_id: str) -> Candidate:
        """Where a candidate stands; :class:`ApiError` 404 ``candidate_not_found`` when unknown."""
        return Candidate.from_json(self._request("GET", f"/candidates/{_segment(candidate_id)}").json())

    def list_candidates(
        self,
        job_id: str,
        *,
        status: str | None = None,
        top: int | None = None,
        continuation_token: str | None = None,
    ) -> CandidatePage:
        """One page of a job's candidates; ``status`` is a stage (``awaiting_review``) or runtime status."""
        query = _optional(status=status, top=None if top is None else str(top))
        query.update(_optional(continuation_token=continuation_token))
        response = self._request("GET", f"/jobs/{_segment(job_id)}/candidates", query=query)
        body = response.json()
        token = body.get("continuation_token") or response.headers.get(CONTINUATION_HEADER) or None
        items = [Candidate.from_json(item) for item in body.get("items", [])]
        return CandidatePage(job_id=str(body.get("job_id", job_id)), items=items, continuation_token=token)

    def iter_candidates(
        self, job_id: str, *, status: str | None = None, page_size: int | None = None
    ) -> Iterator[Candidate]:
        """Every candidate of a job, following continuation tokens page by page."""
        token: str | None = None
        while True:
            page = self.list_candidates(job_id, status=status, top=page_size, continuation_token=token)
            yield from page.items
            if not page.continuation_token:
                return
            token = page.continuation_token

    def report(self, candidate_id: str, *, format: str = "html") -> bytes:
        """Fetch the written report (``html`` page or ``json``); 404 ``report_not_ready`` before it exists."""
        path = f"/candidates/{_segment(candidate_id)}/report"
        return self._request("GET", path, query={"format": format}).body

    def health(self) -> Health:
        """Check each dependency; an unhealthy host (503) is returned, not raised: it still answered."""
        response = self._request("GET", "/health", accept_statuses=(503,))
        body = response.json() or {}
        dependencies = dict(body.get("dependencies") or {})
        return Health(status=str(body.get("status", "unknown")), dependencies=dependencies, raw=body)

    # -- change ------------------------------------------------------------------------------------

    def send_event(
        self, candidate_id: str, event_name: str, payload: Mapping[str, Any] | None = None
    ) -> EventDelivery:
        """Deliver ``RecruiterDecision``, ``RescheduleRequested`` or ``CandidateWithdrew``."""
        path = f"/candidates/{_segment(candidate_id)}/events/{_segment(event_name)}"
        body = self._request("POST", path, json_body=dict(payload or {})).json()
        return EventDelivery(
            id=str(body["id"]), event=str(body["event"]), delivered_to=list(body.get("delivered_to", []))
        )

    def cancel(self, candidate_id: str, *, reason: str | None = None) -> Cancellation:
        """Terminate the candidate's pipeline (and its running interview)."""
        payload = _optional(reason=reason)
        path = f"/candidates/{_segment(candidate_id)}/cancel"
        body = self._request("POST", path, json_body=payload).json()
        return Cancellation(id=str(body["id"]), terminated=list(body.get("terminated", [])))

    # -- clock (devhost's admin API; send the master key as the key when the host requires keys) -------

    def clock(self) -> dict[str, Any]:
        """Read the local host's clock: its mode, its now and the next due timer."""
        return dict(self._request("GET", "/admin/clock", route_prefix="").json() or {})

    def advance_clock(self, *, by: str | None = None) -> dict[str, Any]:
        """Move the local host's clock to the next due timer, or forward ``by`` (``"1d"``, ``"90m"``)."""
        move = {"by": by} if by else {"to": "next"}
        return dict(
            self._request("POST", "/admin/clock/advance", json_body=move, route_prefix="").json() or {}
        )

    def set_clock_mode(self, mode: str) -> dict[str, Any]:
        """Run the local host's clock in ``real`` time or ``skip`` to each timer when idle."""
        body = {"mode": mode}
        return dict(self._request("POST", "/admin/clock/mode", json_body=body, route_prefix="").json() or {})

    # -- transport ---------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        accept_statuses: tuple[int, ...] = (),
        route_prefix: str = _ROUTE_PREFIX,
    ) -> _Response:
        url = f"{self.base_url}{route_prefix}{path}"
        headers = {"Accept": "application/json, text/html;q=0.9, */*;q=0.5"}
        if self.function_key:
            headers[KEY_HEADER] = self.function_key
        try:
            answer = requests.request(
                method,
                url,
                params=dict(query) if query else None,
                json=json_body,
                data=dict(form) if form is not None else None,
                files=dict(files) if files is not None else None,
                headers=headers,
                timeout=self.timeout,
            )
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as error:
            raise HostUnreachableError(self.base_url, _reason(error)) from None
        with answer:
            status, body = answer.status_code, answer.content
            response = _Response(
                status=status,
                headers=_lower(answer.headers.items()),
                body=body,
                content_type=_media_type(answer.headers.get("Content-Type")),
            )
        if 200 <= status < 300 or status in accept_statuses:
            return response
        raise ApiError(status, _decoded(body), method=method, url=answer.request.url or url)


def _lower(items: Any) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in items}


def _decoded(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _segment(value: str) -> str:
    # Instance ids hold characters like ':' and '/'; one path segment each, always.
    return quote(value, safe="")


def _optional(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value is not None}


def _media_type(header: str | None) -> str:
    # The media type alone, lower-cased, "text/plain" when absent (as email.message reads Content-Type).
    media_type = (header or "").split(";", 1)[0].strip().lower()
    return media_type if "/" in media_type else "text/plain"


def _reason(error: requests.RequestException) -> object:
    # requests wraps urllib3's error, which wraps the socket's: report the innermost cause, which names it.
    reason: object = error
    wrapped = error.args[0] if error.args else None
    while wrapped is not None and hasattr(wrapped, "reason"):
        reason = wrapped.reason
        wrapped = reason if reason is not wrapped else None
    return reason
