"""One candidate end to end: devhost serving the app, the real activities, the emulators and Azurite.

A sample resume is submitted over HTTP; Document Intelligence, OpenAI and ACS are the emulators on loopback,
and the ACS emulator calls back into ``/api/acs/callbacks``. The test plays Event Grid: it posts the
``RecordingFileStatusUpdated`` event the emulator emitted to devhost's Event Grid webhook as a notification
(the subscription handshake is Event Grid's business, not the app's). Only the waits for the interview
slot and between unanswered calls are skipped (by moving the engine's clock); the rest runs in real time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from emulators.server import EmulatorOptions, EmulatorThread, emulators_in_thread
from shared.clients import reset_clients
from shared.settings import get_settings, reset_settings, setting_keys
from shared.storage import container_client, reset_storage, upload_bytes
from tests.pipeline.triggers.conftest import CALLBACK_SECRET, TriggerHarness
from tests.support.host_thread import HostThread

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
SAMPLES = Path(__file__).resolve().parents[3] / "samples"
TERMINAL = {"Completed", "Failed", "Terminated"}


class Host(HostThread):
    """devhost with the real activities, its clock moved only by the test, and the emulators beside it."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, blob_poll_interval=0.2)
        self.emulators: EmulatorThread | None = None
        self.forwarded = 0

    def forward_recording_events(self) -> None:
        """Deliver the emulator's new ``RecordingFileStatusUpdated`` events as Event Grid notifications."""
        assert self.emulators is not None
        assert self.emulators.server.acs is not None
        events = list(self.emulators.server.acs.delivered_recording_events)
        for event in events[self.forwarded :]:
            status, _ = self.request(
                "POST",
                "/runtime/webhooks/eventgrid?functionName=recording_file_status_updated",
                json=[event],
                headers={"aeg-event-type": "Notification"},
            )
            assert status == 202
        self.forwarded = len(events)

    def advance(self, delta: timedelta) -> None:
        self.engine.clock.advance_by(delta)
        self.loop.call_soon_threadsafe(self.engine._notify_progress)

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async def send() -> tuple[int, Any]:
            async with (
                aiohttp.ClientSession() as session,
                session.request(method, f"{self.running.base_url}{path}", **kwargs) as response,
            ):
                text = await response.text()
                if response.content_type != "application/json":
                    return response.status, text
                return response.status, json.loads(text) if text else None

        result: tuple[int, Any] = self.run(send())
        return result


@pytest.fixture
def personas_file() -> Path:
    """How each phone number answers the emulated call (a test class may hand its own file)."""
    return SAMPLES / "personas.json"


@pytest.fixture
def stack(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, personas_file: Path
) -> Iterator[Host]:
    h = harness()  # Azurite settings and fresh containers (the harness's own engine stays unused)
    containers = dict(h.containers)
    host = Host(tmp_path / "host")
    options = EmulatorOptions(personas=personas_file, recording_ready_delay_s=0.0)
    try:
        with emulators_in_thread(options) as emulators:
            host.emulators = emulators
            for key, value in emulators.settings.items():
                if key in setting_keys():
                    monkeypatch.setenv(key, value)
            monkeypatch.setenv("CALLBACK_BASE_URL", host.running.base_url)
            monkeypatch.setenv("ACS_CALLBACK_SECRET", CALLBACK_SECRET)
            for key, value in containers.items():
                monkeypatch.setenv(key, value)
            reset_settings()
            reset_clients()
            reset_storage()
            from samples.seed import seed_jobs

            seed_jobs()
            yield host
    finally:
        host.close()


def _sample(key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        c for c in json.loads((SAMPLES / "candidates.json").read_text()) if c["key"] == key
    )
    return found


def _submit_sample(stack: Host, key: str) -> str:
    candidate = _sample(key)
    blob = f"{candidate['job_id']}/{Path(candidate['resume']).name}"
    upload_bytes(get_settings().resumes_container, blob, (SAMPLES / candidate["resume"]).read_bytes())
    body = {
        "name": candidate["name"],
        "email": candidate["email"],
        "phone": candidate["phone"],
        "time_zone": candidate["time_zone"],
        "resume_blob": blob,
    }
    status, started = stack.request("POST", f"/api/jobs/{candidate['job_id']}/candidates", json=body)
    assert status == 202, started
    return str(started["id"])


def _follow(stack: Host, instance_id: str, *, decision: str | None = None) -> dict[str, Any]:
    """Poll the candidate until it finishes, skipping slot waits and answering a review with ``decision``."""

    def view() -> dict[str, Any]:
        code, candidate_view = stack.request("GET", f"/api/candidates/{instance_id}")
        assert code == 200
        result: dict[str, Any] = candidate_view
        return result

    deadline = time.monotonic() + 90
    current = view()
    while current["runtime_status"] not in TERMINAL and time.monotonic() < deadline:
        if current["stage"] == "waiting_for_slot" or (current["detail"] or "").startswith("no answer"):
            stack.advance(timedelta(hours=12))  # skipped: the booked slot and the backoff between calls
        if current["stage"] == "awaiting_review" and decision is not None:
            path = f"/api/candidates/{instance_id}/events/RecruiterDecision"
            code, _ = stack.request("POST", path, json={"decision": decision})
            assert code == 202
            decision = None
        stack.forward_recording_events()
        time.sleep(0.1)
        current = view()
    return current


