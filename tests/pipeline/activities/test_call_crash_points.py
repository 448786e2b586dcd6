"""Crashes forced at the exact windows of placing a call: between ACS creating it and its record, and between
the two writes of the record. Each re-run must find or adopt the one call: one ring, one call, and the call's
recording can be started.

A crash is a ``BaseException`` raised at a named fault point, as a process dying there would leave things:
nothing after the point runs, and the activity wrapper cannot turn it into a result.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from email.utils import format_datetime
from typing import Any

import pytest

from activities.calls import PLACE_CALL_AFTER_CREATE, operation_context_for, start_call_recording
from emulators.server import EmulatorThread
from shared.models import BlobRef, StartCallRecordingOutput
from shared.settings import get_settings
from shared.storage import (
    RECORD_CALL_BETWEEN_WRITES,
    blob_properties,
    call_for_operation_context,
    container_client,
    download_text,
    injected_fault,
    instance_for_server_call,
    record_call_sighting,
    upload_bytes,
)
from tests.pipeline.activities.acs_helpers import call_state, place
from tests.pipeline.activities.conftest import wait_until

pytestmark = pytest.mark.azurite


class SimulatedCrash(BaseException):
    """The process died at a fault point."""


def _crash() -> None:
    raise SimulatedCrash


def _calls_for(emulators: EmulatorThread, context: str) -> int:
    async def read() -> int:
        assert emulators.server.acs is not None
        return int(emulators.server.acs.calls_summary()["per_operation_context"].get(context, 0))

    return int(emulators.call(read()))


@pytest.fixture
def connected(emulators: EmulatorThread) -> Callable[[str], None]:
    def wait(call_connection_id: str) -> None:
        wait_until(lambda: call_state(call_connection_id) == "connected", what="the call to connect")

    return wait


def _start_recording(instance: str, server_call_id: str) -> StartCallRecordingOutput:
    raw: dict[str, Any] = start_call_recording({"instance_id": instance, "server_call_id": server_call_id})
    return StartCallRecordingOutput.model_validate(raw)


def test_crash_between_the_record_writes_leaves_no_record_and_the_rerun_finds_the_call(
    configure: Callable[..., None], emulators: EmulatorThread, connected: Callable[[str], None]
) -> None:
    instance = "crash-record"
    context = operation_context_for(instance, 0)
    with injected_fault(RECORD_CALL_BETWEEN_WRITES, _crash), pytest.raises(SimulatedCrash):
        place(instance)
    # Absent, not half-written: the re-run does not trust a record that was never committed.
    assert call_for_operation_context(context) is None

    rerun = place(instance)
    assert rerun.failure is None
    assert not rerun.already_placed
    assert _calls_for(emulators, context) == 1  # ACS answered the repeat with the same call
    record = call_for_operation_context(context)
    assert record is not None
    assert record.call_connection_id == rerun.call_connection_id
    assert record.server_call_id == rerun.server_call_id
    indexed = instance_for_server_call(rerun.server_call_id or "")
    assert indexed is not None
    assert indexed.instance_id == instance

    connected(rerun.call_connection_id or "")
    started = _start_recording(instance, rerun.server_call_id or "")
    assert started.failure is None
    assert started.recording_id


def test_crash_between_create_call_and_its_record_rings_once(
    configure: Callable[..., None], emulators: EmulatorThread, connected: Callable[[str], None]
) -> None:
    instance = "crash-create"
    context = operation_context_for(instance, 0)
    with injected_fault(PLACE_CALL_AFTER_CREATE, _crash), pytest.raises(SimulatedCrash):
        place(instance)
    assert call_for_operation_context(context) is None
    assert _calls_for(emulators, context) == 1

    rerun = place(instance)
    assert rerun.failure is None
    assert _calls_for(emulators, context) == 1  # one ring, one call
    connected(rerun.call_connection_id or "")
    assert _start_recording(instance, rerun.server_call_id or "").failure is None
    # And a third execution finds the record.
    assert place(instance).already_placed


def test_rerun_after_the_repeatability_window_hangs_up_the_orphaned_call(
    configure: Callable[..., None], emulators: EmulatorThread, connected: Callable[[str], None]
) -> None:
    instance = "crash-late"
    context = operation_context_for(instance, 0)
    with injected_fault(PLACE_CALL_AFTER_CREATE, _crash), pytest.raises(SimulatedCrash):
        place(instance)
    orphan = _only_call_of(emulators, context)
    connected(orphan)
    # What the callback trigger records when ACS reports the call connected.
    record_call_sighting(context, orphan)
    # The re-run comes after ACS stopped tracking the request (its first-sent time is six minutes old).
    container = get_settings().artifacts_container
    stored = [b.name for b in container_client(container).list_blobs(name_starts_with=f"{instance}/calls/")]
    assert len(stored) == 1
    pair = json.loads(download_text(BlobRef(container=container, name=stored[0])))
    pair["first_sent"] = format_datetime(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6), usegmt=True)
    upload_bytes(container, stored[0], json.dumps(pair).encode(), content_type="application/json")

    rerun = place(instance)
    assert rerun.failure is None
    assert rerun.call_connection_id != orphan
    assert call_state(orphan) == "disconnected"  # the orphan did not stay up
    record = call_for_operation_context(context)
    assert record is not None
    assert record.call_connection_id == rerun.call_connection_id
    assert blob_properties(container, stored[0]) is not None


def _only_call_of(emulators: EmulatorThread, context: str) -> str:
    async def read() -> list[str]:
        assert emulators.server.acs is not None
        return [
            call.call_connection_id
            for call in emulators.server.acs._calls.values()
            if call.operation_context == context
        ]

    ids: list[str] = emulators.call(read())
    assert len(ids) == 1
    return ids[0]
