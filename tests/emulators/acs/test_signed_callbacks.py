"""The emulator signs its callbacks as ACS does, and the app's own validator accepts them.

The validator is the production one (``shared.acs_auth.callback_validator``) configured only by settings:
the local profile derives the OpenID configuration URL from the ACS connection string's endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from azure.communication.callautomation import PhoneNumberIdentifier

from emulators.acs_tokens import DEFAULT_IMMUTABLE_RESOURCE_ID, JWKS_PATH, OPENID_CONFIGURATION_PATH
from emulators.tls import TlsMaterial
from shared.acs_auth import CallbackAuthError, callback_validator, reset_callback_validator
from shared.settings import reset_settings, setting_keys
from tests.emulators.acs.harness import RunningAcs, running_acs
from tests.emulators.acs.test_calls import WELL, client_for, place_call, wait_for_event


def _point_app_at(acs: RunningAcs, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for key in setting_keys():
        monkeypatch.delenv(key, raising=False)
    settings = {
        "HIREFLOW_PROFILE": "local",
        "ACS_CONNECTION_STRING": acs.connection_string,
        "CA_BUNDLE": acs.ca,
        **extra,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    reset_callback_validator()


@pytest.fixture(autouse=True)
def _fresh_validator() -> Iterator[None]:
    yield
    reset_callback_validator()
    reset_settings()


def _callback_tokens(acs: RunningAcs) -> list[str]:
    with acs.receiver.lock:
        return [header.removeprefix("Bearer ") for header in acs.receiver.callback_authorizations]


def test_emulator_signed_callbacks_are_accepted_by_the_apps_validator(
    acs: RunningAcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_app_at(acs, monkeypatch)
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    tokens = _callback_tokens(acs)
    assert tokens
    assert all(tokens)
    claims = callback_validator().validate(tokens[0])
    assert claims["aud"] == DEFAULT_IMMUTABLE_RESOURCE_ID
    assert claims["iss"] == acs.emulator.signer.issuer
    assert claims["exp"] - claims["iat"] == 300  # five minutes, as ACS documents


def test_openid_configuration_and_keys_are_published_at_acs_paths(acs: RunningAcs) -> None:
    base = acs.emulator.signer.issuer
    configuration = requests.get(f"{base}{OPENID_CONFIGURATION_PATH}", verify=acs.ca, timeout=10).json()
    assert configuration["issuer"] == base
    assert configuration["jwks_uri"] == f"{base}{JWKS_PATH}"
    keys = requests.get(configuration["jwks_uri"], verify=acs.ca, timeout=10).json()["keys"]
    assert [(key["kty"], key["alg"], key["kid"]) for key in keys] == [
        ("RSA", "RS256", acs.emulator.signer.key_id)
    ]
    assert "d" not in keys[0]  # public half only
    assert acs.emulator.app_settings() == {
        "ACS_IMMUTABLE_RESOURCE_ID": DEFAULT_IMMUTABLE_RESOURCE_ID,
        "ACS_OPENID_CONFIGURATION_URL": f"{base}{OPENID_CONFIGURATION_PATH}",
    }


def test_every_callback_gets_a_fresh_token(acs: RunningAcs) -> None:
    call_id = place_call(acs, PhoneNumberIdentifier(WELL))
    wait_for_event(acs, call_id, "CallConnected")
    client_for(acs).get_call_connection(call_id).hang_up(is_for_everyone=True)
    wait_for_event(acs, call_id, "CallDisconnected")
    tokens = _callback_tokens(acs)
    assert len(tokens) >= 2
    ids = [jwt.decode(token, options={"verify_signature": False})["jti"] for token in tokens]
    assert len(set(ids)) == len(ids)


def test_the_configured_immutable_id_is_the_audience(
    tls_material: TlsMaterial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource_id = "7d2e6c55-1f3a-4b8e-9c0d-2a4b6c8e0f13"
    with running_acs(tls_material, tmp_path, immutable_resource_id=resource_id) as acs:
        call_id = place_call(acs, PhoneNumberIdentifier(WELL))
        wait_for_event(acs, call_id, "CallConnected")
        token = _callback_tokens(acs)[0]
        # An app configured for another resource refuses the token ...
        _point_app_at(acs, monkeypatch)
        with pytest.raises(CallbackAuthError, match="InvalidAudienceError"):
            callback_validator().validate(token)
        # ... and one configured for this resource accepts it.
        _point_app_at(acs, monkeypatch, ACS_IMMUTABLE_RESOURCE_ID=resource_id)
        assert callback_validator().validate(token)["aud"] == resource_id
        assert acs.emulator.app_settings()["ACS_IMMUTABLE_RESOURCE_ID"] == resource_id


def test_the_local_profile_expects_the_emulators_default_audience() -> None:
    # The app cannot import the emulators at run time; the two constants must agree instead.
    from shared.settings import EMULATED_ACS_IMMUTABLE_RESOURCE_ID

    assert EMULATED_ACS_IMMUTABLE_RESOURCE_ID == DEFAULT_IMMUTABLE_RESOURCE_ID
