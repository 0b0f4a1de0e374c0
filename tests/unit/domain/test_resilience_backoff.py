"""Backoff and is_transient: only what may succeed again is retried, never sooner than
the venue asked, and the jittered waits stay within [0, cap]."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.backoff import Backoff, is_transient
from tradewind.errors import (
    AuthenticationFailed,
    ConfigError,
    InsufficientFunds,
    OrderRejectedByVenue,
    RateLimited,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

TRANSIENT = [
    VenueUnavailable("binance", "503 Service Unavailable"),
    RateLimited("binance", "429 Too Many Requests", retry_after_s=3.0),
    TimeoutError("read timed out"),
    ConnectionResetError("connection reset by peer"),
]
PERMANENT = [
    OrderRejectedByVenue("binance", "Filter failure: NOTIONAL", code=-1013),
    InsufficientFunds("binance", "Account has insufficient balance", code=-2010),
    AuthenticationFailed("binance", "Invalid API-key"),
    UnknownOrder("binance", "Order does not exist."),
    VenueError("binance", "something we do not know"),
    ConfigError("TRADEWIND_VENUE", "missing"),
    ValueError("a bug"),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_unavailable_rate_limited_and_network_errors_are_transient(exc: Exception) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_refusals_auth_failures_unknown_orders_and_bugs_are_not_transient(
    exc: Exception,
) -> None:
    assert not is_transient(exc)
    assert Backoff().retry_delay_s(exc, 1) is None


def test_rate_limited_waits_the_venues_retry_after_even_above_the_cap() -> None:
    backoff = Backoff(base_s=0.1, cap_s=5.0)
    assert backoff.retry_delay_s(RateLimited("binance", "slow down", 42.0), 1) == 42.0


def test_it_gives_up_after_max_retries() -> None:
    backoff = Backoff(max_retries=2, rng=random.Random(1))
    error = VenueUnavailable("binance", "timeout")
    assert backoff.retry_delay_s(error, 2) is not None
    assert backoff.retry_delay_s(error, 3) is None


def test_the_same_seed_gives_the_same_delays() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(base_s=0.5, cap_s=30.0, rng=random.Random(seed))
        return [backoff.delay_s(n) for n in range(1, 8)]

    assert delays(7) == delays(7) != delays(8)


def test_the_ceiling_doubles_each_retry_until_the_cap() -> None:
    class Highest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    backoff = Backoff(base_s=1.0, cap_s=10.0, rng=Highest())
    assert [backoff.delay_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_retries_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="numbered from 1"):
        Backoff().delay_s(0)


@settings(max_examples=300, deadline=None)
@given(
    base=st.floats(0.001, 5.0),
    cap=st.floats(0.001, 120.0),
    retry=st.integers(1, 10_000),
    seed=st.integers(0, 2**32),
)
def test_delays_stay_within_zero_and_the_cap(
    base: float, cap: float, retry: int, seed: int
) -> None:
    base = min(base, cap)
    delay = Backoff(base_s=base, cap_s=cap, rng=random.Random(seed)).delay_s(retry)
    assert 0.0 <= delay <= cap
    assert delay <= base * 2 ** min(retry - 1, 62)


def test_a_zero_base_never_waits() -> None:
    backoff = Backoff(base_s=0.0, cap_s=2.0)
    assert [backoff.delay_s(n) for n in range(1, 5)] == [0.0, 0.0, 0.0, 0.0]
