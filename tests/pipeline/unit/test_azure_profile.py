"""The azure profile: managed identity for every client, and a refusal to start when misconfigured.

Each refusal is a settings validation error that names the setting at fault. The client tests build the
real SDK clients from azure-profile settings and inspect them; nothing is sent anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential
from pydantic import ValidationError

from shared import clients
from shared.settings import Settings, reset_settings, setting_keys

AZURE = {
    "STORAGE_ACCOUNT_URL": "https://hireflowdata.blob.core.windows.net",
    "AZURE_OPENAI_ENDPOINT": "https://hireflow-ai.openai.azure.com/",
    "DOCUMENT_INTELLIGENCE_ENDPOINT": "https://hireflow-di.cognitiveservices.azure.com/",
    "ACS_ENDPOINT": "https://hireflow-acs.unitedstates.communication.azure.com/",
    "ACS_IMMUTABLE_RESOURCE_ID": "5b3e5b1c-6f0e-4c55-9a0d-3c1b2a4d5e6f",
    "ACS_CALLER_PHONE_NUMBER": "+12065559876",
    "CALLBACK_BASE_URL": "https://hireflow-func.azurewebsites.net",
    "AZURE_CLIENT_ID": "0f6c2d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f",
    "HTTP_TIMEOUT_SECONDS": "7",
    "HTTP_CONNECT_TIMEOUT_SECONDS": "3",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    reset_settings()
    clients.reset_clients()
    yield
    clients.reset_clients()
    reset_settings()


@pytest.fixture
def azure_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app settings of an Azure deployment, as the client factories read them."""
    for key, value in AZURE.items():
        monkeypatch.setenv(key, value)


def _refusal(**changes: str | None) -> str:
    values: dict[str, Any] = {k: v for k, v in {**AZURE, **changes}.items() if v is not None}
    with pytest.raises(ValidationError) as raised:
        Settings.model_validate(values)
    return str(raised.value)


def test_a_complete_azure_configuration_is_accepted() -> None:
    settings = Settings.model_validate(AZURE)
    assert settings.profile == "azure"
    assert settings.acs_callback_audience == AZURE["ACS_IMMUTABLE_RESOURCE_ID"]
    assert settings.acs_callback_openid_configuration_url == (
        "https://acscallautomation.communication.azure.com/calling/.well-known/acsopenidconfiguration"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:7071", "https://127.0.0.1:7071", "https://localhost", "https://[::1]:8443"]
)
def test_azure_profile_refuses_a_loopback_callback_url(url: str) -> None:
    assert "CALLBACK_BASE_URL" in _refusal(CALLBACK_BASE_URL=url)


def test_azure_profile_refuses_an_http_callback_url() -> None:
    message = _refusal(CALLBACK_BASE_URL="http://hireflow-func.azurewebsites.net")
    assert "CALLBACK_BASE_URL must be an https URL" in message


def test_azure_profile_refuses_a_private_network_callback_url() -> None:
    assert "CALLBACK_BASE_URL" in _refusal(CALLBACK_BASE_URL="https://10.1.2.3")


@pytest.mark.parametrize("number", ["+15550100000", "+14255550123", "+1555123456", "4255551234", "+0123"])
def test_azure_profile_refuses_a_placeholder_caller_number(number: str) -> None:
    assert "ACS_CALLER_PHONE_NUMBER" in _refusal(ACS_CALLER_PHONE_NUMBER=number)


def test_azure_profile_refuses_the_default_caller_number() -> None:
    assert "ACS_CALLER_PHONE_NUMBER" in _refusal(ACS_CALLER_PHONE_NUMBER=None)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5a2V5a2V5"),
        ("AZURE_OPENAI_API_KEY", "3f9a0c7e5b1d4f2a8c6e0b9d7f5a3c1e"),
        ("DOCUMENT_INTELLIGENCE_API_KEY", "8a2809789fa020920fcd999f1c77ed84"),
        ("ACS_CONNECTION_STRING", "endpoint=https://hireflow-acs.communication.azure.com/;accesskey=a2V5"),
    ],
)
def test_azure_profile_refuses_a_key_based_setting(key: str, value: str) -> None:
    message = _refusal(**{key: value})
    assert f"{key} is a key-based setting" in message
    assert "managed identity" in message


@pytest.mark.parametrize(
    "key",
    [
        "STORAGE_ACCOUNT_URL",
        "AZURE_OPENAI_ENDPOINT",
        "DOCUMENT_INTELLIGENCE_ENDPOINT",
        "ACS_ENDPOINT",
        "ACS_IMMUTABLE_RESOURCE_ID",
    ],
)
def test_azure_profile_refuses_a_missing_endpoint(key: str) -> None:
    assert f"{key} is required with HIREFLOW_PROFILE=azure" in _refusal(**{key: None})


