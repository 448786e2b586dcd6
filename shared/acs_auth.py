"""Authentication of ACS Call Automation mid-call callbacks.

ACS signs every callback it posts with a JWT in ``Authorization: Bearer`` (RS256, a fresh token per event,
valid for five minutes). Its OpenID configuration names the issuer and the JWKS that holds the signing keys;
the audience is the ACS resource's immutable id. :class:`CallbackTokenValidator` checks all four (signature,
issuer, audience, expiry) with PyJWT; the JWKS is fetched once per process and fetched again when a token
names a key it does not hold (ACS rotates keys), at most once per :data:`JWKS_REFRESH_INTERVAL_S`, so a flood
of made-up key ids cannot turn into a flood of fetches.

Locally the ACS emulator publishes its own configuration and keys at the same path on its endpoint and signs
its callbacks the same way, so this code runs unchanged with only ``ACS_OPENID_CONFIGURATION_URL`` (or the
ACS endpoint it is derived from) pointing elsewhere.

A second factor travels in the callback URL: a per-interview token, the HMAC of the instance id under
``ACS_CALLBACK_SECRET``. It binds the URL to one interview, so a URL that leaks (URLs end up in logs) is good
for that interview's events only and never reveals the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

from shared.settings import Settings, get_settings

__all__ = [
    "JWKS_REFRESH_INTERVAL_S",
    "CallbackAuthError",
    "CallbackAuthUnavailableError",
    "CallbackTokenValidator",
    "bearer_token",
    "callback_token",
    "callback_token_matches",
    "callback_validator",
    "reset_callback_validator",
    "use_callback_validator",
]

JWKS_REFRESH_INTERVAL_S = 60.0
_ALGORITHMS = ["RS256"]
# Seconds of clock difference tolerated between ACS and this host when checking exp/nbf/iat.
_LEEWAY_S = 30


class CallbackAuthError(Exception):
    """The callback is not authentic (no token, a bad signature, wrong issuer or audience, expired)."""


class CallbackAuthUnavailableError(Exception):
    """The OpenID configuration or the JWKS could not be fetched: the callback cannot be judged right now."""


Fetch = Callable[[str], Any]


def _fetch_json(settings: Settings) -> Fetch:
    def fetch(url: str) -> Any:
        import requests

        try:
            response = requests.get(
                url,
                timeout=(settings.http_connect_timeout_seconds, settings.http_timeout_seconds),
                # The local emulator serves TLS with its own CA; on Azure the system trust store applies.
                verify=settings.ca_bundle or True,
            )
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise CallbackAuthUnavailableError(f"could not fetch {url}: {type(error).__name__}") from error

    return fetch


class CallbackTokenValidator:
    """Validates ACS callback JWTs against one OpenID configuration and one audience."""

    def __init__(
        self,
        configuration_url: str,
        audience: str,
        fetch: Fetch,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configuration_url = configuration_url
        self._audience = audience
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._jwks_uri: str | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None

    def validate(self, token: str) -> dict[str, Any]:
        """Return the token's claims, or raise :class:`CallbackAuthError` / unavailable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise CallbackAuthError(f"malformed token: {error}") from error
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise CallbackAuthError("the token names no signing key (kid)")
        if header.get("alg") not in _ALGORITHMS:
            raise CallbackAuthError(f"unexpected signing algorithm {header.get('alg')!r}")
        key, issuer = self._key_for(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=_ALGORITHMS,
                audience=self._audience,
                issuer=issuer,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise CallbackAuthError(f"{type(error).__name__}: {error}") from error
        return claims

    def _key_for(self, kid: str) -> tuple[jwt.PyJWK, str]:
        with self._lock:
            if self._issuer is None or kid not in self._keys:
                now = self._clock()
                # Refresh on an unknown key (ACS rotated its keys), but not more often than the interval.
                if self._fetched_at is None or now - self._fetched_at >= JWKS_REFRESH_INTERVAL_S:
                    self._refresh()
                    self._fetched_at = now
            key = self._keys.get(kid)
            issuer = self._issuer
        if key is None or issuer is None:
            raise CallbackAuthError(f"the token is signed with an unknown key {kid!r}")
        return key, issuer

    def _refresh(self) -> None:
        configuration = self._fetch(self._configuration_url)
        if not isinstance(configuration, dict):
            raise CallbackAuthUnavailableError("the OpenID configuration is not a JSON object")
        issuer, jwks_uri = configuration.get("issuer"), configuration.get("jwks_uri")
        if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
            raise CallbackAuthUnavailableError("the OpenID configuration lacks issuer or jwks_uri")
        document = self._fetch(jwks_uri)
        try:
            key_set = jwt.PyJWKSet.from_dict(document)
        except jwt.PyJWTError as error:
            raise CallbackAuthUnavailableError(f"the JWKS is unusable: {error}") from error
        self._issuer, self._jwks_uri = issuer, jwks_uri
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}


_validator: CallbackTokenValidator | None = None
_validator_key: tuple[str, str] | None = None
_validator_overridden = False
_validator_lock = threading.Lock()


def callback_validator() -> CallbackTokenValidator:
    """Return the process-wide validator for the configured ACS resource (keys cached across callbacks).

    It is rebuilt when the configured OpenID configuration or audience changes (tests re-point the app).
    """
    global _validator, _validator_key
    settings = get_settings()
    key = (settings.acs_callback_openid_configuration_url, settings.acs_callback_audience)
    with _validator_lock:
        if _validator is None or (not _validator_overridden and _validator_key != key):
            _validator = CallbackTokenValidator(key[0], key[1], _fetch_json(settings))
            _validator_key = key
        return _validator


def use_callback_validator(validator: CallbackTokenValidator) -> None:
    """Use ``validator`` for callbacks until :func:`reset_callback_validator` (tests with their own keys)."""
    global _validator, _validator_overridden
    with _validator_lock:
        _validator = validator
        _validator_overridden = True


def reset_callback_validator() -> None:
    """Forget the validator and its keys; the next callback builds one from the current settings."""
    global _validator, _validator_key, _validator_overridden
    with _validator_lock:
        _validator, _validator_key, _validator_overridden = None, None, False


def bearer_token(authorization: str | None) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def callback_token(instance_id: str) -> str | None:
    """Return the per-interview token of the callback URL, or None when no ``ACS_CALLBACK_SECRET`` is set."""
    secret = get_settings().acs_callback_secret
    if not secret:
        return None
    digest = hmac.new(secret.encode(), f"acs-callback:{instance_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def callback_token_matches(instance_id: str, presented: str | None) -> bool:
    """Return True when ``presented`` is this interview's token (always true when no secret is configured)."""
    expected = callback_token(instance_id)
    if expected is None:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
