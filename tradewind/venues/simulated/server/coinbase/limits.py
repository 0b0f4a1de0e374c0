"""Coinbase Advanced Trade's published REST rate limits, enforced per key.

Coinbase: private endpoints allow 30 requests per second per user, public endpoints 10
requests per second per IP address; over the limit a request is answered 429. Counted
here in a sliding one-second window (the last second's requests), keyed by the account
for private routes and by the client address for public ones. Pure: time comes in.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

WINDOW_MS = 1000


@dataclass(frozen=True)
class CoinbaseRateLimits:
    """Requests per second: `private_per_s` per user (account), `public_per_s` per IP."""

    private_per_s: int = 30
    public_per_s: int = 10


COINBASE_RATE_LIMITS = CoinbaseRateLimits()


@dataclass
class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window_ms`; `refusals` counts refusals."""

    limit: int
    window_ms: int = WINDOW_MS
    refusals: int = 0
    _times: dict[str, deque[int]] = field(default_factory=dict)

    def admit(self, key: str, now_ms: int) -> int | None:
        """Count a request of `key`; None if admitted, else the seconds (at least 1)
        until it would be."""
        times = self._times.setdefault(key, deque())
        while times and times[0] <= now_ms - self.window_ms:
            times.popleft()
        if len(times) >= self.limit:
            self.refusals += 1
            wait_ms = times[0] + self.window_ms - now_ms
            return max(1, math.ceil(wait_ms / 1000))
        times.append(now_ms)
        return None


@dataclass
class CoinbaseLimiters:
    """The limiters of one venue; `limits` None lifts them (`--unlimited`).
    `ws_refusals` counts what its WebSocket refused for rate (connections and
    unauthenticated messages over their limits, `coinbase.streams`)."""

    limits: CoinbaseRateLimits | None = COINBASE_RATE_LIMITS
    private: SlidingWindowLimiter | None = field(init=False)
    public: SlidingWindowLimiter | None = field(init=False)
    ws_refusals: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        limits = self.limits
        self.private = None if limits is None else SlidingWindowLimiter(limits.private_per_s)
        self.public = None if limits is None else SlidingWindowLimiter(limits.public_per_s)

    @property
    def refusals(self) -> int:
        """Every request refused for rate: REST (per user, per IP) and WebSocket."""
        limiters = (self.private, self.public)
        return sum(lim.refusals for lim in limiters if lim is not None) + self.ws_refusals
