"""Recordings end to end with the real sync SDK: Event Grid delivery, ranges, delete, transcription."""

from __future__ import annotations

import io
import json
import socket
import wave
from pathlib import Path
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier, TextSource
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest

from emulators.acs_service import new_access_key
from emulators.recording import SAMPLE_RATE, transcribe_wav
from emulators.tls import TlsMaterial
from tests.emulators.acs.harness import RunningAcs, running_acs, wait_until

CALLER = PhoneNumberIdentifier("+18005550100")
STRONG = "+14255550101"
KEY = new_access_key()
QUESTIONS = ["Tell me about your Python experience.", "Describe a pipeline you designed."]


def recording_client(acs: RunningAcs) -> CallAutomationClient:
    # Recording URLs are on *.asm.skype.com (the only hosts the SDK accepts); the emulator's proxy
    # routes them.
    return CallAutomationClient.from_connection_string(
        acs.connection_string, connection_verify=acs.ca, proxies={"https": acs.emulator.recording_proxy_url}
    )


def record_interview(
    acs: RunningAcs, target: str = STRONG, *, wait_for_event: bool = True
) -> tuple[str, dict[str, Any]]:
    """Call, record, ask QUESTIONS, hang up; return the call id and the RecordingFileStatusUpdated event."""
    client = recording_client(acs)
    call_id = str(
        client.create_call(
            PhoneNumberIdentifier(target), acs.callback_url, source_caller_id_number=CALLER
        ).call_connection_id
    )
    connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"), what="CallConnected")
    client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
    connection = client.get_call_connection(call_id)
    for question in QUESTIONS:
        connection.play_media_to_all(TextSource(text=question))
    connection.hang_up(is_for_everyone=True)
    if not wait_for_event:
        return call_id, {}
    notifications = wait_until(acs.receiver.notifications, what="RecordingFileStatusUpdated")
    return call_id, notifications[-1]


def test_event_grid_validates_then_delivers_the_recording_event(acs: RunningAcs) -> None:
    _, event = record_interview(acs)
    assert acs.receiver.deliveries() == [("SubscriptionValidation", "0"), ("Notification", "0")]
    assert event["eventType"] == "Microsoft.Communication.RecordingFileStatusUpdated"
    assert event["topic"].endswith("/providers/Microsoft.Communication/communicationServices/emulated-acs")
    data = event["data"]
    chunk = data["recordingStorageInfo"]["recordingChunks"][0]
    assert set(chunk) == {
        "documentId",
        "index",
        "endReason",
        "contentLocation",
        "metadataLocation",
        "deleteLocation",
    }
    assert chunk["contentLocation"].startswith("https://")
    assert ".asm.skype.com/" in chunk["contentLocation"]
    assert data["sessionEndReason"] == "CallEnded"
    assert data["recordingDurationMs"] > 10_000
    assert data["recordingStartTime"]


def test_event_grid_retries_a_failing_subscriber_with_backoff(acs: RunningAcs) -> None:
    acs.receiver.event_grid_failures_left = 2
    record_interview(acs)
    wait_until(lambda: len(acs.receiver.notifications()) == 3, what="the third attempt")
    assert acs.receiver.deliveries() == [
        ("SubscriptionValidation", "0"),
        ("Notification", "0"),
        ("Notification", "1"),
        ("Notification", "2"),
    ]
    assert len(acs.receiver.notifications()) == 3  # the same event, three attempts
    assert len({e["id"] for e in acs.receiver.notifications()}) == 1


def test_event_grid_gives_up_after_bounded_attempts(acs: RunningAcs) -> None:
    acs.receiver.event_grid_failures_left = 100
    client = recording_client(acs)
    call_id = str(
        client.create_call(
            PhoneNumberIdentifier(STRONG), acs.callback_url, source_caller_id_number=CALLER
        ).call_connection_id
    )
    connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
    recording = client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
    client.stop_recording(recording.recording_id)
    failure = wait_until(lambda: acs.emulator.failed_deliveries, what="delivery to be abandoned")
    assert "gave up after 4 attempts" in failure[0]
    assert [kind for kind, _ in acs.receiver.deliveries()].count("Notification") == 4


def test_recording_downloads_whole_and_in_ranges_and_transcribes_to_the_interview(acs: RunningAcs) -> None:
    _, event = record_interview(acs)
    chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
    client = recording_client(acs)
    whole = b"".join(client.download_recording(chunk["contentLocation"]).iter_bytes())
    with wave.open(io.BytesIO(whole)) as reader:
        assert reader.getframerate() == SAMPLE_RATE
        assert abs(reader.getnframes() / SAMPLE_RATE * 1000 - event["data"]["recordingDurationMs"]) <= 1
    # Chunked, ranged downloads reassemble to the same bytes. (The SDK sends no Range header for offset 0.)
    pieces, offset, size = [whole[:1]], 1, 50_000
    while offset < len(whole):
        response = client.download_recording(chunk["contentLocation"], offset=offset, length=size)
        pieces.append(b"".join(response.iter_bytes()))
        assert len(pieces[-1]) == min(size, len(whole) - offset)
        offset += size
    assert b"".join(pieces) == whole
    segments = transcribe_wav(whole)
    assert [s.text for s in segments if s.speaker == "interviewer"] == QUESTIONS
    answers = [s.text for s in segments if s.speaker == "candidate"]
    assert answers[0].startswith("I have eight years of Python experience")
    metadata = json.loads(b"".join(client.download_recording(chunk["metadataLocation"]).iter_bytes()))
    assert metadata["chunkDocumentId"] == chunk["documentId"]
    assert metadata["recordingInfo"]["format"] == "wav"


