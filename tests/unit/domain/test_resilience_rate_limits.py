"""TokenBucket and WeightLimiter: exact limits, waits that are neither early nor late,
and no request into a back-off."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.rate_limits import RateWindow, TokenBucket, WeightLimiter, reserve_together
from tradewind.venues.binance.limits import ip_windows, order_windows

S = 1_000_000_000  # ns per second
MINUTE_START = 1_700_000_040 * S  # a whole minute since the epoch (divisible by 60 s)


def weight_per_minute(limit: int = 6000, margin_s: float = 0.5) -> WeightLimiter:
    window = RateWindow("REQUEST_WEIGHT 1m", limit, 60, header="X-MBX-USED-WEIGHT-1M")
    return WeightLimiter([window], boundary_margin_s=margin_s)


# -- TokenBucket -----------------------------------------------------------------------


def test_bucket_starts_full_and_refuses_past_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=2, burst=3)
    assert [bucket.try_take(1, 0) for _ in range(4)] == [True, True, True, False]
    assert bucket.available(0) == 0


def test_bucket_refills_at_its_rate_and_says_exactly_how_long_to_wait() -> None:
    bucket = TokenBucket(rate_per_s=4, burst=2)
    assert bucket.try_take(2, 0)
    assert bucket.wait_time(1, 0) == 0.25
    assert not bucket.try_take(1, S // 4 - 1)
    assert bucket.try_take(1, S // 4)
    assert bucket.wait_time(2, S // 4) == 0.5


def test_bucket_refills_no_further_than_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=5)
    assert bucket.try_take(5, 0)
    assert bucket.available(3600 * S) == 5
    assert bucket.try_take(5, 3600 * S)
    assert not bucket.try_take(1, 3600 * S)


def test_a_clock_stepping_back_credits_no_tokens() -> None:
    bucket = TokenBucket(rate_per_s=1, burst=1)
    assert bucket.try_take(1, 10 * S)
    assert not bucket.try_take(1, 5 * S)
    assert bucket.wait_time(1, 5 * S) == 6.0


def test_bucket_refuses_a_take_larger_than_it_can_ever_hold() -> None:
    with pytest.raises(ValueError, match="cannot take 3 tokens from a bucket of 2"):
        TokenBucket(rate_per_s=1, burst=2).wait_time(3, 0)


@settings(max_examples=150, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 3.0, 7.5, 100.0]),
    burst=st.integers(1, 5),
    steps=st.lists(st.tuples(st.integers(0, 2 * S), st.integers(1, 5)), max_size=60),
)
def test_bucket_never_lets_more_through_than_burst_plus_rate_times_time(
    rate: float, burst: int, steps: list[tuple[int, int]]
) -> None:
    bucket, now, taken = TokenBucket(rate, burst), 0, []
    for gap, n in steps:
        now += gap
        if n <= burst and bucket.try_take(n, now):
            taken.append((now, n))
    for i, (start, _) in enumerate(taken):
        total = 0
        for end, n in taken[i:]:
            total += n
            assert total <= burst + rate * (end - start) / S


# -- WeightLimiter ---------------------------------------------------------------------


def test_limiter_lets_the_whole_limit_through_then_waits_for_the_next_window() -> None:
    limiter = weight_per_minute(limit=100)
    now = MINUTE_START + 10 * S
    assert [limiter.reserve(20, now) for _ in range(5)] == [0.0] * 5
    # The next window starts in 50 s; the request must land clear of the boundary margin.
    assert limiter.reserve(1, now) == 50.5
    assert limiter.reserve(1, now + 50 * S) == 0.5
    assert limiter.reserve(1, now + 50 * S + S // 2) == 0.0


def test_a_wait_counts_nothing_so_oversleeping_cannot_overrun() -> None:
    limiter = weight_per_minute(limit=10)
    now = MINUTE_START + S
    assert limiter.reserve(10, now) == 0.0
    delay = limiter.reserve(10, now)
    assert delay == 59.5
    assert limiter.wait_time(10, now) == delay  # asking again books nothing either
    late = now + round(delay * S) + 30 * S
    assert limiter.reserve(10, late) == 0.0
    assert limiter.reserve(1, late) > 0


def test_a_request_near_a_window_boundary_counts_in_both_windows() -> None:
    limiter = weight_per_minute(limit=10, margin_s=0.5)
    assert limiter.reserve(6, MINUTE_START + 60 * S - S // 4) == 0.0
    # It may land in either minute at the venue, so both have only 4 left.
    assert limiter.wait_time(5, MINUTE_START + 59 * S) > 0
    assert limiter.wait_time(4, MINUTE_START + 59 * S) == 0
    assert limiter.wait_time(5, MINUTE_START + 61 * S) > 0
    assert limiter.wait_time(4, MINUTE_START + 61 * S) == 0


def test_after_a_429_nothing_is_sent_until_retry_after_has_passed() -> None:
    limiter = weight_per_minute()
    now = MINUTE_START + S
    assert limiter.reserve(1, now) == 0.0
    limiter.penalise(retry_after_s=7, now_ns=now)
    assert limiter.reserve(1, now) == 7.0
    assert limiter.reserve(1, now + 7 * S - 1) > 0
    assert limiter.reserve(1, now + 7 * S) == 0.0
    assert limiter.blocked_until_ns == now + 7 * S


def test_a_shorter_retry_after_never_shortens_a_ban() -> None:
    limiter = weight_per_minute()
    limiter.penalise(120, MINUTE_START)
    limiter.penalise(1, MINUTE_START)
    assert limiter.wait_time(1, MINUTE_START) == 120.0


def test_usage_headers_raise_the_count_but_never_lower_it() -> None:
    limiter = weight_per_minute(limit=6000)
    now = MINUTE_START + S
    assert limiter.reserve(100, now) == 0.0
    limiter.observe_headers({"x-mbx-used-weight-1m": "5990", "Date": "whenever"}, now)
    assert limiter.reserve(11, now) > 0
    assert limiter.reserve(10, now) == 0.0
    limiter.observe_headers({"X-MBX-USED-WEIGHT-1M": "12"}, now)  # stale or partial
    assert limiter.reserve(1, now) > 0
    limiter.observe_headers({"X-MBX-USED-WEIGHT-1M": "not a number"}, now)


def test_observing_an_unknown_window_is_an_error() -> None:
    with pytest.raises(KeyError, match="no rate window named 'ORDERS 10s'"):
        weight_per_minute().observe_used("ORDERS 10s", 1, MINUTE_START)


def test_request_count_windows_count_one_per_request_whatever_the_weight() -> None:
    limiter = WeightLimiter(
        [RateWindow("weight", 1000, 60), RateWindow("requests", 2, 60, counts_requests=True)]
    )
    now = MINUTE_START + S
    assert limiter.reserve(300, now) == 0.0
    assert limiter.reserve(300, now) == 0.0
    assert limiter.reserve(1, now) > 0  # the weight fits; the request count does not


def test_a_request_that_can_never_fit_is_refused_outright() -> None:
    with pytest.raises(ValueError, match="weight 6001 can never fit REQUEST_WEIGHT 1m"):
        weight_per_minute().reserve(6001, MINUTE_START)


def test_margin_must_leave_room_inside_every_window() -> None:
    with pytest.raises(ValueError, match="under half of w's 1 s"):
        WeightLimiter([RateWindow("w", 1, 1)], boundary_margin_s=0.5)


def test_reserve_together_counts_in_all_limiters_or_in_none() -> None:
    ip = WeightLimiter(ip_windows())
    account = WeightLimiter(order_windows())
    now = MINUTE_START + S
    account.observe_headers({"X-MBX-ORDER-COUNT-10S": "100"}, now)
    assert reserve_together([(ip, 1), (account, 1)], now) == 9.5
    assert ip.wait_time(6000, now) == 0  # the IP's weight was not spent on it
    assert reserve_together([(ip, 1), (account, 1)], now + 10 * S) == 0.0
    assert ip.wait_time(6000, now + 10 * S) > 0


WINDOWS = (
    RateWindow("weight 1s", 20, 1),
    RateWindow("weight 5s", 50, 5),
    RateWindow("requests 2s", 8, 2, counts_requests=True),
)
MARGIN_NS = 100_000_000

step = st.one_of(
    st.tuples(st.just("request"), st.integers(0, 600_000_000), st.integers(0, 20)),
    st.tuples(st.just("wait as told"), st.just(0), st.integers(0, 20)),
    st.tuples(st.just("header"), st.integers(0, 300_000_000), st.integers(0, 60)),
    st.tuples(st.just("429"), st.integers(0, 300_000_000), st.integers(1, 3)),
)


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 10 * S), steps=st.lists(step, max_size=80))
def test_random_request_sequences_never_exceed_any_window_nor_send_into_a_back_off(
    start: int, steps: list[tuple[str, int, int]]
) -> None:
    limiter = WeightLimiter(WINDOWS, boundary_margin_s=MARGIN_NS / S)
    now = MINUTE_START + start
    sent: list[tuple[int, int]] = []  # (sent at, weight)
    back_offs: list[tuple[int, int, int]] = []  # (requests sent before it, from, until)
    for action, gap, value in steps:
        now += gap
        if action == "header":
            limiter.observe_used("weight 1s", value, now)
        elif action == "429":
            limiter.penalise(value, now)
            back_offs.append((len(sent), now, now + value * S))
        else:
            delay = limiter.reserve(value, now)
            if delay > 0 and action == "wait as told":
                now += round(delay * S)
                # Nothing else happened meanwhile, so the request must go now.
                delay = limiter.reserve(value, now)
                assert delay == 0.0
            if delay == 0.0:
                sent.append((now, value))
    for sent_before, begin, end in back_offs:
        assert all(not begin <= at < end for at, _ in sent[sent_before:])
    for window in WINDOWS:
        interval = window.interval_s * S
        used: dict[int, int] = defaultdict(int)
        for at, weight in sent:
            # At the venue it lands anywhere within the margin of when it was sent.
            for index in {(at - MARGIN_NS) // interval, (at + MARGIN_NS) // interval}:
                used[index] += window.cost(weight)
        assert max(used.values(), default=0) <= window.limit, window.name


def test_a_request_that_keeps_a_share_free_fits_only_below_it() -> None:
    limiter = WeightLimiter([RateWindow("W", 100, 60)], boundary_margin_s=0)
    now = MINUTE_START + S
    for _ in range(75):
        assert limiter.reserve(1, now, keep=0.25) == 0.0
    assert limiter.reserve(1, now, keep=0.25) > 0  # the last quarter is kept
    for _ in range(25):
        assert limiter.reserve(1, now) == 0.0  # for requests that keep nothing
    assert limiter.reserve(1, now) > 0
    # A request larger than what keeping leaves still fits an empty window.
    big = WeightLimiter([RateWindow("W", 100, 60)], boundary_margin_s=0)
    assert big.reserve(90, now, keep=0.5) == 0.0
    with pytest.raises(ValueError, match="keep"):
        big.reserve(1, now, keep=1.0)


def test_a_usage_report_just_after_a_window_began_is_not_taken_for_the_new_windows() -> None:
    """Within the boundary margin after a minute began, a report may be the last minute's
    count (answered before the boundary): taken as the new minute's it would hold the
    whole minute as spent. Past the margin it counts."""
    limiter = weight_per_minute(limit=6000)
    just_after = MINUTE_START + S // 10  # 0.1 s into the minute: within the 0.5 s margin
    limiter.observe_headers({"X-MBX-USED-WEIGHT-1M": "5990"}, just_after)
    assert limiter.wait_time(100, just_after) == 0.0
    later = MINUTE_START + S
    limiter.observe_headers({"X-MBX-USED-WEIGHT-1M": "5990"}, later)
    assert limiter.wait_time(100, later) > 0
