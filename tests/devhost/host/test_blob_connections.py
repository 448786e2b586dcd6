"""Storage connections and %NAME% app settings, resolved as the Functions host resolves them.

The words compared here are the host's: the WebJobs name resolver's (``'%X%' does not resolve to a value.``),
the storage extensions' (``Storage account connection string ... does not exist``) and the Azure client
factory's (``Unable to find matching constructor ...``). The identity-based shapes that point at Azurite are
proven against a real Azurite.
"""

from __future__ import annotations

import asyncio
import base64
import uuid

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.blob.aio import BlobServiceClient

from devhost.connections import (
    AppSettingError,
    AppSettings,
    StorageConnection,
    StorageConnectionError,
    connection_string_for,
    function_error,
    resolve_app_settings,
    storage_connection,
)
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, AzuriteInstance

DEV_STORE = "UseDevelopmentStorage=true"


def settings(**values: str) -> AppSettings:
    return AppSettings(values)


# -- %NAME% app settings -------------------------------------------------------------------------------


def test_every_app_setting_expression_in_a_text_is_replaced() -> None:
    resolved = resolve_app_settings("%Area%/%Kind%-{name}", settings(Area="resumes", Kind="cv"))
    assert resolved == "resumes/cv-{name}"


def test_app_setting_names_are_compared_without_regard_to_case() -> None:
    assert resolve_app_settings("%resumes_container%", settings(RESUMES_CONTAINER="inbox")) == "inbox"


def test_a_missing_app_setting_is_refused_with_the_name_resolvers_words() -> None:
    with pytest.raises(AppSettingError) as raised:
        resolve_app_settings("%RESUMES_CONTAINER%/{job_id}/{name}", settings())
    assert str(raised.value) == "'%RESUMES_CONTAINER%' does not resolve to a value."
    assert raised.value.source == "Microsoft.Azure.WebJobs.Host"


def test_an_unclosed_percent_sign_is_refused_with_its_position() -> None:
    with pytest.raises(AppSettingError, match=r"^The '%' at position 4 does not have a closing '%'$"):
        resolve_app_settings("box/%name", settings(name="x"))


def test_an_empty_setting_resolves_to_empty_text() -> None:
    # The setting exists (set to nothing): the resolver gives "", it does not refuse.
    assert resolve_app_settings("a%Empty%b", settings(Empty="")) == "ab"


def test_a_function_in_error_reads_as_the_host_logs_it() -> None:
    error = AppSettingError(
        "'%RESUMES_CONTAINER%' does not resolve to a value.", source="Microsoft.Azure.WebJobs.Host"
    )
    assert function_error("resume_uploaded", error) == (
        "The 'resume_uploaded' function is in error: Microsoft.Azure.WebJobs.Host: Error indexing method "
        "'Functions.resume_uploaded'. Microsoft.Azure.WebJobs.Host: '%RESUMES_CONTAINER%' does not resolve "
        "to a value."
    )


# -- connection strings --------------------------------------------------------------------------------


def test_a_setting_named_as_the_connection_holds_its_connection_string() -> None:
    connection = storage_connection("MyStorage", "blob", settings(MyStorage=DEV_STORE))
    assert connection.connection_string == DEV_STORE


def test_a_connection_shows_no_secret_when_logged() -> None:
    keyed = storage_connection("S", "blob", settings(S="AccountName=a;AccountKey=c2VjcmV0"))
    sas = settings(S__serviceUri="https://a.blob.core.windows.net", S__credential__signature="sig=x")
    signed = storage_connection("S", "blob", sas)
    assert "c2VjcmV0" not in repr(keyed)
    assert "sig=x" not in repr(signed)
    assert "a.blob.core.windows.net" in repr(signed)


def test_the_azure_webjobs_prefixed_setting_is_looked_up_first() -> None:
    found = settings(MyStorage="AccountName=bare", AzureWebJobsMyStorage=DEV_STORE)
    assert connection_string_for("MyStorage", found) == DEV_STORE


def test_a_connection_strings_entry_is_honoured() -> None:
    assert connection_string_for("Reports", settings(ConnectionStrings__Reports=DEV_STORE)) == DEV_STORE


def test_no_connection_name_means_azure_webjobs_storage() -> None:
    connection = storage_connection(None, "blob", settings(AzureWebJobsStorage=DEV_STORE))
    assert (connection.name, connection.connection_string) == ("AzureWebJobsStorage", DEV_STORE)


def test_a_connection_name_may_itself_come_from_an_app_setting() -> None:
    found = settings(STORAGE_CONNECTION="Archive", Archive=DEV_STORE)
    assert storage_connection("%STORAGE_CONNECTION%", "blob", found).name == "Archive"


def test_a_missing_connection_is_refused_with_the_storage_extensions_words() -> None:
    with pytest.raises(StorageConnectionError) as raised:
        storage_connection("Nope", "blob", settings())
    assert str(raised.value) == (
        "Storage account connection string 'AzureWebJobsNope' does not exist. Make sure that it is a defined "
        "App Setting."
    )
    assert raised.value.source == "Microsoft.Azure.WebJobs.Extensions.Storage.Blobs"


def test_a_missing_default_connection_names_the_doubled_prefix_as_the_host_does() -> None:
    with pytest.raises(StorageConnectionError, match="'AzureWebJobsAzureWebJobsStorage' does not exist"):
        storage_connection(None, "queue", settings())


