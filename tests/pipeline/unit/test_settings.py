import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.settings import Settings, get_settings, reset_settings, setting_keys

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
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
    assert settings.openai_max_retries == 0
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
        ("CA_BUNDLE", "/tmp/ca.pem"),
    ],
)
def test_placeholders_are_refused_outside_local(key: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({key: value})
    # The same value is fine for the local profile.
    assert Settings.model_validate({key: value, "HIREFLOW_PROFILE": "local"}).is_local


def test_real_looking_secrets_pass_on_azure() -> None:
    settings = Settings.model_validate(
        {"AZURE_OPENAI_API_KEY": "3f9a0c7e5b1d4f2a8c6e0b9d7f5a3c1e", "ACS_CALLBACK_SECRET": "x" * 32}
    )
    assert settings.openai_api_key is not None


def test_inconsistent_business_rules_are_refused() -> None:
    with pytest.raises(ValidationError, match="SCREENING_REJECT_THRESHOLD"):
        Settings.model_validate({"SCREENING_REJECT_THRESHOLD": 0.8, "SCREENING_ADVANCE_THRESHOLD": 0.5})
    with pytest.raises(ValidationError, match="BUSINESS_HOURS_START"):
        Settings.model_validate({"BUSINESS_HOURS_START": 18, "BUSINESS_HOURS_END": 9})
