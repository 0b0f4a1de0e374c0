"""Retries: which errors are worth retrying, and how long to wait before each retry
(exponential backoff with full jitter, so that many clients failing together do not
retry together). Pure: the random source is injected; waits are seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tradewind.errors import RateLimited, VenueUnavailable

# Past this exponent base_s * 2**n exceeds any sensible cap; stops float overflow.
_MAX_EXPONENT = 62


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same call again may succeed.

    Transient: `VenueUnavailable` (timeout, 5xx, lost connection, clock skew),
    `RateLimited` (after its `retry_after_s`), and the builtin `TimeoutError` and
    `ConnectionError` that our own timeouts and sockets raise. Everything else is not: a
    refused order (`OrderRejectedByVenue`, `InsufficientFunds`), `AuthenticationFailed`,
    `UnknownOrder`, and errors we do not know, which a retry would only repeat.

    Retrying an order placement is safe only because its client order id is derived
    from the intent: a resend of an order that did reach the venue is refused as a
    duplicate instead of trading twice.
    """
    return isinstance(exc, VenueUnavailable | RateLimited | TimeoutError | ConnectionError)


@dataclass
class Backoff:
    """Waits before retries: retry `n` (1 = the first) waits a uniformly random time in
    [0, min(cap_s, base_s * 2**(n-1))] seconds ("full jitter"); a `base_s` of 0 never
    waits. `max_retries` bounds the retries (`retry_delay_s`); `rng` is injectable for
    reproducible tests."""

    base_s: float = 0.1
    cap_s: float = 10.0
    max_retries: int = 5
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not 0 <= self.base_s <= self.cap_s:
            raise ValueError(f"need 0 <= base_s <= cap_s, got {self.base_s} and {self.cap_s}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {self.max_retries}")

    def delay_s(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based), within [0, cap_s]."""
        if retry < 1:
            raise ValueError(f"retries are numbered from 1, got {retry}")
        ceiling = min(self.cap_s, self.base_s * 2 ** min(retry - 1, _MAX_EXPONENT))
        return min(self.cap_s, self.rng.uniform(0.0, ceiling))

    def retry_delay_s(self, exc: BaseException, retry: int) -> float | None:
        """Seconds to wait before retry number `retry` (1-based) after `exc`, or None to
        give up: `exc` is not transient, or `max_retries` is used up. After `RateLimited`
        it is the venue's `retry_after_s`, even above `cap_s`: retrying sooner would only
        earn a ban."""
        if retry > self.max_retries or not is_transient(exc):
            return None
        if isinstance(exc, RateLimited):
            return max(0.0, exc.retry_after_s)
        return self.delay_s(retry)
