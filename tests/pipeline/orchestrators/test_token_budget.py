"""candidate_pipeline 2.0 reserves OpenAI tokens on the deployment's budget entity; older instances do not.
From 2.1 the transcription reserves its requests on the transcription deployment's budget too.

The engine runs the real app (entity included) with fake activities and skipped time. The entity's clock is
a fake that moves only when the test says, or by a fixed step each time it is read, so waits are exact and
nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devhost.testing import DurableTestHost
from orchestrators import token_budget
from orchestrators.candidate_pipeline import CHAT_DEPLOYMENT
from orchestrators.identity import candidate_instance_id
from orchestrators.token_budget import ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT
from shared.token_bucket import DEFAULT_MAX_OUTPUT_TOKENS
from tests.pipeline.orchestrators.conftest import JOB_ID, pipeline_input
from tests.pipeline.orchestrators.fakes import PROFILE, PipelineFakes

AI_STEPS = ("parse_candidate_profile", "screen_candidate", "score_transcript")
BUDGETED_VERSION = "2.0"
TRANSCRIPTION_BUDGETED_VERSION = "2.1"


class SteppingClock:
    """A clock for the entity: starts at ``start`` and moves ``step`` seconds every time it is read."""

    def __init__(self, start: float = 1_000_000.0, step: float = 0.0) -> None:
        self.now = start
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        current = self.now
        self.now += self.step
        return current


def usage(tokens: int, finished_at: float) -> dict[str, Any]:
    return {
        "requests": 1,
        "tokens": tokens,
        "max_output_tokens": DEFAULT_MAX_OUTPUT_TOKENS,
        "finished_at": finished_at,
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SteppingClock:
    fake = SteppingClock()
    monkeypatch.setattr(token_budget, "clock", fake)
    return fake


@pytest.fixture
def make_host() -> Iterator[Callable[[PipelineFakes, str], DurableTestHost]]:
    from function_app import app

    hosts: list[DurableTestHost] = []

    def build(fakes: PipelineFakes, default_version: str) -> DurableTestHost:
        host = DurableTestHost(app, fakes=fakes.activities())
        # What host.json's defaultVersion does for every new instance on Azure and on devhost.
        host.engine.durable_settings.default_version = default_version
        fakes.raise_event = host.raise_event
        hosts.append(host)
        return host

    yield build
    for host in hosts:
        host.close()


def start(host: DurableTestHost, resume: str = "backend-engineer/ada.pdf") -> str:
    data = pipeline_input(resume)
    instance_id = candidate_instance_id(JOB_ID, data.resume.name)
    return host.start("candidate_pipeline", data.model_dump(mode="json"), instance_id=instance_id)


def test_version_2_reserves_before_and_settles_after_each_openai_step(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    fakes = PipelineFakes()
    fakes.overrides["parse_candidate_profile"] = lambda _: {
        "profile": PROFILE,
        "usage": usage(5_000, clock.now),
    }
    host = make_host(fakes, BUDGETED_VERSION)
    instance_id = start(host)

    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    assert result.output["outcome"] == "interviewed"
    state = host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT)
    assert state["granted"] == len(AI_STEPS)
    assert state["deferred"] == 0
    holds = state["holds"]
    assert len(holds) == len(AI_STEPS)
    assert all(hold["settled"] for hold in holds)
    # parse reported what it was charged; the fakes of the other two report nothing, so their estimate stays.
    assert holds[0]["tokens"] == 5_000
    assert all(hold["tokens"] > DEFAULT_MAX_OUTPUT_TOKENS for hold in holds[1:])


def test_unversioned_instances_keep_the_path_they_started_on(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    host = make_host(PipelineFakes(), "")
    instance_id = start(host)

    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    assert host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT) is None
    assert clock.reads == 0


def test_a_full_window_makes_the_step_wait_on_a_durable_timer_then_ask_again(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    fakes = PipelineFakes()
    host = make_host(fakes, BUDGETED_VERSION)
    window_s = 10.0
    # Room for one request per window: a request already charged a moment ago fills it.
    host.signal_entity(
        ENTITY_NAME, CHAT_DEPLOYMENT, "configure", {"tokens_per_window": 8_000, "window_s": window_s}
    )
    host.signal_entity(ENTITY_NAME, CHAT_DEPLOYMENT, "reserve", {"id": "earlier", "prompt_tokens": 1_000})
    host.signal_entity(
        ENTITY_NAME,
        CHAT_DEPLOYMENT,
        "settle",
        {"id": "earlier", "usage": usage(6_000, clock.now)},
    )
    host.run_until_idle()
    clock.step = 1.0  # from now on every read of the entity's clock is one second later

    instance_id = start(host)
    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    state = host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT)
    assert state["deferred"] >= 1
    history = host.history_event_types(instance_id)
    # The wait for room is a durable timer in the candidate's own history (besides the review deadline).
    assert history.count("TimerCreated") >= 1
    assert fakes.calls["parse_candidate_profile"] == 1
    # The first grant came only once the earlier request had left its window.
    assert clock.now >= 1_000_000.0 + window_s


def test_a_failed_step_settles_with_unknown_usage(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    fakes = PipelineFakes()
    fakes.overrides["screen_candidate"] = lambda _: {"failure": {"code": "content_filtered", "message": "no"}}
    host = make_host(fakes, BUDGETED_VERSION)
    instance_id = start(host)

    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Failed"
    holds = host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT)["holds"]
    assert [hold["settled"] for hold in holds] == [True, True]
    assert fakes.calls["score_transcript"] == 0


def _limits_of_a_new_budget(
    make_host: Callable[[PipelineFakes, str], DurableTestHost],
    monkeypatch: pytest.MonkeyPatch,
    settings: dict[str, str],
    deployment: str,
) -> dict[str, Any]:
    """The limits the budget of ``deployment`` takes on its first operation, with ``settings`` in force."""
    from shared.settings import reset_settings

    monkeypatch.setenv("HIREFLOW_PROFILE", "local")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    try:
        host = make_host(PipelineFakes(), TRANSCRIPTION_BUDGETED_VERSION)
        host.signal_entity(ENTITY_NAME, deployment, "reserve", {"id": "first", "prompt_tokens": 100})
        host.run_until_idle()
        limits: dict[str, Any] = host.entity_state(ENTITY_NAME, deployment)["limits"]
    finally:
        monkeypatch.undo()
        reset_settings()
    return limits


def test_a_new_budget_starts_from_the_deployments_quota_in_the_settings(
    make_host: Callable[[PipelineFakes, str], DurableTestHost],
    clock: SteppingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = {
        "AZURE_OPENAI_CHAT_TOKENS_PER_MINUTE": "30000",
        "AZURE_OPENAI_CHAT_REQUESTS_PER_MINUTE": "180",
    }

    limits = _limits_of_a_new_budget(make_host, monkeypatch, settings, CHAT_DEPLOYMENT)

    assert limits == {"tokens_per_window": 30_000, "requests_per_window": 180, "window_s": 60.0}


def _transcribed(parts: int, finished_at: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def fake(payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "transcript": {"container": "artifacts", "name": f"{payload['instance_id']}/transcript.txt"},
            "parts_transcribed": parts,
            "usage": {"requests": parts, "tokens": 0, "finished_at": finished_at},
        }

    return fake


def test_version_2_1_reserves_the_transcriptions_requests_on_its_own_budget(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    fakes = PipelineFakes()
    fakes.overrides["transcribe_recording"] = _transcribed(2, clock.now)
    host = make_host(fakes, TRANSCRIPTION_BUDGETED_VERSION)
    instance_id = start(host)

    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    assert host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT)["granted"] == len(AI_STEPS)
    whisper = host.entity_state(ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT)
    assert (whisper["granted"], whisper["deferred"]) == (1, 0)
    [hold] = whisper["holds"]
    # Reserved as one request (one chunk of unknown size), settled with the two parts the activity sent.
    assert (hold["settled"], hold["requests"], hold["tokens"], hold["kind"]) == (
        True,
        2,
        0,
        "transcribe_recording",
    )


def test_version_2_0_instances_transcribe_without_the_transcription_budget(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    host = make_host(PipelineFakes(), BUDGETED_VERSION)
    instance_id = start(host)

    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    assert host.entity_state(ENTITY_NAME, CHAT_DEPLOYMENT)["granted"] == len(AI_STEPS)
    assert host.entity_state(ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT) is None


def test_a_transcription_waits_for_room_in_the_request_quota(
    make_host: Callable[[PipelineFakes, str], DurableTestHost], clock: SteppingClock
) -> None:
    fakes = PipelineFakes()
    host = make_host(fakes, TRANSCRIPTION_BUDGETED_VERSION)
    # Whisper's default quota is three requests a minute; a ten-second window keeps the skipped waits few.
    window_s = 10.0
    # Three requests already spent by others a moment ago fill the window.
    host.signal_entity(
        ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT, "configure", {"requests_per_window": 3, "window_s": window_s}
    )
    for number in range(3):
        host.signal_entity(
            ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT, "reserve", {"id": f"other-{number}", "prompt_tokens": 0}
        )
    host.run_until_idle()
    clock.step = 1.0

    instance_id = start(host)
    result = host.run_until_complete(instance_id)

    assert result.runtime_status == "Completed", result.output
    whisper = host.entity_state(ENTITY_NAME, TRANSCRIPTION_DEPLOYMENT)
    assert whisper["deferred"] >= 1
    assert whisper["granted"] == 3 + 1
    assert fakes.calls["transcribe_recording"] == 1
    # Granted only once the others' requests had left the window they were admitted in.
    assert clock.now >= 1_000_000.0 + window_s


def test_the_transcription_budget_starts_from_its_request_quota_in_the_settings(
    make_host: Callable[[PipelineFakes, str], DurableTestHost],
    clock: SteppingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = {
        "AZURE_OPENAI_CHAT_TOKENS_PER_MINUTE": "30000",
        "AZURE_OPENAI_TRANSCRIPTION_REQUESTS_PER_MINUTE": "3",
    }

    limits = _limits_of_a_new_budget(make_host, monkeypatch, settings, TRANSCRIPTION_DEPLOYMENT)

    # Requests only: the chat deployment's token quota is not the transcription deployment's.
    assert limits == {"tokens_per_window": None, "requests_per_window": 3, "window_s": 60.0}
