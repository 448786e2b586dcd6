"""Fixtures for the ACS emulator tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.tls import TlsMaterial, ensure_tls_material
from tests.emulators.acs.harness import RunningAcs, running_acs


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return ensure_tls_material(tmp_path_factory.mktemp("acs-tls"))


@pytest.fixture
def acs(tls_material: TlsMaterial, tmp_path: Path) -> Iterator[RunningAcs]:
    with running_acs(tls_material, tmp_path) as running:
        yield running
