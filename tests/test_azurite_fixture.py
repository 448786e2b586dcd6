import uuid

import pytest
from azure.storage.blob import BlobServiceClient

from tests.support.azurite import AzuriteInstance


@pytest.mark.azurite
def test_blob_round_trip_through_azurite(azurite: AzuriteInstance) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(f"roundtrip-{uuid.uuid4().hex[:8]}")
    container.upload_blob("hello.txt", b"hello azurite")
    assert container.download_blob("hello.txt").readall() == b"hello azurite"
