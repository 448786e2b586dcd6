"""The one reader of the environment: app settings as a pydantic-settings class, read lazily.

Field aliases equal the app settings names (``local.settings.json`` ``Values`` locally, Function App settings
on Azure), and ``local.settings.json.example`` lists exactly them. :func:`get_settings` reads them on first
use, so a missing setting fails the function that needs it rather than the indexing of every function.
"""

from __future__ import annotations

import functools
from typing import Literal, Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PLACEHOLDER_MARKERS", "Settings", "get_settings", "reset_settings", "setting_keys"]

# Values that mean "fill me in": refused outside the local profile so a half-configured app fails loudly.
PLACEHOLDER_MARKERS = (
    "changeme",
    "change-me",
    "placeholder",
    "replace-me",
    "<",
    "local-dev",
    "devstoreaccount1",
)


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every app setting the pipeline reads; aliases are the app settings names."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=True)

    profile: Literal["local", "azure"] = Field(default="azure", validation_alias=_alias("HIREFLOW_PROFILE"))
    functions_worker_runtime: str = Field(
        default="python", validation_alias=_alias("FUNCTIONS_WORKER_RUNTIME")
    )

    # Storage: a connection string locally (Azurite); on Azure the account URL with managed identity.
    storage_connection_string: str | None = Field(
        default=None, validation_alias=_alias("AzureWebJobsStorage")
    )
    storage_account_url: str | None = Field(default=None, validation_alias=_alias("STORAGE_ACCOUNT_URL"))
    resumes_container: str = Field(default="resumes", validation_alias=_alias("RESUMES_CONTAINER"))
    jobs_container: str = Field(default="jobs", validation_alias=_alias("JOBS_CONTAINER"))
    artifacts_container: str = Field(default="artifacts", validation_alias=_alias("ARTIFACTS_CONTAINER"))
    recordings_container: str = Field(default="recordings", validation_alias=_alias("RECORDINGS_CONTAINER"))
    reports_container: str = Field(default="reports", validation_alias=_alias("REPORTS_CONTAINER"))

    # Azure OpenAI: a key locally (emulator); Entra ID through DefaultAzureCredential when no key is set.
    openai_endpoint: str | None = Field(default=None, validation_alias=_alias("AZURE_OPENAI_ENDPOINT"))
    openai_api_key: str | None = Field(default=None, validation_alias=_alias("AZURE_OPENAI_API_KEY"))
    openai_api_version: str = Field(default="2024-10-21", validation_alias=_alias("AZURE_OPENAI_API_VERSION"))
    openai_chat_deployment: str = Field(
        default="gpt-4o-mini", validation_alias=_alias("AZURE_OPENAI_CHAT_DEPLOYMENT")
    )
    openai_transcription_deployment: str = Field(
        default="whisper", validation_alias=_alias("AZURE_OPENAI_TRANSCRIPTION_DEPLOYMENT")
    )
    openai_transcription_max_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=64 * 1024,
        validation_alias=_alias("AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES"),
    )
    openai_context_tokens: int = Field(
        default=128_000, gt=1_000, validation_alias=_alias("AZURE_OPENAI_CONTEXT_TOKENS")
    )
    openai_max_output_tokens: int = Field(
        default=4_096, gt=0, validation_alias=_alias("AZURE_OPENAI_MAX_OUTPUT_TOKENS")
    )
    # Zero by default: the orchestrator's RetryOptions own retries; SDK retries would multiply attempts.
    openai_max_retries: int = Field(default=0, ge=0, validation_alias=_alias("AZURE_OPENAI_MAX_RETRIES"))

    # Document Intelligence.
    document_intelligence_endpoint: str | None = Field(
        default=None, validation_alias=_alias("DOCUMENT_INTELLIGENCE_ENDPOINT")
    )
    document_intelligence_api_key: str | None = Field(
        default=None, validation_alias=_alias("DOCUMENT_INTELLIGENCE_API_KEY")
    )
    document_intelligence_model: str = Field(
        default="prebuilt-read", validation_alias=_alias("DOCUMENT_INTELLIGENCE_MODEL")
    )

    # Azure Communication Services Call Automation.
    acs_connection_string: str | None = Field(default=None, validation_alias=_alias("ACS_CONNECTION_STRING"))
    acs_endpoint: str | None = Field(default=None, validation_alias=_alias("ACS_ENDPOINT"))
    acs_caller_phone_number: str = Field(
        default="+15550100000", validation_alias=_alias("ACS_CALLER_PHONE_NUMBER")
    )
    acs_callback_secret: str | None = Field(default=None, validation_alias=_alias("ACS_CALLBACK_SECRET"))
    callback_base_url: str = Field(
        default="http://127.0.0.1:7071", validation_alias=_alias("CALLBACK_BASE_URL")
    )
    # Recording URLs are on *.asm.skype.com; locally a CONNECT proxy routes them to the emulator.
    acs_recording_proxy_url: str | None = Field(
        default=None, validation_alias=_alias("ACS_RECORDING_PROXY_URL")
    )
    # The local ACS emulator serves TLS with its own CA (the SDK forces https); trust it through this bundle.
    ca_bundle: str | None = Field(default=None, validation_alias=_alias("CA_BUNDLE"))

    http_timeout_seconds: float = Field(default=60.0, gt=0, validation_alias=_alias("HTTP_TIMEOUT_SECONDS"))

    # Business rules (pure functions in shared.decisions take these as arguments).
    screening_advance_threshold: float = Field(
        default=0.7, ge=0, le=1, validation_alias=_alias("SCREENING_ADVANCE_THRESHOLD")
    )
    screening_reject_threshold: float = Field(
        default=0.4, ge=0, le=1, validation_alias=_alias("SCREENING_REJECT_THRESHOLD")
    )
    business_hours_start: int = Field(default=9, ge=0, le=23, validation_alias=_alias("BUSINESS_HOURS_START"))
    business_hours_end: int = Field(default=17, ge=1, le=24, validation_alias=_alias("BUSINESS_HOURS_END"))
    interview_lead_hours: float = Field(default=24.0, ge=0, validation_alias=_alias("INTERVIEW_LEAD_HOURS"))
    interview_duration_minutes: int = Field(
        default=30, ge=5, le=240, validation_alias=_alias("INTERVIEW_DURATION_MINUTES")
    )
    scheduling_horizon_days: int = Field(
        default=14, ge=1, le=90, validation_alias=_alias("SCHEDULING_HORIZON_DAYS")
    )

    @property
    def is_local(self) -> bool:
        """True for the local profile (emulators, Azurite, keys)."""
        return self.profile == "local"

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.screening_reject_threshold > self.screening_advance_threshold:
            raise ValueError("SCREENING_REJECT_THRESHOLD must not exceed SCREENING_ADVANCE_THRESHOLD")
        if self.business_hours_start >= self.business_hours_end:
            raise ValueError("BUSINESS_HOURS_START must be before BUSINESS_HOURS_END")
        if not self.is_local:
            self._refuse_placeholders()
        return self

    def _refuse_placeholders(self) -> None:
        secrets = {
            "AzureWebJobsStorage": self.storage_connection_string,
            "AZURE_OPENAI_API_KEY": self.openai_api_key,
            "DOCUMENT_INTELLIGENCE_API_KEY": self.document_intelligence_api_key,
            "ACS_CONNECTION_STRING": self.acs_connection_string,
            "ACS_CALLBACK_SECRET": self.acs_callback_secret,
        }
        for key, value in secrets.items():
            if value is None:
                continue
            lowered = value.lower()
            if any(marker in lowered for marker in PLACEHOLDER_MARKERS) or "usedevelopmentstorage" in lowered:
                raise ValueError(f"{key} holds a placeholder; set a real value or use HIREFLOW_PROFILE=local")
        if self.acs_callback_secret is not None and len(self.acs_callback_secret) < 16:
            raise ValueError("ACS_CALLBACK_SECRET must be at least 16 characters outside the local profile")
        if self.ca_bundle is not None or self.acs_recording_proxy_url is not None:
            raise ValueError("CA_BUNDLE and ACS_RECORDING_PROXY_URL are for the local emulators only")


def setting_keys() -> list[str]:
    """Every app setting name the class reads, in declaration order."""
    keys: list[str] = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        first = alias.choices[0]
        assert isinstance(first, str)
        keys.append(first)
    return keys


@functools.cache
def get_settings() -> Settings:
    """Read the settings once per process (tests call :func:`reset_settings` after changing the env)."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the next :func:`get_settings` reads the environment again."""
    get_settings.cache_clear()
