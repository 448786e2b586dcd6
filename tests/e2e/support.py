"""Helpers for the end-to-end tests: the real local stack as subprocesses, followed through the HTTP API."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hireflow.client import HireflowClient
from hireflow.demo import DemoResult, follow_candidates
from hireflow.progress import ProgressBoard
from hireflow.samples import SampleCandidate, load_samples
from hireflow.stack import LocalStack, StackOptions

FOLLOW_TIMEOUT_S = 90.0


@contextmanager
def running_stack(work_dir: Path, extra_settings: Mapping[str, str] | None = None) -> Iterator[LocalStack]:
    """A seeded local stack for one test module."""
    with LocalStack(StackOptions(work_dir=work_dir, extra_settings=dict(extra_settings or {}))) as stack:
        stack.seed_jobs()
        yield stack


def sample(key: str) -> SampleCandidate:
    """The bundled candidate ``key``."""
    return next(candidate for candidate in load_samples() if candidate.key == key)


def follow(stack: LocalStack, candidates: Mapping[str, SampleCandidate]) -> dict[str, DemoResult]:
    """Follow each candidate id until it ends (or the timeout), answering reviews as the demo does."""
    client = HireflowClient(stack.api_url, function_key=stack.function_key)
    results = [DemoResult(sample, candidate_id, {}) for candidate_id, sample in candidates.items()]
    board = ProgressBoard(io.StringIO(), {s.key: s.key for s in candidates.values()}, live=False)
    follow_candidates(stack, client, results, board, time.monotonic() + FOLLOW_TIMEOUT_S)
    return {result.candidate_id: result for result in results}


def wait_for_candidate(client: HireflowClient, candidate_id: str, timeout: float = 20.0) -> None:
    """Wait until a trigger has started ``candidate_id`` (blob and Event Grid intake are asynchronous)."""
    from hireflow.client import ApiError

    deadline = time.monotonic() + timeout
    while True:
        try:
            client.candidate(candidate_id)
            return
        except ApiError as error:
            if error.status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def get_json(url: str, headers: Mapping[str, str] | None = None) -> Any:
    """GET ``url`` and decode its JSON body."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def history_event_names(stack: LocalStack, instance_id: str) -> list[str]:
    """Names of the external events an instance received, from the Durable HTTP API's history."""
    status = get_json(
        f"{stack.api_url}/runtime/webhooks/durabletask/instances/{instance_id}?showHistory=true",
        stack.durable_api_headers(),
    )
    return [
        str(event.get("Name"))
        for event in status.get("historyEvents") or status.get("history") or []
        if event.get("EventType") in ("EventRaised", 15)
    ]


def secrets_in_logs(logs_dir: Path, secrets: list[str]) -> dict[str, int]:
    """How often any of ``secrets`` appears in each log file under ``logs_dir`` (files with no hit left out).

    Values are searched as written and URL-encoded, since a key may travel in a query string.
    """
    from urllib.parse import quote

    needles = {form for secret in secrets for form in (secret, quote(secret, safe=""))}
    hits: dict[str, int] = {}
    for path in sorted(logs_dir.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        count = sum(text.count(needle) for needle in needles)
        if count:
            hits[path.name] = count
    return hits


def report_pages(stack: LocalStack) -> list[str]:
    """Names of every report page blob in the reports container."""
    container = stack.blob_service().get_container_client(
        stack.container_name("REPORTS_CONTAINER", "reports")
    )
    return [blob.name for blob in container.list_blobs() if blob.name.endswith("/report.html")]
