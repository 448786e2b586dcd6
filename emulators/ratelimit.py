"""Per-deployment requests and tokens per minute over a sliding window, as Azure OpenAI limits them."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, and what the rate-limit headers should say."""

    allowed: bool
    retry_after_s: float
    remaining_requests: int
    remaining_tokens: int
    limit: str = ""
    """`token` or `call` when refused: which limit was hit (Azure names it in the message)."""


class SlidingWindowLimiter:
    """Counts requests and tokens admitted in the last `window_s` seconds.

    Azure reserves a request's token estimate when it is admitted, so a request that would push the window
    over the token limit is refused up front; a single request larger than the whole limit is admitted into an
    empty window rather than refused forever.
    """

    def __init__(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.window_s = window_s
        self._clock = clock
        self._admitted: deque[tuple[float, int]] = deque()
        self.admitted_requests = 0
        self.admitted_tokens = 0
        self.refused_requests = 0
        self.first_admitted_at: float | None = None
        self.last_admitted_at: float | None = None

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0][0] <= now - self.window_s:
            self._admitted.popleft()

    def _remaining(self) -> tuple[int, int]:
        used_tokens = sum(tokens for _, tokens in self._admitted)
        requests = (self.requests_per_minute or 1_000_000) - len(self._admitted)
        tokens = (self.tokens_per_minute or 1_000_000_000) - used_tokens
        return max(0, requests), max(0, tokens)

    def try_admit(self, tokens: int) -> RateDecision:
        """Admit a request costing `tokens` if the window has room; otherwise say how long to wait."""
        now = self._clock()
        self._expire(now)
        remaining_requests, remaining_tokens = self._remaining()
        over_requests = self.requests_per_minute is not None and remaining_requests < 1
        over_tokens = self.tokens_per_minute is not None and self._admitted and tokens > remaining_tokens
        if not over_requests and not over_tokens:
            self._admitted.append((now, tokens))
            self.admitted_requests += 1
            self.admitted_tokens += tokens
            if self.first_admitted_at is None:
                self.first_admitted_at = now
            self.last_admitted_at = now
            return RateDecision(True, 0.0, max(0, remaining_requests - 1), max(0, remaining_tokens - tokens))
        # Wait until enough of the oldest admissions leave the window: one frees a request slot, tokens may
        # need several.
        wait_until = now
        freed_tokens = 0
        for admitted_at, admitted_tokens in self._admitted:
            freed_tokens += admitted_tokens
            wait_until = admitted_at + self.window_s
            if not over_tokens or tokens <= remaining_tokens + freed_tokens:
                break
        self.refused_requests += 1
        retry_after = max(0.001, wait_until - now)
        limit = "token" if over_tokens else "call"
        return RateDecision(False, retry_after, remaining_requests, remaining_tokens, limit)

    def usage(self) -> dict[str, Any]:
        """Totals since the limiter was made: what was admitted and refused, and over which span."""
        span = (
            0.0
            if self.first_admitted_at is None or self.last_admitted_at is None
            else self.last_admitted_at - self.first_admitted_at
        )
        return {
            "requests_per_minute": self.requests_per_minute,
            "tokens_per_minute": self.tokens_per_minute,
            "window_s": self.window_s,
            "admitted_requests": self.admitted_requests,
            "admitted_tokens": self.admitted_tokens,
            "refused_requests": self.refused_requests,
            "admitted_span_s": round(span, 6),
        }


def retry_after_headers(decision: RateDecision) -> dict[str, str]:
    """Return the headers Azure OpenAI puts on a 429: whole seconds, milliseconds and what remains."""
    return {
        "retry-after": str(max(1, math.ceil(decision.retry_after_s))),
        "retry-after-ms": str(max(1, math.ceil(decision.retry_after_s * 1000))),
        "x-ratelimit-remaining-requests": str(decision.remaining_requests),
        "x-ratelimit-remaining-tokens": str(decision.remaining_tokens),
    }