def test_azure_profile_refuses_an_empty_endpoint() -> None:
    assert "AZURE_OPENAI_ENDPOINT is required" in _refusal(AZURE_OPENAI_ENDPOINT="")


def test_azure_profile_refuses_a_plain_http_endpoint() -> None:
    message = _refusal(DOCUMENT_INTELLIGENCE_ENDPOINT="http://hireflow-di.cognitiveservices.azure.com/")
    assert "DOCUMENT_INTELLIGENCE_ENDPOINT must be an https URL" in message


def test_the_local_profile_accepts_what_azure_refuses() -> None:
    local = Settings.model_validate(
        {
            "HIREFLOW_PROFILE": "local",
            "CALLBACK_BASE_URL": "http://127.0.0.1:7071",
            "AZURE_OPENAI_API_KEY": "k",
            "ACS_CONNECTION_STRING": "endpoint=https://127.0.0.1:7082/;accesskey=a2V5",
        }
    )
    assert local.is_local
    # Locally the emulator publishes the OpenID configuration at ACS's path on its own endpoint.
    assert local.acs_callback_openid_configuration_url == (
        "https://127.0.0.1:7082/calling/.well-known/acsopenidconfiguration"
    )


class _RecordingCredential:
    """A TokenCredential that records the scopes it is asked for (no network)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("token", 4_102_444_800)


@pytest.mark.usefixtures("azure_environment")
def test_azure_profile_builds_every_client_with_the_managed_identity() -> None:
    credential = clients.credential()
    assert isinstance(credential, DefaultAzureCredential)
    assert clients.credential() is credential

    blob = clients.blob_service_client()
    assert blob.credential is credential

    intelligence = clients.document_intelligence_client()
    assert intelligence._config.credential is credential
    assert intelligence._config.credential_scopes == ["https://cognitiveservices.azure.com/.default"]

    acs = clients.call_automation_client()
    assert acs._client._config.credential is credential
    assert acs._client._config.endpoint == AZURE["ACS_ENDPOINT"]

    openai = clients.openai_client()
    assert openai._azure_ad_token_provider is not None
    assert not openai.api_key or openai.api_key == "<missing API key>"


@pytest.mark.usefixtures("azure_environment")
def test_openai_asks_the_identity_for_a_cognitive_services_token() -> None:
    recording = _RecordingCredential()
    clients.override_client("credential", recording)
    provider = clients.openai_client()._azure_ad_token_provider
    assert provider is not None
    assert provider() == "token"
    assert recording.scopes == [("https://cognitiveservices.azure.com/.default",)]


@pytest.mark.usefixtures("azure_environment")
def test_the_user_assigned_identity_is_chosen_by_azure_client_id() -> None:
    credential = clients.credential()
    assert isinstance(credential, DefaultAzureCredential)
    managed = next(c for c in credential.credentials if type(c).__name__ == "ManagedIdentityCredential")
    assert managed._credential._settings["client_id"] == AZURE["AZURE_CLIENT_ID"]  # type: ignore[attr-defined]


@pytest.mark.usefixtures("azure_environment")
def test_every_client_honours_the_configured_timeouts() -> None:
    transports = {
        "blob": clients.blob_service_client()._pipeline._transport,
        "document intelligence": clients.document_intelligence_client()._client._pipeline._transport,
        "call automation": clients.call_automation_client()._client._client._pipeline._transport,
    }
    for name, transport in transports.items():
        config = transport.connection_config
        assert (config.timeout, config.read_timeout) == (3.0, 7.0), name
    timeout = clients.openai_client().timeout
    assert (timeout.connect, timeout.read) == (3.0, 7.0)


@pytest.mark.usefixtures("azure_environment")
def test_document_intelligence_polls_at_the_services_pace_on_azure() -> None:
    # On Azure the poller follows the service's Retry-After, falling back to the SDK's own 1 s interval.
    assert clients.document_intelligence_client()._config.polling_interval == 1


def test_document_intelligence_polls_the_local_emulator_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIREFLOW_PROFILE", "local")
    monkeypatch.setenv("DOCUMENT_INTELLIGENCE_ENDPOINT", "http://127.0.0.1:9/")
    monkeypatch.setenv("DOCUMENT_INTELLIGENCE_API_KEY", "local-key")

    polling = clients.document_intelligence_client()._config.polling_interval

    assert polling == clients.LOCAL_POLLING_INTERVAL_S < 0.1
