"""The recruiter's dashboard, served by the Function App itself: pages, bundled assets and form actions.

Routes (under the host's ``api`` prefix; anonymous at the Functions level because a browser cannot send a
function key, and authenticated here instead, see :mod:`triggers.dashboard_auth`):

- ``GET /dashboard``: the jobs; with ``?ticket=`` (local only) the sign-in exchange, then a redirect here.
- ``GET /dashboard/jobs/{job_id}``, ``/dashboard/reviews``, ``/dashboard/candidates/{id}``,
  ``/dashboard/upload``, ``/dashboard/screenings[/{id}]``: the pages.
- ``GET /dashboard/candidates/{id}/report``: the candidate's report, through the HTTP API's own handler.
- ``GET /dashboard/assets/{name}``: ``app.css`` and ``app.js`` from the ``dashboard/`` folder of the package.
- ``POST /dashboard/candidates/{id}/{decision|withdraw|cancel}`` and ``POST /dashboard/actions/{upload|
  screening|clock}``: actions, each checked for a session and a CSRF token, each done by the HTTP API's own
  in-process handler so the rules (validation, 409s, idempotency) are the API's, not a second copy.

Every answer carries a Content-Security-Policy without inline script, ``no-store`` and ``nosniff``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

import azure.durable_functions as df
import azure.functions as func

from orchestrators.candidate_pipeline import ORCHESTRATOR_NAME as CANDIDATE_PIPELINE
from orchestrators.identity import job_instance_prefix
from orchestrators.steps import as_json_value
from shared.logging import get_logger
from shared.settings import get_settings
from triggers import dashboard_data as data
from triggers import http_api
from triggers.dashboard_auth import (
    COOKIE_PATH,
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_TTL_S,
    DashboardAuthError,
    Principal,
    TicketLedger,
    check_csrf,
    check_same_origin,
    cookie_value,
    csrf_cookie_name,
    entra_principal,
    mint_session,
    new_csrf_token,
    verify_session,
)
from triggers.dashboard_html import (
    BASE,
    Html,
    PageContext,
    candidate_body,
    job_body,
    jobs_body,
    message_page,
    page,
    render,
    reviews_body,
    screening_body,
    screenings_body,
    upload_body,
)
from triggers.durable import query_instances

LOGGER = get_logger("hireflow.dashboard")

bp = df.Blueprint()

DASHBOARD_AUTH = func.AuthLevel.ANONYMOUS
ASSETS_DIR = Path(__file__).resolve().parent.parent / "dashboard"
ASSET_TYPES = {"app.css": "text/css", "app.js": "text/javascript"}
"""The only files served from ``dashboard/``: a fixed list, so no path from a URL ever reaches the disk."""
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
REPORT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"
"""The written report is a document of its own: shown sandboxed, its inline styles allowed, no script."""
ENTRA_LOGIN_PATH = "/.auth/login/aad"
CLOCK_TIMEOUT_S = 5.0
ADMIN_KEY_HEADER = "x-functions-key"
"""How the Functions host (and devhost) takes a key in a header rather than the ``code`` query parameter."""
NOTICES = {
    "signed_in": "Signed in.",
    "decided": "Decision sent; the candidate moves on as soon as the pipeline takes it.",
    "already_sent": "That form was sent already; it was not sent twice.",
    "withdrawn": "Withdrawal sent.",
    "cancelled": "The pipeline was cancelled.",
    "submitted": "Resume submitted; the pipeline has started.",
    "exists": "This resume was already submitted for this job; here is that candidate.",
    "screening_started": "Batch screening started.",
    "clock": "The clock moved.",
}
"""Messages a redirect may ask a page to show, by code: no free text from a URL is ever shown."""

KEPT_FIELDS = ("note", "reason", "name", "email", "phone", "time_zone")
"""Free text a refused action shows back to the person who typed it."""

_LEDGER = TicketLedger()


# ----------------------------------------------------------------------------------------------------
# Responses and authentication


def _security_headers(policy: str = CONTENT_SECURITY_POLICY) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        # same-origin, not no-referrer: with no-referrer the browser sends "Origin: null" on its own forms.
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def html_response(body: str, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """Build an HTML answer with the dashboard's security headers."""
    return func.HttpResponse(
        body,
        status_code=status,
        mimetype="text/html",
        charset="utf-8",
        headers={**_security_headers(), **(headers or {})},
    )


