"""Token buckets by key, in this process: login attempts and token refreshes per source,
login attempts per (address, source), and the budgets of authenticated callers
(`deps.RequestPolicy`).

A bucket holds `per_minute` attempts and refills continuously; an attempt on an empty
bucket is refused with the seconds to wait. For logins this is the fast first line
against password guessing and argon2 CPU exhaustion; the lasting one is the growing
wait per (address, source) in the database (`store/login_failures`), which every
gateway instance shares. Several gateway instances each allow `per_minute` (a
Redis-backed limiter via the cache port would make it global).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key; `clock` is monotonic seconds (injectable for tests)."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self._capacity = float(per_minute)
        self._refill_per_s = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def try_acquire(self, key: str) -> float | None:
        """Take one attempt for `key`: None if allowed, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._capacity, now)
        else:
            bucket.tokens = min(
                self._capacity, bucket.tokens + (now - bucket.updated) * self._refill_per_s
            )
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1.0, math.ceil((1.0 - bucket.tokens) / self._refill_per_s))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold nothing worth remembering); if
        every one is in use, drop the oldest half so memory stays bounded."""
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._refill_per_s >= self._capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self._max_keys:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in oldest[: len(oldest) // 2]:
                del self._buckets[key]
