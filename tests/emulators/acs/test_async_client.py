"""The async Call Automation client (aiohttp transport) against the emulator, end to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from azure.communication.callautomation import PhoneNumberIdentifier, TextSource
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError, ServiceRequestError

from emulators.acs_service import new_access_key
from emulators.recording import transcribe_wav
from tests.emulators.acs.harness import RunningAcs

T = TypeVar("T")
CALLER = PhoneNumberIdentifier("+18005550100")


async def eventually(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
    return value


def test_async_client_runs_a_recorded_interview_and_fetches_the_recording(acs: RunningAcs) -> None:
    async def scenario() -> None:
        async with CallAutomationClient.from_connection_string(
            acs.connection_string,
            connection_verify=acs.ca,
            proxies={"https": acs.emulator.recording_proxy_url},
        ) as client:
            created = await client.create_call(
                PhoneNumberIdentifier("+14255550101"), acs.callback_url, source_caller_id_number=CALLER
            )
            call_id = str(created.call_connection_id)
            connected = await eventually(lambda: acs.receiver.callbacks_of(call_id, "CallConnected"))
            recording = await client.start_recording(server_call_id=connected[0]["data"]["serverCallId"])
            assert (await client.get_recording_properties(recording.recording_id)).recording_state == "active"
            connection = client.get_call_connection(call_id)
            await connection.play_media_to_all(TextSource(text="What is your favourite Python library?"))
            await eventually(lambda: acs.receiver.callbacks_of(call_id, "PlayCompleted"))
            await connection.hang_up(is_for_everyone=True)
            assert (await connection.get_call_properties()).call_connection_state == "disconnected"
            event = (await eventually(acs.receiver.notifications))[0]
            chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]

            response = await client.download_recording(chunk["contentLocation"])
            audio = b"".join([piece async for piece in response.iter_bytes()])
            ranged = await client.download_recording(chunk["contentLocation"], offset=44, length=1000)
            assert b"".join([piece async for piece in ranged.iter_bytes()]) == audio[44:1044]
            segments = transcribe_wav(audio)
            assert segments[0].text == "What is your favourite Python library?"
            assert segments[1].speaker == "candidate"

            await client.delete_recording(chunk["deleteLocation"])
            with pytest.raises(ResourceNotFoundError):
                await client.download_recording(chunk["contentLocation"])

    asyncio.run(scenario())


def test_async_client_is_refused_with_a_wrong_key_or_an_untrusted_ca(acs: RunningAcs) -> None:
    endpoint = acs.connection_string.split(";")[0]

    async def scenario() -> None:
        async with CallAutomationClient.from_connection_string(
            f"{endpoint};accesskey={new_access_key()}", connection_verify=acs.ca
        ) as impostor:
            with pytest.raises(ClientAuthenticationError):
                await impostor.get_call_connection("any").get_call_properties()
        async with CallAutomationClient.from_connection_string(
            acs.connection_string, retry_total=0
        ) as untrusted:
            with pytest.raises(ServiceRequestError):
                await untrusted.get_call_connection("any").get_call_properties()

    asyncio.run(scenario())