def redirect(location: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """303 See Other (after a POST the browser fetches the page with a GET)."""
    return func.HttpResponse(
        status_code=303, headers={**_security_headers(), "Location": location, **(headers or {})}
    )


def _origin(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def _secure(req: func.HttpRequest) -> bool:
    return bool(urlsplit(req.url).scheme == "https")


def _cookie(name: str, value: str, *, secure: bool, max_age: int, path: str) -> str:
    attributes = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)


def _signing_secret() -> str:
    secret = get_settings().dashboard_signing_secret
    if not secret:
        raise DashboardAuthError(503, "local sign-in needs the app setting DASHBOARD_SIGNING_SECRET")
    return secret


def authenticate(req: func.HttpRequest) -> Principal:
    """Return the signed-in user; raise :class:`DashboardAuthError` (401) when nothing proves a sign-in.

    On Azure the principal headers prove a sign-in only while App Service Authentication runs in front of
    the app (the platform then strips such headers from what callers send, and injects
    ``WEBSITE_AUTH_ENABLED=True``); without it anyone could send them, so they are refused.
    """
    settings = get_settings()
    if not settings.is_local:
        if not settings.app_service_auth_enabled:
            LOGGER.warning("dashboard refused: App Service Authentication is not enabled for this app")
            raise DashboardAuthError(
                503,
                "the dashboard needs App Service Authentication in front of the app (WEBSITE_AUTH_ENABLED "
                "is not True); principal headers are not trusted without it",
            )
        principal = entra_principal(req.headers)
        if principal is None:
            raise DashboardAuthError(401, "sign in through the app's Entra ID authentication first")
        return principal
    session = cookie_value(req.headers.get("cookie"), SESSION_COOKIE)
    if not session:
        raise DashboardAuthError(401, "open the sign-in link the local stack printed (its dashboard_url)")
    verify_session(_signing_secret(), session)
    return Principal(name="local recruiter", source="local")


def _refusal(req: func.HttpRequest, error: DashboardAuthError) -> func.HttpResponse:
    if error.status == 401 and not get_settings().is_local and req.method == "GET":
        # Send the browser through App Service Authentication and back to the page it asked for.
        back = urlsplit(req.url)
        target = back.path + (f"?{back.query}" if back.query else "")
        query = urlencode({"post_login_redirect_uri": target})
        return redirect(f"{ENTRA_LOGIN_PATH}?{query}")
    title = "Not signed in" if error.status == 401 else "Refused"
    return html_response(message_page(title, error.message), error.status)


@dataclass
class Visit:
    """An authenticated request: who, and the CSRF token its forms carry."""

    principal: Principal
    csrf_token: str
    new_csrf_cookie: str | None


def _visit(req: func.HttpRequest) -> Visit:
    principal = authenticate(req)
    name = csrf_cookie_name(_secure(req))
    token = cookie_value(req.headers.get("cookie"), name)
    if token:
        return Visit(principal, token, None)
    token = new_csrf_token()
    # A __Host- cookie must have Path=/ (and Secure); over plain http it stays on the dashboard's path.
    path = "/" if _secure(req) else COOKIE_PATH
    cookie = _cookie(name, token, secure=_secure(req), max_age=SESSION_TTL_S, path=path)
    return Visit(principal, token, cookie)


def _clock_url(req: func.HttpRequest, path: str = "") -> str:
    return f"{_origin(req)}/admin/clock{path}"


def _host_error(error: HTTPError) -> str:
    try:
        document = json.loads(error.read() or b"null")
    except ValueError:
        document = None
    finally:
        error.close()
    message = document.get("error") if isinstance(document, dict) else None
    return str(message) if message else f"HTTP {error.code}"


def _http_json(url: str, body: Any = None) -> Any:
    data_bytes = None if body is None else json.dumps(body).encode()
    request = Request(url, data=data_bytes, method="GET" if body is None else "POST")
    if data_bytes is not None:
        request.add_header("Content-Type", "application/json")
    admin_key = get_settings().devhost_admin_key
    if admin_key:
        # A keyed host keeps /admin behind its master key; the stack hands it to the app (local only), in a
        # header so it never appears in a URL or a log line.
        request.add_header(ADMIN_KEY_HEADER, admin_key)
    with urlopen(request, timeout=CLOCK_TIMEOUT_S) as answer:
        return json.loads(answer.read() or b"null")


async def local_clock(req: func.HttpRequest) -> dict[str, Any] | None:
    """Read the local host's clock (``GET /admin/clock``); None on Azure or when the host has no clock API."""
    if not get_settings().is_local:
        return None
    try:
        clock = await asyncio.to_thread(_http_json, _clock_url(req))
    except HTTPError as error:
        error.close()
        # A keyed host keeps its clock behind the master key; without DEVHOST_ADMIN_KEY (or with a wrong one)
        # the page says so and points at the command line.
        return {"locked": True} if error.code == 401 else None
    except (URLError, OSError, ValueError):
        return None
    return clock if isinstance(clock, dict) else None


def _now(clock: dict[str, Any] | None, seen: list[datetime | None]) -> datetime:
    """Return the time the orchestrations live in, against which their deadlines count down.

    Locally the engine's clock may run ahead of the wall clock (skipped or advanced time). The host's clock
    API says where it stands; when the app cannot read it (a keyed host wants its master key), the latest
    orchestration time the page shows is a close lower bound, since orchestrations never run ahead of it.
    """
    if clock and isinstance(clock.get("now"), str):
        try:
            return datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        except ValueError:
            pass
    return max([datetime.now(UTC), *(moment for moment in seen if moment is not None)])


PageBuilder = Callable[[func.HttpRequest, Any, PageContext], Awaitable[tuple[str, Html, str] | None]]


async def _serve_page(req: func.HttpRequest, client: Any, build: PageBuilder) -> func.HttpResponse:
    try:
        visit = _visit(req)
    except DashboardAuthError as error:
        return _refusal(req, error)
    clock = await local_clock(req)
    notice_code = req.params.get("notice") or ""
    notice = NOTICES.get(notice_code)
    context = PageContext(
        user=visit.principal.name,
        csrf_token=visit.csrf_token,
        clock=clock,
        notice=notice,
        path=urlsplit(req.url).path,
    )
    built = await build(req, client, context)
    headers = {"Set-Cookie": visit.new_csrf_cookie} if visit.new_csrf_cookie else None
    if built is None:
        body = page(
            "Not found", Html("<p>There is nothing here. <a href='/api/dashboard'>Jobs</a></p>"), context
        )
        return html_response(body, 404, headers)
    title, body_html, active = built
    return html_response(page(title, body_html, context, active=active), 200, headers)


# ----------------------------------------------------------------------------------------------------
# Pages


def _job_choices() -> list[tuple[str, str]]:
    return [(job.job_id, job.title) for job in data.list_jobs()]


async def _jobs_page(req: func.HttpRequest, client: Any, context: PageContext) -> tuple[str, Html, str]:
    jobs = await asyncio.to_thread(data.list_jobs)
    summaries = []
    waiting = 0
    for job in jobs:
        statuses = await query_instances(client, prefix=job_instance_prefix(job.job_id))
        counts = {"total": 0, "running": 0, "awaiting_review": 0, "finished": 0}
        for status in statuses:
            if not status or status.name != CANDIDATE_PIPELINE:
                continue
            runtime = str(getattr(status.runtime_status, "value", status.runtime_status))
            custom = as_json_value(status.custom_status)
            running = runtime in ("Running", "Pending", "Suspended")
            if running and isinstance(custom, dict) and custom.get("stage") == "awaiting_review":
                waiting += 1  # the queue holds a batch's candidates too
            if ".batch-" in str(status.instance_id):
                continue  # a batch's candidates are counted on its screening, as the job's table lists them
            counts["total"] += 1
            counts["running" if running else "finished"] += 1
            if running and isinstance(custom, dict) and custom.get("stage") == "awaiting_review":
                counts["awaiting_review"] += 1
        summaries.append((job.job_id, job.title, counts))
    return "Jobs", jobs_body(summaries, waiting), "jobs"


async def _job_page(req: func.HttpRequest, client: Any, context: PageContext) -> tuple[str, Html, str] | None:
    job_id = req.route_params.get("item") or ""
    titles = dict(await asyncio.to_thread(_job_choices))
    if job_id not in titles:
        return None
    rows = await data.candidate_rows(client, job_id)
    stage = req.params.get("stage") or None
    outcome = req.params.get("outcome") or None
    shown = data.filter_rows(rows, stage=stage, outcome=outcome)
    return f"{titles[job_id]}: candidates", job_body(job_id, shown, stage, outcome), "jobs"


async def _reviews_page(req: func.HttpRequest, client: Any, context: PageContext) -> tuple[str, Html, str]:
    job_ids = [job_id for job_id, _ in await asyncio.to_thread(_job_choices)]
    items = await data.review_queue(client, job_ids)
    now = _now(context.clock, [item.row.stage_updated_at for item in items])
    return "Review queue", reviews_body(items, now, context), "reviews"


async def _candidate_page(
    req: func.HttpRequest, client: Any, context: PageContext
) -> tuple[str, Html, str] | None:
    instance_id = req.route_params.get("item") or ""
    detail = await data.candidate_detail(client, instance_id)
    if detail is None:
        return None
    return detail.row.name, candidate_body(detail, context), ""


async def _upload_page(req: func.HttpRequest, client: Any, context: PageContext) -> tuple[str, Html, str]:
    jobs = await asyncio.to_thread(_job_choices)
    return "Upload a resume", upload_body(jobs, req.params.get("job"), context), "upload"


async def _screenings_page(
    req: func.HttpRequest, client: Any, context: PageContext
) -> tuple[str, Html, str] | None:
    item = req.route_params.get("item")
    if item:
        view = await data.screening(client, item)
        if view is None:
            return None
        return "Batch screening", screening_body(view), "screenings"
    jobs = await asyncio.to_thread(_job_choices)
    selected = req.params.get("job") or (jobs[0][0] if jobs else None)
    screenings = await data.screenings_of(client, selected) if selected else []
    return "Batch screening", screenings_body(jobs, selected, screenings, context), "screenings"


PAGES: dict[str, PageBuilder] = {
    "jobs": _job_page,
    "reviews": _reviews_page,
    "candidates": _candidate_page,
    "upload": _upload_page,
    "screenings": _screenings_page,
}


@bp.route(route="dashboard", methods=["GET"], auth_level=DASHBOARD_AUTH)
@bp.durable_client_input(client_name="client")
async def dashboard_home(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Show the jobs; with ``?ticket=`` (local profile) do the one-time sign-in exchange first."""
    ticket = req.params.get("ticket")
    if ticket:
        return _sign_in(req, ticket)
    return await _serve_page(req, client, _jobs_page)


def _sign_in(req: func.HttpRequest, ticket: str) -> func.HttpResponse:
    if not get_settings().is_local:
        return html_response(message_page("Refused", "sign-in links are for the local stack only"), 404)
    try:
        _LEDGER.redeem(_signing_secret(), ticket)
        session = mint_session(_signing_secret())
    except DashboardAuthError as error:
        LOGGER.warning("dashboard sign-in refused: %s", error.message)
        return html_response(message_page("Not signed in", error.message), error.status)
    cookie = _cookie(SESSION_COOKIE, session, secure=_secure(req), max_age=SESSION_TTL_S, path=COOKIE_PATH)
    # The redirect drops the ticket from the address bar and the history.
    return redirect(f"{BASE}?notice=signed_in", {"Set-Cookie": cookie})


@bp.route(route="dashboard/{page}/{item?}", methods=["GET"], auth_level=DASHBOARD_AUTH)
@bp.durable_client_input(client_name="client")
async def dashboard_page(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Show a page: a job's candidates, the review queue, a candidate, upload, batch screenings."""
    build = PAGES.get(req.route_params.get("page") or "")
    if build is None:
        return await _serve_page(req, client, _not_found)
    return await _serve_page(req, client, build)


async def _not_found(req: func.HttpRequest, client: Any, context: PageContext) -> None:
    return None


@bp.route(route="dashboard/assets/{name}", methods=["GET"], auth_level=DASHBOARD_AUTH)
def dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    """Serve the stylesheet and the script from the package (no CDN: the page works offline)."""
    name = req.route_params.get("name") or ""
    mimetype = ASSET_TYPES.get(name)
    if mimetype is None:
        return func.HttpResponse("no such asset", status_code=404, mimetype="text/plain")
    headers = {**_security_headers(), "Cache-Control": "no-cache"}
    return func.HttpResponse(
        (ASSETS_DIR / name).read_bytes(), status_code=200, mimetype=mimetype, charset="utf-8", headers=headers
    )


@bp.route(route="dashboard/candidates/{instance_id}/report", methods=["GET"], auth_level=DASHBOARD_AUTH)
@bp.durable_client_input(client_name="client")
async def dashboard_report(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Serve the candidate's report through the HTTP API's handler (the browser holds no function key)."""
    try:
        authenticate(req)
    except DashboardAuthError as error:
        return _refusal(req, error)
    instance_id = req.route_params.get("instance_id") or ""
    wanted = "json" if req.params.get("format") == "json" else "html"
    api_req = func.HttpRequest(
        method="GET",
        url=f"{_origin(req)}/api/candidates/{quote(instance_id, safe='')}/report",
        headers={},
        params={"format": wanted},
        route_params={"instance_id": instance_id},
        body=b"",
    )
    answer = await http_api.api_response(http_api.handle_get_report(api_req, client))
    if answer.status_code != 200:
        message = _api_error_message(answer)
        return html_response(
            message_page("No report", message, status_word="Not available"), answer.status_code
        )
    mimetype = "application/json" if wanted == "json" else "text/html"
    return func.HttpResponse(
        answer.get_body(),
        status_code=200,
        mimetype=mimetype,
        charset="utf-8",
        headers=_security_headers(REPORT_SECURITY_POLICY),
    )


# ----------------------------------------------------------------------------------------------------
# Actions


def _api_request(
    req: func.HttpRequest,
    method: str,
    path: str,
    route_params: dict[str, str],
    body: bytes = b"",
    content_type: str = "application/json",
) -> func.HttpRequest:
    headers = {"content-type": content_type, "content-length": str(len(body))} if body else {}
    return func.HttpRequest(
        method=method,
        url=f"{_origin(req)}/api/{path}",
        headers=headers,
        params={},
        route_params=route_params,
        body=body,
    )


def _api_error_message(answer: func.HttpResponse) -> str:
    try:
        error = json.loads(answer.get_body()).get("error") or {}
    except (ValueError, AttributeError):
        return f"the request failed (HTTP {answer.status_code})"
    message = str(error.get("message") or f"HTTP {answer.status_code}")
    fields = error.get("fields") or []
    details = "; ".join(
        f"{item.get('field')}: {item.get('message')}" for item in fields if isinstance(item, dict)
    )
    return f"{message} ({details})" if details else message


def _form(req: func.HttpRequest) -> dict[str, str]:
    return {key: str(value) for key, value in req.form.items()}


def _claim_form(form_id: str) -> bool:
    """Claim a form submission once across every instance of the app (a blob created only if absent)."""
    from shared.storage import upload_if_absent

    _, created = upload_if_absent(
        get_settings().artifacts_container,
        f"dashboard/forms/{form_id}",
        datetime.now(UTC).isoformat().encode(),
        content_type="text/plain",
    )
    return bool(created)


async def _guard_action(req: func.HttpRequest) -> tuple[Principal, dict[str, str]]:
    principal = authenticate(req)
    check_same_origin(req.headers, _origin(req))
    form = _form(req)
    check_csrf(cookie_value(req.headers.get("cookie"), csrf_cookie_name(_secure(req))), form.get(CSRF_FIELD))
    return principal, form


async def _run_action(
    req: func.HttpRequest,
    work: Callable[[Principal, dict[str, str]], Awaitable[func.HttpResponse]],
    back: str,
) -> func.HttpResponse:
    try:
        principal, form = await _guard_action(req)
    except DashboardAuthError as error:
        return html_response(message_page("Refused", error.message), error.status)
    form_id = form.get("form_id") or ""
    if form_id:
        try:
            uuid.UUID(form_id)
        except ValueError:
            return html_response(message_page("Refused", "the form id is malformed"), 400)
        if not await asyncio.to_thread(_claim_form, form_id):
            return redirect(_with_notice(back, "already_sent"))
    try:
        return await work(principal, form)
    except ActionFailedError as failure:
        body = message_page("Not done", failure.message, status_word="Not done")
        # What the person typed comes back with the refusal, so correcting it loses nothing.
        kept = [
            render(
                '<label for="kept-{key}">Your {key}, as you wrote it</label>'
                '<textarea id="kept-{key}" readonly rows="3">{value}</textarea>',
                key=key,
                value=form[key],
            )
            for key in KEPT_FIELDS
            if form.get(key, "").strip()
        ]
        back_link = render(
            '{kept}<p><a href="{back}">Back</a></p></main>',
            kept=Html("".join(kept)),
            back=_back_to(form, back),
        )
        return html_response(body.replace("</main>", back_link, 1), failure.status)


class ActionFailedError(Exception):
    """The API refused the action: its status and message are shown to the person who asked."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _with_notice(location: str, notice: str) -> str:
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}notice={notice}"


async def _api_call(work: Awaitable[func.HttpResponse]) -> dict[str, Any]:
    answer = await http_api.api_response(work)
    if answer.status_code >= 400:
        raise ActionFailedError(answer.status_code, _api_error_message(answer))
    body = json.loads(answer.get_body() or b"{}")
    return body if isinstance(body, dict) else {}


def _candidate_url(instance_id: str) -> str:
    return f"{BASE}/candidates/{quote(instance_id, safe='')}"


@bp.route(route="dashboard/candidates/{instance_id}/{action}", methods=["POST"], auth_level=DASHBOARD_AUTH)
@bp.durable_client_input(client_name="client")
async def dashboard_candidate_action(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Decide a review, withdraw or cancel a candidate, from a dashboard form."""
    instance_id = req.route_params.get("instance_id") or ""
    action = req.route_params.get("action") or ""
    referer_back = _candidate_url(instance_id)

    async def decide(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        decision = {"decision": form.get("decision") or "", "recruiter": principal.name[:200]}
        if form.get("note", "").strip():
            decision["note"] = form["note"].strip()
        await _send(client, req, instance_id, "RecruiterDecision", decision)
        LOGGER.info("dashboard: recruiter decision sent to %s", instance_id)
        return redirect(_with_notice(_back_to(form, referer_back), "decided"))

    async def withdraw(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        reason = form.get("reason", "").strip() or "withdrawn from the dashboard"
        await _send(client, req, instance_id, "CandidateWithdrew", {"reason": reason})
        return redirect(_with_notice(referer_back, "withdrawn"))

    async def cancel(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        body = json.dumps({"reason": f"cancelled from the dashboard by {principal.name}"[:500]}).encode()
        path = f"candidates/{quote(instance_id, safe='')}/cancel"
        api_req = _api_request(req, "POST", path, {"instance_id": instance_id}, body)
        await _api_call(http_api.handle_cancel(api_req, client))
        return redirect(_with_notice(referer_back, "cancelled"))

    actions = {"decision": decide, "withdraw": withdraw, "cancel": cancel}
    work = actions.get(action)
    if work is None:
        return html_response(message_page("Not found", "no such action"), 404)
    return await _run_action(req, work, referer_back)


def _back_to(form: dict[str, str], default: str) -> str:
    # Only the dashboard's own pages: a form field can never send the browser elsewhere.
    back = form.get("back") or ""
    return (
        back
        if (back == BASE or back.startswith(f"{BASE}/")) and "//" not in back and "\\" not in back
        else default
    )


async def _send(
    client: Any, req: func.HttpRequest, instance_id: str, event: str, body: dict[str, Any]
) -> None:
    path = f"candidates/{quote(instance_id, safe='')}/events/{event}"
    api_req = _api_request(
        req, "POST", path, {"instance_id": instance_id, "event_name": event}, json.dumps(body).encode()
    )
    await _api_call(http_api.handle_send_event(api_req, client))


def _multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"----hireflow-dashboard-{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{safe_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


UPLOAD_FIELDS = ("name", "email", "phone", "time_zone")


@bp.route(route="dashboard/actions/{action}", methods=["POST"], auth_level=DASHBOARD_AUTH)
@bp.durable_client_input(client_name="client")
async def dashboard_action(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Upload a resume, start a batch screening, or move the local clock, from a dashboard form."""
    action = req.route_params.get("action") or ""

    async def upload(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        job_id = form.get("job_id") or ""
        resume = req.files.get("resume")
        if resume is None or not resume.filename:
            raise ActionFailedError(400, "choose a PDF or DOCX resume to upload")
        content = resume.read(http_api.MAX_UPLOAD_BYTES + 1)
        fields = {key: form[key] for key in UPLOAD_FIELDS if form.get(key, "").strip()}
        body, content_type = _multipart(fields, "resume", resume.filename, content)
        path = f"jobs/{quote(job_id, safe='')}/candidates"
        api_req = _api_request(req, "POST", path, {"job_id": job_id}, body, content_type)
        answer = await _api_call(http_api.handle_submit(api_req, client))
        notice = "submitted" if answer.get("created") else "exists"
        return redirect(_with_notice(_candidate_url(str(answer["id"])), notice))

    async def screening(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        job_id = form.get("job_id") or ""
        request: dict[str, Any] = {}
        for key in ("shortlist_size", "max_concurrency"):
            value = form.get(key, "").strip()
            if value:
                if not value.isdigit():
                    raise ActionFailedError(400, f"{key.replace('_', ' ')} must be a whole number")
                request[key] = int(value)
        path = f"jobs/{quote(job_id, safe='')}/screenings"
        api_req = _api_request(req, "POST", path, {"job_id": job_id}, json.dumps(request).encode())
        answer = await _api_call(http_api.handle_start_screening(api_req, client))
        target = f"{BASE}/screenings/{quote(str(answer['id']), safe='')}"
        return redirect(_with_notice(target, "screening_started"))

    async def clock(principal: Principal, form: dict[str, str]) -> func.HttpResponse:
        if not get_settings().is_local:
            raise ActionFailedError(404, "the clock is controlled only on a local host")
        move: dict[str, str] = {"to": "next"} if form.get("to") == "next" else {"by": form.get("by") or "1d"}
        try:
            await asyncio.to_thread(_http_json, _clock_url(req, "/advance"), move)
        except HTTPError as error:
            # The host says why (no timer pending, a bad duration): pass its words on.
            raise ActionFailedError(error.code, f"the clock did not move: {_host_error(error)}") from error
        except (URLError, OSError, ValueError) as error:
            raise ActionFailedError(502, f"the host's clock did not move: {error}") from error
        return redirect(_with_notice(_back_to(form, BASE), "clock"))

    actions = {"upload": upload, "screening": screening, "clock": clock}
    work = actions.get(action)
    if work is None:
        return html_response(message_page("Not found", "no such action"), 404)
    return await _run_action(req, work, f"{BASE}/{'upload' if action == 'upload' else 'screenings'}")
