"""Fault injection: every kind against the real SDK clients, seeded reproducibility, admin endpoints."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx2 as httpx
import openai
import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from emulators.faults import FaultInjector, FaultSettings, FaultSpecError, parse_fault_spec
from emulators.server import EmulatorThread, emulators_in_thread
from tests.emulators.ai.helpers import docintel_client, emulator_options, openai_client, raw_request

CHAT = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def faulty() -> Iterator[EmulatorThread]:
    """A fresh emulator per test, so fault plans and counters never leak between tests."""
    settings = FaultSettings(slow_delay_s=0.4, timeout_hold_s=3.0, retry_after_s=0.2)
    with emulators_in_thread(emulator_options(fault_settings=settings, seed=7)) as running:
        yield running


def _set_faults(emulator: EmulatorThread, spec: str, seed: int | None = None) -> dict[str, object]:
    body: dict[str, object] = {"spec": spec}
    if seed is not None:
        body["seed"] = seed
    response = raw_request(
        f"{emulator.settings['EMULATORS_HTTP_URL']}/admin/faults",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 200
    result: dict[str, object] = response.json()
    return result


def _stats(base_url: str) -> dict[str, dict[str, object]]:
    stats: dict[str, dict[str, object]] = raw_request(f"{base_url}/admin/stats", method="GET").json()[
        "services"
    ]
    return stats


def test_429_fault_carries_retry_after_and_sdk_retries_through(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "openai:429=1")
    client = openai_client(faulty.settings, max_retries=0)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    assert raised.value.response.headers["retry-after-ms"] == "200"
    assert raised.value.response.headers["retry-after"] == "1"
    _set_faults(faulty, "openai:429=0.5", seed=3)
    retrying = openai_client(faulty.settings, max_retries=6)
    for _ in range(4):
        assert retrying.chat.completions.create(model=CHAT, messages=MESSAGES).choices  # type: ignore[arg-type]
    stats = _stats(faulty.settings["EMULATORS_HTTP_URL"])["openai"]
    assert stats["served"] == 4
    injected = stats["injected"]
    assert isinstance(injected, dict)
    assert injected["429"] >= 2  # the first forced one plus at least one from the 50 % plan with seed 3


@pytest.mark.parametrize(
    ("kind", "error_type"), [("500", openai.InternalServerError), ("503", openai.APIStatusError)]
)
def test_server_errors_for_openai(faulty: EmulatorThread, kind: str, error_type: type[Exception]) -> None:
    _set_faults(faulty, f"openai:{kind}=1")
    client = openai_client(faulty.settings, max_retries=0)
    with pytest.raises(error_type) as raised:
        client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    assert raised.value.status_code == int(kind)  # type: ignore[attr-defined]
    assert "injected fault" in str(raised.value)


def test_server_error_for_docintel(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "docintel:503=1")
    client = docintel_client(faulty.settings, retry_total=0)
    with pytest.raises(HttpResponseError) as raised:
        client.begin_analyze_document("prebuilt-read", body=b"hello", content_type="text/plain")
    assert raised.value.status_code == 503
    assert raised.value.error is not None
    assert raised.value.error.code == "ServiceUnavailable"


def test_slow_fault_delays_but_answers(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "openai:slow=1")
    client = openai_client(faulty.settings, max_retries=0)
    started = time.monotonic()
    completion = client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    assert time.monotonic() - started >= 0.4
    assert completion.choices


def test_timeout_fault_outlasts_the_client_timeout(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "openai:timeout=1")
    client = openai_client(faulty.settings, max_retries=0, timeout=httpx.Timeout(0.5))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    assert time.monotonic() - started < 2.5


def test_drop_fault_closes_the_connection(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "openai:drop=1;docintel:drop=1")
    client = openai_client(faulty.settings, max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=CHAT, messages=MESSAGES)  # type: ignore[arg-type]
    di = docintel_client(faulty.settings, retry_total=0)
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        di.begin_analyze_document("prebuilt-read", body=b"hello", content_type="text/plain")
    stats = _stats(faulty.settings["EMULATORS_HTTP_URL"])
    assert stats["openai"]["injected"] == {"drop": 1}
    assert stats["docintel"]["injected"] == {"drop": 1}


def test_acs_faults_on_the_https_site_and_shared_stats(faulty: EmulatorThread) -> None:
    _set_faults(faulty, "acs:500=1")
    https = faulty.settings["EMULATORS_HTTPS_URL"]
    trust = ssl.create_default_context(cafile=faulty.settings["CA_BUNDLE"])
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(
            f"{https}/calling/callConnections/some-call?api-version=2025-06-15", context=trust
        )
    assert raised.value.code == 500
    with urllib.request.urlopen(f"{https}/health", context=trust) as health:
        assert json.loads(health.read())["status"] == "ok"  # health and admin are never faulted
    with urllib.request.urlopen(f"{https}/admin/stats", context=trust) as response:
        over_https = json.loads(response.read())
    assert over_https["services"]["acs"]["injected"] == {"500": 1}
    assert _stats(faulty.settings["EMULATORS_HTTP_URL"])["acs"]["injected"] == {"500": 1}


def test_same_seed_same_fault_sequence() -> None:
    first = FaultInjector(seed=42, spec="openai:429=0.3,500=0.2;docintel:drop=0.5")
    second = FaultInjector(seed=42, spec="openai:429=0.3,500=0.2;docintel:drop=0.5")
    # Interleaving another service's draws must not change a service's own sequence.
    sequence_a = [first.choose("openai") for _ in range(50)]
    sequence_b = []
    for _ in range(50):
        second.choose("docintel")
        sequence_b.append(second.choose("openai"))
    assert sequence_a == sequence_b
    assert {"429", "500", None} <= set(sequence_a)
    other_seed = FaultInjector(seed=43, spec="openai:429=0.3,500=0.2")
    assert [other_seed.choose("openai") for _ in range(50)] != sequence_a


def test_fault_spec_parsing() -> None:
    assert parse_fault_spec("openai:429=0.2,500=0.05;docintel:503=0.1") == {
        "openai": {"429": 0.2, "500": 0.05},
        "docintel": {"503": 0.1},
    }
    assert parse_fault_spec("") == {}
    for bad in (
        "nope:429=0.1",
        "openai:418=0.1",
        "openai:429=2",
        "openai:429=x",
        "openai:429=0.6,500=0.6",
        "openai",
    ):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


def test_admin_faults_rejects_bad_input_and_accepts_rate_objects(faulty: EmulatorThread) -> None:
    url = f"{faulty.settings['EMULATORS_HTTP_URL']}/admin/faults"
    bad_json = raw_request(url, data=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status == 400
    bad_spec = raw_request(
        url, data=b'{"spec": "openai:429=7"}', headers={"Content-Type": "application/json"}
    )
    assert bad_spec.status == 400
    assert "outside 0..1" in bad_spec.json()["error"]["message"]
    ok = raw_request(url, data=b'{"faults": {"docintel": {"500": 0.25}}, "seed": 9}')
    assert ok.status == 200
    assert ok.json()["faults"] == {"docintel": {"500": 0.25}}
    assert ok.json()["seed"] == 9
