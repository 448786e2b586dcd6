"""Fixtures for the host half's tests: one in-process devhost per app and module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devhost.host.support import InProcessHost, in_process_host


@pytest.fixture(scope="module")
def http_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHost]:
    with in_process_host("host_http", tmp_path_factory.mktemp("http-host")) as host:
        yield host


@pytest.fixture(scope="module")
def events_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHost]:
    with in_process_host("host_events", tmp_path_factory.mktemp("events-host")) as host:
        yield host
