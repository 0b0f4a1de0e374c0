"""Login throttling buckets."""

from __future__ import annotations

from tradewind.gateway.rate_limits import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_rate_then_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(6, clock=clock)  # one per 10 s
    assert [limiter.try_acquire("ip") for _ in range(6)] == [None] * 6
    assert limiter.try_acquire("ip") == 10
    assert limiter.try_acquire("other") is None
    clock.now += 10
    assert limiter.try_acquire("ip") is None
    assert limiter.try_acquire("ip") == 10


def test_memory_stays_bounded_by_forgetting_full_buckets_first() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_keys=100)
    for n in range(100):
        limiter.try_acquire(f"k{n}")
    clock.now += 60  # all refilled
    limiter.try_acquire("newcomer")
    assert len(limiter._buckets) == 1
    for n in range(250):
        limiter.try_acquire(f"busy{n}")
    assert len(limiter._buckets) <= 100
