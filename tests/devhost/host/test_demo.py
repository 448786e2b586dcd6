"""The bundled demo (``make demo``) runs its orchestrations on devhost and exits 0."""

import subprocess
import sys

import pytest

from tests.devhost.host.support import REPO_ROOT

pytestmark = pytest.mark.subprocess


def test_demo_completes_every_orchestration() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3/3 orchestrations completed" in result.stdout
    assert "devhost ready on http://127.0.0.1:" in result.stdout
