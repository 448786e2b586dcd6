"""Bad input of every kind gets a clear 4xx from the HTTP API, and never a wrong answer or a 500.

Each test names the defect it guards: reserved URL characters in ids, huge or deeply nested JSON, aliased
resume names, non-ASCII digits in query parameters, control characters in contact fields, and interview
stages in the list filter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

from orchestrators.identity import candidate_instance_id, interview_instance_id
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness, body_of
from triggers.durable import instance_status

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
CONTACT = {"name": "Ada Example", "phone": "+15550101010", "time_zone": "Europe/Lisbon"}


def _submit(h: TriggerHarness, body: Any = None, *, raw: bytes | None = None) -> func.HttpResponse:
    return h.http(
        "submit_candidate",
        "POST",
        f"jobs/{JOB_ID}/candidates",
        body=body,
        raw=raw,
        headers={"content-type": "application/json"} if raw is not None else None,
        route={"job_id": JOB_ID},
    )


def _error(response: func.HttpResponse) -> dict[str, Any]:
    body = body_of(response)
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    return error


def _fields(response: func.HttpResponse) -> set[str]:
    return {item["field"] for item in _error(response).get("fields", [])}


def _started(h: TriggerHarness, name: str) -> str:
    h.upload_resume(f"{JOB_ID}/{name}")
    response = _submit(h, {**CONTACT, "resume_blob": f"{JOB_ID}/{name}"})
    assert response.status_code == 202, response.get_body()
    instance_id: str = body_of(response)["id"]
    return instance_id


# ---------------------------------------------------------------------------- defect 2: reserved characters


@pytest.mark.parametrize("suffix", ["#", "#x", "?x=1", "%23", "%3F", "/", "/../x", " ", "\u202e"])
def test_ids_with_reserved_characters_are_400_on_every_route(harness: Harness, suffix: str) -> None:
    h = harness(decision="needs_review", score=0.5)
    instance_id = _started(h, "reserved.pdf")
    bad_id = instance_id + suffix
    calls = {
        "get_candidate": ("GET", {}),
        "get_candidate_report": ("GET", {}),
        "cancel_candidate": ("POST", {}),
        "send_candidate_event": ("POST", {"event_name": "CandidateWithdrew"}),
    }
    for function, (method, extra) in calls.items():
        response = h.http(function, method, "x", route={"instance_id": bad_id, **extra})
        assert response.status_code == 400, (function, response.get_body())
        assert _fields(response) == {"instance_id"}
    screening = h.http(
        "get_screening", "GET", "x", route={"instance_id": f"{JOB_ID}.batch-{'0' * 24}{suffix}"}
    )
    assert screening.status_code == 400
    assert h.host.status(instance_id).runtime_status in ("Pending", "Running")  # nothing was cancelled


def test_durable_calls_escape_the_id_the_sdk_would_cut_at_a_hash(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    instance_id = _started(h, "escape.pdf")
    client = _client(h)

    # The SDK writes the id into the URL as it is: "<id>#x" loses its fragment and reads <id>.
    unescaped = h.host.run(client.get_status(f"{instance_id}#x"))
    assert unescaped.instance_id == instance_id
    assert h.host.run(instance_status(client, f"{instance_id}#x")) is None
    assert h.host.run(instance_status(client, f"{instance_id}?showInput=true")) is None
    found = h.host.run(instance_status(client, instance_id))
    assert found is not None
    assert found.instance_id == instance_id


def _client(h: TriggerHarness) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(h.host.engine.client_binding())


# ---------------------------------------------------------------------------- defect 3: huge and nested JSON


def _bodies() -> dict[str, bytes]:
    return {
        "nested_lists": b"[" * 100_000,
        "nested_objects": b'{"a":' * 50_000,
        "huge_integer": b'{"max_concurrency": ' + b"7" * 5000 + b"}",
        "huge_integer_in_list": b"[" + b"9" * 5000 + b"]",
        "nan": b'{"max_concurrency": NaN}',
        "infinity": b'{"reason": Infinity}',
        "lone_surrogate": b'{"reason": "\\ud800"}',
        "not_utf8": b'{"reason": "\xff\xfe"}',
    }


@pytest.mark.parametrize("kind", sorted(_bodies()))
def test_hostile_json_is_400_with_the_error_shape_on_every_json_route(harness: Harness, kind: str) -> None:
    h = harness(decision="needs_review", score=0.5)
    instance_id = _started(h, "json.pdf")
    raw = _bodies()[kind]
    routes = {
        "submit_candidate": {"job_id": JOB_ID},
        "start_screening": {"job_id": JOB_ID},
        "cancel_candidate": {"instance_id": instance_id},
        "send_candidate_event": {"instance_id": instance_id, "event_name": "CandidateWithdrew"},
    }
    for function, route in routes.items():
        response = h.http(
            function, "POST", "x", raw=raw, headers={"content-type": "application/json"}, route=route
        )
        assert response.status_code == 400, (function, kind, response.get_body()[:200])
        _error(response)
    assert h.host.status(instance_id).runtime_status in ("Pending", "Running")


def test_a_json_body_beyond_the_limit_is_413(harness: Harness) -> None:
    from triggers.http_api import MAX_JSON_BYTES

    h = harness()
    raw = json.dumps({**CONTACT, "resume_blob": "x" * MAX_JSON_BYTES}).encode()
    response = _submit(h, raw=raw)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


def test_a_malformed_content_length_is_400(harness: Harness) -> None:
    h = harness()
    for value in ("\u00b2", "\u0663", "12abc", "-1"):
        response = h.http(
            "submit_candidate",
            "POST",
            "x",
            body={**CONTACT, "resume_blob": f"{JOB_ID}/a.pdf"},
            headers={"content-length": value},
            route={"job_id": JOB_ID},
        )
        assert response.status_code == 400, value


# ---------------------------------------------------------------------------- defect 5: aliased resume names

ALIASES = [
    f"{JOB_ID}\\alias.pdf",
    f"{JOB_ID}/./alias.pdf",
    f"{JOB_ID}//alias.pdf",
    f"{JOB_ID}/%2e/alias.pdf",
    f"{JOB_ID}/alias.pdf.",
    f"{JOB_ID}/alias.pdf ",
    f"{JOB_ID}/x/../alias.pdf",
    f"{JOB_ID}/%61lias.pdf",
    f"{JOB_ID}/alias.pdf\u0000",
]


def _same_id_or_refused(h: TriggerHarness, canonical_id: str, response: func.HttpResponse) -> None:
    if response.status_code == 400:
        _error(response)
        return
    assert response.status_code in (200, 202), response.get_body()
    assert body_of(response)["id"] == canonical_id


def test_every_alias_of_a_resume_names_the_same_instance_or_is_refused(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    container = h.containers["RESUMES_CONTAINER"]
    canonical = f"{JOB_ID}/alias.pdf"
    canonical_id = _started(h, "alias.pdf")

    for alias in ALIASES:
        by_name = _submit(h, {**CONTACT, "resume_blob": alias})
        _same_id_or_refused(h, canonical_id, by_name)
        url = f"http://127.0.0.1:10000/devstoreaccount1/{container}/{alias}"
        by_url = _submit(h, {**CONTACT, "resume_url": url})
        _same_id_or_refused(h, canonical_id, by_url)
        screening = h.http(
            "start_screening", "POST", "s", body={"resume_blobs": [alias]}, route={"job_id": JOB_ID}
        )
        assert screening.status_code == 400, (alias, screening.get_body())
        assert _fields(screening) == {"resume_blobs.0"}
    # The encoded form of the canonical name is the canonical name: a URL is decoded once.
    encoded = f"http://127.0.0.1:10000/devstoreaccount1/{container}/{JOB_ID}/%61lias%2Epdf"
    assert body_of(_submit(h, {**CONTACT, "resume_url": encoded}))["id"] == canonical_id

    # The blob trigger and Event Grid BlobCreated skip aliases instead of starting a second run.
    for alias in ALIASES:
        stream = func.blob.InputStream(data=b"%PDF", name=f"{container}/{alias}", length=4, metadata={})
        h.call("resume_uploaded", resume=stream)
        created = func.EventGridEvent(
            id=f"alias-{len(alias)}",
            data={"url": f"http://127.0.0.1:10000/devstoreaccount1/{container}/{alias}"},
            topic="t",
            subject=f"/blobServices/default/containers/{container}/blobs/{alias}",
            event_type="Microsoft.Storage.BlobCreated",
            event_time=None,
            data_version="1",
        )
        h.call("resume_blob_created", event=created)
    documents, _ = h.host.engine.query(prefix=f"{JOB_ID}.", top=1000)
    candidates = [d["instanceId"] for d in documents if not d["instanceId"].endswith(".interview")]
    assert candidates == [canonical_id], candidates
    assert canonical_id == candidate_instance_id(JOB_ID, canonical)


# ---------------------------------------------------------------------------- defect 6: strict parameters


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("top", "\u0663"),  # Arabic-Indic three
        ("top", "\u00b3"),  # superscript three
        ("top", "\uff13"),  # full-width three
        ("top", "1e2"),
        ("top", "-1"),
        ("top", "0"),
        ("top", "501"),
        ("top", " 5"),
        ("top", "9" * 5000),
        ("status", "sleeping"),
        ("status", "COMPLETED\u0000"),
        ("continuation_token", "%%%"),
        ("continuation_token", "\u0663\u0663\u0663\u0663"),
        ("continuation_token", "bm9wZQ"),  # base64 of "nope": not an instance id
        ("continuation_token", "A" * 5000),
    ],
)
def test_list_parameters_are_parsed_strictly(harness: Harness, name: str, value: str) -> None:
    h = harness()
    response = h.http("list_candidates", "GET", "l", params={name: value}, route={"job_id": JOB_ID})
    assert response.status_code == 400, response.get_body()
    assert _fields(response) == {name}


def test_report_format_is_an_enum(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    instance_id = _started(h, "format.pdf")
    for value in ("pdf", "HTML\u0000", "\u0663"):
        response = h.http(
            "get_candidate_report", "GET", "r", params={"format": value}, route={"instance_id": instance_id}
        )
        assert response.status_code == 400
        assert _fields(response) == {"format"}


# ---------------------------------------------------------------------------- defect 7: control characters


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ada\u0000Example"),
        ("name", "Ada\u001b[31mExample"),
        ("name", "\u202eelpmaxE adA"),
        ("name", "Ada\u2066Example"),
        ("name", "Ada\u200fExample"),
        ("email", "ada\u0000@example.test"),
        ("email", "ada@exam\u202eple.test"),
        ("phone", "+1555\u001b0101010"),
        ("time_zone", "Europe/Lisbon\u0000"),
    ],
)
def test_contact_fields_refuse_control_and_bidi_characters(harness: Harness, field: str, value: str) -> None:
    h = harness()
    h.upload_resume(f"{JOB_ID}/control.pdf")
    response = _submit(h, {**CONTACT, field: value, "resume_blob": f"{JOB_ID}/control.pdf"})
    assert response.status_code == 400
    assert field in _fields(response)
    assert not h.exists(candidate_instance_id(JOB_ID, f"{JOB_ID}/control.pdf"))


def test_names_in_scripts_that_need_joiners_are_accepted(harness: Harness) -> None:
    h = harness(decision="needs_review", score=0.5)
    h.upload_resume(f"{JOB_ID}/joiner.pdf")
    response = _submit(h, {**CONTACT, "name": "Mi\u200cnoo Zoë", "resume_blob": f"{JOB_ID}/joiner.pdf"})
    assert response.status_code == 202, response.get_body()


def test_control_characters_in_blob_metadata_are_refused_on_every_intake_path(harness: Harness) -> None:
    h = harness()
    name = f"{JOB_ID}/meta.pdf"
    h.upload_resume(name, metadata={"candidate_name": "Ada%1B%5B2J", "candidate_phone": "%2B15550101010"})
    container = h.containers["RESUMES_CONTAINER"]

    stream = func.blob.InputStream(
        data=b"%PDF", name=f"{container}/{name}", length=4, metadata={"candidate_name": "Ada%00"}
    )
    h.call("resume_uploaded", resume=stream)
    screening = h.http(
        "start_screening", "POST", "s", body={"resume_blobs": [name]}, route={"job_id": JOB_ID}
    )
    everything = h.http("start_screening", "POST", "s", body={}, route={"job_id": JOB_ID})

    assert not h.exists(candidate_instance_id(JOB_ID, name))
    assert screening.status_code == 400
    assert _fields(screening) == {"resume_blobs.0"}
    assert everything.status_code == 400  # the only resume is left out, so nothing is screened
    assert _error(everything)["code"] == "no_resumes"


# ---------------------------------------------------------------------------- defect 8: interview stages


def test_status_filter_agrees_with_the_candidate_view_during_the_interview(harness: Harness) -> None:
    h = harness()
    instance_id = _started(h, "stage.pdf")
    interview_id = interview_instance_id(instance_id)
    h.wait_for(lambda: h.stage(interview_id) == "waiting_for_slot", what="a booked slot")

    view = body_of(h.http("get_candidate", "GET", "c", route={"instance_id": instance_id}))

    def listed(status: str) -> list[dict[str, Any]]:
        response = h.http("list_candidates", "GET", "l", params={"status": status}, route={"job_id": JOB_ID})
        assert response.status_code == 200
        items: list[dict[str, Any]] = body_of(response)["items"]
        return items

    assert view["stage"] == "waiting_for_slot"
    matching = listed("waiting_for_slot")
    assert [item["id"] for item in matching] == [instance_id]
    assert matching[0]["stage"] == view["stage"]
    assert matching[0]["interview"] == view["interview"]
    assert listed("scheduling") == []
    # With a runtime-status filter the interview is found all the same.
    running = listed("Running")
    assert [item["stage"] for item in running] == ["waiting_for_slot"]

    h.host.advance_time(timedelta(days=2))
    h.host.run_until_complete(instance_id)
    assert listed("waiting_for_slot") == []
    assert [item["id"] for item in listed("completed")] == [instance_id]
