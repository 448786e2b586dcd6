"""``hireflow`` commands against a running host: outputs, exit codes and the error paths."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from hireflow.cli import (
    EXIT_API_ERROR,
    EXIT_CANDIDATE_CANCELLED,
    EXIT_CANDIDATE_FAILED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from tests.cli.conftest import JOB_ID, SAMPLES, CliRun, LiveHost

REPO = Path(__file__).resolve().parents[2]


def _candidate_id(stdout: str) -> str:
    return str(json.loads(stdout.splitlines()[0])["id"])


def test_health_reports_every_dependency(hireflow: CliRun) -> None:
    code, out, _ = hireflow("health")
    assert code == EXIT_OK, out
    assert ": healthy" in out.splitlines()[0]

    code, out, _ = hireflow("health", "--json")
    assert code == EXIT_OK
    document = json.loads(out)
    assert document["status"] == "healthy"
    assert {"durable_store", "blob_storage", "openai"} <= set(document["dependencies"])
    assert all(check["status"] == "healthy" for check in document["dependencies"].values())


def test_an_uploaded_resume_is_watched_to_its_report(
    hireflow: CliRun, live_host: LiveHost, tmp_path: Path
) -> None:
    cara = live_host.samples["cara-weak"]
    resume = tmp_path / f"{os.urandom(4).hex()}-cara.pdf"
    resume.write_bytes((SAMPLES / cara["resume"]).read_bytes())

    code, out, err = hireflow(
        "submit", JOB_ID, str(resume), "--name", cara["name"], "--phone", cara["phone"], "--json"
    )
    assert code == EXIT_OK, err
    submitted = json.loads(out)
    assert submitted["created"] is True
    candidate_id = submitted["id"]

    code, out, err = hireflow("watch", candidate_id, "--interval", "0.1", "--timeout", "60")
    assert code == EXIT_OK, out + err
    lines = out.splitlines()
    assert any(line.startswith("screening") for line in lines)  # stages printed one line each, not a TTY
    assert "%" in lines[0]
    assert "outcome    rejected_at_screening" in out

    code, out, _ = hireflow("status", candidate_id, "--json")
    assert code == EXIT_OK
    view = json.loads(out)
    assert view["runtime_status"] == "Completed"
    assert view["outcome"] == "rejected_at_screening"

    code, out, _ = hireflow("report", candidate_id, "--format", "json")
    assert code == EXIT_OK
    assert json.loads(out)["outcome"] == "rejected_at_screening"

    page = tmp_path / "report.html"
    code, out, _ = hireflow("report", candidate_id, "-o", str(page))
    assert code == EXIT_OK
    assert f"report written to {page}" in out
    assert "<html" in page.read_text().lower()

    # Submitting the same upload again finds the running (here finished) candidate instead of a second one.
    code, out, _ = hireflow("submit", JOB_ID, str(resume), "--name", cara["name"])
    assert code == EXIT_OK
    assert out.startswith(f"already submitted: {candidate_id}")


def test_a_corrupt_resume_ends_failed_with_exit_3(hireflow: CliRun, live_host: LiveHost) -> None:
    blob = live_host.stage_resume("frank-corrupt")

    code, out, err = hireflow(
        "submit", JOB_ID, "--blob", blob, "--name", "Frank", "--watch", "--interval", "0.1"
    )

    assert code == EXIT_CANDIDATE_FAILED, out + err
    assert "failure    corrupt_document" in out
    assert out.startswith("submitted: ")


def test_a_recruiter_decision_is_sent_as_an_event(hireflow: CliRun, live_host: LiveHost) -> None:
    blob = live_host.stage_resume("ben-average")
    code, out, _ = hireflow("submit", JOB_ID, "--blob", blob, "--name", "Ben Okafor", "--json")
    assert code == EXIT_OK
    candidate_id = _candidate_id(out)
    live_host.wait_for_stage(candidate_id, "awaiting_review")

    code, out, _ = hireflow("list", JOB_ID, "--status", "awaiting_review")
    assert code == EXIT_OK
    assert any(line.startswith(f"{candidate_id}  Running  awaiting_review") for line in out.splitlines())

    code, out, err = hireflow("event", candidate_id, "RecruiterDecision", "--field", "decision=reject")
    assert code == EXIT_OK, err
    assert out.strip() == f"RecruiterDecision delivered to {candidate_id}"

    code, out, _ = hireflow("watch", candidate_id, "--interval", "0.1", "--timeout", "60", "--json")
    assert code == EXIT_OK
    final = json.loads(out.splitlines()[-1])
    assert final["outcome"] == "rejected_by_recruiter"

    # The pipeline is finished: a second decision is refused by the API with its reason.
    code, out, err = hireflow("event", candidate_id, "RecruiterDecision", "--data", '{"decision": "advance"}')
    assert code == EXIT_API_ERROR
    assert "HTTP 409 candidate_finished" in err


def test_a_cancelled_candidate_watches_to_exit_4(hireflow: CliRun, live_host: LiveHost) -> None:
    blob = live_host.stage_resume("ben-average")
    code, out, _ = hireflow("submit", JOB_ID, "--blob", blob, "--name", "Ben Okafor", "--json")
    candidate_id = _candidate_id(out)
    live_host.wait_for_stage(candidate_id, "awaiting_review")

    code, out, err = hireflow("cancel", candidate_id, "--reason", "position filled", "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["terminated"] == [candidate_id]

    code, out, _ = hireflow("watch", candidate_id, "--interval", "0.1", "--timeout", "30")
    assert code == EXIT_CANDIDATE_CANCELLED
    assert "outcome    cancelled" in out

    code, _, err = hireflow("cancel", candidate_id)
    assert code == EXIT_API_ERROR
    assert "candidate_finished" in err

    code, _, err = hireflow("report", candidate_id)
    assert code == EXIT_API_ERROR
    assert "HTTP 404 report_not_ready" in err


def test_list_pages_through_a_job(hireflow: CliRun, live_host: LiveHost) -> None:
    submitted = []
    for _ in range(2):
        blob = live_host.stage_resume("cara-weak")
        code, out, _ = hireflow("submit", JOB_ID, "--blob", blob, "--name", "Cara Mendes", "--json")
        assert code == EXIT_OK
        submitted.append(_candidate_id(out))
    for candidate_id in submitted:  # finished before the host stops, so no activity outlives it
        assert hireflow("watch", candidate_id, "--interval", "0.1", "--timeout", "60")[0] == EXIT_OK

    code, out, _ = hireflow("list", JOB_ID, "--all", "--json")
    assert code == EXIT_OK
    everyone = [item["id"] for item in json.loads(out)["items"]]
    assert len(everyone) >= 2

    code, out, _ = hireflow("list", JOB_ID, "--top", "1")
    assert code == EXIT_OK
    first, more = out.splitlines()
    assert first.startswith(everyone[0])
    token = more.removeprefix("more: --continuation-token ")

    code, out, _ = hireflow("list", JOB_ID, "--top", "1", "--continuation-token", token, "--json")
    assert code == EXIT_OK
    assert [item["id"] for item in json.loads(out)["items"]] == [everyone[1]]

    code, out, err = hireflow("list", JOB_ID, "--status", "sleeping")
    assert code == EXIT_API_ERROR
    assert "HTTP 400 invalid_request: unknown status filter" in err
    assert "status: one of" in err


# Shaped like a candidate id (job id, a dot, a 24-hex-digit digest) but no such instance exists.
UNKNOWN_CANDIDATE = "python-backend-engineer.000000000000000000000000"


def test_an_unknown_candidate_is_a_404_with_the_apis_message(hireflow: CliRun) -> None:
    code, out, err = hireflow("status", UNKNOWN_CANDIDATE)

    assert code == EXIT_API_ERROR
    assert out == ""
    assert f"HTTP 404 candidate_not_found: no candidate '{UNKNOWN_CANDIDATE}'" in err

    code, out, err = hireflow("status", UNKNOWN_CANDIDATE, "--json")
    assert code == EXIT_API_ERROR
    assert json.loads(out)["error"] == {
        "status": 404,
        "code": "candidate_not_found",
        "message": f"no candidate '{UNKNOWN_CANDIDATE}'",
    }


def test_a_malformed_candidate_id_is_a_400_naming_the_field(hireflow: CliRun) -> None:
    code, out, err = hireflow("status", "no-such-candidate")

    assert code == EXIT_API_ERROR
    assert out == ""
    assert "HTTP 400 invalid_request: not a candidate id" in err


def test_an_unknown_job_and_a_missing_field_are_refused(hireflow: CliRun, live_host: LiveHost) -> None:
    blob = live_host.stage_resume("cara-weak")

    code, _, err = hireflow("submit", "no-such-job", "--blob", blob, "--name", "Cara")
    assert code == EXIT_API_ERROR
    assert "job_not_found" in err

    code, _, err = hireflow("submit", JOB_ID, "--blob", blob, "--name", "Cara", "--phone", "12345")
    assert code == EXIT_API_ERROR
    assert "HTTP 400 invalid_request" in err
    assert "phone:" in err


def test_the_function_key_is_required_by_the_host(hireflow: CliRun) -> None:
    code, _, err = hireflow("status", "anyone", key=False)

    assert code == EXIT_API_ERROR
    assert "HTTP 401" in err
    assert "function key is required" in err


def test_bad_usage_exits_2(hireflow: CliRun, tmp_path: Path) -> None:
    assert hireflow()[0] == EXIT_USAGE
    code, _, err = hireflow("submit", JOB_ID, "--blob", "x.pdf")  # no --name
    assert code == EXIT_USAGE
    assert "--name" in err
    assert hireflow("event", "someone", "Promoted")[0] == EXIT_USAGE
    assert hireflow("list", JOB_ID, "--top", "0")[0] == EXIT_USAGE
    code, _, err = hireflow("event", "someone", "CandidateWithdrew", "--data", "{nope")
    assert code == EXIT_USAGE
    assert "--data is not JSON" in err
    code, _, err = hireflow("submit", JOB_ID, str(tmp_path / "missing.pdf"), "--name", "X")
    assert code == EXIT_USAGE
    assert "no such file" in err
    code, _, err = hireflow("health", url="ftp://example")
    assert code == EXIT_USAGE
    assert "expected an http(s) URL" in err


def test_an_unreachable_host_says_so(hireflow: CliRun) -> None:
    with socket.socket() as probe:  # a port nothing listens on: bound here, never listening
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        code, out, err = hireflow("status", "anyone", url=url)

    assert code == EXIT_UNREACHABLE
    assert out == ""
    assert f"cannot reach {url}" in err
    assert "is the host running?" in err


def test_python_dash_m_hireflow_runs_without_installation(live_host: LiveHost) -> None:
    environment = {**os.environ, "HIREFLOW_URL": live_host.url, "HIREFLOW_KEY": live_host.key}
    environment.pop("PYTHONPATH", None)

    health = subprocess.run(
        [sys.executable, "-m", "hireflow", "health", "--json"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    unknown = subprocess.run(
        [sys.executable, "-m", "hireflow", "status", UNKNOWN_CANDIDATE],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert health.returncode == EXIT_OK, health.stderr
    assert json.loads(health.stdout)["status"] == "healthy"
    assert unknown.returncode == EXIT_API_ERROR
    assert "candidate_not_found" in unknown.stderr
