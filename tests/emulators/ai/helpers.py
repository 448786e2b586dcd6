"""Helpers for the AI emulator tests: options, real SDK clients pointed at the emulator, raw HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.aio import DocumentIntelligenceClient as AsyncDocumentIntelligenceClient
from azure.core.credentials import AzureKeyCredential
from openai import AsyncAzureOpenAI, AzureOpenAI

from emulators.openai_service import Deployment, default_deployments
from emulators.server import EmulatorOptions

LIMITED_RPM = "limited-rpm"
LIMITED_TPM = "limited-tpm"


def emulator_options(**overrides: Any) -> EmulatorOptions:
    """Options for tests: instant polling, a 1 s rate window, small limits, two rate-limited deployments."""
    values: dict[str, Any] = {
        "docintel_retry_after_s": 0,
        "rate_window_s": 1.0,
        "max_document_bytes": 256 * 1024,
        "max_audio_bytes": 2 * 1024 * 1024,
        "recording_ready_delay_s": 0.1,
        "deployments": (
            *default_deployments(),
            Deployment(LIMITED_RPM, "gpt-4o-mini", "chat", requests_per_minute=2),
            Deployment(LIMITED_TPM, "gpt-4o-mini", "chat", tokens_per_minute=120),
        ),
    }
    values.update(overrides)
    return EmulatorOptions(**values)


def openai_client(settings: Mapping[str, str], **kwargs: Any) -> AzureOpenAI:
    """The real sync client pointed at the emulator."""
    return AzureOpenAI(
        azure_endpoint=settings["AZURE_OPENAI_ENDPOINT"],
        api_key=kwargs.pop("api_key", settings["AZURE_OPENAI_API_KEY"]),
        api_version=settings["AZURE_OPENAI_API_VERSION"],
        **kwargs,
    )


def async_openai_client(settings: Mapping[str, str], **kwargs: Any) -> AsyncAzureOpenAI:
    """The real async client pointed at the emulator."""
    return AsyncAzureOpenAI(
        azure_endpoint=settings["AZURE_OPENAI_ENDPOINT"],
        api_key=kwargs.pop("api_key", settings["AZURE_OPENAI_API_KEY"]),
        api_version=settings["AZURE_OPENAI_API_VERSION"],
        **kwargs,
    )


def docintel_client(
    settings: Mapping[str, str], key: str | None = None, **kwargs: Any
) -> DocumentIntelligenceClient:
    """The real sync Document Intelligence client over plain http with a key."""
    return DocumentIntelligenceClient(
        settings["DOCUMENT_INTELLIGENCE_ENDPOINT"],
        AzureKeyCredential(key or settings["DOCUMENT_INTELLIGENCE_API_KEY"]),
        **kwargs,
    )


def async_docintel_client(settings: Mapping[str, str], **kwargs: Any) -> AsyncDocumentIntelligenceClient:
    """The real async Document Intelligence client."""
    return AsyncDocumentIntelligenceClient(
        settings["DOCUMENT_INTELLIGENCE_ENDPOINT"],
        AzureKeyCredential(settings["DOCUMENT_INTELLIGENCE_API_KEY"]),
        **kwargs,
    )


@dataclass
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    url: str, *, method: str = "POST", data: bytes | None = None, headers: Mapping[str, str] | None = None
) -> RawResponse:
    """A plain HTTP request (for inputs no SDK would send: malformed JSON, wrong content types)."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return RawResponse(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, dict(error.headers), error.read())
