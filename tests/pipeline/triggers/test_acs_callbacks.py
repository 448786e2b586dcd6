"""The ACS callback endpoint: JWT authentication as ACS signs its callbacks, the per-interview URL token, and
bodies that must never make it answer 500.

The app's validator is the real one; its keys come from an ACS-like signer (``acs_signing``). The question
flow against the real emulator is in ``test_question_flow.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import azure.functions as func
import jwt
import pytest

from emulators.acs_tokens import CallbackSigner
from shared.acs_auth import (
    JWKS_REFRESH_INTERVAL_S,
    CallbackAuthError,
    CallbackAuthUnavailableError,
    CallbackTokenValidator,
    callback_token,
    use_callback_validator,
)
from shared.storage import record_interview_incomplete, sighted_calls
from tests.pipeline.orchestrators.fakes import RING_OUT
from tests.pipeline.triggers.acs_signing import ISSUER, CallbackKeys
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness, body_of
from tests.pipeline.triggers.test_event_triggers import _interview_waiting
from triggers.acs_callbacks import INCOMPLETE_REASON_PREFIX, instance_event_for

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]


def _post(
    h: TriggerHarness,
    *,
    body: bytes,
    instance: str | None = "x",
    headers: dict[str, str] | None = None,
    url_token: str | None = None,
) -> func.HttpResponse:
    params = {}
    if instance is not None:
        params["instanceId"] = instance
        token = url_token if url_token is not None else callback_token(instance)
        if token is not None:
            params["token"] = token
    return h.http(
        "acs_callback",
        "POST",
        "acs/callbacks",
        raw=body,
        params=params,
        headers={"content-type": "application/json", **(headers or {})},
    )


def _callback(
    h: TriggerHarness, keys: CallbackKeys, events: object, *, instance: str | None = "x"
) -> func.HttpResponse:
    return _post(h, body=json.dumps(events).encode(), instance=instance, headers=keys.authorization())


def _cloud_event(name: str, **data: Any) -> dict[str, Any]:
    return {
        "id": f"ce-{name}",
        "source": "calling/callConnections/call-0",
        "type": f"Microsoft.Communication.{name}",
        "specversion": "1.0",
        "data": {"callConnectionId": "call-0", "serverCallId": "server-0", "correlationId": "corr", **data},
    }


def _token(signer: CallbackSigner, **claims: Any) -> dict[str, str]:
    """A token signed by ``signer`` with its usual claims, some replaced."""
    now = dt.datetime.now(dt.UTC)
    payload = {
        "iss": signer.issuer,
        "aud": signer.audience,
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=5)).timestamp()),
        **claims,
    }
    private_key = signer._private_key
    return {"Authorization": "Bearer " + jwt.encode(payload, private_key, "RS256", {"kid": signer.key_id})}


# ------------------------------------------------------------------------------------------- authentication


def test_signed_callback_raises_call_events_on_the_interview(
    harness: Harness, callback_keys: CallbackKeys
) -> None:
    h = harness(call_script=[RING_OUT])
    _, interview_id = _interview_waiting(h, f"{JOB_ID}/call.pdf", "calling")

    connected = _callback(
        h,
        callback_keys,
        [
            _cloud_event("CallConnected", operationContext=f"{interview_id}:interview-call:0"),
            _cloud_event("ParticipantsUpdated"),
        ],
        instance=interview_id,
    )
    assert body_of(connected) == {"raised": ["CallConnected"]}
    h.wait_for(lambda: h.stage(interview_id) == "in_call", what="the call to connect")
    assert h.fakes.inputs["start_call_recording"][0]["server_call_id"] == "server-0"
    # The connected call is remembered for its operation context (orphan detection on a re-run).
    assert sighted_calls(f"{interview_id}:interview-call:0") == ["call-0"]

    ended = _callback(
        h,
        callback_keys,
        [_cloud_event("CallDisconnected", resultInformation={"code": 200, "message": "bye"})],
        instance=interview_id,
    )
    assert body_of(ended) == {"raised": ["CallEnded"]}
    h.wait_for(lambda: h.stage(interview_id) == "awaiting_recording", what="the call to end")


def test_callback_without_token_is_refused_401(harness: Harness, callback_keys: CallbackKeys) -> None:
    h = harness()
    assert _post(h, body=b"[]").status_code == 401
    assert _post(h, body=b"[]", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    assert _post(h, body=b"[]", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401


def test_callback_with_forged_token_is_refused_401(harness: Harness, callback_keys: CallbackKeys) -> None:
    h = harness()
    forger = CallbackSigner(ISSUER, callback_keys.signer.audience)
    # Signed with another key under the genuine key id: the signature does not verify.
    forger.key_id = callback_keys.signer.key_id
    assert _post(h, body=b"[]", headers={"Authorization": f"Bearer {forger.token()}"}).status_code == 401
    # Signed with another key under its own id: no such key in ACS's set, even after a refresh.
    other = CallbackSigner(ISSUER, callback_keys.signer.audience)
    assert _post(h, body=b"[]", headers={"Authorization": f"Bearer {other.token()}"}).status_code == 401
    # Unsigned ("alg": "none") tokens are refused outright.
    unsigned = jwt.encode({"iss": ISSUER, "aud": callback_keys.signer.audience}, None, algorithm="none")
    assert _post(h, body=b"[]", headers={"Authorization": f"Bearer {unsigned}"}).status_code == 401
    assert _post(h, body=b"[]", headers=callback_keys.authorization()).status_code == 200


def test_callback_with_expired_token_is_refused_401(harness: Harness, callback_keys: CallbackKeys) -> None:
    h = harness()
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6)
    assert _post(h, body=b"[]", headers=callback_keys.authorization(now=issued)).status_code == 401


def test_callback_with_wrong_audience_is_refused_401(harness: Harness, callback_keys: CallbackKeys) -> None:
    h = harness()
    another_resource = _token(callback_keys.signer, aud="00000000-1111-2222-3333-444444444444")
    assert _post(h, body=b"[]", headers=another_resource).status_code == 401


def test_callback_with_wrong_issuer_is_refused_401(harness: Harness, callback_keys: CallbackKeys) -> None:
    h = harness()
    assert (
        _post(h, body=b"[]", headers=_token(callback_keys.signer, iss="https://elsewhere")).status_code == 401
    )


def test_callback_with_another_interviews_url_token_is_refused_401(
    harness: Harness, callback_keys: CallbackKeys
) -> None:
    h = harness()
    stolen = callback_token("another.interview")
    assert stolen is not None
    response = _post(h, body=b"[]", instance="x", headers=callback_keys.authorization(), url_token=stolen)
    assert response.status_code == 401
    assert _post(h, body=b"[]", instance="x", headers=callback_keys.authorization()).status_code == 200


def test_signed_callback_without_instance_is_a_bad_request(
    harness: Harness, callback_keys: CallbackKeys
) -> None:
    h = harness()
    response = _post(h, body=b"[]", instance=None, headers=callback_keys.authorization())
    assert response.status_code == 400
    assert body_of(response) == {"error": "instanceId is required"}


def test_callback_answers_503_while_acs_keys_cannot_be_fetched(harness: Harness) -> None:
    h = harness()

    def unreachable(url: str) -> Any:
        raise CallbackAuthUnavailableError(f"could not fetch {url}: ConnectionError")

    keys = CallbackKeys.for_settings()
    use_callback_validator(CallbackTokenValidator(f"{ISSUER}/cfg", keys.signer.audience, unreachable))
    response = _post(h, body=b"[]", headers=keys.authorization())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_keys_are_cached_and_refetched_only_for_an_unknown_key(harness: Harness) -> None:
    harness()
    keys = CallbackKeys.for_settings()
    validator = keys.validator()
    for _ in range(3):
        validator.validate(keys.signer.token())
    assert len(keys.fetched) == 2  # the configuration and the key set, once

    rotated = CallbackSigner(ISSUER, keys.signer.audience)
    previous = keys.signer
    keys.signer = rotated  # ACS rotates its keys: the set now holds only the new one
    with pytest.raises(CallbackAuthError, match="unknown key"):
        validator.validate(rotated.token())  # too soon after the last fetch to fetch again
    assert len(keys.fetched) == 2
    keys.now += JWKS_REFRESH_INTERVAL_S
    assert validator.validate(rotated.token())["aud"] == keys.signer.audience
    assert len(keys.fetched) == 4
    with pytest.raises(CallbackAuthError):
        validator.validate(previous.token())  # the retired key no longer validates


def test_rs256_is_the_only_algorithm(harness: Harness) -> None:
    harness()
    keys = CallbackKeys.for_settings()
    validator = keys.validator()
    symmetric = jwt.encode(
        {"iss": ISSUER, "aud": keys.signer.audience, "exp": 4_102_444_800},
        "secret-key-of-at-least-32-bytes-long!",
        algorithm="HS256",
        headers={"kid": keys.signer.key_id},
    )
    with pytest.raises(CallbackAuthError, match="algorithm"):
        validator.validate(symmetric)


# ------------------------------------------------------------------------------------ bodies never give 500


def _signed_post(h: TriggerHarness, keys: CallbackKeys, body: bytes) -> func.HttpResponse:
    return _post(h, body=body, headers=keys.authorization())


def test_callback_with_100k_nested_arrays_is_a_400(harness: Harness, callback_keys: CallbackKeys) -> None:
    response = _signed_post(harness(), callback_keys, b"[" * 100_000)
    assert response.status_code == 400
    assert "nests deeper" in body_of(response)["error"]


def test_callback_with_a_5000_digit_integer_is_a_400(harness: Harness, callback_keys: CallbackKeys) -> None:
    body = json.dumps([_cloud_event("CallConnected")]).replace('"corr"', "9" * 5000).encode()
    response = _signed_post(harness(), callback_keys, body)
    assert response.status_code == 400
    assert "number" in body_of(response)["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b'"CallConnected"', "JSON array"),
        (b"42", "JSON array"),
        (b"[" * 65 + b"]" * 65, "nests deeper"),
        (b"[" + b" " * (1024 * 1024) + b"]", "larger than"),
        (b'[{"type": "x", "data": {"n": 1e' + b"9" * 80 + b"}}]", "longer"),
    ],
)
def test_malformed_callback_bodies_are_a_400(
    harness: Harness, callback_keys: CallbackKeys, body: bytes, message: str
) -> None:
    response = _signed_post(harness(), callback_keys, body)
    assert response.status_code == 400
    assert message in body_of(response)["error"]


@pytest.mark.parametrize(
    "event",
    [
        _cloud_event("CallConnected", callConnectionId={"id": "call-0"}),
        _cloud_event("CallConnected", serverCallId=["server-0"], correlationId={"x": 1}),
        _cloud_event("CallDisconnected", resultInformation="bye"),
        _cloud_event("CreateCallFailed", resultInformation={"code": "486", "subCode": [1], "message": {}}),
        _cloud_event("CreateCallFailed", resultInformation=["486"]),
        _cloud_event("RecognizeCompleted", operationContext={"question": 1}),
        _cloud_event("RecognizeCompleted", operationContext="question:99999999999999999999"),
        _cloud_event("RecordingStateChanged", state={"active": True}),
        _cloud_event("PlayCompleted", callConnectionId=7),
        {"type": {"name": "CallConnected"}, "data": {"callConnectionId": "call-0"}},
        {"type": "Microsoft.Communication.CallConnected", "data": "call-0"},
        {"type": "Microsoft.Communication.CallConnected", "data": ["call-0"]},
        "CallConnected",
        ["nested", ["list"]],
        None,
    ],
)
def test_wrongly_typed_events_are_acknowledged_not_500(
    harness: Harness, callback_keys: CallbackKeys, event: Any
) -> None:
    h = harness()
    response = _signed_post(h, callback_keys, json.dumps([event]).encode())
    assert response.status_code == 200
    assert body_of(response)["raised"] in ([], ["CallFailed"], ["CallConnected"], ["CallEnded"])


def test_wrongly_typed_fields_count_as_absent() -> None:
    assert instance_event_for("CallConnected", {"callConnectionId": {"id": "c"}}) is None
    ended = instance_event_for("CallDisconnected", {"callConnectionId": "c", "resultInformation": "bye"})
    assert ended == ("CallEnded", {"call_connection_id": "c", "reason": None})
    failed = instance_event_for(
        "CreateCallFailed", {"callConnectionId": "c", "resultInformation": {"code": "486", "subCode": True}}
    )
    assert failed == (
        "CallFailed",
        {"call_connection_id": "c", "code": None, "subcode": None, "message": None},
    )


def test_call_end_after_the_flow_gave_up_says_the_interview_is_incomplete(
    harness: Harness, callback_keys: CallbackKeys
) -> None:
    h = harness()
    interview_id = f"{JOB_ID}.cut.interview"
    record_interview_incomplete(interview_id, "call-0", "the question flow stopped after RecognizeCompleted")
    raised: list[tuple[str, Any]] = []

    class Spy:
        async def raise_event(self, instance_id: str, name: str, body: Any) -> None:
            raised.append((name, body))

    from triggers.acs_callbacks import handle_acs_event

    event = _cloud_event("CallDisconnected", resultInformation={"code": 200, "message": "ended"})
    assert h.host.run(handle_acs_event(Spy(), interview_id, event)) == "CallEnded"
    assert raised[0][1]["reason"] == (
        f"{INCOMPLETE_REASON_PREFIX}the question flow stopped after RecognizeCompleted (ended)"
    )
