"""Callbacks signed as ACS signs them, for trigger tests that run without the ACS emulator.

The keys are the emulator's signer (an RSA pair, its OpenID configuration and JWKS); the app's validator is
the real one, fetching those documents through a function that serves them from memory and counts fetches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from emulators.acs_tokens import OPENID_CONFIGURATION_PATH, CallbackSigner
from shared.acs_auth import CallbackTokenValidator
from shared.settings import get_settings

ISSUER = "https://acscallautomation.test"


@dataclass
class CallbackKeys:
    """An ACS-like signer and the validator that trusts it."""

    signer: CallbackSigner
    fetched: list[str] = field(default_factory=list)
    now: float = 0.0

    @classmethod
    def for_settings(cls) -> CallbackKeys:
        return cls(CallbackSigner(ISSUER, get_settings().acs_callback_audience))

    def fetch(self, url: str) -> Any:
        self.fetched.append(url)
        if url == f"{ISSUER}{OPENID_CONFIGURATION_PATH}":
            return self.signer.openid_configuration()
        if url == self.signer.openid_configuration()["jwks_uri"]:
            return self.signer.jwks()
        raise AssertionError(f"unexpected fetch of {url}")

    def validator(self) -> CallbackTokenValidator:
        return CallbackTokenValidator(
            f"{ISSUER}{OPENID_CONFIGURATION_PATH}",
            get_settings().acs_callback_audience,
            self.fetch,
            clock=lambda: self.now,
        )

    def authorization(self, *, now: dt.datetime | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.signer.token(now=now)}"}
