"""Function, admin (master) and system keys, generated once into the data dir.

Like ``func start``, devhost does not enforce keys unless asked (``--require-keys``). When it does, the rules
are the Functions host's: ``anonymous`` functions stay open; ``function`` level accepts the default function
key or the master key; ``admin`` level and ``/admin/...`` accept only the master key; extension webhooks
(``/runtime/webhooks/eventgrid``, ``/runtime/webhooks/blobs``, ``/runtime/webhooks/durabletask``) accept that
extension's system key or the master key. A key travels in the ``code`` query parameter or the
``x-functions-key`` header.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

KEYS_FILE = "host_keys.json"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
SYSTEM_KEY_NAMES = ("durabletask_extension", "eventgrid_extension", "blobs_extension")


def _new_key() -> str:
    # Same shape as the host's keys: 40 random bytes, URL-safe base64 without padding, then "==" like Azure.
    return base64.urlsafe_b64encode(secrets.token_bytes(40)).decode("ascii").rstrip("=") + "=="


@dataclass(frozen=True)
class HostKeys:
    """The keys of one data dir."""

    master_key: str
    function_keys: dict[str, str]
    system_keys: dict[str, str]
    path: Path

    @property
    def default_function_key(self) -> str:
        """The ``default`` function key."""
        return self.function_keys["default"]

    def accepts_function_level(self, key: str | None) -> bool:
        """Accept the master key or any function key."""
        return self._matches(key, [self.master_key, *self.function_keys.values()])

    def accepts_admin_level(self, key: str | None) -> bool:
        """Accept only the master key."""
        return self._matches(key, [self.master_key])

    def accepts_system(self, extension: str, key: str | None) -> bool:
        """Accept ``extension``'s system key (e.g. ``eventgrid_extension``) or the master key."""
        candidates = [self.master_key]
        if extension in self.system_keys:
            candidates.append(self.system_keys[extension])
        return self._matches(key, candidates)

    @staticmethod
    def _matches(key: str | None, candidates: list[str]) -> bool:
        if not key:
            return False
        given = key.encode()
        # Compare against every candidate so timing does not tell which one (or whether any) nearly matched.
        results = [hmac.compare_digest(given, candidate.encode()) for candidate in candidates]
        return any(results)


class KeysFileError(ValueError):
    """The keys file exists but is not one devhost wrote; the message says why, never what it holds."""


def _read_keys_file(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        # The parser's message quotes no content, only positions; still, say as little as needed.
        raise KeysFileError(
            f"{path} is not a keys file devhost can read ({type(error).__name__}); remove it to have new "
            "keys generated"
        ) from error
    sections = ("functionKeys", "systemKeys")
    if not isinstance(document, dict) or any(
        not isinstance(document.get(section) or {}, dict) for section in sections
    ):
        raise KeysFileError(
            f"{path} is not a keys file devhost can read (expected masterKey, functionKeys and systemKeys); "
            "remove it to have new keys generated"
        )
    return document


def load_or_create_keys(data_dir: Path) -> HostKeys:
    """Read the keys file of ``data_dir``, creating it (mode 0600) with fresh keys the first time.

    Raises ``KeysFileError`` when the file exists but cannot be read as devhost's keys.
    """
    path = data_dir / KEYS_FILE
    document: dict[str, object] = {}
    if path.is_file():
        document = _read_keys_file(path)
    master = str(document.get("masterKey") or _new_key())
    function_keys = {str(k): str(v) for k, v in dict(document.get("functionKeys") or {}).items()}  # type: ignore[call-overload]
    function_keys.setdefault("default", _new_key())
    system_keys = {str(k): str(v) for k, v in dict(document.get("systemKeys") or {}).items()}  # type: ignore[call-overload]
    for name in SYSTEM_KEY_NAMES:
        system_keys.setdefault(name, _new_key())
    fresh = {"masterKey": master, "functionKeys": function_keys, "systemKeys": system_keys}
    if fresh != document:
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(fresh, handle, indent=2)
        os.replace(temporary, path)
    return HostKeys(master_key=master, function_keys=function_keys, system_keys=system_keys, path=path)


def request_key(request: web.Request) -> str | None:
    """Return the key a request presents: the ``code`` query parameter, else ``x-functions-key``."""
    return request.query.get(KEY_QUERY) or request.headers.get(KEY_HEADER)
