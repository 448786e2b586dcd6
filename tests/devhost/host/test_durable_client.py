"""Client functions (HTTP triggers with a durableClient binding) drive the real DurableOrchestrationClient."""

import json
import uuid

from tests.devhost.host.support import InProcessHost, call, wait_until


def status_of(host: InProcessHost, instance_id: str) -> dict[str, object]:
    reply = call("GET", host.url(f"/api/status/{instance_id}"))
    assert reply.status == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_start_new_returns_check_status_response(http_host: InProcessHost) -> None:
    reply = call("POST", http_host.url("/api/orchestrators/greet"), body='"Ada"')
    assert reply.status == 202
    payload = reply.json()
    assert payload["statusQueryGetUri"].startswith(http_host.base_url + "/runtime/webhooks/durabletask/")
    assert reply.headers["Location"] == payload["statusQueryGetUri"]
    assert {"id", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri"} <= payload.keys()


def test_status_query_uri_reports_the_output(http_host: InProcessHost) -> None:
    payload = call("POST", http_host.url("/api/orchestrators/greet"), body='"Grace"').json()

    def completed() -> object:
        status = call("GET", payload["statusQueryGetUri"]).json()
        return status if status["runtimeStatus"] == "Completed" else None

    assert wait_until(completed, what="greet to complete")["output"] == "Hello, Grace!"


def test_start_with_explicit_instance_id(http_host: InProcessHost) -> None:
    instance_id = f"explicit-{uuid.uuid4().hex[:8]}"
    reply = call("POST", http_host.url(f"/api/orchestrators/greet/{instance_id}"), body='"Linus"')
    assert reply.json()["id"] == instance_id


def test_wait_for_completion_returns_the_output(http_host: InProcessHost) -> None:
    reply = call("POST", http_host.url("/api/run/greet"), body='"Barbara"')
    # The SDK sends a string output as the raw body (not JSON-encoded).
    assert (reply.status, reply.text) == (200, "Hello, Barbara!")


def test_get_status_then_raise_event_completes_the_orchestration(http_host: InProcessHost) -> None:
    instance_id = call("POST", http_host.url("/api/orchestrators/greet_then_wait"), body='"Alan"').json()[
        "id"
    ]
    wait_until(lambda: status_of(http_host, instance_id)["runtimeStatus"] == "Running", what="Running")
    reply = call(
        "POST",
        http_host.url(f"/api/events/{instance_id}/Approval"),
        body=json.dumps({"ok": True}),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 202

    def completed() -> object:
        status = status_of(http_host, instance_id)
        return status if status["runtimeStatus"] == "Completed" else None

    assert wait_until(completed, what="completion after the event")["output"] == {
        "greeting": "Hello, Alan!",
        "approval": {"ok": True},
    }


def test_terminate_stops_a_waiting_orchestration(http_host: InProcessHost) -> None:
    instance_id = call("POST", http_host.url("/api/orchestrators/greet_then_wait"), body='"Ken"').json()["id"]
    wait_until(lambda: status_of(http_host, instance_id)["runtimeStatus"] == "Running", what="Running")
    assert call("POST", http_host.url(f"/api/terminate/{instance_id}")).status == 202
    wait_until(lambda: status_of(http_host, instance_id)["runtimeStatus"] == "Terminated", what="Terminated")
