"""Who may open the dashboard and act on it: sign-in tickets, session cookies and CSRF tokens.

Pure functions (no Functions or Azure imports), so the local stack mints tickets with the same code the app
checks them with, and the rules are tested without a host.

- **Azure**: App Service Authentication (Entra ID) stands in front of the app and injects
  ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON of the signed-in user's claims) and ``X-MS-CLIENT-PRINCIPAL-ID`` /
  ``-NAME``; the platform strips those headers from incoming requests, so their presence proves a sign-in.
  A request without them is refused.
- **Locally** there is no platform in front: the stack mints a one-time sign-in ticket (an HMAC over an
  expiry and a nonce, keyed by a secret the stack also hands the app); the app exchanges it once for an
  HttpOnly, ``SameSite=Strict`` session cookie (itself an HMAC over an expiry and a session id) and redirects
  to the clean URL, so no key or ticket stays in the address bar, the history or a log.
- **Actions** are POSTs carrying a CSRF token that must equal the value of the CSRF cookie (double submit);
  the cookie is ``SameSite=Strict``, ``__Host-`` prefixed over https so no sibling host can plant one, and a
  cross-site ``Origin`` or ``Sec-Fetch-Site`` is refused before the token is even compared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

TICKET_TTL_S = 12 * 3600
"""How long a minted sign-in link stays usable (once): long enough to open it after a demo finishes."""
SESSION_TTL_S = 12 * 3600
"""How long a local session cookie lasts."""
SESSION_COOKIE = "hireflow_dashboard_session"
CSRF_COOKIE = "hireflow_dashboard_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/api/dashboard"
PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_NAME_HEADER = "x-ms-client-principal-name"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
_KEY_LABEL = b"hireflow dashboard sign-in v1"
_TICKET = "ticket"
_SESSION = "session"


class DashboardAuthError(Exception):
    """A request the dashboard refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signing_key(shared_secret: str) -> bytes:
    """Derive the dashboard's HMAC key from the secret the stack shares with the app.

    A derived key (HMAC with a fixed label) keeps the dashboard's signatures apart from every other use of
    the same secret: nothing signed here verifies anywhere else, and the secret itself never leaves the app.
    """
    return hmac.new(shared_secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sign(key: bytes, kind: str, expires: int, token: str) -> str:
    return _b64(hmac.new(key, f"{kind}|{expires}|{token}".encode(), hashlib.sha256).digest())


def _mint(key: bytes, kind: str, ttl_s: int, now: float | None) -> str:
    expires = int((time.time() if now is None else now) + ttl_s)
    token = secrets.token_urlsafe(18)
    return f"v1.{expires}.{token}.{_sign(key, kind, expires, token)}"


def _verify(key: bytes, kind: str, value: str, now: float | None) -> str:
    """Return the token inside a valid, unexpired signed value, else raise :class:`DashboardAuthError`."""
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != "v1" or not parts[1].isdigit():
        raise DashboardAuthError(401, f"the {kind} is malformed")
    expires, token, signature = int(parts[1]), parts[2], parts[3]
    if not hmac.compare_digest(signature, _sign(key, kind, expires, token)):
        raise DashboardAuthError(401, f"the {kind} signature does not match")
    if expires < (time.time() if now is None else now):
        raise DashboardAuthError(401, f"the {kind} has expired")
    return token


def mint_sign_in_ticket(shared_secret: str, *, ttl_s: int = TICKET_TTL_S, now: float | None = None) -> str:
    """Mint a one-time sign-in ticket (what ``LocalStack.dashboard_url`` carries)."""
    return _mint(signing_key(shared_secret), _TICKET, ttl_s, now)


class TicketLedger:
    """Tickets already exchanged, so each sign-in link works once.

    Local sign-in only exists on devhost, one process; a restart forgets the ledger, which leaves a used
    link usable again until it expires, and that is why tickets expire too.
    """

    def __init__(self) -> None:
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def redeem(self, shared_secret: str, ticket: str, *, now: float | None = None) -> None:
        """Accept ``ticket`` once; raise :class:`DashboardAuthError` when invalid, expired or used before."""
        token = _verify(signing_key(shared_secret), _TICKET, ticket, now)
        moment = time.time() if now is None else now
        with self._lock:
            self._used = {used: expires for used, expires in self._used.items() if expires >= moment}
            if token in self._used:
                raise DashboardAuthError(
                    401, "this sign-in link was used already; ask the stack for a new one"
                )
            self._used[token] = int(ticket.split(".")[1])


def mint_session(shared_secret: str, *, now: float | None = None) -> str:
    """Mint a session cookie value."""
    return _mint(signing_key(shared_secret), _SESSION, SESSION_TTL_S, now)


def verify_session(shared_secret: str, value: str, *, now: float | None = None) -> str:
    """Return the session id of a valid session cookie, else raise :class:`DashboardAuthError`."""
    return _verify(signing_key(shared_secret), _SESSION, value, now)


@dataclass(frozen=True)
class Principal:
    """Who is signed in: a display name for the page and for recruiter decisions."""

    name: str
    source: str
    """``entra`` (App Service Authentication) or ``local`` (a stack's sign-in link)."""


def entra_principal(headers: Mapping[str, str]) -> Principal | None:
    """Read the user App Service Authentication signed in, or None when the platform sent no principal."""
    encoded = headers.get(PRINCIPAL_HEADER)
    principal_id = headers.get(PRINCIPAL_ID_HEADER)
    if not encoded and not principal_id:
        return None
    name = headers.get(PRINCIPAL_NAME_HEADER) or ""
    if encoded and not name:
        try:
            claims = json.loads(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (binascii.Error, ValueError):
            claims = {}
        name_type = claims.get("name_typ") if isinstance(claims, dict) else None
        for claim in claims.get("claims", []) if isinstance(claims, dict) else []:
            if isinstance(claim, dict) and claim.get("typ") in (name_type, "name", "preferred_username"):
                name = str(claim.get("val") or "")
                break
    return Principal(name=name or principal_id or "signed-in user", source="entra")


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    """Return cookie ``name`` from a ``Cookie`` header (no decoding: the values set here are URL-safe)."""
    for part in (cookie_header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def csrf_cookie_name(secure: bool) -> str:
    """Over https the ``__Host-`` prefix makes browsers refuse the cookie from any other host or path."""
    return f"__Host-{CSRF_COOKIE}" if secure else CSRF_COOKIE


def new_csrf_token() -> str:
    """Return a fresh random CSRF token (the cookie's value and every form's hidden field)."""
    return secrets.token_urlsafe(24)


def check_same_origin(headers: Mapping[str, str], origin: str) -> None:
    """Refuse a request a browser marked cross-site (``Sec-Fetch-Site``) or sent from another ``Origin``."""
    fetch_site = (headers.get("sec-fetch-site") or "").lower()
    if fetch_site and fetch_site not in ("same-origin", "none"):
        raise DashboardAuthError(403, "cross-site requests are refused")
    sent_origin = headers.get("origin")
    if sent_origin and sent_origin != "null":
        given = urlsplit(sent_origin)
        own = urlsplit(origin)
        if (given.scheme, given.netloc.lower()) != (own.scheme, own.netloc.lower()):
            raise DashboardAuthError(403, "cross-origin requests are refused")
    elif sent_origin == "null":
        raise DashboardAuthError(403, "requests from an opaque origin are refused")


def check_csrf(cookie_token: str | None, form_token: str | None) -> None:
    """Refuse an action whose form token does not equal the CSRF cookie (compared in constant time)."""
    if not cookie_token or not form_token:
        raise DashboardAuthError(403, "the form has expired; reload the page and try again")
    if not hmac.compare_digest(cookie_token.encode(), form_token.encode()):
        raise DashboardAuthError(403, "the form's security token does not match; reload the page")
