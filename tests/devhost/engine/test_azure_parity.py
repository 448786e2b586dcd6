"""Durable behaviours that must match Azure's host: versioning, paged instance queries and long timers."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devhost.engine import (
    EXECUTION_STARTED,
    SUB_ORCHESTRATION_CREATED,
    TIMER_CREATED,
    TIMER_FIRED,
    DurableTaskSettings,
    _timespan,
    compare_versions,
)
from devhost.testing import DurableTestHost

VERSIONS_APP = Path(__file__).resolve().parents[1] / "apps" / "engine_versions" / "function_app.py"
API = "/runtime/webhooks/durabletask"
CONTINUATION = "x-ms-continuation-token"


@pytest.fixture(scope="module")
def host() -> Iterator[DurableTestHost]:
    with DurableTestHost(VERSIONS_APP, serve_http=True) as test_host:
        yield test_host


def http_json(
    url: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), error.headers


# ---------------------------------------------------------------------------------------------- versioning


def test_new_instances_get_the_default_version_of_host_json(host: DurableTestHost) -> None:
    instance_id = host.start("report_version")
    result = host.run_until_complete(instance_id)
    assert result.output == "2.0"
    started = host.history(instance_id)[1]
    assert started["EventType"] == EXECUTION_STARTED
    assert started["Version"] == "2.0"


def test_children_get_the_default_version_unless_the_call_names_one(host: DurableTestHost) -> None:
    instance_id = host.start("versioned_parent", instance_id="family")
    result = host.run_until_complete(instance_id)
    assert result.output == {"parent": "2.0", "default": "2.0", "pinned": "1.5", "retried": "1.7"}
    created = [e for e in host.history(instance_id) if e["EventType"] == SUB_ORCHESTRATION_CREATED]
    assert [(e["InstanceId"], e["Version"]) for e in created] == [
        ("family-default", "2.0"),
        ("family-pinned", "1.5"),
        ("family-retried", "1.7"),
    ]


def test_a_child_does_not_inherit_its_parents_explicit_version(host: DurableTestHost) -> None:
    url = f"{host.base_url}{API}/orchestrators/versioned_parent/elder?version=1.0"
    status, body, _ = http_json(url, method="POST")
    assert status == 202, body
    result = host.run_until_complete("elder")
    assert result.output == {"parent": "1.0", "default": "2.0", "pinned": "1.5", "retried": "1.7"}


def test_a_newer_version_than_the_hosts_waits_for_a_matching_host(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with DurableTestHost(VERSIONS_APP, data_dir=store) as older_host:
        current = older_host.start("report_version", instance_id="current")
        older_host.run_until_idle()
        assert older_host.status(current).runtime_status == "Completed"  # its own 2.0 runs
        # CurrentOrOlder + Reject (the defaults): a newer version's work is left queued and nothing runs.
        future = older_host.run(older_host.engine.start_new("report_version", "v3", None, "3.0"))
        older_host.run_until_idle()
        assert older_host.status(future).runtime_status == "Pending"
        assert older_host.history(future) == []
    # The same app deployed with defaultVersion 3.0 picks the queued work up.
    newer_app = tmp_path / "newer"
    newer_app.mkdir()
    shutil.copy(VERSIONS_APP, newer_app / "function_app.py")
    (newer_app / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"durableTask": {"defaultVersion": "3.0"}}})
    )
    with DurableTestHost(newer_app / "function_app.py", data_dir=store) as newer_host:
        assert newer_host.run_until_complete("v3").output == "3.0"


def test_fail_strategy_and_strict_matching_fail_the_instance_in_the_frameworks_words() -> None:
    with DurableTestHost(VERSIONS_APP) as strict_host:
        strict_host.engine.durable_settings.version_match_strategy = "Strict"
        strict_host.engine.durable_settings.version_failure_strategy = "Fail"
        instance_id = strict_host.run(strict_host.engine.start_new("report_version", "older", None, "1.0"))
        result = strict_host.run_until_complete(instance_id)
        assert result.runtime_status == "Failed"
        assert result.output == "Orchestration version did not comply with Worker Versioning"
        assert strict_host.run_until_complete(strict_host.start("report_version")).output == "2.0"


@pytest.mark.parametrize(
    ("version", "other", "sign"),
    [
        ("1.0.0", "1.0.0", 0),
        ("1.1.0", "1.0.0", 1),
        ("1.0.0", "1.1.0", -1),
        ("1", "1", 0),
        ("2", "1", 1),
        ("1", "2", -1),
        ("", "1", -1),
        ("1", "", 1),
        ("", "", 0),
        ("10.0", "9.0", 1),  # numeric, not text, when both are .NET versions
        ("1.0", "1.0.0", -1),  # an absent build number sorts first, as System.Version does
        ("V2-release", "v10-release", 1),  # text, ignoring case
    ],
)
def test_versions_compare_as_the_framework_compares_them(version: str, other: str, sign: int) -> None:
    result = compare_versions(version, other)
    assert (result > 0) - (result < 0) == sign


def test_start_with_a_version_through_the_sdk_client_and_the_http_api(host: DurableTestHost) -> None:
    client = host.client()
    by_client = host.run(client.start_new("report_version", "by-client", None, version="1.0"))
    assert host.run_until_complete(by_client).output == "1.0"
    status, _, _ = http_json(
        f"{host.base_url}{API}/orchestrators/report_version/by-query?version=0.9", method="POST"
    )
    assert status == 202
    assert host.run_until_complete("by-query").output == "0.9"
    status, _, _ = http_json(
        f"{host.base_url}{API}/orchestrators/report_version/by-empty?version=", method="POST"
    )
    assert status == 202
    assert host.run_until_complete("by-empty").output == "2.0"


def test_without_a_default_version_the_version_is_empty(tmp_path: Path) -> None:
    with DurableTestHost(VERSIONS_APP) as bare:
        bare.engine.durable_settings = DurableTaskSettings()
        instance_id = bare.start("report_version")
        assert bare.run_until_complete(instance_id).output == ""


def test_default_version_and_provider_are_read_from_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps(
            {
                "version": "2.0",
                "extensions": {
                    "DurableTask": {
                        "defaultVersion": "3.1",
                        "versionMatchStrategy": "strict",
                        "versionFailureStrategy": "FAIL",
                        "storageProvider": {"type": "azureManaged"},
                    }
                },
            }
        )
    )
    settings = DurableTaskSettings.from_host_json(tmp_path)
    assert settings.default_version == "3.1"
    assert (settings.version_match_strategy, settings.version_failure_strategy) == ("Strict", "Fail")
    assert DurableTaskSettings().version_match_strategy == "CurrentOrOlder"
    assert DurableTaskSettings().version_failure_strategy == "Reject"
    assert settings.maximum_short_timer == timedelta(0)
    assert settings.long_timer_interval == timedelta(0)
    assert DurableTaskSettings.from_host_json(tmp_path / "absent") == DurableTaskSettings()


# ---------------------------------------------------------------------------------------------- long timers


def test_the_context_carries_the_hosts_schema_and_timer_limits() -> None:
    tail = json.loads("{" + DurableTaskSettings().context_fields()[1:])
    assert tail == {
        "upperSchemaVersion": 1,
        "upperSchemaVersionNew": 2,
        "longRunningTimerIntervalDuration": "3.00:00:00",
        "maximumShortTimerDuration": "6.00:00:00",
    }
    assert _timespan(timedelta(hours=1, minutes=2, seconds=3)) == "01:02:03"
    assert _timespan(timedelta(days=2, microseconds=5)) == "2.00:00:00.0000050"
    assert _timespan(timedelta(0)) == "00:00:00"


def timer_pairs(host: DurableTestHost, instance_id: str) -> list[tuple[datetime, datetime]]:
    history = host.history(instance_id)
    created = {e["EventId"]: e for e in history if e["EventType"] == TIMER_CREATED}
    fired = [e for e in history if e["EventType"] == TIMER_FIRED]
    assert sorted(e["TimerId"] for e in fired) == sorted(created)
    return [
        (_parse(created[e["TimerId"]]["Timestamp"]), _parse(created[e["TimerId"]]["FireAt"])) for e in fired
    ]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_two_week_timer_runs_as_chained_timers_of_at_most_three_days(host: DurableTestHost) -> None:
    instance_id = host.start("long_wait", 14)
    result = host.run_until_complete(instance_id)
    started = datetime.fromisoformat(result.output["started"])
    resumed = datetime.fromisoformat(result.output["resumed"])
    pairs = timer_pairs(host, instance_id)
    # 3 + 3 + 3 days, then the last 5 (no more than 6 left: one timer to the end), as on Azure Storage.
    assert len(pairs) == 4
    assert [round((fire - created).total_seconds() / 86400, 3) for created, fire in pairs] == [3, 3, 3, 5]
    assert pairs[-1][1] == started + timedelta(days=14)
    assert timedelta(days=14) <= resumed - started < timedelta(days=14, seconds=5)


def test_a_timer_within_six_days_stays_one_timer(host: DurableTestHost) -> None:
    instance_id = host.start("long_wait", 6)
    host.run_until_complete(instance_id)
    assert len(timer_pairs(host, instance_id)) == 1


def test_providers_without_timer_limits_get_one_timer() -> None:
    with DurableTestHost(VERSIONS_APP) as scheduler_backed:
        scheduler_backed.engine.durable_settings = DurableTaskSettings(
            maximum_short_timer=timedelta(0), long_timer_interval=timedelta(0)
        )
        instance_id = scheduler_backed.start("long_wait", 14)
        result = scheduler_backed.run_until_complete(instance_id)
        assert len(timer_pairs(scheduler_backed, instance_id)) == 1
        waited = datetime.fromisoformat(result.output["resumed"]) - datetime.fromisoformat(
            result.output["started"]
        )
        assert waited >= timedelta(days=14)


# ---------------------------------------------------------------------------------------------- paging


@pytest.fixture(scope="module")
def crowded() -> Iterator[DurableTestHost]:
    """A host with 250 completed instances ``page-000`` .. ``page-249`` and one ``other``."""
    with DurableTestHost(VERSIONS_APP, serve_http=True) as test_host:

        async def start_all() -> None:
            engine = test_host.engine
            await asyncio.gather(*(engine.start_new("report_version", f"page-{i:03d}") for i in range(250)))
            await engine.start_new("report_version", "other")

        test_host.run(start_all())
        test_host.run_until_idle()
        yield test_host


def read_pages(url: str) -> list[list[str]]:
    pages: list[list[str]] = []
    headers: dict[str, str] = {}
    while True:
        status, page, response_headers = http_json(url, headers=headers)
        assert status == 200, page
        pages.append([document["instanceId"] for document in page])
        token = response_headers.get(CONTINUATION)
        if not token:
            return pages
        headers = {CONTINUATION: token}
        assert len(pages) < 50, "paging does not end"


def test_http_queries_return_100_per_page_and_every_instance_once(crowded: DurableTestHost) -> None:
    pages = read_pages(f"{crowded.base_url}{API}/instances/?instanceIdPrefix=page-")
    assert [len(page) for page in pages] == [100, 100, 50]
    seen = Counter(instance_id for page in pages for instance_id in page)
    assert set(seen) == {f"page-{i:03d}" for i in range(250)}
    assert set(seen.values()) == {1}
    everything = read_pages(f"{crowded.base_url}{API}/instances")
    assert [len(page) for page in everything] == [100, 100, 51]


def test_top_sets_the_page_size_and_a_bad_top_is_ignored_as_on_azure(crowded: DurableTestHost) -> None:
    pages = read_pages(f"{crowded.base_url}{API}/instances/?instanceIdPrefix=page-&top=64")
    assert [len(page) for page in pages] == [64, 64, 64, 58]
    assert sorted(i for page in pages for i in page) == [f"page-{i:03d}" for i in range(250)]
    for ignored in (
        "%EF%BC%91%EF%BC%90",
        "ten",
        "0",
        "-5",
        "99999999999",
    ):  # full-width "10", words, out of range
        _, page, headers = http_json(
            f"{crowded.base_url}{API}/instances/?instanceIdPrefix=page-&top={ignored}"
        )
        assert len(page) == 100, ignored
        assert headers.get(CONTINUATION)
    _, page, _ = http_json(f"{crowded.base_url}{API}/instances/?top=5000")
    assert len(page) == 251


def test_a_forged_continuation_token_is_refused(crowded: DurableTestHost) -> None:
    status, body, _ = http_json(f"{crowded.base_url}{API}/instances/", headers={CONTINUATION: "not-a-token"})
    assert status == 400
    assert "continuation token" in body["Message"]


def test_instances_started_between_pages_never_repeat_or_hide_one_already_listed(tmp_path: Path) -> None:
    with DurableTestHost(VERSIONS_APP, serve_http=True) as test_host:
        for index in range(10):
            test_host.start("report_version", instance_id=f"w-{index * 10:03d}")
        url = f"{test_host.base_url}{API}/instances/?top=4"
        _, first, headers = http_json(url)
        # New ids sort before the cursor (w-005) and after it (w-095): the first is never shown, none repeats.
        test_host.start("report_version", instance_id="w-005")
        test_host.start("report_version", instance_id="w-095")
        rest = read_pages_from(url, headers.get(CONTINUATION))
        listed = [d["instanceId"] for d in first] + rest
        assert len(listed) == len(set(listed))
        assert set(listed) == {f"w-{i * 10:03d}" for i in range(10)} | {"w-095"}


def read_pages_from(url: str, token: str | None) -> list[str]:
    listed: list[str] = []
    while token:
        _, page, headers = http_json(url, headers={CONTINUATION: token})
        listed.extend(d["instanceId"] for d in page)
        token = headers.get(CONTINUATION)
    return listed


def test_the_sdk_clients_queries_see_the_first_page_only_as_on_azure(crowded: DurableTestHost) -> None:
    client = crowded.client()
    everything = crowded.run(client.get_status_all())
    # Pages follow instance ids, as the Azure Storage instances table orders them.
    assert [s.instance_id for s in everything] == ["other"] + [f"page-{i:03d}" for i in range(99)]
    prefixed = crowded.run(client.get_status_by(instance_id_prefix="page-2"))
    assert [s.instance_id for s in prefixed] == [f"page-{i:03d}" for i in range(200, 250)]


async def list_every_instance(client: Any, prefix: str) -> list[str]:
    """How an app pages through the durable client binding (SDK 1.7 cannot send a continuation token).

    The status URL the binding hands out already carries the task hub, the connection and (on Azure) the
    extension's system key; the instance list lives beside it, and pages come back with the token header.
    """
    status_url = client.create_http_management_payload("INSTANCEID")["statusQueryGetUri"]
    list_url = status_url.replace("/instances/INSTANCEID?", "/instances/?", 1)
    instance_ids: list[str] = []
    headers: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        while True:
            params = {"instanceIdPrefix": prefix}
            async with session.get(list_url, params=params, headers=headers) as response:
                response.raise_for_status()
                instance_ids.extend(document["instanceId"] for document in await response.json())
                token = response.headers.get(CONTINUATION)
            if not token:
                return instance_ids
            headers = {CONTINUATION: token}


def test_an_app_pages_through_its_durable_client_binding(crowded: DurableTestHost) -> None:
    listed = crowded.run(list_every_instance(crowded.client(), "page-"))
    assert Counter(listed) == Counter(f"page-{i:03d}" for i in range(250))


def test_a_cancelled_long_deadline_chains_on_to_its_end_as_the_sdk_makes_it(host: DurableTestHost) -> None:
    instance_id = host.start("long_deadline")
    host.raise_event(instance_id, "answer", "yes")
    # SDK 1.7's long timer ignores cancel() between legs: each leg that fires schedules the next until the
    # deadline, on Azure as here. The orchestration meanwhile waits for its next event, undisturbed.
    host.run_until_idle()
    assert len(timer_pairs(host, instance_id)) == 4
    assert host.status(instance_id).runtime_status == "Running"
    host.raise_event(instance_id, "follow_up", "ok")
    assert host.run_until_complete(instance_id).output == {"answer": "yes", "follow_up": "ok"}


def test_a_long_deadline_with_no_event_times_out_after_two_weeks(host: DurableTestHost) -> None:
    instance_id = host.start("long_deadline")
    result = host.run_until_complete(instance_id)
    started = _parse(host.history(instance_id)[0]["Timestamp"])
    assert result.output["answer"] is None
    assert timedelta(days=14) <= datetime.fromisoformat(result.output["timed_out_at"]) - started
    assert len(timer_pairs(host, instance_id)) == 4


def test_a_test_steps_a_long_wait_leg_by_leg(tmp_path: Path) -> None:
    with DurableTestHost(VERSIONS_APP) as stepping:
        instance_id = stepping.start("long_wait", 7)
        first_leg = stepping.advance_to_next_timer()
        assert stepping.status(instance_id).runtime_status == "Running"
        last_leg = stepping.advance_to_next_timer()
        assert first_leg is not None
        assert last_leg is not None
        # Three days, then the four left (no more than six: one leg to the end).
        assert last_leg - first_leg == timedelta(days=4)
        assert stepping.status(instance_id).runtime_status == "Completed"
        assert stepping.advance_to_next_timer() is None
        assert len(timer_pairs(stepping, instance_id)) == 2
