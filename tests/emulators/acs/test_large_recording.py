"""A very long interview: a recording of hundreds of MB streams through the SDK with bounded memory."""

from __future__ import annotations

import hashlib
import resource
import struct

from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier, TextSource

from emulators.recording import data_chunk_offset, transcribe_wav
from tests.emulators.acs.harness import RunningAcs, wait_until

VERY_LONG = "+14255550106"
MIN_SIZE = 200 * 1024 * 1024
MEMORY_BOUND = 64 * 1024 * 1024
HEAD_BYTES = 2 * 1024 * 1024


def data_chunk(head: bytes) -> tuple[int, int]:
    """(offset of the data chunk header, its declared size)."""
    position = data_chunk_offset(head)
    return position, struct.unpack_from("<I", head, position + 4)[0]


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def test_very_long_recording_streams_with_bounded_memory_and_parts_transcribe(acs: RunningAcs) -> None:
    client = CallAutomationClient.from_connection_string(
        acs.connection_string, connection_verify=acs.ca, proxies={"https": acs.emulator.recording_proxy_url}
    )
    call = client.create_call(
        PhoneNumberIdentifier(VERY_LONG),
        acs.callback_url,
        source_caller_id_number=PhoneNumberIdentifier("+18005550100"),
    )
    call_id = str(call.call_connection_id)
    connected = wait_until(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
    client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
    client.get_call_connection(call_id).play_media_to_all(TextSource(text="Walk me through your career."))
    client.get_call_connection(call_id).hang_up(is_for_everyone=True)
    event = wait_until(acs.receiver.notifications)[0]
    chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
    assert event["data"]["recordingDurationMs"] >= 7_200_000

    before = peak_rss_bytes()
    digest = hashlib.sha256()
    size = 0
    head = b""
    for piece in client.download_recording(chunk["contentLocation"]).iter_bytes():
        if len(head) < HEAD_BYTES:  # the script chunk of a long interview is a few hundred KB
            head += piece[: HEAD_BYTES - len(head)]
        digest.update(piece)
        size += len(piece)
    growth = peak_rss_bytes() - before
    assert size >= MIN_SIZE
    assert growth < MEMORY_BOUND, (
        f"peak RSS grew by {growth / 2**20:.0f} MiB while streaming {size / 2**20:.0f} MiB"
    )
    data_at, data_size = data_chunk(head)
    assert size == data_at + 8 + data_size

    # A part from the middle (the way a splitter cuts at a frame boundary, header and extra chunks kept) is
    # located in the recording and transcribed with times relative to itself.
    header = head[: head.index(b"data")]
    offset = (
        head.index(b"data") + 8 + 2 * 16_000 * 3_600 + 2 * 12_345
    )  # one hour and an odd number of frames in
    part_length = 2 * 16_000 * 60
    middle = b"".join(
        client.download_recording(chunk["contentLocation"], offset=offset, length=part_length).iter_bytes()
    )
    part = b"RIFF" + struct.pack("<I", len(header) - 8 + 8 + part_length) + header[8:]
    part += b"data" + struct.pack("<I", part_length) + middle
    segments = transcribe_wav(part)
    assert segments
    assert all(0 <= s.start_s <= s.end_s <= 60.001 for s in segments)
    assert {s.speaker for s in segments} <= {"interviewer", "candidate"}
