"""App settings and storage connections, resolved as the Functions host and its storage extensions do.

Every storage binding (blob trigger, blob input and output, queue trigger) names a *connection*; this module
turns that name into a client, and turns ``%NAME%`` binding expressions into app setting values, with the
words the host uses when it cannot.

**App settings** are the environment, read the way .NET configuration reads it: names are compared without
regard to case, and ``__`` in a variable's name is the ``:`` of a nested key (``MyStorage__blobServiceUri`` is
``MyStorage:blobServiceUri``; ``ConnectionStrings__X`` is the connection string ``X``).

**``%NAME%`` expressions** (``resolve_app_settings``) follow the WebJobs name resolver: every ``%NAME%`` in
the text is replaced by the setting's value; a setting that does not exist fails with ``'%NAME%' does not
resolve to a value.``, an unmatched ``%`` with ``The '%' at position N does not have a closing '%'``. The host
resolves them while indexing, so a missing setting puts the function in error before it ever runs.

**A connection** (``storage_connection``) is looked up as the storage extensions look it up: the name
(``AzureWebJobsStorage`` when the binding names none; ``%NAME%`` resolved first) is tried with the
``AzureWebJobs`` prefix, then as it is, each first under ``ConnectionStrings`` and then at the root. What was
found is then, in the extension's order:

1. a value: a connection string (``UseDevelopmentStorage=true``, an account key string, a SAS string);
2. ``<name>__accountName``: the account's public endpoint, ``https://<account>.blob.core.windows.net``
   (``queue`` for queues), with a token credential;
3. ``<name>__blobServiceUri`` (``__queueServiceUri`` for queues): that endpoint, with a token credential;
4. ``<name>__serviceUri``: that endpoint, signed with ``<name>__credential__accountName`` +
   ``__credential__accountKey`` when given (a shared key), else ``__credential__signature`` (a SAS), else a
   token credential.

Nothing found: ``Storage account connection string 'AzureWebJobs<name>' does not exist. Make sure that it is
a defined App Setting.`` Settings that fit none of the shapes (an empty value, or only ``__credential``) get
the Azure client factory's ``Unable to find matching constructor ...`` message, listing the keys it found.

**The token credential** is what the host builds: ``ManagedIdentityCredential`` (with ``__clientId``) when
``__credential`` is ``managedidentity``, else ``DefaultAzureCredential`` (``__clientId`` as the managed
identity's client id). Against a real account that works from a developer's machine signed in with the Azure
CLI. Against Azurite it cannot: Azurite over ``http`` accepts no tokens, and ``azure-core`` refuses to send
one over ``http``. So devhost decides: a loopback endpoint (``127.0.0.1``, ``localhost``, ``::1``) whose
account is Azurite's development account ``devstoreaccount1`` is signed with that account's published key,
which is what a token stands for there. Any other loopback account has no key devhost could know: it is
refused, asking for a connection string or ``__serviceUri`` with ``__credential__accountName`` /
``__credential__accountKey``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = [
    "DEFAULT_CONNECTION",
    "AppSettingError",
    "AppSettings",
    "HostIndexingError",
    "StorageConnection",
    "StorageConnectionError",
    "connection_string_for",
    "function_error",
    "resolve_app_settings",
    "storage_connection",
]

DEFAULT_CONNECTION = "AzureWebJobsStorage"
WEBJOBS_PREFIX = "AzureWebJobs"
DEVELOPMENT_ACCOUNT = "devstoreaccount1"
# Azurite's development account key, published by Microsoft for the storage emulators; it opens nothing else.
DEVELOPMENT_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
STORAGE_ENDPOINT_SUFFIX = "core.windows.net"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_HOST_ASSEMBLY = "Microsoft.Azure.WebJobs.Host"
_EXTENSION_ASSEMBLY = {
    "blob": "Microsoft.Azure.WebJobs.Extensions.Storage.Blobs",
    "queue": "Microsoft.Azure.WebJobs.Extensions.Storage.Queues",
}
_CLIENT_TYPE = {"blob": "BlobServiceClient", "queue": "QueueServiceClient"}

Service = Literal["blob", "queue"]


class HostIndexingError(ValueError):
    """What the host would say while indexing a function; ``source`` is the .NET assembly it names."""

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.source = source


class AppSettingError(HostIndexingError):
    """A ``%NAME%`` binding expression that names no app setting (or an unclosed ``%``)."""


class StorageConnectionError(HostIndexingError):
    """A storage connection the host's storage extensions could not build a client from."""


