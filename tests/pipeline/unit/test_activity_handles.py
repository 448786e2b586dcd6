"""Activity handles and the app agree: every handle names a registered activity, and nothing else is one.

An orchestrator schedules an activity by the name its handle holds; the host finds the function by the name
the app registered. These tests index the real app (``function_app.app``) the way the Python worker does
and hold the two together, so a renamed function or a handle nobody registered fails here, not as an
orchestration stuck on an unknown activity.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.contracts import ALL_HANDLES
from activities.handles import ActivityHandle
from devhost.functions import FunctionInfo, index_app
from shared.errors import ErrorCode
from shared.telemetry import reset_telemetry

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def registered() -> dict[str, FunctionInfo]:
    """The app's activity functions by registered name, indexed as the Python worker indexes them."""
    from function_app import app

    return {function.name: function for function in index_app(app).of_type("activityTrigger")}


@pytest.fixture
def fresh_telemetry() -> Iterator[None]:
    """Calling an activity configures telemetry on first use; leave none behind for later tests."""
    reset_telemetry()
    yield
    reset_telemetry()


def test_every_handle_is_a_registered_activity_and_every_activity_has_a_handle(
    registered: dict[str, FunctionInfo],
) -> None:
    handle_names = [handle.name for handle in ALL_HANDLES]

    assert len(handle_names) == len(set(handle_names)), "two handles share a name"
    assert sorted(registered) == sorted(handle_names)


@pytest.mark.parametrize("handle", ALL_HANDLES, ids=lambda handle: handle.name)
def test_the_registered_binding_is_the_activity_trigger_the_host_resolves_by_function_name(
    handle: ActivityHandle[Any, Any], registered: dict[str, FunctionInfo]
) -> None:
    bindings = registered[handle.name].bindings

    # The Durable extension takes an activity's name from the trigger's ``activity`` property if set, else
    # from the function name: with none set, the name registered is the handle's, on Azure as on devhost.
    assert bindings == [{"direction": "IN", "type": "activityTrigger", "name": "payload"}]


@pytest.mark.parametrize("handle", ALL_HANDLES, ids=lambda handle: handle.name)
def test_the_registered_function_validates_with_the_handle_models(
    handle: ActivityHandle[Any, Any], registered: dict[str, FunctionInfo], fresh_telemetry: None
) -> None:
    function = registered[handle.name].user_function

    # Input the handle's input model refuses comes back as a typed failure, before any external call.
    returned = function({"instance_id": "handle-test", "unexpected": True})

    output = handle.output_model.model_validate(returned)
    assert output.failure is not None
    assert output.failure.code is ErrorCode.INVALID_INPUT
    assert output.failure.message.startswith(f"{handle.name}: invalid input")


def test_openai_results_extend_the_output_models_their_handles_promise() -> None:
    from activities import openai_structured, transcription

    results = {
        "parse_candidate_profile": openai_structured.ParseCandidateProfileResult,
        "screen_candidate": openai_structured.ScreenCandidateResult,
        "score_transcript": openai_structured.ScoreTranscriptResult,
        "transcribe_recording": transcription.TranscribeRecordingResult,
    }
    budgeted = {handle.name: handle for handle in ALL_HANDLES if handle.prompt_tokens is not None}

    assert set(budgeted) == set(results)
    for name, result in results.items():
        assert issubclass(result, budgeted[name].output_model)
        assert "usage" in result.model_fields  # what the budget settles with


def _modules_loaded_by(*modules: str) -> set[str]:
    """The modules a fresh interpreter has loaded after importing ``modules``."""
    probe = f"import json, sys\nimport {', '.join(modules)}\nprint(json.dumps(sorted(sys.modules)))\n"
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(completed.stdout))


def test_the_handles_load_without_the_activities_runtime() -> None:
    loaded = _modules_loaded_by("activities.contracts")

    runtime = {
        "activities._common",
        "shared.settings",
        "shared.clients",
        "shared.storage",
        "shared.telemetry",
        "shared.acs_auth",
    }
    assert not runtime & loaded


def test_orchestrators_reach_activities_through_the_handles_only() -> None:
    loaded = _modules_loaded_by(
        "orchestrators.batch_screening", "orchestrators.candidate_pipeline", "orchestrators.interview"
    )

    assert {name for name in loaded if name.startswith("activities.")} == {
        "activities.contracts",
        "activities.handles",
    }
    assert not {"shared.clients", "shared.storage", "shared.telemetry", "shared.acs_auth"} & loaded
