"""The dashboard's sign-in tickets, session cookies, CSRF and origin checks, and the platform's principal."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator

import azure.functions as func
import pytest

from shared.settings import reset_settings, setting_keys
from triggers.dashboard import authenticate
from triggers.dashboard_auth import (
    SESSION_COOKIE,
    TICKET_TTL_S,
    DashboardAuthError,
    Principal,
    TicketLedger,
    check_csrf,
    check_same_origin,
    cookie_value,
    csrf_cookie_name,
    entra_principal,
    mint_session,
    mint_sign_in_ticket,
    verify_session,
)

SECRET = "a-secret-the-stack-shares-with-the-app"
NOW = 1_800_000_000.0
ORIGIN = "http://127.0.0.1:7071"


def test_a_ticket_signs_in_once() -> None:
    ledger = TicketLedger()
    ticket = mint_sign_in_ticket(SECRET, now=NOW)

    ledger.redeem(SECRET, ticket, now=NOW + 5)
    with pytest.raises(DashboardAuthError, match="used already") as again:
        ledger.redeem(SECRET, ticket, now=NOW + 6)
    assert again.value.status == 401
    # Another ticket from the same stack still works.
    ledger.redeem(SECRET, mint_sign_in_ticket(SECRET, now=NOW), now=NOW + 7)


@pytest.mark.parametrize(
    ("ticket", "words"),
    [
        (mint_sign_in_ticket("another-stack-secret", now=NOW), "signature"),
        (mint_sign_in_ticket(SECRET, now=NOW - TICKET_TTL_S - 1), "expired"),
        ("v1.notanumber.x.y", "malformed"),
        ("", "malformed"),
    ],
)
def test_a_foreign_expired_or_malformed_ticket_is_refused(ticket: str, words: str) -> None:
    with pytest.raises(DashboardAuthError, match=words):
        TicketLedger().redeem(SECRET, ticket, now=NOW)


def test_a_tampered_ticket_is_refused() -> None:
    version, expires, nonce, signature = mint_sign_in_ticket(SECRET, now=NOW).split(".")
    longer = f"{version}.{int(expires) + 86_400}.{nonce}.{signature}"
    with pytest.raises(DashboardAuthError, match="signature"):
        TicketLedger().redeem(SECRET, longer, now=NOW)


def test_a_ticket_is_not_a_session_and_a_session_is_not_a_ticket() -> None:
    ticket = mint_sign_in_ticket(SECRET, now=NOW)
    session = mint_session(SECRET, now=NOW)

    assert verify_session(SECRET, session, now=NOW + 60)
    with pytest.raises(DashboardAuthError, match="signature"):
        verify_session(SECRET, ticket, now=NOW)
    with pytest.raises(DashboardAuthError, match="signature"):
        TicketLedger().redeem(SECRET, session, now=NOW)
    with pytest.raises(DashboardAuthError, match="expired"):
        verify_session(SECRET, session, now=NOW + 13 * 3600)


def test_the_csrf_token_must_equal_the_cookie() -> None:
    check_csrf("token-value", "token-value")
    for cookie, form in [("token-value", "other"), ("token-value", None), (None, "token-value"), ("", "")]:
        with pytest.raises(DashboardAuthError) as refused:
            check_csrf(cookie, form)
        assert refused.value.status == 403


def test_cross_site_posts_are_refused_and_same_origin_ones_pass() -> None:
    check_same_origin({"origin": ORIGIN, "sec-fetch-site": "same-origin"}, ORIGIN)
    check_same_origin({}, ORIGIN)  # a client that sends neither header (not a browser) is left to the token
    refused = [
        {"origin": "http://evil.example"},
        {"origin": "http://127.0.0.1:9999"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": ORIGIN},
    ]
    for headers in refused:
        with pytest.raises(DashboardAuthError) as error:
            check_same_origin(headers, ORIGIN)
        assert error.value.status == 403, headers


def test_the_csrf_cookie_is_host_only_over_https() -> None:
    assert csrf_cookie_name(secure=True).startswith("__Host-")
    assert not csrf_cookie_name(secure=False).startswith("__Host-")


def test_cookie_values_are_read_by_exact_name() -> None:
    header = "a=1; hireflow_dashboard_session=v1.2.3.4; hireflow_dashboard_session_x=no"
    assert cookie_value(header, "hireflow_dashboard_session") == "v1.2.3.4"
    assert cookie_value(header, "missing") is None
    assert cookie_value(None, "a") is None


def test_the_platforms_principal_names_the_user() -> None:
    claims = {
        "auth_typ": "aad",
        "name_typ": "name",
        "claims": [{"typ": "name", "val": "Rita Recruiter"}, {"typ": "roles", "val": "Recruiter"}],
    }
    encoded = base64.b64encode(json.dumps(claims).encode()).decode()

    principal = entra_principal({"x-ms-client-principal": encoded, "x-ms-client-principal-id": "0000-1"})
    named = entra_principal({"x-ms-client-principal-id": "0000-2", "x-ms-client-principal-name": "r@x.test"})

    assert principal is not None
    assert principal.name == "Rita Recruiter"
    assert principal.source == "entra"
    assert named is not None
    assert named.name == "r@x.test"
    assert entra_principal({}) is None
    assert entra_principal({"x-ms-client-principal": "!!not base64!!"}) is not None


# ----------------------------------------------------------------------------------------------------
# The app's own checks: which secret signs, and when the platform's principal is trusted

AZURE = {
    "STORAGE_ACCOUNT_URL": "https://hireflowdata.blob.core.windows.net",
    "AZURE_OPENAI_ENDPOINT": "https://hireflow-ai.openai.azure.com/",
    "DOCUMENT_INTELLIGENCE_ENDPOINT": "https://hireflow-di.cognitiveservices.azure.com/",
    "ACS_ENDPOINT": "https://hireflow-acs.unitedstates.communication.azure.com/",
    "ACS_IMMUTABLE_RESOURCE_ID": "5b3e5b1c-6f0e-4c55-9a0d-3c1b2a4d5e6f",
    "ACS_CALLER_PHONE_NUMBER": "+12065559876",
    "CALLBACK_BASE_URL": "https://hireflow-func.azurewebsites.net",
    "ACS_CALLBACK_SECRET": "an-acs-callback-secret-of-32-chars",
    "DASHBOARD_SIGNING_SECRET": "a-dashboard-signing-secret-of-32c",
}
PRINCIPAL_HEADERS = {"x-ms-client-principal-id": "0000-1", "x-ms-client-principal-name": "rita@contoso.test"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """Replace every app setting with the given ones, for the settings class the app reads."""

    def use(values: dict[str, str]) -> None:
        for key in setting_keys():
            monkeypatch.delenv(key, raising=False)
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        reset_settings()

    yield use
    reset_settings()


def _page_request(headers: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest(
        method="GET", url=f"{ORIGIN}/api/dashboard/reviews", headers=headers, params={}, body=b""
    )


def test_principal_headers_are_refused_on_azure_without_app_service_authentication(
    environment: Callable[[dict[str, str]], None],
) -> None:
    environment(AZURE)  # no WEBSITE_AUTH_ENABLED: nothing strips forged principal headers

    with pytest.raises(DashboardAuthError) as refused:
        authenticate(_page_request(PRINCIPAL_HEADERS))

    assert refused.value.status == 503
    assert "WEBSITE_AUTH_ENABLED" in refused.value.message


def test_principal_headers_sign_in_while_app_service_authentication_runs(
    environment: Callable[[dict[str, str]], None],
) -> None:
    environment({**AZURE, "WEBSITE_AUTH_ENABLED": "True"})

    principal = authenticate(_page_request(PRINCIPAL_HEADERS))

    assert principal == Principal(name="rita@contoso.test", source="entra")
    with pytest.raises(DashboardAuthError) as missing:
        authenticate(_page_request({}))
    assert missing.value.status == 401


def test_sessions_are_signed_with_the_dashboards_own_secret_not_the_acs_one(
    environment: Callable[[dict[str, str]], None],
) -> None:
    acs_secret, dashboard_secret = "acs-secret-of-this-stack", "dashboard-secret-of-this-stack"
    environment(
        {
            "HIREFLOW_PROFILE": "local",
            "ACS_CALLBACK_SECRET": acs_secret,
            "DASHBOARD_SIGNING_SECRET": dashboard_secret,
        }
    )

    def with_session(secret: str) -> func.HttpRequest:
        return _page_request({"cookie": f"{SESSION_COOKIE}={mint_session(secret)}"})

    assert authenticate(with_session(dashboard_secret)).source == "local"
    with pytest.raises(DashboardAuthError, match="signature does not match"):
        authenticate(with_session(acs_secret))


def test_local_sign_in_without_the_dashboards_secret_names_the_missing_setting(
    environment: Callable[[dict[str, str]], None],
) -> None:
    environment({"HIREFLOW_PROFILE": "local", "ACS_CALLBACK_SECRET": "acs-secret-of-this-stack"})

    with pytest.raises(DashboardAuthError) as refused:
        authenticate(_page_request({"cookie": f"{SESSION_COOKIE}={mint_session('anything')}"}))

    assert refused.value.status == 503
    assert "DASHBOARD_SIGNING_SECRET" in refused.value.message
