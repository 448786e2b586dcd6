"""Call Automation with the real sync SDK: personas, media, recording state, hang up, auth, bad input."""

from __future__ import annotations

import base64
import hashlib
from email.utils import formatdate
from typing import Any

import pytest
import requests
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    FileSource,
    PhoneNumberIdentifier,
    RecognitionChoice,
    RecognizeInputType,
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    TextSource,
)
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest

from emulators.acs_service import new_access_key
from tests.emulators.acs.harness import RunningAcs, wait_until

SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"
CALLER = PhoneNumberIdentifier("+18005550100")
WELL, POORLY, NO_ANSWER, BUSY, HANGS_UP = (f"+1425555010{i}" for i in range(1, 6))


def client_for(acs: RunningAcs) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(acs.connection_string, connection_verify=acs.ca)


def place_call(acs: RunningAcs, target: Any, context: str = "interview-42") -> str:
    result = client_for(acs).create_call(
        target, acs.callback_url, source_caller_id_number=CALLER, operation_context=context
    )
    assert result.call_connection_state == "connecting"
    assert result.server_call_id
    return str(result.call_connection_id)


def wait_for_event(acs: RunningAcs, call_id: str, event_type: str) -> dict[str, Any]:
    events = wait_until(lambda: acs.receiver.callbacks_of(call_id, event_type), what=event_type)
    return events[0]


def test_answering_candidate_connects_and_callbacks_are_cloud_events(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    event = wait_for_event(acs, call_id, "CallConnected")
    assert event["specversion"] == "1.0"
    assert event["source"] == f"calling/callConnections/{call_id}"
    assert event["data"]["operationContext"] == "interview-42"
    properties = client_for(acs).get_call_connection(call_id).get_call_properties()
    assert properties.call_connection_state == "connected"
    assert properties.server_call_id == event["data"]["serverCallId"]


@pytest.mark.parametrize(
    ("target", "code", "sub_code"), [(NO_ANSWER, 480, 560480), (BUSY, 486, 560486)], ids=["no_answer", "busy"]
)
def test_unreachable_candidate_fails_the_call_with_result_codes(
    acs: RunningAcs, target: str, code: int, sub_code: int
) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(target))
    failed = wait_for_event(acs, call_id, "CreateCallFailed")
    wait_for_event(acs, call_id, "CallDisconnected")
    assert failed["data"]["resultInformation"]["code"] == code
    assert failed["data"]["resultInformation"]["subCode"] == sub_code
    assert acs.receiver.callback_types(call_id) == ["CreateCallFailed", "CallDisconnected"]
    with pytest.raises(HttpResponseError) as refused:
        client_for(acs).get_call_connection(call_id).play_media_to_all(TextSource(text="Hello?"))
    assert refused.value.status_code == 400


def test_acs_user_target_and_unknown_numbers_answer(acs: RunningAcs) -> None:
    user_call = place_call(acs, CommunicationUserIdentifier("8:acs:emulated-candidate-0001"))
    stranger_call = place_call(acs, PhoneNumberIdentifier("+442071234567"))
    wait_for_event(acs, user_call, "CallConnected")
    wait_for_event(acs, stranger_call, "CallConnected")


