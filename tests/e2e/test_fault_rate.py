"""At a 20% transient fault rate on every emulated service, every candidate still completes, interviewed.

Each request to OpenAI, Document Intelligence and ACS fails with probability 0.2 (429, 500, 503 or a dropped
connection); ``shared.retry`` sizes the retry budgets so that fewer than one candidate in a thousand is lost.
A few candidates keep the run bounded; ``bench/pipeline.py --fault-rate 0.2`` runs many more.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from bench.pipeline import FAULT_QUIET_S, fault_spec, incomplete_interviews
from hireflow.client import HireflowClient
from hireflow.samples import submit_sample
from hireflow.stack import LocalStack, StackOptions
from tests.e2e.support import follow, get_json, sample

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]

FAULT_RATE = 0.2


def test_every_candidate_completes_with_a_whole_interview_at_20_percent_faults(tmp_path: Path) -> None:
    options = StackOptions(
        work_dir=tmp_path / "faulty",
        emulator_args=("--faults", fault_spec(FAULT_RATE), "--seed", "11"),
        skip_timers_quiet_s=FAULT_QUIET_S,  # the question flow's waits on ACS faults are not idleness
    )
    with LocalStack(options) as stack:
        stack.seed_jobs()
        # Besides the random 20%: the first analysis's submit and a poll fail for sure, the case that lost
        # whole candidates before polls were resumed inside the attempt.
        post_json(f"{stack.emulators_url}/admin/faults", {"script": {"docintel": ["503", None, "500"]}})
        client = HireflowClient(stack.api_url, function_key=stack.function_key)
        candidates = {}
        for key in ("ada-strong", "ben-average"):
            candidate = sample(key)
            candidates[submit_sample(client, stack.blob_service(), candidate)] = candidate
        results = follow(stack, candidates)
        cut_short = incomplete_interviews(stack, list(candidates))
        stats = get_json(f"{stack.emulators_url}/admin/stats")

    views = {candidate_id: result.view for candidate_id, result in results.items()}
    assert {v.get("runtime_status") for v in views.values()} == {"Completed"}, views
    assert {v.get("outcome") for v in views.values()} == {"interviewed"}, views
    assert cut_short == []
    injected = {name: sum(service["injected"].values()) for name, service in stats["services"].items()}
    # The faults really happened, on every service the candidates used.
    assert all(injected[name] > 0 for name in ("openai", "docintel", "acs")), injected
    assert injected["docintel"] >= 2


def post_json(url: str, body: dict[str, object]) -> None:
    """POST ``body`` as JSON and require a 2xx answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert 200 <= answer.status < 300
