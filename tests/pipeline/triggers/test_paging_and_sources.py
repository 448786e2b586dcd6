"""The list endpoint pages through the durable client itself, and the resume trigger's source is a setting.

On Azure the host answers instance queries a page (at most 100) at a time with a continuation token, which
the SDK's ``get_status_by`` never follows; these tests create more instances than one page holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness, body_of
from triggers.durable import HOST_PAGE_SIZE, instance_pages, query_instances

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
INSTANCES = HOST_PAGE_SIZE + 37
ROOT = Path(__file__).resolve().parents[3]


def _many_candidates(h: TriggerHarness, count: int) -> list[str]:
    """Start ``count`` candidate pipelines cheaply: an empty input fails each at its first episode."""
    ids = [f"{JOB_ID}.{index:024x}" for index in range(count)]
    for instance_id in ids:
        h.host.start("candidate_pipeline", {}, instance_id=instance_id)
    h.host.run_until_idle()
    return ids


def _client(h: TriggerHarness) -> Any:
    from azure.durable_functions import DurableOrchestrationClient

    return DurableOrchestrationClient(h.host.engine.client_binding())


async def _page_sizes(client: Any, page_size: int) -> list[int]:
    return [len(page) async for page in instance_pages(client, prefix=f"{JOB_ID}.", page_size=page_size)]


def test_queries_follow_the_continuation_token_to_the_last_page(harness: Harness) -> None:
    h = harness()
    ids = _many_candidates(h, INSTANCES)
    client = _client(h)

    sizes = h.host.run(_page_sizes(client, 40))
    every = h.host.run(query_instances(client, prefix=f"{JOB_ID}."))
    first_page_only = h.host.run(client.get_status_by(instance_id_prefix=f"{JOB_ID}."))

    assert sizes == [40, 40, 40, INSTANCES - 120]
    assert sorted(status.instance_id for status in every) == ids
    # What the SDK alone returns: one page, the host's first hundred.
    assert len(first_page_only) == HOST_PAGE_SIZE


def test_the_list_endpoint_sees_every_candidate_beyond_the_hosts_page(harness: Harness) -> None:
    h = harness()
    ids = _many_candidates(h, INSTANCES)

    def page(**params: str) -> dict[str, Any]:
        response = h.http("list_candidates", "GET", "l", params=params, route={"job_id": JOB_ID})
        assert response.status_code == 200, response.get_body()
        body: dict[str, Any] = body_of(response)
        return body

    everything = page(top="500")
    assert [item["id"] for item in everything["items"]] == ids
    assert everything["continuation_token"] is None
    failed = page(top="500", status="Failed")
    assert len(failed["items"]) == INSTANCES

    listed: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"top": "50"} if token is None else {"top": "50", "continuation_token": token}
        body = page(**params)
        listed += [item["id"] for item in body["items"]]
        pages += 1
        token = body["continuation_token"]
        if token is None:
            break
    assert listed == ids
    assert pages == 3


# ---------------------------------------------------------------------------- issue 10: blob trigger source


def _indexed_resume_trigger(**settings: str) -> dict[str, Any]:
    """Index ``function_app.py`` in a fresh interpreter with ``settings``; return the blob trigger binding."""
    script = (
        "import json\n"
        "from function_app import app\n"
        "for function in app.get_functions():\n"
        "    if function.get_function_name() == 'resume_uploaded':\n"
        "        print(json.dumps([json.loads(b) for b in function.get_raw_bindings()]))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in ("RESUME_TRIGGER_SOURCE",)}
    env.pop("RESUMES_CONTAINER", None)
    env.update(settings)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    bindings: list[dict[str, Any]] = json.loads(done.stdout)
    return next(binding for binding in bindings if binding["type"] == "blobTrigger")


def test_the_resume_trigger_polls_locally_and_uses_event_grid_when_told() -> None:
    local = _indexed_resume_trigger()
    azure = _indexed_resume_trigger(RESUME_TRIGGER_SOURCE="EventGrid", RESUMES_CONTAINER="cvs")

    assert local["source"] == "LogsAndContainerScan"
    # The container is a binding expression the host resolves, whatever the environment holds at indexing.
    assert local["path"] == azure["path"] == "%RESUMES_CONTAINER%/{job_id}/{name}"
    assert local["connection"] == "AzureWebJobsStorage"
    assert azure["source"] == "EventGrid"
    assert azure["connection"] == "AzureWebJobsStorage"


def test_an_unknown_trigger_source_fails_indexing_with_the_allowed_values() -> None:
    with pytest.raises(
        RuntimeError, match="RESUME_TRIGGER_SOURCE must be one of EventGrid, LogsAndContainerScan"
    ):
        _indexed_resume_trigger(RESUME_TRIGGER_SOURCE="Polling")


def test_trigger_source_setting_is_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.functions as func

    from triggers.blob_intake import resume_trigger_source

    monkeypatch.setenv("RESUME_TRIGGER_SOURCE", "eventgrid")
    assert resume_trigger_source() is func.BlobSource.EVENT_GRID
    monkeypatch.setenv("RESUME_TRIGGER_SOURCE", " ")
    assert resume_trigger_source() is func.BlobSource.LOGS_AND_CONTAINER_SCAN
