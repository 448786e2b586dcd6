"""A recording download that fails mid-way resumes from the bytes already staged, not from byte 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from activities.recordings import fetch_call_recording
from emulators.server import EmulatorThread
from shared.clients import override_client, recording_download_client
from shared.errors import ErrorCode, TransientError
from shared.models import FetchCallRecordingInput, FetchCallRecordingOutput
from shared.retry import REQUEST_RETRY
from shared.storage import blob_client
from tests.pipeline.activities.acs_helpers import recorded_call

pytestmark = pytest.mark.azurite

RANGE = 64 * 1024


class ByteCountingClient:
    """The real recording download client, counting the bytes each ranged read brings back."""

    def __init__(self, real: Any, content_location: str) -> None:
        self.real = real
        self.content_location = content_location
        self.reads: list[tuple[int, int]] = []  # audio reads: (offset asked for, bytes received)

    def download_recording(self, location: str, **options: Any) -> Any:
        response = self.real.download_recording(location, **options)
        if location != self.content_location:
            return response  # the chunk's metadata document, not audio
        offset = int(options.get("offset") or 0)
        index = len(self.reads)
        self.reads.append((offset, 0))

        def counted() -> Iterator[bytes]:
            for piece in response.iter_bytes() if hasattr(response, "iter_bytes") else response:
                self.reads[index] = (offset, self.reads[index][1] + len(piece))
                yield piece

        return counted()

    def bytes_received(self) -> int:
        return sum(received for _, received in self.reads)


def test_a_retried_download_resumes_at_the_staged_offset_and_the_blob_is_identical(
    configure: Callable[..., None],
    emulators: EmulatorThread,
    script_faults: Callable[[str, list[str | None]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import activities.recordings as recordings

    monkeypatch.setattr(recordings, "RANGE_BYTES", RANGE)
    ready = recorded_call(emulators, "resume")
    chunk = ready.chunks[0]
    real = recording_download_client()
    original = b"".join(real.download_recording(chunk.content_location).iter_bytes())  # type: ignore[attr-defined]
    assert len(original) > 5 * RANGE  # enough ranges to fail in the middle
    counting = ByteCountingClient(real, chunk.content_location)
    override_client("recording_download_client", counting)
    payload = FetchCallRecordingInput(instance_id="resume", recording=ready).model_dump(mode="json")

    # Three ranges arrive, then ACS fails the fourth more often than one attempt retries it.
    script_faults("acs", [None, None, None, *["503"] * REQUEST_RETRY.tries])
    with pytest.raises(TransientError) as raised:
        fetch_call_recording_with_range(payload)
    assert raised.value.code is ErrorCode.SERVICE_UNAVAILABLE
    staged_before_retry = counting.bytes_received()
    assert staged_before_retry == 3 * RANGE

    # The orchestrator's retry: the next attempt starts at the staged offset.
    out = FetchCallRecordingOutput.model_validate(fetch_call_recording_with_range(payload))

    assert out.failure is None
    retry_reads = counting.reads[3:]
    assert retry_reads[0][0] == 3 * RANGE, "the retry started again at byte 0"
    re_downloaded = counting.bytes_received() - len(original)
    print(f"\nrecording {len(original)} B, staged before the fault {staged_before_retry} B, ", end="")
    print(f"re-downloaded after it {re_downloaded} B")
    assert re_downloaded == 0
    stored = blob_client(out.chunks[0].container, out.chunks[0].name).download_blob().readall()
    assert stored == original
    assert out.total_bytes == len(original)


def fetch_call_recording_with_range(payload: dict[str, Any]) -> dict[str, Any]:
    """The activity as registered (its range size patched for the test)."""
    return fetch_call_recording(payload)


def test_a_range_that_fails_once_is_retried_inside_the_attempt(
    configure: Callable[..., None],
    emulators: EmulatorThread,
    script_faults: Callable[[str, list[str | None]], None],
    pauses: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import activities.recordings as recordings

    monkeypatch.setattr(recordings, "RANGE_BYTES", RANGE)
    ready = recorded_call(emulators, "flaky-range")
    payload = FetchCallRecordingInput(instance_id="flaky-range", recording=ready).model_dump(mode="json")
    script_faults("acs", [None, "503", None, "drop"])  # the second range fails once, the third drops once

    out = FetchCallRecordingOutput.model_validate(fetch_call_recording(payload))

    assert out.failure is None
    assert len(pauses) == 2  # two in-attempt retries, no lost attempt
    stored = blob_client(out.chunks[0].container, out.chunks[0].name).get_blob_properties()
    assert stored.size == out.total_bytes
    assert out.total_bytes > 3 * RANGE
