"""The sliding one-second window behind Coinbase's per-user and per-IP limits."""

from __future__ import annotations

from tradewind.venues.simulated.server.coinbase.limits import (
    CoinbaseLimiters,
    CoinbaseRateLimits,
    SlidingWindowLimiter,
)


def test_the_limit_admits_that_many_in_any_second_then_refuses() -> None:
    limiter = SlidingWindowLimiter(limit=3)
    assert [limiter.admit("a", t) for t in (0, 100, 200)] == [None, None, None]
    assert limiter.admit("a", 300) == 1  # the 4th within a second: wait (at least 1 s)
    assert limiter.admit("b", 300) is None  # another key has its own budget
    assert limiter.admit("a", 1000) is None  # the request at 0 left the window
    assert limiter.admit("a", 1050) is not None
    assert limiter.refusals == 2


def test_a_refused_request_does_not_use_the_budget() -> None:
    limiter = SlidingWindowLimiter(limit=1)
    assert limiter.admit("a", 0) is None
    for t in range(100, 1000, 100):
        assert limiter.admit("a", t) is not None
    assert limiter.admit("a", 1000) is None


def test_coinbase_publishes_30_private_and_10_public_requests_a_second() -> None:
    limits = CoinbaseRateLimits()
    assert (limits.private_per_s, limits.public_per_s) == (30, 10)
    unlimited = CoinbaseLimiters(None)
    assert unlimited.private is None and unlimited.public is None and unlimited.refusals == 0