def test_a_strong_candidate_is_screened_called_recorded_scored_and_reported(stack: Host) -> None:
    current = _follow(stack, _submit_sample(stack, "ada-strong"))

    assert current["runtime_status"] == "Completed", current
    assert current["outcome"] == "interviewed"
    assert current["screening"]["decision"] == "advance"
    assert current["interview"]["overall"] is not None
    assert current["report"]["page"]["name"]
    page_status, page = stack.request("GET", current["links"]["report"])
    assert page_status == 200
    assert "<html" in page.lower()
    json_status, report = stack.request("GET", current["links"]["report"], params={"format": "json"})
    assert json_status == 200
    assert report["outcome"] == "interviewed"


def test_a_corrupt_resume_fails_with_its_reason(stack: Host) -> None:
    current = _follow(stack, _submit_sample(stack, "frank-corrupt"))

    assert current["runtime_status"] == "Failed", current
    assert current["stage"] == "failed"
    assert current["failure"]["code"] == "corrupt_document"


def test_a_weak_candidate_is_rejected_at_screening(stack: Host) -> None:
    current = _follow(stack, _submit_sample(stack, "cara-weak"))

    assert current["outcome"] == "rejected_at_screening", current
    assert current["interview"] is None


def test_a_candidate_needing_review_is_interviewed_once_the_recruiter_advances_them(stack: Host) -> None:
    current = _follow(stack, _submit_sample(stack, "ben-average"), decision="advance")

    assert current["runtime_status"] == "Completed", current
    assert current["screening"]["decision"] == "needs_review"
    assert current["outcome"] == "interviewed"


def test_a_candidate_who_never_answers_is_a_no_show(stack: Host) -> None:
    current = _follow(stack, _submit_sample(stack, "dan-no-answer"))

    assert current["runtime_status"] == "Completed", current
    assert current["outcome"] == "no_show"
    assert current["stage"] == "no_show"


def test_a_resume_dropped_into_blob_storage_starts_the_pipeline(stack: Host) -> None:
    from orchestrators.identity import candidate_instance_id
    from shared.models import CandidateContact
    from shared.settings import get_settings
    from triggers.intake import contact_metadata

    # The trigger watches %RESUMES_CONTAINER%, which the served host resolves from the same app setting.
    container = get_settings().resumes_container

    candidate = next(
        c for c in json.loads((SAMPLES / "candidates.json").read_text()) if c["key"] == "ada-strong"
    )
    name = f"{candidate['job_id']}/{uuid.uuid4().hex}-ada.pdf"
    contact = CandidateContact(
        name=candidate["name"], phone=candidate["phone"], time_zone=candidate["time_zone"]
    )
    upload_bytes(
        container,
        name,
        (SAMPLES / candidate["resume"]).read_bytes(),
        content_type="application/pdf",
        metadata=contact_metadata(contact),
    )
    instance_id = candidate_instance_id(candidate["job_id"], name)
    try:
        deadline = time.monotonic() + 20
        while (
            stack.request("GET", f"/api/candidates/{instance_id}")[0] != 200 and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        current = _follow(stack, instance_id)
    finally:
        # The resumes container is shared by the session's Azurite: other hosts' blob pollers must not see it.
        container_client(container).delete_blob(name)

    assert current["outcome"] == "interviewed", current
    started = stack.engine.status(instance_id, show_input=True)
    assert started["input"]["contact"]["phone"] == candidate["phone"]
    assert started["input"]["intake"] == "blob_trigger"


class TestACandidateWhoHangsUpMidInterview:
    """The real question flow sees the call end before its closing line; the candidate says so to the end."""

    @pytest.fixture
    def personas_file(self, tmp_path: Path) -> Path:
        personas = json.loads((SAMPLES / "personas.json").read_text(encoding="utf-8"))
        strong = personas["personas"][_sample("ada-strong")["phone"]]
        strong.update(behaviour="hangs_up_early", hang_up_after_questions=2)
        path = tmp_path / "personas.json"
        path.write_text(json.dumps(personas), encoding="utf-8")
        return path

    def test_the_interview_ends_incomplete_in_the_view_and_the_report(self, stack: Host) -> None:
        current = _follow(stack, _submit_sample(stack, "ada-strong"))

        assert current["runtime_status"] == "Completed", current
        assert current["outcome"] == "interview_incomplete"
        assert current["stage"] == "completed"
        assert current["detail"].startswith(
            "interview_incomplete: the call ended before the last question was answered"
        ), current["detail"]
        assert current["interview"]["overall"] is not None  # scored from the two answers given
        assert current["interview"]["incomplete_reason"].startswith(
            "the call ended before the last question was answered"
        ), current["interview"]
        json_status, report = stack.request("GET", current["links"]["report"], params={"format": "json"})
        assert json_status == 200
        assert report["outcome"] == "interview_incomplete"
        assert report["interview_incomplete_reason"].startswith(
            "the call ended before the last question was answered"
        )
        page_status, page = stack.request("GET", current["links"]["report"])
        assert page_status == 200
        assert "<tr><th>Interview</th><td>ended early — the call ended before the last question" in page
