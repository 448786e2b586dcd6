"""Helpers that drive a real call on the ACS emulator through the activities."""

from typing import Any

from activities.calls import hang_up_call, place_interview_call, start_call_recording
from emulators.server import EmulatorThread
from shared.clients import call_automation_client
from shared.models import HangUpCallOutput, PlaceInterviewCallOutput, RecordingReady, StartCallRecordingOutput
from tests.pipeline.activities.conftest import JOB_ID, wait_until

STRONG = "+14255550201"
NEVER_ANSWERS = "+14255550204"


def place(instance: str, phone: str = STRONG, attempt: int = 0) -> PlaceInterviewCallOutput:
    return PlaceInterviewCallOutput.model_validate(
        place_interview_call(
            {"instance_id": instance, "job_id": JOB_ID, "phone_number": phone, "attempt": attempt}
        )
    )


def call_state(call_connection_id: str) -> str:
    properties = call_automation_client().get_call_connection(call_connection_id).get_call_properties()
    return str(properties.call_connection_state)


def recorded_call(emulators: EmulatorThread, instance: str) -> RecordingReady:
    """Place a call, record it once connected, hang up and return the RecordingReady body ACS announced."""
    placed = place(instance)
    assert placed.call_connection_id is not None
    assert placed.server_call_id is not None
    wait_until(lambda: call_state(placed.call_connection_id or "") == "connected", what="CallConnected")
    started = StartCallRecordingOutput.model_validate(
        start_call_recording({"instance_id": instance, "server_call_id": placed.server_call_id})
    )
    assert started.failure is None
    assert started.recording_id
    # A repeated start (a retried activity) finds the recording running instead of failing.
    repeated = StartCallRecordingOutput.model_validate(
        start_call_recording({"instance_id": instance, "server_call_id": placed.server_call_id})
    )
    assert repeated.failure is None
    assert repeated.already_recording
    hung = HangUpCallOutput.model_validate(
        hang_up_call({"instance_id": instance, "call_connection_id": placed.call_connection_id})
    )
    assert hung.hung_up
    events = emulators.server.acs.delivered_recording_events  # type: ignore[union-attr]

    def announced() -> dict[str, Any] | None:
        for event in list(events):
            if event["subject"].endswith(placed.server_call_id or ""):
                return event
        return None

    event = wait_until(announced, what="RecordingFileStatusUpdated")
    data = event["data"]
    return RecordingReady.model_validate(
        {
            "server_call_id": placed.server_call_id,
            "recording_id": started.recording_id,
            "chunks": [
                {
                    "document_id": c["documentId"],
                    "index": c["index"],
                    "content_location": c["contentLocation"],
                    "metadata_location": c["metadataLocation"],
                    "delete_location": c["deleteLocation"],
                    "end_reason": c.get("endReason"),
                }
                for c in data["recordingStorageInfo"]["recordingChunks"]
            ],
            "duration_ms": data["recordingDurationMs"],
            "content_type": data["recordingContentType"],
            "channel_type": data["recordingChannelType"],
        }
    )
