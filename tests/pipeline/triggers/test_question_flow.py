"""The ACS callback endpoint drives a real (emulated) call through the job's questions, then hangs up.

The ACS emulator places the call and posts its mid-call CloudEvents to a loopback server that hands them to
the ``acs_callback`` function, which answers with the real Call Automation SDK: each question is asked once
the recording runs, then a closing line is played and the call is hung up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import azure.functions as func
import pytest
from aiohttp import web

from emulators.server import EmulatorOptions, EmulatorThread, emulators_in_thread
from shared.clients import call_automation_client, reset_clients
from shared.settings import get_settings, reset_settings
from shared.storage import load_job
from tests.pipeline.triggers.conftest import CALLBACK_SECRET, JOB_ID, TriggerHarness
from triggers.acs_callbacks import CLOSING_LINE

pytestmark = pytest.mark.azurite

Harness = Callable[..., TriggerHarness]
SAMPLES = Path(__file__).resolve().parents[3] / "samples"
PERSONA_NUMBER = "+14255550201"


@pytest.fixture(scope="module")
def emulators() -> Iterator[EmulatorThread]:
    options = EmulatorOptions(personas=SAMPLES / "personas.json", recording_ready_delay_s=0.0)
    with emulators_in_thread(options) as running:
        yield running


async def _forwarding_server(h: TriggerHarness) -> tuple[web.AppRunner, str]:
    """A loopback server that hands each callback to the function, as the Functions host would."""
    function = h.function("acs_callback")

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
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


def test_questions_are_asked_after_recording_starts_then_the_call_ends(
    harness: Harness, emulators: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness()
    for key in ("ACS_CONNECTION_STRING", "CA_BUNDLE", "ACS_RECORDING_PROXY_URL"):
        if key in emulators.settings:
            monkeypatch.setenv(key, emulators.settings[key])
    reset_settings()
    reset_clients()
    from azure.communication.callautomation import (
        PhoneNumberIdentifier,
        RecordingChannel,
        RecordingContent,
        RecordingFormat,
        ServerCallLocator,
    )

    runner, base_url = h.host.run(_forwarding_server(h))
    try:
        instance_id = f"{JOB_ID}.questionflow.interview"
        callback = f"{base_url}/api/acs/callbacks?instanceId={instance_id}&secret={CALLBACK_SECRET}"
        client = call_automation_client()
        created = client.create_call(
            PhoneNumberIdentifier(PERSONA_NUMBER),
            callback,
            source_caller_id_number=PhoneNumberIdentifier(get_settings().acs_caller_phone_number),
        )
        call_id = str(created.call_connection_id)
        h.wait_for(lambda: _call_state(emulators, call_id)[0] == "connected", what="the call to connect")
        assert _call_state(emulators, call_id)[1] == []  # nothing is asked before the recording runs

        client.start_recording(
            ServerCallLocator(str(created.server_call_id)),
            recording_content_type=RecordingContent.AUDIO,
            recording_channel_type=RecordingChannel.MIXED,
            recording_format_type=RecordingFormat.WAV,
            recording_state_callback_url=callback,
        )
        h.wait_for(
            lambda: _call_state(emulators, call_id)[0] == "disconnected", what="the call to end", timeout=30
        )

        questions = load_job(JOB_ID).interview.questions
        interviewer_lines = [
            text for speaker, text in _call_state(emulators, call_id)[1] if speaker == "interviewer"
        ]
        assert interviewer_lines == [*questions, CLOSING_LINE]
        candidate_lines = [
            text for speaker, text in _call_state(emulators, call_id)[1] if speaker == "candidate"
        ]
        assert len(candidate_lines) >= len(questions)
    finally:
        h.host.run(runner.cleanup())
