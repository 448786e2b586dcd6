"""POST /admin/functions/{name}: invoking non-HTTP functions by hand, as Core Tools does."""

import json

from tests.devhost.host.support import InProcessHost, call, wait_until


def test_timer_function_runs_with_a_timer_request(events_host: InProcessHost) -> None:
    calls = events_host.module_value("nightly", "TIMER_CALLS")
    before = len(calls)
    reply = call(
        "POST",
        events_host.url("/admin/functions/nightly"),
        body=json.dumps({"input": None}),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 202
    wait_until(lambda: len(calls) > before, what="timer function to run")
    assert calls[-1] is False


def test_queue_function_receives_the_input_as_message_body(events_host: InProcessHost) -> None:
    reply = call("POST", events_host.url("/admin/functions/on_message"), body=json.dumps({"input": "job-17"}))
    assert reply.status == 202
    messages = events_host.module_value("on_message", "QUEUE_MESSAGES")
    wait_until(lambda: "job-17" in messages, what="queue function to run")


def test_event_grid_function_receives_the_input_event(events_host: InProcessHost) -> None:
    event = {"id": "admin-1", "eventType": "Manual.Test", "subject": "s", "data": {"by": "admin"}}
    assert (
        call("POST", events_host.url("/admin/functions/on_event"), body=json.dumps({"input": event})).status
        == 202
    )
    events = events_host.module_value("on_event", "RECEIVED_EVENTS")
    wait_until(lambda: any(e["id"] == "admin-1" for e in events), what="event function to run")


def test_event_grid_function_receives_a_cloud_event_input_as_a_cloud_event(
    events_host: InProcessHost,
) -> None:
    event = {
        "specversion": "1.0",
        "id": "admin-ce-1",
        "type": "Manual.Test",
        "source": "/manual",
        "data": {"by": "admin"},
    }
    reply = call(
        "POST", events_host.url("/admin/functions/on_cloud_event"), body=json.dumps({"input": event})
    )

    assert reply.status == 202
    events = events_host.module_value("on_cloud_event", "RECEIVED_CLOUD_EVENTS")
    seen = wait_until(
        lambda: next((e for e in events if e["id"] == "admin-ce-1"), None), what="cloud event function to run"
    )
    assert (seen["class"], seen["source"], seen["data"]) == ("CloudEvent", "/manual", {"by": "admin"})


def test_unknown_function_is_404(events_host: InProcessHost) -> None:
    assert call("POST", events_host.url("/admin/functions/missing"), body="{}").status == 404


def test_durable_functions_are_not_invocable_by_hand(events_host: InProcessHost) -> None:
    assert call("POST", events_host.url("/admin/functions/echo_activity"), body='{"input": 1}').status == 400


def test_bad_json_is_400(events_host: InProcessHost) -> None:
    assert call("POST", events_host.url("/admin/functions/nightly"), body="{oops").status == 400


def test_host_status_reports_running(events_host: InProcessHost) -> None:
    reply = call("GET", events_host.url("/admin/host/status"))
    assert (reply.status, reply.json()["state"]) == (200, "Running")


def test_function_listing_names_every_trigger(events_host: InProcessHost) -> None:
    listing = {
        entry["name"]: entry["trigger"] for entry in call("GET", events_host.url("/admin/functions")).json()
    }
    assert listing["nightly"] == "timerTrigger"
    assert listing["echo_orchestrator"] == "orchestrationTrigger"
