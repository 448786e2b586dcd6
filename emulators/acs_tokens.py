"""How the ACS emulator signs its mid-call callbacks, as ACS Call Automation does.

ACS puts a JWT in ``Authorization: Bearer`` of every callback: RS256, a new token per event, five minutes of
life, ``aud`` = the ACS resource's immutable id, ``iss`` and the signing keys published through an OpenID
configuration at ``/calling/.well-known/acsopenidconfiguration``. The emulator holds its own RSA key pair
(made once per process), publishes its configuration and JWKS at the same paths on its https
endpoint, with its own origin as issuer, and signs each callback delivery, so an app validates emulated
callbacks with exactly the code it uses against ACS.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from emulators.eventgrid_delivery import EventPusher, RetryPolicy

__all__ = [
    "DEFAULT_IMMUTABLE_RESOURCE_ID",
    "JWKS_PATH",
    "OPENID_CONFIGURATION_PATH",
    "TOKEN_LIFETIME",
    "CallbackSigner",
    "SignedCallbackPusher",
    "process_signing_key",
]

OPENID_CONFIGURATION_PATH = "/calling/.well-known/acsopenidconfiguration"
JWKS_PATH = "/calling/keys"
TOKEN_LIFETIME = dt.timedelta(minutes=5)
DEFAULT_IMMUTABLE_RESOURCE_ID = "e3a1a7ed-0000-4000-8000-00000000ac50"
"""The emulated resource's immutable id (the callbacks' audience) unless configured otherwise."""


class CallbackSigner:
    """An RSA key pair, the OpenID configuration and JWKS that publish it, and the tokens it signs."""

    def __init__(self, issuer: str, audience: str, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self._private_key = private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._private_key.public_key()))
        # The key id is the key's own thumbprint, so a new key pair always gets a new id.
        thumbprint = hashlib.sha256(f"{public_jwk['n']}.{public_jwk['e']}".encode()).digest()
        self.key_id = base64.urlsafe_b64encode(thumbprint[:20]).decode().rstrip("=")
        self._public_jwk = {**public_jwk, "kid": self.key_id, "use": "sig", "alg": "RS256"}

    def openid_configuration(self) -> dict[str, Any]:
        """Return the document ACS serves at :data:`OPENID_CONFIGURATION_PATH`."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{self.issuer}{JWKS_PATH}",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
        }

    def jwks(self) -> dict[str, Any]:
        """Return the key set served at :data:`JWKS_PATH`."""
        return {"keys": [self._public_jwk]}

    def token(self, *, now: dt.datetime | None = None, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
        """Sign a callback token for the configured audience, valid from ``now`` for ``lifetime``."""
        issued = now or dt.datetime.now(dt.UTC)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(issued.timestamp()),
            "nbf": int(issued.timestamp()),
            "exp": int((issued + lifetime).timestamp()),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.key_id})


@functools.cache
def process_signing_key() -> rsa.RSAPrivateKey:
    """Return one RSA key per process: making a 2048-bit key costs from 0.1 s to a second on a busy machine.

    Emulators in one process share it; each still signs as its own issuer (its own origin).
    """
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SignedCallbackPusher(EventPusher):
    """Posts CloudEvents callbacks with a fresh signed token in ``Authorization``, with bounded retries."""

    def __init__(self, signer: CallbackSigner, retry: RetryPolicy | None = None) -> None:
        super().__init__(retry)
        self._signer = signer

    async def deliver_cloud_events(self, url: str, events: Sequence[dict[str, Any]]) -> None:
        """POST ``events`` as one JSON array signed for the emulated resource."""
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": f"Bearer {self._signer.token()}",
        }
        await self._post_with_retry(url, json.dumps(list(events)).encode(), headers)