def test_range_requests_follow_http_semantics(acs: RunningAcs) -> None:
    _, event = record_interview(acs)
    url = event["data"]["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"]
    service = recording_client(acs)._client  # the SDK's own signed pipeline, for headers the SDK never sends

    def fetch(request: HttpRequest) -> Any:
        response = service.send_request(
            request, stream=True
        )  # audio is not JSON: do not let azure-core decode it
        response.read()
        return response

    whole = fetch(HttpRequest("GET", url))
    assert whole.status_code == 200
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.content)
    middle = fetch(HttpRequest("GET", url, headers={"Range": "bytes=100-199"}))
    assert middle.status_code == 206
    assert middle.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert middle.content == whole.content[100:200]
    tail = fetch(HttpRequest("GET", url, headers={"Range": "bytes=-64"}))
    assert tail.status_code == 206
    assert tail.content == whole.content[-64:]
    beyond = fetch(HttpRequest("GET", url, headers={"Range": f"bytes={size}-"}))
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"


def test_delete_recording_then_it_is_gone(acs: RunningAcs) -> None:
    _, event = record_interview(acs)
    chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
    client = recording_client(acs)
    client.delete_recording(chunk["deleteLocation"])
    with pytest.raises(ResourceNotFoundError):
        client.download_recording(chunk["contentLocation"])
    with pytest.raises(ResourceNotFoundError):
        client.delete_recording(chunk["deleteLocation"])


def test_proxy_only_tunnels_recording_hosts(acs: RunningAcs) -> None:
    host, port = acs.emulator.recording_proxy_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 403")


def test_recordings_outlive_an_emulator_restart_on_the_same_data_dir(
    tls_material: TlsMaterial, tmp_path: Path
) -> None:
    with running_acs(tls_material, tmp_path, access_key=KEY) as first:
        _, event = record_interview(first)
        chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
        before = b"".join(recording_client(first).download_recording(chunk["contentLocation"]).iter_bytes())
    with running_acs(tls_material, tmp_path, access_key=KEY) as second:
        client = recording_client(second)
        after = b"".join(client.download_recording(chunk["contentLocation"]).iter_bytes())
        assert after == before
        client.delete_recording(chunk["deleteLocation"])
    with running_acs(tls_material, tmp_path, access_key=KEY) as third, pytest.raises(ResourceNotFoundError):
        recording_client(third).download_recording(chunk["contentLocation"])


def test_a_recording_cut_into_chunks_is_one_event_with_every_chunk(acs: RunningAcs) -> None:
    _, event = record_interview(acs, target="+14255550107")
    chunks = event["data"]["recordingStorageInfo"]["recordingChunks"]
    assert [c["index"] for c in chunks] == [0, 1]
    assert [c["endReason"] for c in chunks] == ["ChunkMaximumTimeExceeded", "SessionEnded"]
    assert len({c["documentId"] for c in chunks}) == 2
    client = recording_client(acs)
    heard = []
    total_ms = 0.0
    for chunk in chunks:
        audio = b"".join(client.download_recording(chunk["contentLocation"]).iter_bytes())
        with wave.open(io.BytesIO(audio)) as reader:
            total_ms += reader.getnframes() / SAMPLE_RATE * 1000
        heard += transcribe_wav(audio)
        metadata = json.loads(b"".join(client.download_recording(chunk["metadataLocation"]).iter_bytes()))
        assert metadata["chunkIndex"] == chunk["index"]
    assert [s.text for s in heard if s.speaker == "interviewer"] == QUESTIONS
    assert heard[1].text.startswith("I have seven years")
    assert abs(total_ms - event["data"]["recordingDurationMs"]) <= 2


def test_a_subscriber_that_fails_validation_gets_no_events(acs: RunningAcs) -> None:
    acs.receiver.echo_validation_code = False
    record_interview(acs, wait_for_event=False)
    failure = wait_until(lambda: acs.emulator.failed_deliveries, what="validation to fail")
    assert "validation answer does not echo the validation code" in failure[0]
    assert [kind for kind, _ in acs.receiver.deliveries()] == ["SubscriptionValidation"]


def test_a_webhook_url_is_logged_without_its_query() -> None:
    from emulators.eventgrid_delivery import loggable_url

    keyed = "http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=f&code=s3cret"
    assert loggable_url(keyed) == "http://127.0.0.1:7071/runtime/webhooks/eventgrid?[query hidden]"
    assert loggable_url("https://h/api/acs/callbacks") == "https://h/api/acs/callbacks"
