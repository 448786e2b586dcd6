"""Blob input and output bindings (``@app.blob_input`` / ``@app.blob_output``) against Azurite or any account.

The binding's ``path`` may hold ``%NAME%`` app setting expressions, resolved first (as the host resolves them
while indexing; a missing setting fails with the host's ``'%NAME%' does not resolve to a value.``), and then
binding expressions, resolved as the host does from the trigger's metadata:
blob trigger path parameters (``{name}``), HTTP route parameters, ``{Query.x}`` and top-level JSON body
properties, plus ``{rand-guid}`` / ``{sys.randguid}`` and ``{DateTime}`` / ``{sys.utcnow}``. An input whose
blob does not exist is ``None``, as on Azure. The parameter's annotation picks the shape: ``InputStream``,
``bytes`` (or ``dataType: binary``), else ``str``. An output is uploaded (overwriting) after the function
returns successfully, from the ``str`` or ``bytes`` it set. The ``connection`` (``%NAME%`` allowed) is
resolved by :mod:`devhost.connections`: a connection string or identity-based ``<name>__...`` settings.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.functions.blob import InputStream
from azure.storage.blob.aio import BlobServiceClient

from devhost.connections import StorageConnection, resolve_app_settings, storage_connection

_EXPRESSION = re.compile(r"\{([^{}]+)\}")


class BindingExpressionError(ValueError):
    """A binding expression with no value in the trigger's metadata."""


def resolve_path(template: str, metadata: Mapping[str, Any]) -> str:
    """Fill the binding expressions of ``template`` from ``metadata`` (keys compared case-insensitively)."""
    lowered = {str(key).lower(): value for key, value in metadata.items()}

    def value_of(found: re.Match[str]) -> str:
        expression = found.group(1).strip()
        key = expression.lower()
        if key in ("rand-guid", "sys.randguid"):
            return str(uuid.uuid4())
        if key in ("datetime", "sys.utcnow"):
            return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        if key not in lowered:
            raise BindingExpressionError(f"binding expression {{{expression}}} has no value for this trigger")
        return str(lowered[key])

    return _EXPRESSION.sub(value_of, template)


def binding_path(binding: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
    """Return the binding's ``path`` with ``%NAME%`` app settings resolved, then its ``{...}`` expressions."""
    # The host resolves app settings first (at indexing), so a setting's value may itself hold {name}.
    return resolve_path(resolve_app_settings(str(binding.get("path", ""))), metadata)


def _split(path: str) -> tuple[str, str]:
    container, _, blob_name = path.strip("/").partition("/")
    if not container or not blob_name:
        raise BindingExpressionError(f"blob path {path!r} must be container/blob")
    return container, blob_name


class BlobBindings:
    """Reads input blobs and writes output blobs for the invoker; one client per connection string."""

    def __init__(self) -> None:
        self._clients: dict[StorageConnection, BlobServiceClient] = {}

    def _client(self, binding: Mapping[str, Any]) -> BlobServiceClient:
        connection = storage_connection(binding.get("connection"), "blob")
        client = self._clients.get(connection)
        if client is None:
            client = connection.blob_service_client()
            self._clients[connection] = client
        return client

    async def read(self, binding: Mapping[str, Any], metadata: Mapping[str, Any], annotation: Any) -> Any:
        """Download the input blob in the shape the parameter asks for, or ``None`` if it does not exist."""
        path = binding_path(binding, metadata)
        container, blob_name = _split(path)
        blob = self._client(binding).get_blob_client(container, blob_name)
        try:
            downloader = await blob.download_blob()
            data = await downloader.readall()
        except ResourceNotFoundError:
            return None
        if annotation is InputStream or (
            isinstance(annotation, type) and issubclass(annotation, InputStream)
        ):
            return InputStream(
                data=data,
                name=path,
                uri=blob.url,
                length=len(data),
                metadata=dict(downloader.properties.metadata or {}),
            )
        if annotation is bytes or str(binding.get("dataType", "")).lower() == "binary":
            return data
        return data.decode("utf-8")

    async def write(self, binding: Mapping[str, Any], metadata: Mapping[str, Any], value: Any) -> None:
        """Upload what the function set for an output blob."""
        if value is None:
            return
        if isinstance(value, str):
            payload = value.encode("utf-8")
        elif isinstance(value, (bytes, bytearray)):
            payload = bytes(value)
        else:
            raise TypeError(f"a blob output takes str or bytes, got {type(value).__name__}")
        container, blob_name = _split(binding_path(binding, metadata))
        await self._client(binding).get_blob_client(container, blob_name).upload_blob(payload, overwrite=True)

    async def close(self) -> None:
        """Close every client."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
