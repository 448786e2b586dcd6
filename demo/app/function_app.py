# mypy: disable-error-code="untyped-decorator,no-any-return"
# (the Functions SDK decorators and DurableOrchestrationClient are untyped)
"""A small Durable Functions app for the demo: screen an application, wait, interview, summarise.

``POST /api/applications`` starts ``screen_application`` with ``{"candidate": str, "years": int}``. The
orchestrator chains activities (``parse_application`` → ``score_application`` → ``write_summary``), waits out
a one-day cooling-off durable timer, then waits for the ``InterviewDone`` external event
(``{"passed": bool}``). Its custom status carries ``{"stage": ...}`` at every step so a caller can follow it.
"""

from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

COOLING_OFF = timedelta(days=1)


@app.route(route="applications", methods=["POST"])
@app.durable_client_input(client_name="client")
async def submit_application(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Start one screening and answer with the status URLs."""
    instance_id = await client.start_new("screen_application", None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def screen_application(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Screen one application; deterministic: all time comes from the context."""
    application: dict[str, Any] = context.get_input()
    context.set_custom_status({"stage": "parsing"})
    profile = yield context.call_activity("parse_application", application)
    context.set_custom_status({"stage": "scoring"})
    score = yield context.call_activity("score_application", profile)
    context.set_custom_status({"stage": "cooling_off", "score": score})
    yield context.create_timer(context.current_utc_datetime + COOLING_OFF)
    context.set_custom_status({"stage": "awaiting_interview", "score": score})
    interview = yield context.wait_for_external_event("InterviewDone")
    context.set_custom_status({"stage": "summarising", "score": score})
    summary = yield context.call_activity(
        "write_summary", {"profile": profile, "score": score, "interview": interview}
    )
    context.set_custom_status({"stage": "done", "score": score})
    return summary


@app.activity_trigger(input_name="application")
def parse_application(application: dict[str, Any]) -> dict[str, Any]:
    """Normalise the submitted application."""
    return {
        "candidate": str(application["candidate"]).strip().title(),
        "years": int(application.get("years", 0)),
    }


@app.activity_trigger(input_name="profile")
def score_application(profile: dict[str, Any]) -> int:
    """Score experience (a toy rule), capped at 100."""
    return min(100, 40 + 10 * int(profile["years"]))


@app.activity_trigger(input_name="facts")
def write_summary(facts: dict[str, Any]) -> dict[str, Any]:
    """Decide from the score and the interview outcome."""
    passed = bool(facts["interview"].get("passed"))
    decision = "offer" if passed and facts["score"] >= 60 else "decline"
    return {"candidate": facts["profile"]["candidate"], "score": facts["score"], "decision": decision}
