from collections.abc import Iterator

import azure.durable_functions as df
import pytest

from shared import clients, retry
from shared.errors import ErrorCode, PermanentError
from shared.settings import reset_settings, setting_keys


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    # The azure profile refuses to start without its endpoints (tests/pipeline/unit/test_azure_profile.py);
    # these tests look at what the factories do with whatever local settings are present.
    monkeypatch.setenv("HIREFLOW_PROFILE", "local")
    reset_settings()
    clients.reset_clients()
    yield monkeypatch
    clients.reset_clients()
    reset_settings()


def test_keys_and_connection_strings_win_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIREFLOW_PROFILE", "local")
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;",
    )
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:1/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    monkeypatch.setenv("ACS_CONNECTION_STRING", "endpoint=https://127.0.0.1:2/;accesskey=a2V5")
    monkeypatch.setenv("ACS_RECORDING_PROXY_URL", "http://127.0.0.1:3")
    monkeypatch.setenv("CA_BUNDLE", "/nonexistent/ca.pem")
    assert clients.blob_service_client().account_name == "devstoreaccount1"
    assert clients.openai_client().api_key == "k"
    assert clients.recording_download_client() is not clients.call_automation_client()


@pytest.mark.parametrize(
    "factory",
    [
        clients.blob_service_client,
        clients.openai_client,
        clients.document_intelligence_client,
        clients.call_automation_client,
    ],
)
def test_missing_endpoint_is_a_configuration_failure(factory: object) -> None:
    with pytest.raises(PermanentError) as raised:
        factory()  # type: ignore[operator]
    assert raised.value.code is ErrorCode.CONFIGURATION


def test_recording_proxy_needs_a_connection_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIREFLOW_PROFILE", "local")
    monkeypatch.setenv("ACS_RECORDING_PROXY_URL", "http://127.0.0.1:3")
    with pytest.raises(PermanentError, match="ACS_CONNECTION_STRING"):
        clients.recording_download_client()


def test_override_and_reset_close_clients() -> None:
    class Fake:
        closed = False

        def close(self) -> None:
            self.closed = True

    fake = Fake()
    clients.override_client("openai_client", fake)
    assert clients.openai_client() is fake
    clients.reset_clients()
    assert fake.closed
    with pytest.raises(PermanentError):
        clients.openai_client()


def test_retry_policies_are_named_durable_retry_options() -> None:
    for name in retry.__all__:
        policy = getattr(retry, name)
        assert isinstance(policy, df.RetryOptions)
        assert policy.max_number_of_attempts >= 3
        assert policy.first_retry_interval_in_milliseconds >= 1_000
    assert (
        retry.AI_RETRY.first_retry_interval_in_milliseconds
        > retry.STORAGE_RETRY.first_retry_interval_in_milliseconds
    )
    assert retry.CALL_RETRY.max_number_of_attempts <= 3
