"""``python -m hireflow demo`` (what ``make demo`` runs) exits 0: every bundled candidate ends as expected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hireflow.azurite import REPO_ROOT
from hireflow.demo import decide_review, rank
from tests.e2e.support import secrets_in_logs

pytestmark = [pytest.mark.e2e, pytest.mark.subprocess]


def test_the_demo_exits_0_with_a_ranked_table(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hireflow", "demo", "--work-dir", str(tmp_path / "demo"), "--timeout", "100"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "All 6 candidates reached their expected state" in result.stdout
    assert "needs a review; the demo decides" in result.stdout
    assert "/report" in result.stdout
    assert (tmp_path / "demo" / "logs" / "devhost.log").is_file()
    assert processes_mentioning(str(tmp_path / "demo")) == [], "a service outlived the demo"
    # Keyed by default, as on Azure, and no key, connection string or secret in any log or in the output.
    assert "function key required" in result.stdout
    secrets = demo_secrets(tmp_path / "demo")
    assert len(secrets) >= 8
    assert secrets_in_logs(tmp_path / "demo" / "logs", secrets) == {}
    assert [secret for secret in secrets if secret in result.stdout + result.stderr] == []


def demo_secrets(work_dir: Path) -> list[str]:
    """Every secret a demo run had: devhost's keys file and the emulators' settings file."""
    keys = json.loads((work_dir / "devhost" / "host_keys.json").read_text())
    found = [keys["masterKey"], *keys["functionKeys"].values(), *keys["systemKeys"].values()]
    settings = json.loads((work_dir / "emulators" / "settings.json").read_text())
    found += [settings["AZURE_OPENAI_API_KEY"], settings["DOCUMENT_INTELLIGENCE_API_KEY"]]
    found += [settings["ACS_CONNECTION_STRING"], settings["ACS_CONNECTION_STRING"].split("accesskey=")[1]]
    return found


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line mentions ``text`` (every service gets the demo's work dir as an argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(int(entry.name))
    return found


def test_the_review_is_decided_from_the_screening_score() -> None:
    assert decide_review(0.61, 0.7, 0.4)[0] == "advance"
    assert decide_review(0.5, 0.7, 0.4)[0] == "reject"
    assert decide_review(None, 0.7, 0.4)[0] == "reject"


def test_ranking_puts_interview_scores_first_then_screening() -> None:
    from hireflow.demo import DemoResult
    from tests.e2e.support import sample

    ada, cara, dan = sample("ada-strong"), sample("cara-weak"), sample("dan-no-answer")
    results = [
        DemoResult(cara, "c", {"screening": {"score": 0.1}}),
        DemoResult(dan, "d", {"screening": {"score": 0.9}}),
        DemoResult(ada, "a", {"screening": {"score": 0.8}, "interview": {"overall": 3.0}}),
    ]
    assert [r.candidate_id for r in rank(results)] == ["a", "d", "c"]
