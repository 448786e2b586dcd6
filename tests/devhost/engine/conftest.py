"""One in-process engine (time skipped) over the engine test app, shared by a test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DurableTestHost

APPS = Path(__file__).resolve().parents[1] / "apps"
BASIC_APP = APPS / "engine_basic" / "function_app.py"


@pytest.fixture(scope="module")
def host() -> Iterator[DurableTestHost]:
    with DurableTestHost(BASIC_APP) as test_host:
        yield test_host


def app_globals(host: DurableTestHost) -> dict[str, Any]:
    """The test app module's globals (its attempt and replay counters live there)."""
    return host.index.functions["flaky"].user_function.__globals__


@pytest.fixture
def attempts(host: DurableTestHost) -> dict[str, int]:
    """The flaky activity's attempt counter, emptied for the test."""
    counter: dict[str, int] = app_globals(host)["ATTEMPTS"]
    counter.clear()
    return counter
