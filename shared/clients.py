"""Cached SDK client factories: each client is built once per process from ``get_settings()``.

Keys and connection strings are used when configured, which only the local profile allows (the emulators
and Azurite); otherwise a single ``DefaultAzureCredential`` (the user-assigned managed identity on Azure,
chosen by ``AZURE_CLIENT_ID``) authenticates every client. Every client honours
``HTTP_CONNECT_TIMEOUT_SECONDS`` and ``HTTP_TIMEOUT_SECONDS`` (the read timeout), so a hung service fails
one attempt instead of blocking an activity. Tests swap a client with :func:`override_client` or rebuild
everything from fresh settings with :func:`reset_clients`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from shared.errors import ErrorCode, PermanentError
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from azure.ai.documentintelligence import DocumentIntelligenceClient
    from azure.communication.callautomation import CallAutomationClient
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import BlobServiceClient
    from openai import AzureOpenAI

__all__ = [
    "blob_service_client",
    "call_automation_client",
    "credential",
    "document_intelligence_client",
    "openai_client",
    "override_client",
    "recording_download_client",
    "reset_clients",
]

_COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"

T = TypeVar("T")
# Re-entrant: building one client may build the shared credential first.
_lock = threading.RLock()
_clients: dict[str, object] = {}


def _cached(name: str, build: Callable[[Settings], T]) -> T:
    # Activities run on worker threads: build under a lock so one process never builds a client twice.
    with _lock:
        if name not in _clients:
            _clients[name] = build(get_settings())
        return cast(T, _clients[name])


def override_client(name: str, client: object) -> None:
    """Use ``client`` for the factory called ``name`` until :func:`reset_clients`."""
    with _lock:
        _clients[name] = client


def reset_clients() -> None:
    """Drop every cached client (and its connections) so the next call builds from the current settings."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def _transport_timeouts(settings: Settings) -> dict[str, Any]:
    """azure-core transport timeouts: seconds to connect, and seconds to wait for each read of a response."""
    return {
        "connection_timeout": settings.http_connect_timeout_seconds,
        "read_timeout": settings.http_timeout_seconds,
    }


def _missing(setting: str) -> PermanentError:
    return PermanentError(ErrorCode.CONFIGURATION, f"app setting {setting} is not configured")


def credential() -> TokenCredential:
    """Return the process-wide ``DefaultAzureCredential`` (managed identity on Azure)."""

    def build(settings: Settings) -> TokenCredential:
        from azure.identity import DefaultAzureCredential

        # A Function App may carry several identities: AZURE_CLIENT_ID names the user-assigned one to use.
        if settings.azure_client_id:
            return DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
        return DefaultAzureCredential()

    return _cached("credential", build)


def blob_service_client() -> BlobServiceClient:
    """Blob storage: connection string when set (Azurite locally), else account URL with managed identity."""

    def build(settings: Settings) -> BlobServiceClient:
        from azure.storage.blob import BlobServiceClient

        timeouts = _transport_timeouts(settings)
        if settings.storage_connection_string:
            return BlobServiceClient.from_connection_string(settings.storage_connection_string, **timeouts)
        if settings.storage_account_url:
            return BlobServiceClient(settings.storage_account_url, credential=credential(), **timeouts)
        raise _missing("AzureWebJobsStorage or STORAGE_ACCOUNT_URL")

    return _cached("blob_service_client", build)


# Seconds between polls of a long-running operation in the local profile (see document_intelligence_client).
LOCAL_POLLING_INTERVAL_S = 0.01


