"""Dependency checks for ``GET /api/health``: each one bounded by a timeout, reported one by one.

A check proves the dependency answers, not that every operation on it works: the durable store through the
client binding, Blob storage through the SDK (the jobs container), and the AI and ACS endpoints over HTTP
(any HTTP answer, even 401 or 404, means the service is reachable and speaking HTTP).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from shared.settings import get_settings

CHECK_TIMEOUT_SECONDS = 5.0
_PROBE_INSTANCE = "health-probe"


async def _timed(check: Callable[[], Awaitable[str | None]], timeout: float) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        outcome: dict[str, Any] = {"status": "unhealthy", "error": f"no answer within {timeout:g} s"}
    except NotConfiguredError as missing:
        outcome = {"status": "not_configured", "error": str(missing)}
    except Exception as error:  # a health check reports every failure instead of raising it
        outcome = {"status": "unhealthy", "error": f"{type(error).__name__}: {error}"[:300]}
    else:
        outcome = {"status": "healthy"}
        if detail:
            outcome["detail"] = detail
    outcome["latency_ms"] = round((time.monotonic() - started) * 1000, 1)
    return outcome


class NotConfiguredError(Exception):
    """The dependency has no endpoint configured."""


async def _durable_store(client: Any) -> str | None:
    # An unknown instance id answers "not found" through the same API every start and status call uses.
    await client.get_status(_PROBE_INSTANCE)
    return None


async def _blob_storage() -> str | None:
    from shared.clients import blob_service_client

    settings = get_settings()
    if not settings.storage_connection_string and not settings.storage_account_url:
        raise NotConfiguredError("AzureWebJobsStorage / STORAGE_ACCOUNT_URL")

    def probe() -> bool:
        return bool(blob_service_client().get_container_client(settings.jobs_container).exists())

    exists = await asyncio.to_thread(probe)
    return None if exists else f"container {settings.jobs_container!r} does not exist yet"


def _acs_endpoint() -> str | None:
    settings = get_settings()
    if settings.acs_endpoint:
        return settings.acs_endpoint
    for part in (settings.acs_connection_string or "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "endpoint" and value:
            return value.strip()
    return None


async def _reachable(setting: str, endpoint: str | None) -> str | None:
    if not endpoint:
        raise NotConfiguredError(setting)
    settings = get_settings()
    ssl_context: ssl.SSLContext | bool = True
    if settings.ca_bundle:
        ssl_context = ssl.create_default_context(cafile=settings.ca_bundle)
    async with aiohttp.ClientSession() as session, session.get(endpoint, ssl=ssl_context) as response:
        return f"HTTP {response.status}"


async def check_dependencies(client: Any, *, timeout: float = CHECK_TIMEOUT_SECONDS) -> dict[str, Any]:
    """Run every check concurrently; overall ``healthy`` only when none is unhealthy or unconfigured."""
    # Settings are read inside each check, so invalid settings show up as failed checks, not as a crash.
    checks: dict[str, Callable[[], Awaitable[str | None]]] = {
        "durable_store": lambda: _durable_store(client),
        "blob_storage": _blob_storage,
        "openai": lambda: _reachable("AZURE_OPENAI_ENDPOINT", get_settings().openai_endpoint),
        "document_intelligence": lambda: _reachable(
            "DOCUMENT_INTELLIGENCE_ENDPOINT", get_settings().document_intelligence_endpoint
        ),
        "communication_services": lambda: _reachable("ACS_CONNECTION_STRING / ACS_ENDPOINT", _acs_endpoint()),
    }
    results = await asyncio.gather(*(_timed(check, timeout) for check in checks.values()))
    dependencies = dict(zip(checks, results, strict=True))
    healthy = all(result["status"] == "healthy" for result in results)
    return {"status": "healthy" if healthy else "unhealthy", "dependencies": dependencies}
