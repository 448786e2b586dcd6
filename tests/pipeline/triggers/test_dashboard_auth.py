"""The dashboard's sign-in tickets, session cookies, CSRF and origin checks, and the platform's principal."""

from __future__ import annotations

import base64
import json

import pytest

from triggers.dashboard_auth import (
    TICKET_TTL_S,
    DashboardAuthError,
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
