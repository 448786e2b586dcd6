"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.azurite import AzuriteInstance, running_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteInstance]:
    """One real Azurite for the whole test session, on free loopback ports, with its data in a temp folder."""
    location: Path = tmp_path_factory.mktemp("azurite")
    with running_azurite(location) as instance:
        yield instance