def test_an_empty_value_counts_as_a_connection_string_and_hides_identity_settings() -> None:
    # The extension takes any value (even "") as a connection string; the client factory then finds none.
    found = settings(AzureWebJobsStorage="", AzureWebJobsStorage__accountName="prodaccount")
    with pytest.raises(StorageConnectionError) as raised:
        storage_connection(None, "blob", found)
    message = str(raised.value)
    assert message.startswith(
        "Unable to find matching constructor while trying to create an instance of BlobServiceClient.\n"
    )
    assert message.endswith("Found the following configuration keys: accountName")


def test_identity_settings_without_an_endpoint_get_the_client_factorys_words() -> None:
    found = settings(Data__credential="managedidentity", Data__clientId="1234")
    with pytest.raises(StorageConnectionError) as raised:
        storage_connection("Data", "queue", found)
    assert "create an instance of QueueServiceClient" in str(raised.value)
    assert "3. serviceUri, credential:accountName, credential:accountKey" in str(raised.value)
    assert str(raised.value).endswith("Found the following configuration keys: clientId, credential")
    assert raised.value.source == "Microsoft.Extensions.Azure"


# -- identity-based connections ------------------------------------------------------------------------


def _credential_of(connection: StorageConnection) -> object:
    async def build() -> object:
        client = connection.blob_service_client()
        credential = client.credential
        await client.close()
        return credential

    return asyncio.run(build())


def test_an_account_name_means_the_public_endpoint_with_a_token_credential() -> None:
    connection = storage_connection("Prod", "queue", settings(Prod__accountName="hireflowdata"))
    assert connection.endpoint == "https://hireflowdata.queue.core.windows.net"
    assert connection.credential == "token"
    assert isinstance(_credential_of(connection), DefaultAzureCredential)


def test_credential_managedidentity_with_a_client_id_builds_a_managed_identity_credential() -> None:
    found = settings(
        Prod__blobServiceUri="https://hireflowdata.blob.core.windows.net",
        Prod__credential="managedidentity",
        Prod__clientId="00000000-0000-0000-0000-000000000001",
    )
    connection = storage_connection("Prod", "blob", found)
    assert (connection.endpoint, connection.managed_identity) == (
        "https://hireflowdata.blob.core.windows.net",
        True,
    )
    assert connection.client_id == "00000000-0000-0000-0000-000000000001"
    assert isinstance(_credential_of(connection), ManagedIdentityCredential)


def test_the_account_name_wins_over_a_service_uri_as_in_the_extension() -> None:
    found = settings(Prod__accountName="first", Prod__blobServiceUri="https://second.blob.core.windows.net")
    assert storage_connection("Prod", "blob", found).endpoint == "https://first.blob.core.windows.net"


def test_a_blob_service_uri_does_not_serve_the_queue_service() -> None:
    found = settings(Prod__blobServiceUri="https://hireflowdata.blob.core.windows.net")
    assert storage_connection("Prod", "blob", found).endpoint == "https://hireflowdata.blob.core.windows.net"
    with pytest.raises(StorageConnectionError, match="QueueServiceClient"):
        storage_connection("Prod", "queue", found)


def test_a_loopback_endpoint_of_another_account_is_refused_in_devhosts_words() -> None:
    found = settings(Local__blobServiceUri="http://127.0.0.1:10000/myaccount")
    with pytest.raises(StorageConnectionError, match="can sign only for the emulator's 'devstoreaccount1'"):
        storage_connection("Local", "blob", found)


@pytest.mark.azurite
def test_a_service_uri_at_azurites_development_account_is_signed_with_its_published_key(
    azurite: AzuriteInstance,
) -> None:
    found = settings(Local__blobServiceUri=azurite.blob_endpoint, Local__credential="managedidentity")
    connection = storage_connection("Local", "blob", found)
    assert connection.credential == "shared_key"
    assert (connection.account_name, connection.account_key) == (DEV_ACCOUNT, DEV_KEY)
    assert _round_trip(connection) == b"signed with the development key"


@pytest.mark.azurite
def test_a_service_uri_with_an_account_key_credential_reaches_azurite(azurite: AzuriteInstance) -> None:
    found = settings(
        Keyed__serviceUri=azurite.blob_endpoint,
        Keyed__credential__accountName=DEV_ACCOUNT,
        Keyed__credential__accountKey=DEV_KEY,
    )
    connection = storage_connection("Keyed", "blob", found)
    assert connection.credential == "shared_key"
    assert _round_trip(connection) == b"signed with the development key"


@pytest.mark.azurite
def test_a_wrong_account_key_is_refused_by_azurite_not_hidden(azurite: AzuriteInstance) -> None:
    found = settings(
        Keyed__serviceUri=azurite.blob_endpoint,
        Keyed__credential__accountName=DEV_ACCOUNT,
        Keyed__credential__accountKey=base64.b64encode(bytes(64)).decode(),
    )
    with pytest.raises(HttpResponseError) as raised:
        _round_trip(storage_connection("Keyed", "blob", found))
    assert raised.value.status_code == 403


def _round_trip(connection: StorageConnection) -> bytes:
    container = f"conn-{uuid.uuid4().hex[:12]}"

    async def run() -> bytes:
        client: BlobServiceClient = connection.blob_service_client()
        async with client:
            await client.create_container(container)
            blob = client.get_blob_client(container, "probe.txt")
            await blob.upload_blob(b"signed with the development key")
            data = await (await blob.download_blob()).readall()
            await client.delete_container(container)
            return bytes(data)

    return asyncio.run(run())
