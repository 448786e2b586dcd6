"""The fuzz run serves the app as the trigger tests do: settings on Azurite, the bundled job seeded."""

from __future__ import annotations

from tests.pipeline.triggers.conftest import harness

__all__ = ["harness"]
