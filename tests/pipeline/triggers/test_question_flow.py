"""The ACS callback endpoint drives a real (emulated) call through the job's questions, then hangs up.

The ACS emulator places the call and posts its mid-call CloudEvents to a loopback server that hands them to
the ``acs_callback`` function, which answers with the real Call Automation SDK: each question is asked once
the recording runs, then a closing line is played and the call is hung up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from aiohttp import web

from emulators.faults import parse_fault_spec
from emulators.server import EmulatorOptions, EmulatorThread, emulators_in_thread
from shared.acs_auth import callback_token
from shared.clients import call_automation_client, reset_clients
from shared.settings import get_settings, reset_settings
from shared.storage import interview_incomplete_reason, load_job
from tests.pipeline.triggers.conftest import JOB_ID, TriggerHarness
from triggers import acs_callbacks
from triggers.acs_callbacks import (
    CLOSING_LINE,
    FLOW_SLEEP,
    interview_end_reason,
    reset_question_flow_memos,
    with_transient_retries,
)

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
SAMPLES = Path(__file__).resolve().parents[3] / "samples"
PERSONA_NUMBER = "+14255550201"
HANGS_UP_EARLY_NUMBER = "+14255550299"


@pytest.fixture(scope="module")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    personas = json.loads((SAMPLES / "personas.json").read_text(encoding="utf-8"))
    personas["personas"][HANGS_UP_EARLY_NUMBER] = {
        "behaviour": "hangs_up_early",
        "hang_up_after_questions": 1,
    }
    path = tmp_path_factory.mktemp("personas") / "personas.json"
    path.write_text(json.dumps(personas), encoding="utf-8")
    options = EmulatorOptions(personas=path, recording_ready_delay_s=0.0)
    with emulators_in_thread(options) as running:
        yield running


# Called with each callback's events before the function gets them (a test switches "instances" there).
BeforeCallback = Callable[[list[dict[str, Any]]], None]


async def _forwarding_server(
    h: TriggerHarness, before_callback: BeforeCallback | None = None
) -> tuple[web.AppRunner, str]:
    """A loopback server that hands each callback to the function, as the Functions host would."""
    function = h.function("acs_callback")

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        if before_callback is not None:
            before_callback(json.loads(body))
        http_request = func.HttpRequest(
            method="POST",
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            body=body,
        )
        response: func.HttpResponse = await function(req=http_request, client=h.host.engine.client_binding())
        return web.Response(status=response.status_code, body=response.get_body())

    app = web.Application()
    app.router.add_post("/api/acs/callbacks", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


def _call_state(emulators: EmulatorThread, call_id: str) -> tuple[str, list[tuple[str, str]]]:
    async def read() -> tuple[str, list[tuple[str, str]]]:
        assert emulators.server.acs is not None
        call = emulators.server.acs._calls[call_id]
        return call.state, [(turn.speaker, turn.text) for turn in call.turns]

    result: tuple[str, list[tuple[str, str]]] = emulators.call(read())
    return result


def _point_at(emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ACS_CONNECTION_STRING", "CA_BUNDLE", "ACS_RECORDING_PROXY_URL"):
        if key in emulators.settings:
            monkeypatch.setenv(key, emulators.settings[key])
    reset_settings()
    reset_clients()


def _interview_call(
    h: TriggerHarness,
    emulators: EmulatorThread,
    instance_id: str,
    *,
    start_recording: Callable[[Callable[[], object]], None],
    number: str = PERSONA_NUMBER,
    before_callback: BeforeCallback | None = None,
) -> str:
    """Place a call whose callbacks reach the function, record it once connected, wait until it ends.

    ``start_recording`` receives the request that starts the recording and must send it (tests wrap it).
    """
    from azure.communication.callautomation import (
        PhoneNumberIdentifier,
        RecordingChannel,
        RecordingContent,
        RecordingFormat,
        ServerCallLocator,
    )

    runner, base_url = h.host.run(_forwarding_server(h, before_callback))
    try:
        callback = (
            f"{base_url}/api/acs/callbacks?instanceId={instance_id}&token={callback_token(instance_id)}"
        )
        client = call_automation_client()
        created = client.create_call(
            PhoneNumberIdentifier(number),
            callback,
            source_caller_id_number=PhoneNumberIdentifier(get_settings().acs_caller_phone_number),
        )
        call_id = str(created.call_connection_id)
        h.wait_for(lambda: _call_state(emulators, call_id)[0] == "connected", what="the call to connect")
        assert _call_state(emulators, call_id)[1] == []  # nothing is asked before the recording runs

        def start() -> object:
            return client.start_recording(
                ServerCallLocator(str(created.server_call_id)),
                recording_content_type=RecordingContent.AUDIO,
                recording_channel_type=RecordingChannel.MIXED,
                recording_format_type=RecordingFormat.WAV,
                recording_state_callback_url=callback,
            )

        start_recording(start)
        h.wait_for(
            lambda: _call_state(emulators, call_id)[0] == "disconnected", what="the call to end", timeout=30
        )
        return call_id
    finally:
        h.host.run(runner.cleanup())


def _send(start: Callable[[], object]) -> None:
    start()


def _lines(emulators: EmulatorThread, call_id: str, speaker: str) -> list[str]:
    return [text for who, text in _call_state(emulators, call_id)[1] if who == speaker]


def test_questions_are_asked_after_recording_starts_then_the_call_ends(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    instance_id = f"{JOB_ID}.questionflow.interview"
    call_id = _interview_call(h, emulators, instance_id, start_recording=_send)

    questions = load_job(JOB_ID).interview.questions
    assert _lines(emulators, call_id, "interviewer") == [*questions, CLOSING_LINE]
    assert len(_lines(emulators, call_id, "candidate")) >= len(questions)
    assert interview_incomplete_reason(instance_id, call_id) is None
    assert interview_end_reason(instance_id, call_id) is None


def test_a_candidate_who_hangs_up_early_leaves_an_incomplete_interview(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    instance_id = f"{JOB_ID}.hangsup.interview"
    call_id = _interview_call(h, emulators, instance_id, start_recording=_send, number=HANGS_UP_EARLY_NUMBER)

    assert CLOSING_LINE not in _lines(emulators, call_id, "interviewer")
    assert (
        interview_end_reason(instance_id, call_id) == "the call ended before the last question was answered"
    )


def _set_faults(emulators: EmulatorThread, spec: str, *, seed: int | None = None) -> None:
    async def configure() -> None:
        assert emulators.server.faults is not None
        emulators.server.faults.configure(parse_fault_spec(spec), seed)

    emulators.call(configure())


@pytest.fixture
def no_faults_after(emulators: EmulatorThread) -> Iterator[None]:
    yield
    _set_faults(emulators, "")


@pytest.mark.usefixtures("no_faults_after")
def test_transient_acs_errors_in_the_question_flow_are_retried_honouring_retry_after(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(FLOW_SLEEP, "sleep", no_wait)
    monkeypatch.setattr(emulators.server.faults.settings, "retry_after_s", 0.25)
    instance_id = f"{JOB_ID}.throttled.interview"

    def start_under_faults(start: Callable[[], object]) -> None:
        # From here on every ACS request (the recording's start, then the whole flow) is throttled three
        # times in ten, in an order fixed by the seed.
        _set_faults(emulators, "acs:429=0.3", seed=11)
        h.host.run(with_transient_retries("start the recording", start))

    call_id = _interview_call(h, emulators, instance_id, start_recording=start_under_faults)

    questions = load_job(JOB_ID).interview.questions
    assert _lines(emulators, call_id, "interviewer") == [*questions, CLOSING_LINE]
    injected = emulators.server.faults.stats()["services"]["acs"]["injected"].get("429", 0)
    assert injected >= 1
    assert len(waits) == injected  # each throttled request waited once, then went through
    assert set(waits) == {0.25}  # as long as the service's retry-after-ms asked
    assert interview_incomplete_reason(instance_id, call_id) is None
    assert interview_end_reason(instance_id, call_id) is None


@pytest.mark.usefixtures("no_faults_after")
def test_a_flow_that_cannot_go_on_hangs_up_and_marks_the_interview_incomplete(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    monkeypatch.setattr(acs_callbacks, "FLOW_MAX_ATTEMPTS", 2)
    waits: list[float] = []

    async def outage_ends_at_the_hang_up(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:  # the first wait is the failing step's; the second is the hang-up's
            _set_faults(emulators, "")

    monkeypatch.setattr(FLOW_SLEEP, "sleep", outage_ends_at_the_hang_up)
    instance_id = f"{JOB_ID}.outage.interview"

    def start_then_outage(start: Callable[[], object]) -> None:
        start()
        _set_faults(emulators, "acs:503=1")

    call_id = _interview_call(h, emulators, instance_id, start_recording=start_then_outage)

    assert CLOSING_LINE not in _lines(emulators, call_id, "interviewer")
    reason = interview_incomplete_reason(instance_id, call_id)
    assert reason is not None
    assert reason.startswith("the question flow stopped after")
    assert "HttpResponseError" in reason or "ServiceResponseError" in reason
    assert interview_end_reason(instance_id, call_id) == reason


def _acs_served(emulators: EmulatorThread) -> int:
    """Requests the ACS emulator has served so far (injected faults excluded)."""

    async def read() -> int:
        assert emulators.server.faults is not None
        return int(emulators.server.faults.stats()["services"]["acs"]["served"])

    return int(emulators.call(read()))


def _acs_pending(emulators: EmulatorThread) -> int:
    async def read() -> int:
        assert emulators.server.acs is not None
        return emulators.server.acs.pending()

    return int(emulators.call(read()))


@dataclass
class FlowReads:
    """What the question flow read, counted around the real SDK and storage calls (which still run)."""

    call_properties: int = 0
    jobs: int = 0


@pytest.fixture
def flow_reads(monkeypatch: pytest.MonkeyPatch) -> FlowReads:
    from azure.communication.callautomation import CallConnectionClient

    from shared import storage

    reads = FlowReads()
    get_call_properties = CallConnectionClient.get_call_properties
    load = storage.load_job

    def counted_call_properties(self: CallConnectionClient, **kwargs: Any) -> Any:
        reads.call_properties += 1
        return get_call_properties(self, **kwargs)

    def counted_load_job(job_id: str) -> Any:
        reads.jobs += 1
        return load(job_id)

    monkeypatch.setattr(CallConnectionClient, "get_call_properties", counted_call_properties)
    # interview_questions imports load_job from shared.storage when it runs, so it finds this one.
    monkeypatch.setattr(storage, "load_job", counted_load_job)
    return reads


def _counting_from_the_recording(
    h: TriggerHarness, emulators: EmulatorThread, served_before: list[int]
) -> Callable[[Callable[[], object]], None]:
    """A ``start_recording`` that notes how many ACS requests were served just before the recording starts.

    It first waits until the emulator owes the app no callback: the ``CallConnected`` callback (and the
    signing keys fetched to check it) is then behind, and what follows is the recording and the flow.
    """

    def start(send: Callable[[], object]) -> None:
        h.wait_for(lambda: _acs_pending(emulators) == 0, what="the connection's callbacks to be handled")
        served_before.append(_acs_served(emulators))
        send()

    return start


def test_one_instance_reads_a_calls_target_and_questions_once(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch, flow_reads: FlowReads
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    instance_id = f"{JOB_ID}.memo.interview"
    before: list[int] = []
    start = _counting_from_the_recording(h, emulators, before)
    call_id = _interview_call(h, emulators, instance_id, start_recording=start)

    questions = load_job(JOB_ID).interview.questions
    assert _lines(emulators, call_id, "interviewer") == [*questions, CLOSING_LINE]
    assert flow_reads.call_properties == 1
    assert flow_reads.jobs == 1
    # The recording's start, the target once, one recognition per question, the closing line, the hang-up.
    assert _acs_served(emulators) - before[0] == 1 + 1 + len(questions) + 1 + 1
    assert interview_end_reason(instance_id, call_id) is None


def test_callbacks_on_instances_that_never_saw_the_call_read_it_again(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch, flow_reads: FlowReads
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    instance_id = f"{JOB_ID}.scaledout.interview"
    before: list[int] = []
    start = _counting_from_the_recording(h, emulators, before)

    def on_a_fresh_instance(events: list[dict[str, Any]]) -> None:
        reset_question_flow_memos()

    call_id = _interview_call(
        h, emulators, instance_id, start_recording=start, before_callback=on_a_fresh_instance
    )

    questions = load_job(JOB_ID).interview.questions
    assert _lines(emulators, call_id, "interviewer") == [*questions, CLOSING_LINE]
    # Every question asks ACS for the target; every step (the closing one too) reads the job.
    assert flow_reads.call_properties == len(questions)
    assert flow_reads.jobs == len(questions) + 1
    assert _acs_served(emulators) - before[0] == 1 + 2 * len(questions) + 1 + 1
    assert interview_end_reason(instance_id, call_id) is None


def test_an_instance_restarted_mid_call_reads_the_call_once_more(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch, flow_reads: FlowReads
) -> None:
    h = harness()
    _point_at(emulators, monkeypatch)
    instance_id = f"{JOB_ID}.restarted.interview"

    def restart_after_the_second_question(events: list[dict[str, Any]]) -> None:
        contexts = {event.get("data", {}).get("operationContext") for event in events}
        if "question:1" in contexts:
            reset_question_flow_memos()

    call_id = _interview_call(
        h, emulators, instance_id, start_recording=_send, before_callback=restart_after_the_second_question
    )

    questions = load_job(JOB_ID).interview.questions
    assert _lines(emulators, call_id, "interviewer") == [*questions, CLOSING_LINE]
    assert flow_reads.call_properties == 2
    assert flow_reads.jobs == 2
    assert interview_end_reason(instance_id, call_id) is None
