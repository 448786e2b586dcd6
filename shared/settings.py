"""The one reader of the environment: app settings as a pydantic-settings class, read lazily.

Field aliases equal the app settings names (``local.settings.json`` ``Values`` locally, Function App settings
on Azure), and ``local.settings.json.example`` lists exactly them. :func:`get_settings` reads them on first
use, so a missing setting fails the function that needs it rather than the indexing of every function.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.decisions import TRANSCRIPTION_REQUEST_MAX_BYTES

__all__ = [
    "ACS_OPENID_CONFIGURATION_PATH",
    "ACS_OPENID_CONFIGURATION_URL",
    "EMULATED_ACS_IMMUTABLE_RESOURCE_ID",
    "PLACEHOLDER_MARKERS",
    "Settings",
    "get_settings",
    "reset_settings",
    "setting_keys",
]

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
        default=TRANSCRIPTION_REQUEST_MAX_BYTES,
        gt=64 * 1024,
        validation_alias=_alias("AZURE_OPENAI_TRANSCRIPTION_MAX_BYTES"),
    )
    openai_context_tokens: int = Field(
        default=128_000, gt=1_000, validation_alias=_alias("AZURE_OPENAI_CONTEXT_TOKENS")
    )
    openai_max_output_tokens: int = Field(
        default=4_096, gt=0, validation_alias=_alias("AZURE_OPENAI_MAX_OUTPUT_TOKENS")
    )
    # Two client retries per request (honouring retry-after) keep a chat step lost at 20% faults to 3e-13
    # (shared.retry); the orchestrator's RetryOptions cover whatever gets past them.
    openai_max_retries: int = Field(default=2, ge=0, validation_alias=_alias("AZURE_OPENAI_MAX_RETRIES"))
    # The chat deployment's quota, where the shared token budget (orchestrators.token_budget) starts from; an
    # operator can still reconfigure the entity. Unset: the budget admits everything until configured.
    openai_chat_tokens_per_minute: int | None = Field(
        default=None, gt=0, validation_alias=_alias("AZURE_OPENAI_CHAT_TOKENS_PER_MINUTE")
    )
    openai_chat_requests_per_minute: int | None = Field(
        default=None, gt=0, validation_alias=_alias("AZURE_OPENAI_CHAT_REQUESTS_PER_MINUTE")
    )
    # The transcription deployment's quota is in requests only (Whisper: 3 a minute by default), where its
    # budget starts from; unset, that budget admits everything until configured.
    openai_transcription_requests_per_minute: int | None = Field(
        default=None, gt=0, validation_alias=_alias("AZURE_OPENAI_TRANSCRIPTION_REQUESTS_PER_MINUTE")
    )

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
    # Key of the per-interview callback token (an HMAC of the instance id); never sent itself.
    acs_callback_secret: str | None = Field(default=None, validation_alias=_alias("ACS_CALLBACK_SECRET"))
    # Mid-call callbacks carry a JWT signed by ACS: its audience is the resource's immutable id, its keys come
    # from this OpenID configuration (locally: the emulator's, derived from its endpoint when unset).
    acs_immutable_resource_id: str | None = Field(
        default=None, validation_alias=_alias("ACS_IMMUTABLE_RESOURCE_ID")
    )
    acs_openid_configuration_url: str | None = Field(
        default=None, validation_alias=_alias("ACS_OPENID_CONFIGURATION_URL")
    )
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
    http_connect_timeout_seconds: float = Field(
        default=10.0, gt=0, validation_alias=_alias("HTTP_CONNECT_TIMEOUT_SECONDS")
    )
    # Client id of the user-assigned managed identity on Azure (DefaultAzureCredential's choice of identity).
    azure_client_id: str | None = Field(default=None, validation_alias=_alias("AZURE_CLIENT_ID"))

    # The recruiter's dashboard (triggers.dashboard).
    # Key of the dashboard's sign-in tickets and session cookies (an HMAC key derived from it, see
    # triggers.dashboard_auth); its own secret, so rotating it signs people out without touching interviews.
    dashboard_signing_secret: str | None = Field(
        default=None, validation_alias=_alias("DASHBOARD_SIGNING_SECRET")
    )
    # Injected by the platform (never an app setting) while App Service Authentication runs in front of the
    # app; only then are the X-MS-CLIENT-PRINCIPAL* headers the platform's, because only then does it strip
    # such headers from incoming requests.
    app_service_auth_enabled: bool = Field(default=False, validation_alias=_alias("WEBSITE_AUTH_ENABLED"))
    # The local host's master key: the dashboard's clock panel moves a keyed devhost's clock with it (local).
    devhost_admin_key: str | None = Field(default=None, validation_alias=_alias("DEVHOST_ADMIN_KEY"))

    # Telemetry (shared.telemetry): spans go to Application Insights when its connection string is set
    # (Azure), else to this JSON-lines file when set ("-" for stderr) for local runs; neither: no export.
    applicationinsights_connection_string: str | None = Field(
        default=None, validation_alias=_alias("APPLICATIONINSIGHTS_CONNECTION_STRING")
    )
    trace_file: str | None = Field(default=None, validation_alias=_alias("HIREFLOW_TRACE_FILE"))

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

    @field_validator(
        "openai_chat_tokens_per_minute",
        "openai_chat_requests_per_minute",
        "openai_transcription_requests_per_minute",
        mode="before",
    )
    @classmethod
    def _blank_quota_is_unset(cls, value: object) -> object:
        # local.settings.json lists every key; an empty quota there means "not known", not a parse error.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("app_service_auth_enabled", mode="before")
    @classmethod
    def _platform_flag(cls, value: object) -> bool:
        # The platform writes "True" or "False"; like Microsoft.Identity.Web, only "true" (any case) means on,
        # and an empty value (local.settings.json) means off.
        if isinstance(value, bool):
            return value
        return isinstance(value, str) and value.strip().lower() == "true"

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
            "DASHBOARD_SIGNING_SECRET": self.dashboard_signing_secret,
        }
        for key, value in secrets.items():
            if value is None:
                continue
            lowered = value.lower()
            if any(marker in lowered for marker in PLACEHOLDER_MARKERS) or "usedevelopmentstorage" in lowered:
                raise ValueError(f"{key} holds a placeholder; set a real value or use HIREFLOW_PROFILE=local")
        for key, secret in (
            ("ACS_CALLBACK_SECRET", self.acs_callback_secret),
            ("DASHBOARD_SIGNING_SECRET", self.dashboard_signing_secret),
        ):
            if secret is not None and len(secret) < 16:
                raise ValueError(f"{key} must be at least 16 characters outside the local profile")
        if self.devhost_admin_key:
            raise ValueError(
                "DEVHOST_ADMIN_KEY is the local devhost's master key, for HIREFLOW_PROFILE=local only: "
                "remove it"
            )
        if self.ca_bundle is not None or self.acs_recording_proxy_url is not None:
            raise ValueError("CA_BUNDLE and ACS_RECORDING_PROXY_URL are for the local emulators only")
        self._refuse_keys_and_unreachable_endpoints()

    def _refuse_keys_and_unreachable_endpoints(self) -> None:
        # On Azure every client authenticates with the managed identity: a key left in the settings would
        # silently bypass it (and a storage key defeats shared-key-disabled storage).
        key_settings = {
            "AzureWebJobsStorage": self.storage_connection_string,
            "AZURE_OPENAI_API_KEY": self.openai_api_key,
            "DOCUMENT_INTELLIGENCE_API_KEY": self.document_intelligence_api_key,
            "ACS_CONNECTION_STRING": self.acs_connection_string,
        }
        for key, value in key_settings.items():
            if value:
                raise ValueError(
                    f"{key} is a key-based setting; HIREFLOW_PROFILE=azure authenticates with the managed "
                    "identity: remove it (keys and connection strings are for HIREFLOW_PROFILE=local)"
                )
        endpoints = {
            "STORAGE_ACCOUNT_URL": self.storage_account_url,
            "AZURE_OPENAI_ENDPOINT": self.openai_endpoint,
            "DOCUMENT_INTELLIGENCE_ENDPOINT": self.document_intelligence_endpoint,
            "ACS_ENDPOINT": self.acs_endpoint,
        }
        for key, value in endpoints.items():
            if not value:
                raise ValueError(f"{key} is required with HIREFLOW_PROFILE=azure")
            # Bearer tokens are refused over plain http by azure-core, and nothing on Azure serves http.
            if not value.lower().startswith("https://"):
                raise ValueError(f"{key} must be an https URL with HIREFLOW_PROFILE=azure, got {value!r}")
        if not self.acs_immutable_resource_id:
            raise ValueError(
                "ACS_IMMUTABLE_RESOURCE_ID is required with HIREFLOW_PROFILE=azure: it is the audience of "
                "the JWT ACS signs its callbacks with"
            )
        _require_public_https("CALLBACK_BASE_URL", self.callback_base_url)
        if self.acs_openid_configuration_url:
            _require_public_https("ACS_OPENID_CONFIGURATION_URL", self.acs_openid_configuration_url)
        if _is_placeholder_phone_number(self.acs_caller_phone_number):
            raise ValueError(
                f"ACS_CALLER_PHONE_NUMBER {self.acs_caller_phone_number!r} is a placeholder (not E.164, or a "
                "fictional 555 number); set the number acquired for the ACS resource"
            )

    @property
    def acs_callback_audience(self) -> str:
        """The ``aud`` a mid-call callback's JWT must carry: the ACS resource's immutable id."""
        if self.acs_immutable_resource_id:
            return self.acs_immutable_resource_id
        # Only reachable locally (the azure profile requires the setting): the ACS emulator's default id.
        return EMULATED_ACS_IMMUTABLE_RESOURCE_ID

    @property
    def acs_callback_openid_configuration_url(self) -> str:
        """Where the keys and issuer of callback JWTs are published.

        On Azure ACS's own configuration; locally the emulator serves one at the same path on its endpoint.
        """
        if self.acs_openid_configuration_url:
            return self.acs_openid_configuration_url
        if self.is_local:
            endpoint = self.acs_endpoint or _endpoint_of_connection_string(self.acs_connection_string)
            if endpoint:
                return f"{endpoint.rstrip('/')}{ACS_OPENID_CONFIGURATION_PATH}"
        return ACS_OPENID_CONFIGURATION_URL


# Path of ACS's OpenID configuration for Call Automation callbacks (the emulator serves the same path).
ACS_OPENID_CONFIGURATION_PATH = "/calling/.well-known/acsopenidconfiguration"
ACS_OPENID_CONFIGURATION_URL = (
    f"https://acscallautomation.communication.azure.com{ACS_OPENID_CONFIGURATION_PATH}"
)
# The immutable resource id the local ACS emulator signs callbacks for unless told another one.
EMULATED_ACS_IMMUTABLE_RESOURCE_ID = "e3a1a7ed-0000-4000-8000-00000000ac50"
# NANP numbers the 555 area code or the 555-0100..0199 exchange block are reserved for fiction.
_FICTIONAL_NUMBER = re.compile(r"\+1(555\d{7}|\d{3}55501\d{2})")


def _is_placeholder_phone_number(number: str) -> bool:
    if re.fullmatch(r"\+[1-9]\d{6,14}", number) is None:
        return True
    if number.startswith("+1") and len(number) != 12:  # NANP numbers have ten digits after the country code
        return True
    return _FICTIONAL_NUMBER.fullmatch(number) is not None


def _endpoint_of_connection_string(connection_string: str | None) -> str | None:
    for part in (connection_string or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "endpoint" and value.strip():
            return value.strip()
    return None


def _require_public_https(key: str, url: str) -> None:
    """Refuse a URL that Azure services could not call back: plain http, loopback, private or unspecified."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"{key} must be an https URL with HIREFLOW_PROFILE=azure, got {url!r}")
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise ValueError(f"{key} must not be a loopback address with HIREFLOW_PROFILE=azure, got {url!r}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    if address.is_loopback or address.is_unspecified or address.is_private or address.is_link_local:
        raise ValueError(
            f"{key} must be a public address ACS can reach with HIREFLOW_PROFILE=azure, got {url!r}"
        )


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
