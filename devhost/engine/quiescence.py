"""When skipped time may jump: nothing in flight anywhere in the local stack.

A skipping clock jumps to the next durable timer when nothing could still change what that timer guards.
Inside devhost that means the engine is idle (nothing runnable, no activity running, no commit pending) and
no work counted by the host (a blob trigger run, say) is under way. Outside devhost, services that call back
(a phone call service posting mid-call events, an Event Grid push) say what they still owe at a *quiescence
URL* answering ``{"pending": n}``; devhost asks every such URL before it jumps.

Order matters: the URLs are asked first and the engine's own state is read last, with no await in between
and the jump. A service counts a callback as owed until the host has answered it, and the host answers only
after the callback is in the engine's inbox, so a callback cannot slip between the two readings.

A URL that cannot be read counts as one piece of pending work: devhost cannot prove the service is idle,
and jumping early would fire a deadline before its callback (the fixed quiet period, ``--skip-timers-quiet``,
remains for outside work nobody can observe).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import aiohttp

logger = logging.getLogger("devhost.engine")

# How long the timer loop waits before asking again while outside work is pending: services have no way to
# push "done", so this bounds how late a jump can come after the last callback lands.
DEFAULT_POLL_SECONDS = 0.01
_REQUEST_TIMEOUT_SECONDS = 5.0


class QuiescenceUrlError(ValueError):
    """A quiescence URL that is not an absolute http(s) URL."""


def check_quiescence_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL; raise ``QuiescenceUrlError`` saying why not."""
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise QuiescenceUrlError(f"quiescence URL {url!r} must be an absolute http:// or https:// URL")
    return url


class HostWork:
    """Counters of work the host has taken on and not yet handed to the engine (e.g. blob trigger runs)."""

    def __init__(self) -> None:
        self._counters: list[Callable[[], int]] = []
        self._tracked = 0

    def add_counter(self, counter: Callable[[], int]) -> None:
        """Count ``counter()`` as in-flight work (a service's own bookkeeping, read on the event loop)."""
        self._counters.append(counter)

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count the enclosed block as in-flight work."""
        self._tracked += 1
        try:
            yield
        finally:
            self._tracked -= 1

    def pending(self) -> int:
        """Return how much host work is in flight now."""
        return self._tracked + sum(counter() for counter in self._counters)


class OutsideWork:
    """Asks services outside devhost what they still owe it, at URLs answering ``{"pending": n}``."""

    def __init__(self, urls: Sequence[str], *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        self.urls = tuple(check_quiescence_url(url) for url in urls)
        self.poll_seconds = poll_seconds
        self._session: aiohttp.ClientSession | None = None
        self._warned: set[str] = set()

    async def pending(self) -> int:
        """Return the sum of every URL's pending work (an unreadable URL counts as 1)."""
        if not self.urls:
            return 0
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT_SECONDS)
            )
        counts = await asyncio.gather(*(self._ask(self._session, url) for url in self.urls))
        return sum(counts)

    async def _ask(self, session: aiohttp.ClientSession, url: str) -> int:
        try:
            async with session.get(url) as response:
                body = json.loads(await response.read()) if response.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            self._warn(url, f"cannot be read ({type(error).__name__}: {error})")
            return 1
        pending = body.get("pending") if isinstance(body, dict) else None
        if isinstance(pending, bool) or not isinstance(pending, int) or pending < 0:
            self._warn(url, 'does not answer {"pending": n}')
            return 1
        self._warned.discard(url)
        return pending

    def _warn(self, url: str, problem: str) -> None:
        # Once per stretch of failures: the timer loop asks again every few milliseconds.
        if url not in self._warned:
            self._warned.add(url)
            logger.warning("quiescence URL %s %s; skipped time waits until it answers", url, problem)

    async def close(self) -> None:
        """Close the HTTP session (the engine calls this when it stops)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
