"""Calls on the SDK's durable client, made the way the host expects them: ids escaped, queries paged.

The SDK (azure-functions-durable 1.7) writes instance ids into request paths as they are, so an id with
``#`` or ``?`` addresses another instance or a malformed URL; every call here escapes the id first (the host
decodes a path segment once). And ``get_status_by`` / ``get_status_all`` send one request and return that
one page: the host answers at most ``top`` instances per page (100 unless asked otherwise) with the next
page's token in the ``x-ms-continuation-token`` response header, which the SDK never reads. So queries page
through the host's HTTP API themselves, on the client binding's own ``rpcBaseUrl``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from azure.durable_functions import OrchestrationRuntimeStatus
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

CONTINUATION_HEADER = "x-ms-continuation-token"
HOST_PAGE_SIZE = 100
"""The host's own page size, and the most it returns per page whatever ``top`` asks."""
QUERY_TIMEOUT_SECONDS = 60.0
RUNNING_STATUSES = frozenset({"Pending", "Running", "Suspended"})


class DurableQueryError(RuntimeError):
    """The host's instance query answered something other than a page of instances."""


def escaped(instance_id: str) -> str:
    """Return ``instance_id`` as one URL path segment (the SDK inserts it into paths unescaped)."""
    return quote(instance_id, safe="")


async def instance_status(
    client: Any,
    instance_id: str,
    *,
    show_input: bool = False,
    show_history: bool = False,
    show_history_output: bool = False,
) -> DurableOrchestrationStatus | None:
    """Return the status of ``instance_id`` (input and history when asked), or None when there is none."""
    status: DurableOrchestrationStatus = await client.get_status(
        escaped(instance_id),
        show_history=show_history,
        show_history_output=show_history_output,
        show_input=show_input,
    )
    return status if status else None


async def start_instance(client: Any, orchestrator: str, instance_id: str, payload: Any) -> None:
    """Start ``orchestrator`` as ``instance_id`` with ``payload`` as its input."""
    await client.start_new(orchestrator, escaped(instance_id), payload)


async def raise_event(client: Any, instance_id: str, event_name: str, payload: Any) -> None:
    """Raise ``event_name`` on ``instance_id``."""
    await client.raise_event(escaped(instance_id), quote(event_name, safe=""), payload)


async def terminate(client: Any, instance_id: str, reason: str) -> None:
    """Terminate ``instance_id`` (the SDK escapes the reason itself)."""
    await client.terminate(escaped(instance_id), reason)


def runtime_status_name(status: Any) -> str | None:
    """Return the runtime status of an SDK status object as its string value (``Running``...), or None."""
    runtime_status = getattr(status, "runtime_status", None)
    return None if runtime_status is None else str(getattr(runtime_status, "value", runtime_status))


def _rpc_base_url(client: Any) -> str:
    # The SDK keeps the binding's rpcBaseUrl on a private attribute and offers no paged query; the URL is
    # the same one its own get_status_by uses.
    base = getattr(getattr(client, "_orchestration_bindings", None), "rpc_base_url", None)
    if not isinstance(base, str) or not base:
        raise DurableQueryError("the durable client binding has no rpcBaseUrl")
    return base if base.endswith("/") else base + "/"


async def instance_pages(
    client: Any,
    *,
    prefix: str | None = None,
    runtime_status: Sequence[OrchestrationRuntimeStatus] | None = None,
    page_size: int = HOST_PAGE_SIZE,
    show_input: bool = False,
) -> AsyncIterator[list[DurableOrchestrationStatus]]:
    """Yield every page of the instances matching the filters, following the continuation tokens.

    With ``show_input`` each status carries its input, which the host leaves out of queries by default.
    """
    query: dict[str, str] = {"top": str(page_size)}
    if show_input:
        query["showInput"] = "true"
    if prefix:
        query["instanceIdPrefix"] = prefix
    if runtime_status:
        query["runtimeStatus"] = ",".join(status.value for status in runtime_status)
    url = f"{_rpc_base_url(client)}instances/?{urlencode(query)}"
    token: str | None = None
    seen_tokens: set[str] = set()
    timeout = aiohttp.ClientTimeout(total=QUERY_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            headers = {CONTINUATION_HEADER: token} if token else {}
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise DurableQueryError(f"the instance query answered HTTP {response.status}")
                body = await response.json(content_type=None)
                next_token = response.headers.get(CONTINUATION_HEADER)
            if not isinstance(body, list):
                raise DurableQueryError("the instance query did not answer a list")
            yield [DurableOrchestrationStatus.from_json(item) for item in body if isinstance(item, dict)]
            # The host sends the header on the last page too, empty (or "null" from some backends).
            if not next_token or next_token == "null":
                return
            if next_token in seen_tokens:
                raise DurableQueryError("the instance query repeated a continuation token")
            seen_tokens.add(next_token)
            token = next_token


async def query_instances(
    client: Any,
    *,
    prefix: str | None = None,
    runtime_status: Sequence[OrchestrationRuntimeStatus] | None = None,
    page_size: int = HOST_PAGE_SIZE,
    show_input: bool = False,
) -> list[DurableOrchestrationStatus]:
    """Return every instance matching the filters, however many pages the host splits them into."""
    statuses: list[DurableOrchestrationStatus] = []
    async for page in instance_pages(
        client, prefix=prefix, runtime_status=runtime_status, page_size=page_size, show_input=show_input
    ):
        statuses.extend(page)
    return statuses
