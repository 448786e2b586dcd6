"""The HTTP API through the real function objects, the SDK's durable client and Azurite."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from orchestrators.identity import candidate_instance_id
from shared.models import IntakePath
from shared.settings import get_settings
from shared.storage import blob_properties
from tests.pipeline.triggers.conftest import JOB_ID, ORIGIN, TriggerHarness, body_of

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
UNKNOWN_ID = f"{JOB_ID}.{'0' * 24}"
UNKNOWN_SCREENING = f"{JOB_ID}.batch-{'0' * 24}"
CONTACT = {
    "name": "Ada Example",
    "email": "ada@example.test",
    "phone": "+15550101010",
    "time_zone": "Europe/Lisbon",
}


def _submit(harness: TriggerHarness, body: object, job_id: str = JOB_ID) -> object:
    return harness.http(
        "submit_candidate", "POST", f"jobs/{job_id}/candidates", body=body, route={"job_id": job_id}
    )


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "hireflowboundary7MA4YWxk"
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="resume"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_json_submission_starts_once_and_points_at_the_apis_own_status_url(harness: Harness) -> None:
    h = harness()
    h.upload_resume(f"{JOB_ID}/ada.pdf")

    first = _submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/ada.pdf"})
    second = _submit(
        h,
        {
            **CONTACT,
            "resume_url": f"http://127.0.0.1:1/devstoreaccount1/{h.containers['RESUMES_CONTAINER']}/{JOB_ID}/ada.pdf",
        },
    )

    expected_id = candidate_instance_id(JOB_ID, f"{JOB_ID}/ada.pdf")
    assert first.status_code == 202
    assert body_of(first)["id"] == expected_id
    assert body_of(first)["created"] is True
    assert first.headers["Location"] == f"{ORIGIN}/api/candidates/{expected_id}"
    assert "webhooks" not in first.get_body().decode()
    assert "code=" not in first.get_body().decode()
    assert second.status_code == 200
    assert body_of(second)["id"] == expected_id
    assert body_of(second)["created"] is False
    assert h.exists(expected_id)


def test_unknown_job_is_404(harness: Harness) -> None:
    h = harness()
    response = _submit(h, {**CONTACT, "resume_blob": "nope/ada.pdf"}, job_id="no-such-job")
    assert response.status_code == 404
    assert body_of(response)["error"]["code"] == "job_not_found"
    assert _submit(h, {**CONTACT, "resume_blob": "x.pdf"}, job_id="Bad Id!").status_code == 404


def test_bad_payload_is_400_with_field_errors(harness: Harness) -> None:
    h = harness()
    response = _submit(h, {"phone": "555", "time_zone": "Mars/Olympus", "email": "nope", "extra": 1})

    assert response.status_code == 400
    fields = {error["field"] for error in body_of(response)["error"]["fields"]}
    assert {"name", "phone", "time_zone", "email", "extra"} <= fields
    both = _submit(h, {**CONTACT, "resume_blob": "a.pdf", "resume_url": "http://x/resumes/a.pdf"})
    assert both.status_code == 400
    missing = _submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/missing.pdf"})
    assert missing.status_code == 400
    assert body_of(missing)["error"]["fields"][0]["field"] == "resume_blob"
    not_json = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=b"{",
        headers={"content-type": "application/json"},
        route={"job_id": JOB_ID},
    )
    assert not_json.status_code == 400


def test_unsupported_file_types_are_415(harness: Harness) -> None:
    h = harness()
    by_reference = _submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/ada.exe"})
    payload, content_type = _multipart(CONTACT, "ada.txt", b"plain text")
    by_upload = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=payload,
        headers={"content-type": content_type},
        route={"job_id": JOB_ID},
    )
    wrong_body = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=b"<xml/>",
        headers={"content-type": "text/xml"},
        route={"job_id": JOB_ID},
    )

    assert by_reference.status_code == 415
    assert by_upload.status_code == 415
    assert wrong_body.status_code == 415


def test_too_large_upload_is_413(harness: Harness) -> None:
    h = harness()
    payload, content_type = _multipart(CONTACT, "ada.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024))
    response = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=payload,
        headers={"content-type": content_type},
        route={"job_id": JOB_ID},
    )
    assert response.status_code == 413


def test_multipart_upload_is_stored_with_contact_metadata_and_is_idempotent(harness: Harness) -> None:
    h = harness()
    payload, content_type = _multipart({**CONTACT, "name": "Zoë Ünal"}, "zoe.pdf", b"%PDF-1.7 zoe")

    first = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=payload,
        headers={"content-type": content_type},
        route={"job_id": JOB_ID},
    )
    second = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=payload,
        headers={"content-type": content_type},
        route={"job_id": JOB_ID},
    )

    assert first.status_code == 202, first.get_body()
    assert second.status_code == 200
    assert body_of(first)["id"] == body_of(second)["id"]
    stored = [b for b in _resume_blobs() if b.endswith(".pdf")]
    assert len(stored) == 1
    properties = blob_properties(get_settings().resumes_container, stored[0])
    assert properties is not None
    from triggers.intake import contact_from_metadata

    assert contact_from_metadata(properties.metadata).name == "Zoë Ünal"
    result = h.host.status(body_of(first)["id"])
    assert result.input["contact"]["time_zone"] == "Europe/Lisbon"


def _resume_blobs() -> list[str]:
    from shared.storage import container_client

    return [b.name for b in container_client(get_settings().resumes_container).list_blobs()]


def test_candidate_view_follows_the_pipeline_to_its_report(harness: Harness) -> None:
    h = harness()
    h.upload_resume(f"{JOB_ID}/ada.pdf")
    instance_id = body_of(_submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/ada.pdf"}))["id"]
    h.host.run_until_complete(instance_id)

    response = h.http("get_candidate", "GET", f"candidates/{instance_id}", route={"instance_id": instance_id})
    view = body_of(response)

    assert response.status_code == 200
    assert view["stage"] == "completed"
    assert view["progress"] == 1.0
    assert view["outcome"] == "interviewed"
    assert view["screening"] == {"score": 0.85, "decision": "advance"}
    assert view["interview"]["overall"] == 4.0
    assert view["report"]["page"]["name"] == f"{instance_id}/report.html"
    assert view["report"]["page"]["url"].endswith(f"/reports/{instance_id}/report.html")
    assert view["created_at"]
    assert view["updated_at"]
    unknown = h.http("get_candidate", "GET", "c", route={"instance_id": UNKNOWN_ID})
    assert unknown.status_code == 404
    malformed = h.http("get_candidate", "GET", "c", route={"instance_id": "nope"})
    assert malformed.status_code == 400
    assert body_of(malformed)["error"]["fields"][0]["field"] == "instance_id"
    assert view["links"]["report"] == f"/api/candidates/{instance_id}/report"
    # The fake report writer names blobs it never wrote: the report endpoint says so instead of failing.
    report = h.http("get_candidate_report", "GET", "r", route={"instance_id": instance_id})
    assert report.status_code == 404
    assert body_of(report)["error"]["code"] == "report_not_found"
    bad_format = h.http(
        "get_candidate_report", "GET", "r", params={"format": "pdf"}, route={"instance_id": instance_id}
    )
    assert bad_format.status_code == 400
    nobody = h.http("get_candidate_report", "GET", "r", route={"instance_id": UNKNOWN_ID})
    assert nobody.status_code == 404


def test_failed_candidate_view_carries_the_reason(harness: Harness) -> None:
    from shared.errors import ErrorCode
    from tests.pipeline.orchestrators.fakes import failure

    h = harness()
    h.fakes.overrides["extract_resume_text"] = lambda _: failure(ErrorCode.CORRUPT_DOCUMENT, "not a PDF")
    h.upload_resume(f"{JOB_ID}/bad.pdf")
    instance_id = body_of(_submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/bad.pdf"}))["id"]
    h.host.run_until_complete(instance_id)

    view = body_of(h.http("get_candidate", "GET", "c", route={"instance_id": instance_id}))

    assert view["runtime_status"] == "Failed"
    assert view["stage"] == "failed"
    assert view["failure"]["code"] == "corrupt_document"
    assert "not a PDF" in view["failure"]["message"]


def test_events_are_validated_and_routed(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    h.upload_resume(f"{JOB_ID}/rev.pdf")
    instance_id = body_of(_submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/rev.pdf"}))["id"]
    h.wait_for(lambda: h.stage(instance_id) == "awaiting_review", what="the review stage")

    def send(name: str, body: object) -> object:
        return h.http(
            "send_candidate_event",
            "POST",
            "e",
            body=body,
            route={"instance_id": instance_id, "event_name": name},
        )

    assert send("RecruiterDecision", {"decision": "maybe"}).status_code == 400
    assert send("CallConnected", {}).status_code == 404
    assert send("RescheduleRequested", {}).status_code == 409  # no interview yet
    view = body_of(h.http("get_candidate", "GET", "c", route={"instance_id": instance_id}))
    assert view["stage"] == "awaiting_review"

    accepted = send("RecruiterDecision", {"decision": "advance", "recruiter": "Lin"})
    assert accepted.status_code == 202
    assert body_of(accepted)["delivered_to"] == [instance_id]
    result = h.host.run_until_complete(instance_id)
    assert result.output["outcome"] == "interviewed"
    assert send("CandidateWithdrew", {}).status_code == 409  # finished
    unknown = h.http(
        "send_candidate_event",
        "POST",
        "e",
        body={},
        route={"instance_id": UNKNOWN_ID, "event_name": "CandidateWithdrew"},
    )
    assert unknown.status_code == 404


def test_cancel_terminates_a_running_candidate(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    h.upload_resume(f"{JOB_ID}/cancel.pdf")
    instance_id = body_of(_submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/cancel.pdf"}))["id"]
    h.wait_for(lambda: h.stage(instance_id) == "awaiting_review", what="the review stage")

    def cancel() -> object:
        return h.http(
            "cancel_candidate",
            "POST",
            "c",
            body={"reason": "position filled"},
            route={"instance_id": instance_id},
        )

    first = cancel()
    assert first.status_code == 202
    h.wait_for(lambda: h.host.status(instance_id).runtime_status == "Terminated", what="termination")
    view = body_of(h.http("get_candidate", "GET", "c", route={"instance_id": instance_id}))
    assert view["outcome"] == "cancelled"
    assert cancel().status_code == 409
    assert h.http("cancel_candidate", "POST", "c", route={"instance_id": UNKNOWN_ID}).status_code == 404


def test_list_pages_with_a_continuation_token_and_filters(harness: Harness) -> None:
    h = harness()
    ids = []
    for name in ("a", "b", "c"):
        h.upload_resume(f"{JOB_ID}/{name}.pdf")
        ids.append(body_of(_submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/{name}.pdf"}))["id"])
    for instance_id in ids:
        h.host.run_until_complete(instance_id)

    def page(**params: str) -> object:
        return h.http("list_candidates", "GET", "l", params=params, route={"job_id": JOB_ID})

    first = page(top="2")
    assert first.status_code == 200
    token = body_of(first)["continuation_token"]
    assert token
    assert first.headers["x-ms-continuation-token"] == token
    second = page(top="2", continuation_token=token)
    listed = [item["id"] for item in body_of(first)["items"] + body_of(second)["items"]]
    assert listed == sorted(ids)
    assert body_of(second)["continuation_token"] is None
    assert len(body_of(page(status="completed"))["items"]) == 3
    assert len(body_of(page(status="Completed"))["items"]) == 3
    assert body_of(page(status="awaiting_review"))["items"] == []
    assert page(status="sleeping").status_code == 400
    assert page(top="0").status_code == 400
    assert page(continuation_token="%%%").status_code == 400


def test_batch_screening_starts_once_and_reports_a_shortlist(harness: Harness) -> None:
    h = harness()
    names = [f"{JOB_ID}/{n}.pdf" for n in ("p", "q")]
    for name in names:
        h.upload_resume(name, metadata={"candidate_phone": "%2B15550101010"})

    def start() -> object:
        return h.http(
            "start_screening",
            "POST",
            "s",
            body={"resume_blobs": names, "max_concurrency": 1},
            route={"job_id": JOB_ID},
        )

    first = start()
    assert first.status_code == 202, first.get_body()
    batch_id = body_of(first)["id"]
    assert start().status_code == 200
    h.host.run_until_complete(batch_id)
    view = body_of(h.http("get_screening", "GET", "s", route={"instance_id": batch_id}))
    assert view["runtime_status"] == "Completed"
    assert len(view["result"]["shortlist"]) == 2
    everything = h.http("start_screening", "POST", "s", body={}, route={"job_id": JOB_ID})
    assert everything.status_code in (200, 202)
    assert body_of(everything)["candidates"] == 2
    bad = h.http(
        "start_screening", "POST", "s", body={"resume_blobs": ["nope.pdf"]}, route={"job_id": JOB_ID}
    )
    assert bad.status_code == 400
    assert h.http("get_screening", "GET", "s", route={"instance_id": UNKNOWN_SCREENING}).status_code == 404
    assert h.http("get_screening", "GET", "s", route={"instance_id": "nope"}).status_code == 400


def test_health_reports_each_dependency(harness: Harness, monkeypatch: object) -> None:
    h = harness()
    response = h.http("health", "GET", "health")
    report = body_of(response)

    assert response.status_code == 503  # the AI and ACS endpoints are not configured here
    assert report["dependencies"]["durable_store"]["status"] == "healthy"
    assert report["dependencies"]["blob_storage"]["status"] == "healthy"
    assert report["dependencies"]["openai"]["status"] == "not_configured"
    assert all("latency_ms" in dependency for dependency in report["dependencies"].values())


def test_the_in_process_surface_answers_as_the_routes_do(harness: Harness) -> None:
    import azure.durable_functions as df
    import azure.functions as func

    from triggers import http_api

    h = harness()
    client = df.DurableOrchestrationClient(h.host.engine.client_binding())
    route = {"instance_id": UNKNOWN_ID, "event_name": "CandidateWithdrew"}

    def request() -> func.HttpRequest:
        return func.HttpRequest(
            method="POST",
            url=f"{ORIGIN}/api/candidates/{UNKNOWN_ID}/events/CandidateWithdrew",
            headers={"content-type": "application/json"},
            params={},
            route_params=route,
            body=b"{}",
        )

    over_http = h.http(
        "send_candidate_event",
        "POST",
        f"candidates/{UNKNOWN_ID}/events/CandidateWithdrew",
        body={},
        route=route,
    )
    in_process = h.host.run(http_api.api_response(http_api.handle_send_event(request(), client)))
    with pytest.raises(http_api.ApiError) as raised:
        h.host.run(http_api.handle_send_event(request(), client))

    assert in_process.status_code == over_http.status_code == 404
    assert body_of(in_process) == body_of(over_http)
    assert raised.value.status == 404
    for name in (
        "api_response",
        "handle_submit",
        "handle_send_event",
        "handle_cancel",
        "handle_start_screening",
        "handle_get_report",
    ):
        assert getattr(http_api, name).__doc__, f"{name} is public and must say what it does"


def _recorded_intake(h: TriggerHarness, instance_id: str) -> object:
    raw = h.host.engine.status(instance_id, show_input=True)["input"]
    document = json.loads(raw) if isinstance(raw, str) else raw
    return document.get("intake")


def test_each_http_start_path_records_how_the_resume_arrived(harness: Harness) -> None:
    h = harness()
    h.upload_resume(f"{JOB_ID}/by-reference.pdf")
    by_reference = _submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/by-reference.pdf"})
    payload, content_type = _multipart(CONTACT, "uploaded.pdf", b"%PDF-1.7 uploaded")
    uploaded = h.http(
        "submit_candidate",
        "POST",
        "x",
        raw=payload,
        headers={"content-type": content_type},
        route={"job_id": JOB_ID},
    )

    assert by_reference.status_code == uploaded.status_code == 202
    assert _recorded_intake(h, body_of(by_reference)["id"]) == "http"
    assert _recorded_intake(h, body_of(uploaded)["id"]) == "upload"
    # The API's views say it too, one candidate at a time and in the job's list.
    for response, intake in ((by_reference, "http"), (uploaded, "upload")):
        candidate_id = body_of(response)["id"]
        view = body_of(h.http("get_candidate", "GET", "x", route={"instance_id": candidate_id}))
        assert view["intake"] == intake
    listed = body_of(h.http("list_candidates", "GET", "x", route={"job_id": JOB_ID}))
    assert {item["id"]: item["intake"] for item in listed["items"]} == {
        body_of(by_reference)["id"]: "http",
        body_of(uploaded)["id"]: "upload",
    }


@pytest.mark.parametrize("intake", list(IntakePath))
def test_start_candidate_records_the_path_its_caller_names(harness: Harness, intake: IntakePath) -> None:
    from azure.durable_functions import DurableOrchestrationClient

    from shared.models import BlobRef, CandidateContact
    from triggers.intake import start_candidate

    h = harness()
    name = f"{JOB_ID}/{intake.value}.pdf"
    h.upload_resume(name)
    client = DurableOrchestrationClient(h.host.engine.client_binding())
    resume = BlobRef(container=get_settings().resumes_container, name=name)

    outcome = h.host.run(
        start_candidate(client, job_id=JOB_ID, resume=resume, contact=CandidateContact(), intake=intake)
    )

    assert outcome.created
    assert _recorded_intake(h, outcome.instance_id) == intake.value


def test_an_input_without_the_intake_field_validates_and_dumps_as_before() -> None:
    from shared.models import CandidatePipelineInput

    recorded = {
        "job_id": JOB_ID,
        "resume": {"container": "resumes", "name": f"{JOB_ID}/old.pdf"},
        "contact": {"name": "Old Instance"},
    }

    old = CandidatePipelineInput.model_validate(recorded)

    assert old.intake is None
    # Unset, the field stays out of the dump, so a batch's child inputs equal those its history recorded.
    assert "intake" not in old.model_dump(mode="json")
    assert old.model_copy(update={"intake": "upload"}).model_dump(mode="json")["intake"] == "upload"