def test_play_text_prompt_completes_with_its_operation_context(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    connection = client_for(acs).get_call_connection(call_id)
    connection.play_media_to_all(TextSource(text="Tell me about yourself."), operation_context="question-1")
    completed = wait_for_event(acs, call_id, "PlayCompleted")
    assert completed["data"]["operationContext"] == "question-1"
    assert completed["data"]["resultInformation"]["code"] == 200
    connection.play_media_to_all(FileSource(url="https://example.invalid/prompt.wav"))
    failed = wait_for_event(acs, call_id, "PlayFailed")
    assert failed["data"]["resultInformation"]["subCode"] == 8536


def test_recognize_returns_the_personas_spoken_answer(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(POORLY))
    wait_for_event(acs, call_id, "CallConnected")
    client_for(acs).get_call_connection(call_id).start_recognizing_media(
        RecognizeInputType.SPEECH,
        PhoneNumberIdentifier(POORLY),
        play_prompt=TextSource(text="What have you built?"),
        operation_context="q1",
    )
    recognized = wait_for_event(acs, call_id, "RecognizeCompleted")
    assert recognized["data"]["speechResult"]["speech"] == "Um, I did some programming, mostly Excel macros."
    assert recognized["data"]["operationContext"] == "q1"


def test_candidate_who_hangs_up_early_disconnects_after_the_first_question(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(HANGS_UP))
    wait_for_event(acs, call_id, "CallConnected")
    client_for(acs).get_call_connection(call_id).play_media_to_all(TextSource(text="Tell me about yourself."))
    wait_for_event(acs, call_id, "CallDisconnected")
    assert acs.receiver.callback_types(call_id) == [
        "CallConnected",
        "PlayStarted",
        "PlayCompleted",
        "CallDisconnected",
    ]


def test_recording_lifecycle_by_server_call_id(acs: RunningAcs) -> None:
    client = client_for(acs)
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    server_call_id = wait_for_event(acs, call_id, "CallConnected")["data"]["serverCallId"]
    started = client.start_recording(server_call_id=server_call_id)
    assert started.recording_state == "active"
    assert client.get_recording_properties(started.recording_id).recording_state == "active"
    client.pause_recording(started.recording_id)
    assert client.get_recording_properties(started.recording_id).recording_state == "inactive"
    client.resume_recording(started.recording_id)
    client.stop_recording(started.recording_id)
    states = wait_until(
        lambda: len(events := acs.receiver.callbacks_of(call_id, "RecordingStateChanged")) == 4 and events
    )
    assert [e["data"]["state"] for e in states] == ["active", "inactive", "active", "inactive"]
    assert {e["data"]["recordingId"] for e in states} == {started.recording_id}
    with pytest.raises(ResourceNotFoundError):
        client.start_recording(server_call_id="bm90LWEtY2FsbA")


def test_hang_up_and_terminate_disconnect_once(acs: RunningAcs) -> None:
    client = client_for(acs)
    first, second = place_call(acs, PhoneNumberIdentifier(WELL)), place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, first, "CallConnected")
    wait_for_event(acs, second, "CallConnected")
    client.get_call_connection(first).hang_up(is_for_everyone=False)
    client.get_call_connection(second).hang_up(is_for_everyone=True)
    for call_id in (first, second):
        wait_for_event(acs, call_id, "CallDisconnected")
        assert (
            client.get_call_connection(call_id).get_call_properties().call_connection_state == "disconnected"
        )
    client.get_call_connection(first).hang_up(is_for_everyone=False)
    assert acs.receiver.callback_types(first).count("CallDisconnected") == 1


def test_wrong_access_key_is_rejected_with_401(acs: RunningAcs) -> None:
    endpoint = acs.connection_string.split(";")[0]
    impostor = CallAutomationClient.from_connection_string(
        f"{endpoint};accesskey={new_access_key()}", connection_verify=acs.ca
    )
    with pytest.raises(ClientAuthenticationError):
        impostor.create_call(PhoneNumberIdentifier(WELL), acs.callback_url, source_caller_id_number=CALLER)
    assert acs.receiver.callbacks == []


