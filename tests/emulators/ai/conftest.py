"""Fixtures for the AI emulators: the whole emulator process in a background thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.server import EmulatorThread, emulators_in_thread
from tests.emulators.ai.helpers import emulator_options


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    """One emulator process per test module (modules do not share rate-limit or fault state)."""
    with emulators_in_thread(emulator_options()) as running:
        yield running