def function_error(function_name: str, error: HostIndexingError) -> str:
    """Return the host's log line for a function that indexing put in error (the flattened exceptions)."""
    message = str(error)
    message = message if message.endswith(".") else message + "."
    return (
        f"The '{function_name}' function is in error: {_HOST_ASSEMBLY}: Error indexing method "
        f"'Functions.{function_name}'. {error.source}: {message}"
    )


class AppSettings:
    """The environment as .NET configuration sees it: case-insensitive keys, ``__`` read as ``:``."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        source = os.environ if environ is None else environ
        self._values: dict[str, str] = {}
        self._names: dict[str, str] = {}
        for name, value in source.items():
            key = name.replace("__", ":")
            # Like the configuration provider, a later duplicate (differing only in case) wins.
            self._values[key.lower()] = value
            self._names[key.lower()] = key

    def get(self, key: str) -> str | None:
        """Return the value at ``key`` (``:`` separates levels), or ``None`` when no such setting exists."""
        return self._values.get(key.lower())

    def children(self, section: str) -> dict[str, str]:
        """Every setting under ``section:``, keyed by the rest of its name (lower case)."""
        prefix = section.lower() + ":"
        return {key[len(prefix) :]: value for key, value in self._values.items() if key.startswith(prefix)}

    def child_names(self, section: str) -> list[str]:
        """Return the names of the settings under ``section:``, spelled as set, relative to it."""
        prefix = section.lower() + ":"
        return [name[len(prefix) :] for key, name in self._names.items() if key.startswith(prefix)]

    def exists(self, section: str) -> bool:
        """As ``IConfigurationSection.Exists()``: a value (even empty) or any setting below it."""
        return self.get(section) is not None or bool(self.children(section))


def resolve_app_settings(text: str, settings: AppSettings | None = None) -> str:
    """Replace every ``%NAME%`` in ``text`` with app setting ``NAME``, as the WebJobs name resolver does."""
    settings = settings or AppSettings()
    resolved: list[str] = []
    position = 0
    while position < len(text):
        start = text.find("%", position)
        if start < 0:
            resolved.append(text[position:])
            break
        end = text.find("%", start + 1)
        if end < 0:
            raise AppSettingError(
                f"The '%' at position {start} does not have a closing '%'", source=_HOST_ASSEMBLY
            )
        name = text[start + 1 : end]
        value = settings.get(name) if name else None
        if value is None:
            raise AppSettingError(f"'%{name}%' does not resolve to a value.", source=_HOST_ASSEMBLY)
        resolved.append(text[position:start])
        resolved.append(value)
        position = end + 1
    return "".join(resolved)


@dataclass(frozen=True)
class StorageConnection:
    """A resolved storage connection: a connection string, or an endpoint with how to sign for it."""

    name: str
    service: Service
    # Secrets stay out of repr, so a logged connection never shows a key.
    connection_string: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    credential: Literal["shared_key", "sas", "token"] | None = None
    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    signature: str | None = field(default=None, repr=False)
    managed_identity: bool = False
    client_id: str | None = None

    def blob_service_client(self) -> BlobServiceClient:
        """Build an async ``BlobServiceClient`` for this connection (the caller closes it)."""
        if self.connection_string is not None:
            return BlobServiceClient.from_connection_string(self.connection_string)
        return BlobServiceClient(str(self.endpoint), credential=self._credential())

    def queue_service_client(self) -> QueueServiceClient:
        """Build an async ``QueueServiceClient`` for this connection (the caller closes it)."""
        if self.connection_string is not None:
            return QueueServiceClient.from_connection_string(self.connection_string)
        return QueueServiceClient(str(self.endpoint), credential=self._credential())

    def _credential(self) -> Any:
        if self.credential == "shared_key":
            return AzureNamedKeyCredential(str(self.account_name), str(self.account_key))
        if self.credential == "sas":
            return AzureSasCredential(str(self.signature))
        return self._token_credential()

    def _token_credential(self) -> AsyncTokenCredential:
        # Imported here: azure.identity is heavy to import and only identity-based connections need it.
        from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

        if self.managed_identity:
            return ManagedIdentityCredential(client_id=self.client_id)
        return DefaultAzureCredential(managed_identity_client_id=self.client_id)


def storage_connection(
    connection: str | None, service: Service = "blob", settings: AppSettings | None = None
) -> StorageConnection:
    """Resolve a binding's ``connection`` for the ``blob`` or ``queue`` service, as the host does.

    Raises :class:`AppSettingError` or :class:`StorageConnectionError` with the host's words.
    """
    settings = settings or AppSettings()
    name = resolve_app_settings(connection, settings) if connection else ""
    name = name if name.strip() else DEFAULT_CONNECTION
    section = _connection_section(name, settings)
    if section is None:
        raise StorageConnectionError(
            f"Storage account connection string '{WEBJOBS_PREFIX}{name}' does not exist. Make sure that it "
            "is a defined App Setting.",
            source=_EXTENSION_ASSEMBLY[service],
        )
    value = settings.get(section)
    children = settings.children(section)
    if value:
        return StorageConnection(name=name, service=service, connection_string=value)
    if value is None:
        # Only identity-based settings: the extension's own shapes first, then the client factory's.
        identity = _identity_connection(name, service, children)
        if identity is not None:
            return identity
    raise StorageConnectionError(
        _no_constructor(service, settings.child_names(section)), source="Microsoft.Extensions.Azure"
    )


def connection_string_for(connection: str | None, settings: AppSettings | None = None) -> str:
    """Return the connection string behind a binding's ``connection``; identity-based ones are refused."""
    resolved = storage_connection(connection, "blob", settings)
    if resolved.connection_string is None:
        raise StorageConnectionError(
            f"connection '{resolved.name}' is identity-based ({resolved.endpoint}); this caller needs a "
            "connection string",
            source="devhost",
        )
    return resolved.connection_string


