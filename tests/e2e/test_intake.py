"""Resumes through the real local stack (Azurite, emulators, devhost as subprocesses) by HTTP and by blob
upload, and the recording's way back: the ACS emulator pushes ``RecordingFileStatusUpdated`` through Event
Grid to devhost's webhook, whose trigger raises ``RecordingReady``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hireflow.client import HireflowClient
from hireflow.samples import submit_sample, upload_resume
from hireflow.stack import LocalStack
from orchestrators.identity import candidate_instance_id, interview_instance_id
from tests.e2e.support import follow, history_event_names, report_pages, running_stack, sample

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("e2e-intake")) as running:
        yield running


def test_http_intake_reaches_a_report(stack: LocalStack) -> None:
    ada = sample("ada-strong")
    client = HireflowClient(stack.api_url)
    candidate_id = submit_sample(client, stack.blob_service(), ada)

    view = follow(stack, {candidate_id: ada})[candidate_id].view

    assert view["runtime_status"] == "Completed", view
    assert view["outcome"] == "interviewed"
    assert view["interview"]["overall"] is not None
    assert view["interview"]["incomplete_reason"] is None
    assert ada.intake == "upload"
    assert client.candidate(candidate_id).intake == view["intake"] == "upload"
    page = client.report(candidate_id)
    assert b"<html" in page.lower()
    assert any(f"/{candidate_id}/report.html" in name for name in report_pages(stack))


def test_multipart_upload_of_a_corrupt_resume_fails_with_its_reason(stack: LocalStack) -> None:
    frank = sample("frank-corrupt")
    candidate_id = submit_sample(HireflowClient(stack.api_url), stack.blob_service(), frank)

    view = follow(stack, {candidate_id: frank})[candidate_id].view

    assert view["runtime_status"] == "Failed", view
    assert view["failure"]["code"] == "corrupt_document"


def test_blob_upload_intake_reaches_a_report(stack: LocalStack) -> None:
    ada = sample("ada-strong")
    blob = upload_resume(
        stack.blob_service(), ada, blob_name=f"{ada.job_id}/dropped-ada{ada.resume.suffix}", with_contact=True
    )
    candidate_id = candidate_instance_id(ada.job_id, blob)

    view = follow(stack, {candidate_id: ada})[candidate_id].view

    assert view["runtime_status"] == "Completed", view
    assert view["outcome"] == "interviewed"
    assert view["intake"] == "blob_trigger"  # the stack runs the blob trigger, not Event Grid, for resumes
    assert b"<html" in HireflowClient(stack.api_url).report(candidate_id).lower()


def test_the_recording_arrives_through_event_grid(stack: LocalStack) -> None:
    eve = sample("eve-average")
    client = HireflowClient(stack.api_url)
    candidate_id = submit_sample(client, stack.blob_service(), eve)

    view = follow(stack, {candidate_id: eve})[candidate_id].view

    assert view["outcome"] == "interviewed", view
    # Nothing but the Event Grid trigger raises RecordingReady: the emulator's push passed the webhook's
    # subscription validation (an empty subject, as real Event Grid sends) and its notification was delivered.
    assert "RecordingReady" in history_event_names(stack, interview_instance_id(candidate_id))


def test_logs_of_every_service_are_collected_in_one_folder(stack: LocalStack) -> None:
    names = {path.name for path in Path(stack.logs_dir).iterdir()}
    assert {"azurite.log", "emulators.log", "devhost.log"} <= names
    assert "devhost ready on" in (Path(stack.logs_dir) / "devhost.log").read_text()
