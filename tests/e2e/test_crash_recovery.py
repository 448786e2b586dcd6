"""devhost is SIGKILLed while interviews are under way and restarted on the same data: every candidate still
finishes, no interview attempt rings the candidate twice, and every candidate gets exactly one report."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from hireflow.client import ApiError, HireflowClient
from hireflow.samples import load_samples, submit_sample
from hireflow.stack import LocalStack
from tests.e2e.support import follow, get_json, report_pages, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

MID_INTERVIEW = {"scheduling", "waiting_for_slot", "calling", "in_call", "awaiting_recording"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("e2e-crash")) as running:
        yield running


def stages(client: HireflowClient, candidate_ids: list[str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for candidate_id in candidate_ids:
        try:
            seen[candidate_id] = client.candidate(candidate_id).stage
        except ApiError as error:
            if error.status != 404:  # a dropped blob not picked up yet
                raise
    return seen


def test_sigkill_mid_run_and_restart_places_one_call_per_attempt_and_one_report_each(
    stack: LocalStack,
) -> None:
    client = HireflowClient(stack.api_url)
    samples = load_samples()
    submitted = {submit_sample(client, stack.blob_service(), sample): sample for sample in samples}
    ids = list(submitted)

    deadline = time.monotonic() + 60
    while not MID_INTERVIEW & set(stages(client, ids).values()):
        assert time.monotonic() < deadline, "no candidate reached the interview"
        time.sleep(0.05)
    killed_pid = stack.devhost_pid
    stack.kill_devhost()
    stack.start_devhost()
    assert stack.devhost_pid != killed_pid

    results = follow(stack, submitted)

    for result in results.values():
        assert result.problems == [], (
            f"{result.sample.key}: {result.problems}; failure {result.view.get('failure')}"
        )
    calls = get_json(f"{stack.emulators_url}/admin/stats")["acs_calls"]
    assert calls["created"] >= 1
    duplicated = {context: count for context, count in calls["per_operation_context"].items() if count != 1}
    assert duplicated == {}
    interviewed = [r for r in results.values() if r.view.get("outcome") == "interviewed"]
    for result in interviewed:
        attempts = [
            c for c in calls["per_operation_context"] if c.startswith(f"{result.candidate_id}.interview:")
        ]
        assert attempts, result.sample.key
    pages = report_pages(stack)
    for candidate_id in ids:
        assert sum(1 for name in pages if f"/{candidate_id}/" in name) == 1, (candidate_id, pages)
    assert len(pages) == len(ids)
