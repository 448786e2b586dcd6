"""Start and stop a real Azurite on loopback for tests (the logic lives in :mod:`hireflow.azurite`)."""

from __future__ import annotations

from hireflow.azurite import (
    AZURITE_BIN,
    DEV_ACCOUNT,
    DEV_KEY,
    REPO_ROOT,
    AzuriteInstance,
    running_azurite,
)

__all__ = ["AZURITE_BIN", "DEV_ACCOUNT", "DEV_KEY", "REPO_ROOT", "AzuriteInstance", "running_azurite"]