def _raw(acs: RunningAcs, method: str, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    base = acs.emulator.config.public_base_url
    return requests.request(method, base + path, data=body, headers=headers, verify=acs.ca, timeout=10)


def test_missing_or_forged_signatures_are_rejected(acs: RunningAcs) -> None:
    path = "/calling/callConnections?api-version=2026-03-12"
    missing = _raw(acs, "POST", path, b"{}", {"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "Denied"
    digest = base64.b64encode(hashlib.sha256(b"{}").digest()).decode()
    forged = _raw(
        acs,
        "POST",
        path,
        b"{}",
        {
            "Content-Type": "application/json",
            "x-ms-date": formatdate(usegmt=True),
            "x-ms-content-sha256": digest,
            "Authorization": f"HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}&Signature=Zm9yZ2Vk",
        },
    )
    assert forged.status_code == 401
    assert "signature does not match" in forged.json()["error"]["message"]


def test_bad_input_gets_acs_style_errors(acs: RunningAcs) -> None:
    client = client_for(acs)
    with pytest.raises(HttpResponseError) as no_callback:
        client.create_call(PhoneNumberIdentifier(WELL), "not-a-url", source_caller_id_number=CALLER)
    assert no_callback.value.status_code == 400
    assert "CallbackUri" in str(no_callback.value)
    with pytest.raises(HttpResponseError) as no_caller_id:
        client.create_call(PhoneNumberIdentifier(WELL), acs.callback_url)
    assert no_caller_id.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        client.get_call_connection("no-such-call").get_call_properties()


def test_malformed_json_and_wrong_content_type_are_refused_not_crashed(acs: RunningAcs) -> None:
    # Signed by the SDK's own pipeline, so only the body is wrong.
    service = client_for(acs)._client
    path = "/calling/callConnections?api-version=2026-03-12"
    malformed = service.send_request(
        HttpRequest("POST", path, content="{not json", headers={"Content-Type": "application/json"})
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "BadRequest"
    as_text = service.send_request(
        HttpRequest("POST", path, content="{}", headers={"Content-Type": "text/plain"})
    )
    assert as_text.status_code == 415
    not_object = service.send_request(
        HttpRequest("POST", path, content="[1, 2]", headers={"Content-Type": "application/json"})
    )
    assert not_object.status_code == 400


def test_recording_formats_the_emulator_cannot_write_are_refused(acs: RunningAcs) -> None:
    client = client_for(acs)
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    server_call_id = wait_for_event(acs, call_id, "CallConnected")["data"]["serverCallId"]
    with pytest.raises(HttpResponseError, match="WAV only"):
        client.start_recording(server_call_id=server_call_id, recording_format_type=RecordingFormat.MP3)
    started = client.start_recording(
        server_call_id=server_call_id,
        recording_content_type=RecordingContent.AUDIO,
        recording_channel_type=RecordingChannel.MIXED,
        recording_format_type=RecordingFormat.WAV,
    )
    assert started.recording_state == "active"
    with pytest.raises(HttpResponseError) as twice:
        client.start_recording(server_call_id=server_call_id)
    assert twice.value.status_code == 409


def test_huge_bodies_are_refused_with_413(acs: RunningAcs) -> None:
    service = client_for(acs)._client
    huge = '{"targets": [], "padding": "' + "x" * (3 * 1024 * 1024) + '"}'
    response = service.send_request(
        HttpRequest(
            "POST",
            "/calling/callConnections?api-version=2026-03-12",
            content=huge,
            headers={"Content-Type": "application/json"},
        )
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"


def test_odd_body_shapes_get_400_not_500(acs: RunningAcs) -> None:
    service = client_for(acs)._client
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    json_headers = {"Content-Type": "application/json"}
    for path, body in [
        (f"/calling/callConnections/{call_id}:play", '{"playSources": ["not-an-object"]}'),
        (f"/calling/callConnections/{call_id}:play", '{"playSources": [{"kind": "text", "text": "bare"}]}'),
        (
            f"/calling/callConnections/{call_id}:recognize",
            '{"recognizeInputType": "choices", "recognizeOptions": 7}',
        ),
        ("/calling/callConnections", '{"targets": [{"phoneNumber": "+1"}], "callbackUri": "https://x"}'),
        ("/calling/recordings", '{"callLocator": "nope"}'),
    ]:
        response = service.send_request(
            HttpRequest("POST", f"{path}?api-version=2026-03-12", content=body, headers=json_headers)
        )
        assert response.status_code in (202, 400), (path, body, response.status_code)
    assert wait_for_event(acs, call_id, "PlayFailed")


def test_hanging_up_while_ringing_never_connects(acs: RunningAcs) -> None:
    acs.emulator.config.ring_delay_s = 2.0  # long enough that the hang-up surely lands while ringing
    client = client_for(acs)
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    client.get_call_connection(call_id).hang_up(is_for_everyone=True)
    wait_for_event(acs, call_id, "CallDisconnected")
    assert client.get_call_connection(call_id).get_call_properties().call_connection_state == "disconnected"
    assert acs.receiver.callback_types(call_id) == ["CallDisconnected"]


def test_recognize_choices_picks_the_label_whose_phrase_the_candidate_says(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    client_for(acs).get_call_connection(call_id).start_recognizing_media(
        RecognizeInputType.CHOICES,
        PhoneNumberIdentifier(WELL),
        play_prompt=TextSource(text="Do you know Python or Java?"),
        choices=[
            RecognitionChoice(label="java", phrases=["java"]),
            RecognitionChoice(label="python", phrases=["python experience"]),
        ],
    )
    recognized = wait_for_event(acs, call_id, "RecognizeCompleted")
    assert recognized["data"]["recognitionType"] == "choices"
    assert recognized["data"]["choiceResult"] == {"label": "python", "recognizedPhrase": "python experience"}


def test_recognize_choices_fails_when_no_phrase_is_spoken(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(POORLY))
    wait_for_event(acs, call_id, "CallConnected")
    client_for(acs).get_call_connection(call_id).start_recognizing_media(
        RecognizeInputType.CHOICES,
        PhoneNumberIdentifier(POORLY),
        play_prompt=TextSource(text="Kubernetes or Nomad?"),
        choices=[RecognitionChoice(label="k8s", phrases=["kubernetes"])],
        operation_context="choice-q",
    )
    failed = wait_for_event(acs, call_id, "RecognizeFailed")
    assert failed["data"]["resultInformation"]["subCode"] == 8547
    assert failed["data"]["operationContext"] == "choice-q"


def test_callbacks_are_retried_when_the_app_fails(acs: RunningAcs) -> None:
    acs.receiver.callback_failures_left = 2
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    assert acs.receiver.callback_attempts == 3
    assert acs.receiver.callback_types(call_id) == ["CallConnected"]
