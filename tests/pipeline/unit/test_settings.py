import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Settings, get_settings, reset_settings, setting_keys

REPO = Path(__file__).resolve().parents[3]
# What an Azure deployment sets: endpoints for managed identity, no keys.
AZURE = {
    "STORAGE_ACCOUNT_URL": "https://hireflowdata.blob.core.windows.net",
    "AZURE_OPENAI_ENDPOINT": "https://hireflow-ai.openai.azure.com/",
    "DOCUMENT_INTELLIGENCE_ENDPOINT": "https://hireflow-di.cognitiveservices.azure.com/",
    "ACS_ENDPOINT": "https://hireflow-acs.unitedstates.communication.azure.com/",
    "ACS_IMMUTABLE_RESOURCE_ID": "5b3e5b1c-6f0e-4c55-9a0d-3c1b2a4d5e6f",
    "ACS_CALLER_PHONE_NUMBER": "+12065559876",
    "CALLBACK_BASE_URL": "https://hireflow-func.azurewebsites.net",
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    for key, value in AZURE.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    yield
    reset_settings()


def test_example_file_lists_exactly_the_settings_keys() -> None:
    example = json.loads((REPO / "local.settings.json.example").read_text())
    assert list(example["Values"]) == setting_keys()
    local = Settings.model_validate(example["Values"])
    assert local.is_local
    assert local.openai_endpoint
    assert local.openai_endpoint.startswith("http://127.0.0.1")


def test_settings_are_read_lazily_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT", "first")
    assert get_settings().openai_chat_deployment == "first"
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT", "second")
    assert get_settings().openai_chat_deployment == "first"
    reset_settings()
    assert get_settings().openai_chat_deployment == "second"


def test_defaults_describe_an_azure_deployment() -> None:
    settings = Settings()
    assert settings.profile == "azure"
    assert not settings.is_local
    assert settings.openai_max_retries == 2
    assert settings.openai_transcription_max_bytes == 25 * 1024 * 1024


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AZURE_OPENAI_API_KEY", "changeme"),
        ("DOCUMENT_INTELLIGENCE_API_KEY", "<your key>"),
        ("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
        ("ACS_CONNECTION_STRING", "endpoint=https://x/;accesskey=placeholder"),
        ("ACS_CALLBACK_SECRET", "local-dev-callback-secret"),
        ("ACS_CALLBACK_SECRET", "short"),
        ("DASHBOARD_SIGNING_SECRET", "local-dev-dashboard-signing-secret"),
        ("DASHBOARD_SIGNING_SECRET", "short"),
        ("DEVHOST_ADMIN_KEY", "a-real-looking-master-key-of-devhost"),
        ("CA_BUNDLE", "/tmp/ca.pem"),
    ],
)
def test_placeholders_are_refused_outside_local(key: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({**AZURE, key: value})
    # The same value is fine for the local profile.
    assert Settings.model_validate({key: value, "HIREFLOW_PROFILE": "local"}).is_local


def test_a_real_looking_callback_secret_passes_on_azure() -> None:
    settings = Settings.model_validate({**AZURE, "ACS_CALLBACK_SECRET": "x" * 32})
    assert settings.acs_callback_secret == "x" * 32


def test_inconsistent_business_rules_are_refused() -> None:
    with pytest.raises(ValidationError, match="SCREENING_REJECT_THRESHOLD"):
        Settings.model_validate(
            {**AZURE, "SCREENING_REJECT_THRESHOLD": 0.8, "SCREENING_ADVANCE_THRESHOLD": 0.5}
        )
    with pytest.raises(ValidationError, match="BUSINESS_HOURS_START"):
        Settings.model_validate({**AZURE, "BUSINESS_HOURS_START": 18, "BUSINESS_HOURS_END": 9})


def test_the_dashboard_has_its_own_signing_secret() -> None:
    settings = Settings.model_validate(
        {**AZURE, "ACS_CALLBACK_SECRET": "c" * 32, "DASHBOARD_SIGNING_SECRET": "d" * 32}
    )
    assert settings.dashboard_signing_secret == "d" * 32
    assert settings.acs_callback_secret == "c" * 32


@pytest.mark.parametrize(
    ("value", "enabled"),
    [("True", True), ("true", True), (" TRUE ", True), ("False", False), ("", False), ("1", False)],
)
def test_app_service_authentication_is_on_only_when_the_platform_says_true(value: str, enabled: bool) -> None:
    assert (
        Settings.model_validate({**AZURE, "WEBSITE_AUTH_ENABLED": value}).app_service_auth_enabled is enabled
    )


def test_app_service_authentication_is_off_unless_the_platform_injects_the_flag() -> None:
    assert Settings.model_validate(AZURE).app_service_auth_enabled is False


def test_the_devhost_admin_key_is_refused_on_azure_with_its_name() -> None:
    with pytest.raises(ValidationError, match=r"DEVHOST_ADMIN_KEY .* HIREFLOW_PROFILE=local only"):
        Settings.model_validate({**AZURE, "DEVHOST_ADMIN_KEY": "k" * 40})
    local = Settings.model_validate({"HIREFLOW_PROFILE": "local", "DEVHOST_ADMIN_KEY": "k" * 40})
    assert local.devhost_admin_key == "k" * 40