def _connection_section(name: str, settings: AppSettings) -> str | None:
    for candidate in (WEBJOBS_PREFIX + name, name):
        for section in (f"ConnectionStrings:{candidate}", candidate):
            if settings.exists(section):
                return section
    return None


def _identity_connection(name: str, service: Service, children: dict[str, str]) -> StorageConnection | None:
    managed_identity = (children.get("credential") or "").lower() == "managedidentity"
    client_id = children.get("clientid") or None
    account = children.get("accountname")
    if account is not None:
        endpoint = f"https://{account}.{service}.{STORAGE_ENDPOINT_SUFFIX}"
        return _token_connection(name, service, endpoint, managed_identity, client_id)
    service_uri = children.get(f"{service}serviceuri")
    if service_uri is not None:
        return _token_connection(name, service, service_uri, managed_identity, client_id)
    generic_uri = children.get("serviceuri")
    if generic_uri is None:
        return None
    key_account, key = children.get("credential:accountname"), children.get("credential:accountkey")
    if key_account is not None and key is not None:
        return StorageConnection(
            name=name,
            service=service,
            endpoint=generic_uri,
            credential="shared_key",
            account_name=key_account,
            account_key=key,
        )
    signature = children.get("credential:signature")
    if signature is not None:
        return StorageConnection(
            name=name, service=service, endpoint=generic_uri, credential="sas", signature=signature
        )
    return _token_connection(name, service, generic_uri, managed_identity, client_id)


def _token_connection(
    name: str, service: Service, endpoint: str, managed_identity: bool, client_id: str | None
) -> StorageConnection:
    parts = urlsplit(endpoint)
    if (parts.hostname or "").lower() not in _LOOPBACK_HOSTS:
        return StorageConnection(
            name=name,
            service=service,
            endpoint=endpoint,
            credential="token",
            managed_identity=managed_identity,
            client_id=client_id,
        )
    # Azurite: no tokens over http, so the development account signs with its published key (see above).
    account = parts.path.strip("/").split("/", 1)[0]
    if account != DEVELOPMENT_ACCOUNT:
        raise StorageConnectionError(
            f"connection '{name}' points at {endpoint}, a local storage emulator, with identity-based "
            f"settings; devhost can sign only for the emulator's '{DEVELOPMENT_ACCOUNT}' account that way. "
            f"Give '{name}' a connection string, or '{name}__serviceUri' with "
            f"'{name}__credential__accountName' and '{name}__credential__accountKey'",
            source="devhost",
        )
    return StorageConnection(
        name=name,
        service=service,
        endpoint=endpoint,
        credential="shared_key",
        account_name=DEVELOPMENT_ACCOUNT,
        account_key=DEVELOPMENT_ACCOUNT_KEY,
    )


def _no_constructor(service: Service, found_keys: list[str]) -> str:
    # Microsoft.Extensions.Azure's ClientFactory lists the client's constructors it could have used.
    found = ", ".join(sorted(found_keys, key=str.lower))
    return (
        "Unable to find matching constructor while trying to create an instance of "
        f"{_CLIENT_TYPE[service]}.\n"
        "Expected one of the follow sets of configuration parameters:\n"
        "1. connectionString\n"
        "2. serviceUri\n"
        "3. serviceUri, credential:accountName, credential:accountKey\n"
        "4. serviceUri, credential:signature\n"
        "5. serviceUri\n"
        "\n"
        f"Found the following configuration keys: {found}"
    )
