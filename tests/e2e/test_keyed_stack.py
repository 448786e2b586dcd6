"""The local stack keyed as on Azure: a candidate reaches its report, and no log holds a secret.

With ``--require-keys`` devhost refuses the Event Grid webhook without its system key. The stack hands the
ACS emulator a webhook URL carrying that key (from devhost's keys file, created before the emulator starts),
so the recording event still arrives and the interview does not end ``recording_missing``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hireflow.client import ApiError, HireflowClient
from hireflow.samples import submit_sample
from hireflow.stack import LocalStack, StackOptions
from orchestrators.identity import interview_instance_id
from tests.e2e.support import follow, history_event_names, report_pages, sample, secrets_in_logs

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]


def test_a_keyed_stack_takes_a_candidate_to_its_report_and_logs_no_secret(tmp_path: Path) -> None:
    stack = LocalStack(StackOptions(work_dir=tmp_path / "keyed", require_keys=True))
    with stack:
        stack.seed_jobs()
        assert stack.keys_file is not None
        assert stack.function_key
        with pytest.raises(ApiError) as refused:
            HireflowClient(stack.api_url).list_candidates("python-backend-engineer")
        assert refused.value.status == 401

        ada = sample("ada-strong")
        client = HireflowClient(stack.api_url, function_key=stack.function_key)
        candidate_id = submit_sample(client, stack.blob_service(), ada)
        view = follow(stack, {candidate_id: ada})[candidate_id].view

        assert view["runtime_status"] == "Completed", view
        assert view["outcome"] == "interviewed"
        assert any(f"/{candidate_id}/report.html" in name for name in report_pages(stack))
        # The recording came the Azure way: pushed by the emulator through the keyed Event Grid webhook.
        assert "RecordingReady" in history_event_names(stack, interview_instance_id(candidate_id))
        secrets = stack.secret_values()

    assert len(secrets) >= 8  # emulator keys, ACS connection string and its key, storage, devhost's keys
    logs = sorted(path.name for path in stack.logs_dir.iterdir())
    assert {"azurite.log", "emulators.log", "devhost.log"} <= set(logs)
    assert secrets_in_logs(stack.logs_dir, secrets) == {}
