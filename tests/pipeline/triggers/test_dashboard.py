"""The dashboard's functions with real ``HttpRequest`` objects, devhost's engine, the SDK client and Azurite.

Sign-in, the session and CSRF guards on every action, escaping of hostile values on every page, a form sent
twice acting once, assets, and the timeline read back from a real orchestration history.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest

from orchestrators.identity import batch_child_instance_id, candidate_instance_id
from shared.settings import reset_settings
from tests.pipeline.triggers.conftest import JOB_ID, ORIGIN, TriggerHarness
from triggers.dashboard_auth import CSRF_COOKIE, SESSION_COOKIE, mint_session, mint_sign_in_ticket
from triggers.dashboard_data import CandidateRow, build_timeline, filter_rows, intake_label
from triggers.views import InstanceSnapshot

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
DASHBOARD_SECRET = "trigger-tests-dashboard-signing-secret"
"""What ``DASHBOARD_SIGNING_SECRET`` holds here: the dashboard signs with it, never with the ACS one."""


@pytest.fixture(autouse=True)
def _dashboard_signing_secret(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # The trigger harness sets the pipeline's settings; the dashboard's own secret is added on top.
    monkeypatch.setenv("DASHBOARD_SIGNING_SECRET", DASHBOARD_SECRET)
    reset_settings()


HOSTILE = "<script>alert(1)</script>"
CSRF = "csrf-token-of-this-browser"


def _signed_in_headers(csrf: str | None = CSRF) -> dict[str, str]:
    cookies = [f"{SESSION_COOKIE}={mint_session(DASHBOARD_SECRET)}"]
    if csrf:
        cookies.append(f"{CSRF_COOKIE}={csrf}")
    return {"cookie": "; ".join(cookies)}


def _request(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    route: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> func.HttpRequest:
    body = urlencode(form).encode() if form is not None else b""
    all_headers = dict(headers or {})
    if form is not None:
        all_headers["content-type"] = "application/x-www-form-urlencoded"
        all_headers["content-length"] = str(len(body))
    return func.HttpRequest(
        method=method,
        url=f"{ORIGIN}/api/{path}",
        headers=all_headers,
        params=params or {},
        route_params=route or {},
        body=body,
    )


def _call(h: TriggerHarness, name: str, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = h.call(name, req=request)
    return response


def _page(h: TriggerHarness, page: str, item: str | None = None, **params: str) -> func.HttpResponse:
    route = {"page": page} if item is None else {"page": page, "item": item}
    path = f"dashboard/{page}" + (f"/{item}" if item else "")
    return _call(
        h, "dashboard_page", _request("GET", path, headers=_signed_in_headers(), route=route, params=params)
    )


def _hostile_candidate(h: TriggerHarness) -> str:
    """A candidate named with a script tag, started through the HTTP API and left awaiting review."""
    h.upload_resume(f"{JOB_ID}/hostile.pdf")
    response = h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body={"name": HOSTILE, "resume_blob": f"{JOB_ID}/hostile.pdf", "phone": "+15550101010"},
        route={"job_id": JOB_ID},
    )
    assert response.status_code == 202, response.get_body()
    instance_id = candidate_instance_id(JOB_ID, f"{JOB_ID}/hostile.pdf")
    h.wait_for(lambda: h.stage(instance_id) == "awaiting_review", what="the review")
    return instance_id


def _decide(h: TriggerHarness, instance_id: str, form: dict[str, str], **headers: str) -> func.HttpResponse:
    request = _request(
        "POST",
        f"dashboard/candidates/{instance_id}/decision",
        headers={**_signed_in_headers(), "origin": ORIGIN, **headers},
        route={"instance_id": instance_id, "action": "decision"},
        form=form,
    )
    return _call(h, "dashboard_candidate_action", request)


def _raised(h: TriggerHarness, instance_id: str, name: str) -> int:
    return sum(
        1
        for event in h.host.history(instance_id)
        if event.get("EventType") in (15, "EventRaised") and event.get("Name") == name
    )


# ----------------------------------------------------------------------------------------------------


def test_without_a_session_every_page_is_refused(harness: Harness) -> None:
    h = harness()
    home = _call(h, "dashboard_home", _request("GET", "dashboard"))
    page = _call(h, "dashboard_page", _request("GET", "dashboard/reviews", route={"page": "reviews"}))
    forged = _call(
        h,
        "dashboard_home",
        _request(
            "GET", "dashboard", headers={"cookie": f"{SESSION_COOKIE}={mint_session('not-the-secret')}"}
        ),
    )

    assert home.status_code == 401
    assert page.status_code == 401
    assert forged.status_code == 401
    assert b"sign-in link" in home.get_body()


def test_the_sign_in_ticket_becomes_a_strict_http_only_cookie_and_leaves_the_url(harness: Harness) -> None:
    h = harness()
    ticket = mint_sign_in_ticket(DASHBOARD_SECRET)

    first = _call(h, "dashboard_home", _request("GET", "dashboard", params={"ticket": ticket}))
    again = _call(h, "dashboard_home", _request("GET", "dashboard", params={"ticket": ticket}))

    assert first.status_code == 303
    assert first.headers["Location"] == "/api/dashboard?notice=signed_in"
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=v1.")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/api/dashboard" in cookie
    assert again.status_code == 401
    assert b"used already" in again.get_body()


def test_every_page_shows_a_hostile_name_as_text_under_a_strict_policy(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    instance_id = _hostile_candidate(h)

    pages = {
        "job": _page(h, "jobs", JOB_ID),
        "reviews": _page(h, "reviews"),
        "candidate": _page(h, "candidates", instance_id),
    }
    for name, response in pages.items():
        body = response.get_body().decode()
        assert response.status_code == 200, name
        assert HOSTILE not in body, name
        assert html.escape(HOSTILE) in body, name
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "<script>" not in body.replace(
            '<script src="/api/dashboard/assets/app.js" defer></script>', ""
        )
    home = (
        _call(h, "dashboard_home", _request("GET", "dashboard", headers=_signed_in_headers()))
        .get_body()
        .decode()
    )
    assert "1 candidate(s) awaiting review" in home
    assert '<td data-label="Awaiting review">1</td>' in home


def test_the_first_page_sets_the_csrf_cookie_its_forms_carry(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    _hostile_candidate(h)
    request = _request(
        "GET", "dashboard/reviews", headers=_signed_in_headers(csrf=None), route={"page": "reviews"}
    )

    response = _call(h, "dashboard_page", request)

    cookie = response.headers["Set-Cookie"]
    token = re.match(rf"{CSRF_COOKIE}=([^;]+);", cookie)
    assert token, cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert f'name="csrf_token" value="{token.group(1)}"' in response.get_body().decode()


def test_a_decision_needs_the_csrf_token_and_the_same_origin(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    instance_id = _hostile_candidate(h)

    no_token = _decide(h, instance_id, {"decision": "advance"})
    wrong_token = _decide(h, instance_id, {"decision": "advance", "csrf_token": "guessed"})
    other_site = _decide(
        h, instance_id, {"decision": "advance", "csrf_token": CSRF}, origin="http://evil.example"
    )
    no_session = _call(
        h,
        "dashboard_candidate_action",
        _request(
            "POST",
            f"dashboard/candidates/{instance_id}/decision",
            headers={"cookie": f"{CSRF_COOKIE}={CSRF}", "origin": ORIGIN},
            route={"instance_id": instance_id, "action": "decision"},
            form={"decision": "advance", "csrf_token": CSRF},
        ),
    )

    assert [r.status_code for r in (no_token, wrong_token, other_site, no_session)] == [403, 403, 403, 401]
    assert _raised(h, instance_id, "RecruiterDecision") == 0
    assert h.stage(instance_id) == "awaiting_review"


def test_a_decision_form_sent_twice_is_acted_on_once(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    instance_id = _hostile_candidate(h)
    form = {
        "decision": "reject",
        "note": 'not "yet" <b>sorry</b>',
        "csrf_token": CSRF,
        "form_id": "5f0c1a52-7d1e-4d39-9a52-2f4b1e6c0e11",
        "back": "/api/dashboard/reviews",
    }

    first = _decide(h, instance_id, form)
    second = _decide(h, instance_id, form)

    assert first.status_code == 303
    assert first.headers["Location"] == "/api/dashboard/reviews?notice=decided"
    assert second.status_code == 303
    assert second.headers["Location"].endswith("notice=already_sent")
    h.wait_for(lambda: h.stage(instance_id) == "rejected", what="the rejection")
    assert _raised(h, instance_id, "RecruiterDecision") == 1
    body = _page(h, "candidates", instance_id).get_body().decode()
    assert "reject by <bdi>local recruiter</bdi>" in body
    assert "<bdi>not &quot;yet&quot; &lt;b&gt;sorry&lt;/b&gt;</bdi>" in body


def test_a_refused_action_says_why_and_gives_back_what_was_typed(harness: Harness) -> None:
    h = harness(decision="advance")
    h.upload_resume(f"{JOB_ID}/done.pdf")
    h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body={"name": "Done Already", "resume_blob": f"{JOB_ID}/done.pdf"},
        route={"job_id": JOB_ID},
    )
    instance_id = candidate_instance_id(JOB_ID, f"{JOB_ID}/done.pdf")
    h.wait_for(lambda: h.stage(instance_id) not in (None, "received", "extracting"), what="a stage")

    response = _decide(h, instance_id, {"decision": "advance", "note": "my careful note", "csrf_token": CSRF})

    body = response.get_body().decode()
    assert response.status_code in (409, 400)
    assert "my careful note" in body
    assert _raised(h, instance_id, "RecruiterDecision") == 0


def test_only_the_bundled_assets_are_served(harness: Harness) -> None:
    h = harness()
    serve = h.function("dashboard_asset")

    def asset(name: str) -> Any:
        return serve(req=_request("GET", f"dashboard/assets/{name}", route={"name": name}))

    script, style = asset("app.js"), asset("app.css")
    assert script.status_code == 200
    assert script.mimetype == "text/javascript"
    assert b"DOMParser" in script.get_body()
    assert style.mimetype == "text/css"
    for name in ("../function_app.py", "app.js.map", "..%2Fhost.json", ""):
        assert asset(name).status_code == 404, name


# ----------------------------------------------------------------------------------------------------
# The timeline


def test_a_retried_activity_is_one_step_with_each_attempt_and_its_error() -> None:
    history = [
        {
            "EventType": "ExecutionStarted",
            "EventId": -1,
            "Timestamp": "t0",
            "FunctionName": "candidate_pipeline",
        },
        {
            "EventType": "TaskScheduled",
            "EventId": 0,
            "Timestamp": "t1",
            "FunctionName": "extract_resume_text",
        },
        {
            "EventType": "TaskFailed",
            "EventId": -1,
            "Timestamp": "t2",
            "TaskScheduledId": 0,
            "Reason": "[error:t] 503",
        },
        {"EventType": "TimerCreated", "EventId": 1, "Timestamp": "t2", "FireAt": "t3"},
        {"EventType": "TimerFired", "EventId": -1, "Timestamp": "t3", "TimerId": 1},
        {
            "EventType": "TaskScheduled",
            "EventId": 2,
            "Timestamp": "t3",
            "FunctionName": "extract_resume_text",
        },
        {
            "EventType": "TaskCompleted",
            "EventId": -1,
            "Timestamp": "t4",
            "TaskScheduledId": 2,
            "Result": "{}",
        },
        {"EventType": "TimerCreated", "EventId": 3, "Timestamp": "t4", "FireAt": "t9"},
        {
            "EventType": "EventRaised",
            "EventId": -1,
            "Timestamp": "t5",
            "Name": "RecruiterDecision",
            "Input": "{}",
        },
        {
            "EventType": "ExecutionCompleted",
            "EventId": 4,
            "Timestamp": "t6",
            "OrchestrationStatus": "Completed",
        },
    ]

    steps = build_timeline(history)

    assert [(s.kind, s.name, s.state) for s in steps] == [
        ("start", "candidate_pipeline", "completed"),
        ("activity", "extract_resume_text", "completed"),
        ("timer", "durable timer", "unneeded"),
        ("event", "RecruiterDecision", "received"),
        ("end", "completed", "completed"),
    ]
    extract = steps[1]
    assert [(a.started, a.ended, a.error) for a in extract.attempts] == [
        ("t1", "t2", "[error:t] 503"),
        ("t3", "t4", None),
    ]


def test_azures_condensed_history_reads_the_same() -> None:
    history = [
        {"EventType": "ExecutionStarted", "Timestamp": "t0", "FunctionName": "candidate_pipeline"},
        {"EventType": "TaskCompleted", "Timestamp": "t2", "ScheduledTime": "t1", "FunctionName": "load_job"},
        {
            "EventType": "TaskFailed",
            "Timestamp": "t4",
            "ScheduledTime": "t3",
            "FunctionName": "screen_candidate",
            "Reason": "boom",
        },
        {
            "EventType": "ExecutionFailed",
            "Timestamp": "t5",
            "OrchestrationStatus": "Failed",
            "Reason": "boom",
        },
    ]

    steps = build_timeline(history)

    assert [(s.name, s.started, s.ended, s.state) for s in steps[1:3]] == [
        ("load_job", "t1", "t2", "completed"),
        ("screen_candidate", "t3", "t4", "failed"),
    ]
    assert steps[-1].state == "failed"
    assert steps[-1].detail == "boom"


def test_an_entity_call_is_one_step_from_the_message_to_its_response() -> None:
    request_id = "@response:5c8fba5e-ae17-59bf-936c-93250249c64e"
    reserve = {"id": request_id, "op": "reserve", "signal": False, "input": {"tokens": 900}}
    settle = {"id": "@response:0d1f2b9a-3b7e-5a4c-9d7e-1c2b3a4d5e6f", "op": "settle", "signal": True}
    history = [
        {"EventType": "ExecutionStarted", "Timestamp": "t0", "FunctionName": "candidate_pipeline"},
        {
            "EventType": "EventSent",
            "EventId": 0,
            "Timestamp": "t1",
            "InstanceId": "@openai_token_budget@gpt-4o-mini",
            "Name": "op",
            "Input": json.dumps(reserve),
        },
        {"EventType": "EventRaised", "Timestamp": "t2", "Name": request_id, "Input": '{"granted": true}'},
        {"EventType": "TaskScheduled", "EventId": 1, "Timestamp": "t2", "FunctionName": "screen_candidate"},
        {"EventType": "TaskCompleted", "Timestamp": "t3", "TaskScheduledId": 1, "Result": "{}"},
        {
            "EventType": "EventSent",
            "EventId": 2,
            "Timestamp": "t3",
            "InstanceId": "@openai_token_budget@gpt-4o-mini",
            "Name": "op",
            "Input": json.dumps(settle),
        },
        # A message to an orchestration (not an entity) stays what it was.
        {"EventType": "EventRaised", "Timestamp": "t4", "Name": "RecruiterDecision", "Input": "{}"},
    ]

    steps = build_timeline(history)

    assert [(s.kind, s.name, s.started, s.ended, s.state) for s in steps] == [
        ("start", "candidate_pipeline", "t0", "t0", "completed"),
        ("entity", "openai_token_budget.reserve (gpt-4o-mini)", "t1", "t2", "completed"),
        ("activity", "screen_candidate", "t2", "t3", "completed"),
        ("entity", "openai_token_budget.settle (gpt-4o-mini)", "t3", "t3", "signalled"),
        ("event", "RecruiterDecision", "t4", "t4", "received"),
    ]
    assert steps[1].result == '{"granted": true}'


def test_an_entity_response_without_a_readable_request_id_still_closes_its_call() -> None:
    # A history whose message body is not shown: the response, raised under a bare GUID, answers the call.
    history = [
        {"EventType": "EventSent", "Timestamp": "t1", "InstanceId": "@budget@chat", "Name": "reserve"},
        {"EventType": "EventRaised", "Timestamp": "t2", "Name": "9b2f6c1e-7d4a-4e0b-8f3c-2a1d0e9f8b7c"},
        {"EventType": "EventRaised", "Timestamp": "t3", "Name": "9b2f6c1e-7d4a-4e0b-8f3c-2a1d0e9f8b7d"},
    ]

    steps = build_timeline(history)

    assert [(s.kind, s.name, s.ended, s.state) for s in steps] == [
        ("entity", "budget.reserve (chat)", "t2", "completed"),
        # Nothing was waiting for this one: an event, shown as raised.
        ("event", "9b2f6c1e-7d4a-4e0b-8f3c-2a1d0e9f8b7d", "t3", "received"),
    ]


def test_a_real_history_gives_the_pipelines_steps_in_order(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    instance_id = _hostile_candidate(h)

    steps = build_timeline(h.host.history(instance_id))

    names = [step.name for step in steps if step.kind == "activity"]
    assert names[:3] == ["extract_resume_text", "parse_candidate_profile", "screen_candidate"]
    assert any(step.kind == "timer" and step.state == "pending" for step in steps), "the review deadline"


def test_filters_treat_a_failed_instance_as_failed_not_running() -> None:
    def row(instance_id: str, stage: str, runtime: str, outcome: str | None) -> CandidateRow:
        view = {"id": instance_id, "stage": stage, "runtime_status": runtime, "outcome": outcome}
        return CandidateRow(view=view, name=instance_id, intake="upload", resume=None, stage_updated_at=None)

    rows = [
        row("a", "awaiting_review", "Running", None),
        row("b", "failed", "Failed", None),
        row("c", "completed", "Completed", "interviewed"),
    ]

    assert [r.id for r in filter_rows(rows, stage=None, outcome="running")] == ["a"]
    assert [r.id for r in filter_rows(rows, stage=None, outcome="failed")] == ["b"]
    assert [r.id for r in filter_rows(rows, stage="completed", outcome="interviewed")] == ["c"]
    assert [r.id for r in filter_rows(rows, stage="awaiting_review", outcome="interviewed")] == []


def test_an_interview_that_ended_early_is_its_own_outcome_in_the_list_and_its_filter() -> None:
    from triggers.dashboard_html import job_body

    def row(instance_id: str, outcome: str) -> CandidateRow:
        view = {"id": instance_id, "stage": "completed", "runtime_status": "Completed", "outcome": outcome}
        return CandidateRow(view=view, name=instance_id, intake="upload", resume=None, stage_updated_at=None)

    rows = [row("whole", "interviewed"), row("cut", "interview_incomplete")]

    assert [r.id for r in filter_rows(rows, stage=None, outcome="interviewed")] == ["whole"]
    assert [r.id for r in filter_rows(rows, stage=None, outcome="interview_incomplete")] == ["cut"]
    page = str(job_body(JOB_ID, rows, None, "interview_incomplete"))
    assert '<option value="interview_incomplete" selected>interview incomplete</option>' in page
    cut_row = page.split('data-candidate="cut"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-label="Outcome">interview incomplete</td>' in cut_row


def _action(h: TriggerHarness, instance_id: str, action: str, form: dict[str, str]) -> func.HttpResponse:
    request = _request(
        "POST",
        f"dashboard/candidates/{instance_id}/{action}",
        headers={**_signed_in_headers(), "origin": ORIGIN},
        route={"instance_id": instance_id, "action": action},
        form={"csrf_token": CSRF, **form},
    )
    return _call(h, "dashboard_candidate_action", request)


def test_withdraw_and_cancel_reach_the_pipeline(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    withdrawn = _hostile_candidate(h)
    h.upload_resume(f"{JOB_ID}/second.pdf")
    h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body={"name": "Second", "resume_blob": f"{JOB_ID}/second.pdf"},
        route={"job_id": JOB_ID},
    )
    cancelled = candidate_instance_id(JOB_ID, f"{JOB_ID}/second.pdf")
    h.wait_for(lambda: h.stage(cancelled) == "awaiting_review", what="the second review")

    withdraw = _action(h, withdrawn, "withdraw", {"reason": "took another offer"})
    cancel = _action(h, cancelled, "cancel", {})

    assert withdraw.status_code == 303
    assert withdraw.headers["Location"].endswith("notice=withdrawn")
    assert cancel.status_code == 303
    assert cancel.headers["Location"].endswith("notice=cancelled")
    h.wait_for(lambda: h.stage(withdrawn) == "withdrawn", what="the withdrawal")
    assert _raised(h, withdrawn, "CandidateWithdrew") == 1
    h.wait_for(
        lambda: h.host.engine.status(cancelled, show_input=False)["runtimeStatus"] == "Terminated",
        what="the cancellation",
    )
    page = _page(h, "candidates", cancelled).get_body().decode()
    assert "cancelled from the dashboard by local recruiter" in page


def test_an_upload_of_the_wrong_type_is_refused_with_the_apis_words(harness: Harness) -> None:
    h = harness()
    fields = {"csrf_token": CSRF, "job_id": JOB_ID, "name": "Ada"}
    request = _upload_request(fields, "resume.txt", b"plain text")

    response = _call(h, "dashboard_action", request)

    assert response.status_code == 415
    page = response.get_body().decode()
    assert "resume type &#x27;.txt&#x27; is not supported" in page
    assert ">Ada</textarea>" in page  # what was typed comes back


def _upload_body(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "dashboardtestboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _upload_request(fields: dict[str, str], filename: str, data: bytes) -> func.HttpRequest:
    """The upload form's POST, signed in, from the dashboard's own origin."""
    body, content_type = _upload_body(fields, filename, data)
    return func.HttpRequest(
        method="POST",
        url=f"{ORIGIN}/api/dashboard/actions/upload",
        headers={
            **_signed_in_headers(),
            "origin": ORIGIN,
            "content-type": content_type,
            "content-length": str(len(body)),
        },
        params={},
        route_params={"action": "upload"},
        body=body,
    )


def test_a_failed_candidate_shows_its_reason_and_retries_show_their_errors(harness: Harness) -> None:
    from shared.errors import ErrorCode
    from tests.pipeline.orchestrators.fakes import PipelineFakes, failure, transient_then

    h = harness()
    h.fakes.overrides["extract_resume_text"] = lambda _: failure(ErrorCode.CORRUPT_DOCUMENT, "not a PDF")
    h.upload_resume(f"{JOB_ID}/bad.pdf")
    h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body={"name": "Bad File", "resume_blob": f"{JOB_ID}/bad.pdf"},
        route={"job_id": JOB_ID},
    )
    failed = candidate_instance_id(JOB_ID, f"{JOB_ID}/bad.pdf")
    h.host.run_until_complete(failed)

    h.fakes.overrides["extract_resume_text"] = transient_then(2, PipelineFakes._extract)
    h.upload_resume(f"{JOB_ID}/flaky.pdf")
    h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body={"name": "Flaky Storage", "resume_blob": f"{JOB_ID}/flaky.pdf"},
        route={"job_id": JOB_ID},
    )
    retried = candidate_instance_id(JOB_ID, f"{JOB_ID}/flaky.pdf")
    h.host.run_until_complete(retried)

    failed_page = _page(h, "candidates", failed).get_body().decode()
    retried_page = _page(h, "candidates", retried).get_body().decode()
    job_page = _page(h, "jobs", JOB_ID, outcome="failed").get_body().decode()

    assert '<p class="failure" role="alert"><strong>Reason:</strong> corrupt_document:' in failed_page
    assert "not a PDF" in failed_page
    assert "Bad File" in job_page
    assert "Flaky Storage" not in job_page
    extract = retried_page.split("<strong>extract_resume_text</strong>", 1)[1].split("</li></ol></li>", 1)[0]
    assert extract.count("<li>attempt ") == 3
    assert extract.count("fake 503") == 2


# ----------------------------------------------------------------------------------------------------
# Paging and ids: the dashboard reads through triggers.durable, as the API does


def test_the_job_page_lists_candidates_beyond_the_hosts_first_page(harness: Harness) -> None:
    from triggers.durable import HOST_PAGE_SIZE

    h = harness()
    count = HOST_PAGE_SIZE + 23
    ids = [f"{JOB_ID}.{index:024x}" for index in range(count)]
    for instance_id in ids:
        # An empty input fails each pipeline at its first episode: many instances, cheaply.
        h.host.start("candidate_pipeline", {}, instance_id=instance_id)
    h.host.run_until_idle()

    job_page = _page(h, "jobs", JOB_ID).get_body().decode()
    home = _call(h, "dashboard_home", _request("GET", "dashboard", headers=_signed_in_headers()))

    listed = re.findall(r'data-candidate="([^"]+)"', job_page)
    assert sorted(listed) == ids
    assert f'<td data-label="Finished">{count}</td>' in home.get_body().decode()


def test_an_id_with_query_characters_is_not_read_as_another_candidate(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    instance_id = _hostile_candidate(h)

    smuggled = _page(h, "candidates", f"{instance_id}?showHistory=true")
    fragment = _page(h, "candidates", f"{instance_id}#top")

    assert smuggled.status_code == 404
    assert fragment.status_code == 404
    assert _page(h, "candidates", instance_id).status_code == 200


# ----------------------------------------------------------------------------------------------------
# The intake path: recorded by each start path, read back on the pages


def _snapshot_with(instance_id: str, pipeline_input: Any) -> InstanceSnapshot:
    return InstanceSnapshot(
        instance_id=instance_id,
        name="candidate_pipeline",
        runtime_status="Running",
        created_time=None,
        last_updated_time=None,
        custom_status=None,
        output=None,
        input=pipeline_input,
    )


def test_the_intake_label_reads_the_recorded_path_and_never_guesses_from_the_name() -> None:
    uploaded_name = {"job_id": JOB_ID, "resume": {"container": "r", "name": f"{JOB_ID}/{'a' * 32}.pdf"}}
    own = f"{JOB_ID}.{'1' * 24}"
    child = f"{JOB_ID}.batch-{'2' * 24}.{'3' * 24}"

    assert intake_label(_snapshot_with(own, {**uploaded_name, "intake": "event_grid"})) == "Event Grid"
    assert intake_label(_snapshot_with(own, {**uploaded_name, "intake": "blob_trigger"})) == "blob trigger"
    # Before the field existed: the hash-like name no longer passes for an upload.
    assert intake_label(_snapshot_with(own, uploaded_name)) == "not recorded"
    # A batch names its children: the id says where they came from.
    assert intake_label(_snapshot_with(child, uploaded_name)) == "batch screening"
    # A path added later shows as recorded rather than failing the page.
    assert intake_label(_snapshot_with(own, {**uploaded_name, "intake": "queue"})) == "queue"


def test_the_pages_show_the_intake_each_path_recorded(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.55)
    by_json = _hostile_candidate(h)
    uploaded = _call(
        h,
        "dashboard_action",
        _upload_request(
            {"csrf_token": CSRF, "job_id": JOB_ID, "name": "Uma Upload"}, "uma.pdf", b"%PDF-1.4 uma"
        ),
    )
    assert uploaded.status_code == 303, uploaded.get_body()
    uploaded_id = uploaded.headers["Location"].split("/candidates/", 1)[1].split("?", 1)[0]
    screening = h.http(
        "start_screening",
        "POST",
        f"jobs/{JOB_ID}/screenings",
        body={"resume_blobs": [f"{JOB_ID}/hostile.pdf"]},
        route={"job_id": JOB_ID},
    )
    assert screening.status_code == 202, screening.get_body()
    batch_id = json.loads(screening.get_body())["id"]
    child = batch_child_instance_id(batch_id, f"{JOB_ID}/hostile.pdf")
    h.wait_for(lambda: h.exists(child), what="the batch's child")

    job_page = _page(h, "jobs", JOB_ID).get_body().decode()

    def intake_cell(instance_id: str) -> str:
        row = job_page.split(f'data-candidate="{instance_id}"', 1)[1].split("</tr>", 1)[0]
        found = re.search(r'<td data-label="Intake">([^<]*)</td>', row)
        assert found, row
        return found.group(1)

    assert intake_cell(by_json) == "HTTP (JSON)"
    assert intake_cell(uploaded_id) == "upload"
    assert "<dt>Intake</dt><dd>upload</dd>" in _page(h, "candidates", uploaded_id).get_body().decode()
    assert "<dt>Intake</dt><dd>batch screening</dd>" in _page(h, "candidates", child).get_body().decode()