def document_intelligence_client() -> DocumentIntelligenceClient:
    """Document Intelligence with its key when set, else managed identity."""

    def build(settings: Settings) -> DocumentIntelligenceClient:
        from azure.ai.documentintelligence import DocumentIntelligenceClient
        from azure.core.credentials import AzureKeyCredential

        if not settings.document_intelligence_endpoint:
            raise _missing("DOCUMENT_INTELLIGENCE_ENDPOINT")
        auth: Any = (
            AzureKeyCredential(settings.document_intelligence_api_key)
            if settings.document_intelligence_api_key
            else credential()
        )
        # Retries belong to the orchestrator's RetryOptions; one SDK attempt keeps faults in one place.
        # The poller waits what the service's Retry-After says and, when it says 0, the client's polling
        # interval (1 s by default). The emulator answers at once, so locally that second is pure waiting.
        polling = {"polling_interval": LOCAL_POLLING_INTERVAL_S} if settings.is_local else {}
        return DocumentIntelligenceClient(
            settings.document_intelligence_endpoint,
            auth,
            retry_total=0,
            **polling,
            **_transport_timeouts(settings),
        )

    return _cached("document_intelligence_client", build)


def openai_client() -> AzureOpenAI:
    """Azure OpenAI with its key when set, else an Entra ID token provider over the shared credential."""

    def build(settings: Settings) -> AzureOpenAI:
        from azure.identity import get_bearer_token_provider
        from openai import AzureOpenAI, Timeout

        if not settings.openai_endpoint:
            raise _missing("AZURE_OPENAI_ENDPOINT")
        common: dict[str, Any] = {
            "azure_endpoint": settings.openai_endpoint,
            "api_version": settings.openai_api_version,
            "max_retries": settings.openai_max_retries,
            "timeout": Timeout(settings.http_timeout_seconds, connect=settings.http_connect_timeout_seconds),
        }
        if settings.openai_api_key:
            return AzureOpenAI(api_key=settings.openai_api_key, **common)
        token_provider = get_bearer_token_provider(credential(), _COGNITIVE_SCOPE)
        return AzureOpenAI(azure_ad_token_provider=token_provider, **common)

    return _cached("openai_client", build)


def call_automation_client() -> CallAutomationClient:
    """ACS Call Automation from its connection string when set, else its endpoint with managed identity.

    The SDK always speaks https to the host of the connection string; locally the emulator's CA is trusted
    through ``CA_BUNDLE`` (azure-core's ``connection_verify``).
    """

    def build(settings: Settings) -> CallAutomationClient:
        from azure.communication.callautomation import CallAutomationClient

        # SDK retries stay off: the orchestrator's RetryOptions and the question flow's own retries own them.
        transport: dict[str, Any] = {"retry_total": 0, **_transport_timeouts(settings)}
        if settings.ca_bundle:
            transport["connection_verify"] = settings.ca_bundle
        if settings.acs_connection_string:
            return CallAutomationClient.from_connection_string(settings.acs_connection_string, **transport)
        if settings.acs_endpoint:
            return CallAutomationClient(settings.acs_endpoint, credential(), **transport)
        raise _missing("ACS_CONNECTION_STRING or ACS_ENDPOINT")

    return _cached("call_automation_client", build)


def recording_download_client() -> CallAutomationClient:
    """Call Automation client for recording downloads (``*.asm.skype.com`` URLs).

    Locally those hosts are reached through the emulator's CONNECT proxy (``ACS_RECORDING_PROXY_URL``); the
    control-plane client stays unproxied because the proxy only tunnels recording hosts.
    """

    def build(settings: Settings) -> CallAutomationClient:
        if not settings.acs_recording_proxy_url:
            return call_automation_client()
        from azure.communication.callautomation import CallAutomationClient

        if not settings.acs_connection_string:
            raise _missing("ACS_CONNECTION_STRING")
        transport: dict[str, Any] = {
            "retry_total": 0,
            **_transport_timeouts(settings),
            "proxies": {"https": settings.acs_recording_proxy_url},
        }
        if settings.ca_bundle:
            transport["connection_verify"] = settings.ca_bundle
        return CallAutomationClient.from_connection_string(settings.acs_connection_string, **transport)

    return _cached("recording_download_client", build)
