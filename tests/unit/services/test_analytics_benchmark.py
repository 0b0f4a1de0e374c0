"""The benchmark's minute returns from bars (a minute without a bar is flat, one venue
followed), and each account's beta and correlation against it over the minutes both
have."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from tradewind.domain import performance
from tradewind.domain.events import Bar
from tradewind.domain.model import Instrument
from tradewind.domain.performance import PeriodReturn, return_arrays
from tradewind.services.analytics.benchmark import (
    MIN_PAIRED_MINUTES,
    Benchmark,
    BenchmarkRound,
    LastPrices,
    beta_and_correlation,
    exposure,
)
from tradewind.services.analytics.tracker import AccountSeries

MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000  # a whole minute


def btc_bar(minute: int, second: int, close: str, venue: str = "sim", interval_s: int = 5) -> Bar:
    price = Decimal(close)
    return Bar(
        instrument=Instrument(venue, "BTC/USDT", "BTC", "USDT"), interval_s=interval_s,
        open_ns=T0 + minute * MINUTE_NS + second * 1_000_000_000, open=price, high=price,
        low=price, close=price, volume=Decimal(1),
    )  # fmt: skip


def test_minute_returns_from_the_last_price_of_each_minute_flat_without_a_bar() -> None:
    benchmark = Benchmark("BTC/USDT", keep_minutes=60)
    benchmark.add_bar(btc_bar(0, 0, "100"))
    benchmark.add_bar(btc_bar(0, 50, "110"))  # the minute's last price
    benchmark.add_bar(btc_bar(0, 50, "1", venue="other"))  # another venue: ignored
    benchmark.add_bar(btc_bar(1, 10, "121"))
    benchmark.add_bar(btc_bar(3, 0, "99.22"))  # minute 2 had no bar: flat
    minute0 = T0 // MINUTE_NS
    returns = benchmark.returns().returns
    assert minute0 not in returns  # the base: no minute before it
    assert returns[minute0 + 1] == pytest.approx(121 / 110 - 1)
    assert returns[minute0 + 2] == 0.0
    assert returns[minute0 + 3] == pytest.approx(99.22 / 121 - 1)  # the open minute so far


def test_an_account_twice_as_volatile_as_the_benchmark_has_beta_2_and_correlation_1() -> None:
    benchmark = Benchmark("BTC/USDT", keep_minutes=600)
    account = AccountSeries("a1", keep_minutes=600)
    price, equity = 100.0, Decimal(1000)
    for minute in range(MIN_PAIRED_MINUTES + 5):
        move = 0.01 if minute % 3 else -0.015
        price *= 1 + move
        benchmark.add_bar(btc_bar(minute, 55, f"{price:.8f}"))
        equity = (equity * Decimal(1 + 2 * move)).quantize(Decimal("0.00000001"))
        realized = equity - 1000  # the same money: every change is PnL
        account.add(T0 + minute * MINUTE_NS + 59 * 10**9, "USDT", equity, realized,
                    Decimal(0), Decimal(0))  # fmt: skip
    figures = account.analytics(T0 + 40 * MINUTE_NS, benchmark.returns(), "BTC/USDT")
    assert figures is not None and figures.benchmark == "BTC/USDT"
    assert figures.beta == pytest.approx(2.0, rel=1e-4)
    assert figures.correlation == pytest.approx(1.0, rel=1e-4)


def test_the_benchmark_window_kept_for_a_round_gives_what_pairing_each_account_gives() -> None:
    rng = random.Random(3)
    first = T0 // MINUTE_NS
    full = {first + m: rng.gauss(0, 0.001) for m in range(200)}
    returns = [
        PeriodReturn((first + m) * MINUTE_NS + 5, rng.gauss(0, 0.002)) for m in range(50, 150)
    ]
    expected = performance.beta_and_correlation(
        [p.value for p in returns], [full[first + m] for m in range(50, 150)]
    )
    shared = BenchmarkRound(full)
    assert beta_and_correlation(*return_arrays(returns), shared) == expected
    assert beta_and_correlation(*return_arrays(returns), shared) == expected  # the window kept
    # A minute the benchmark lacks: paired minute by minute over those both have.
    holed = BenchmarkRound({k: v for k, v in full.items() if k != first + 60})
    kept = [p for p in returns if p.ts_ns // MINUTE_NS != first + 60]
    assert beta_and_correlation(*return_arrays(returns), holed) == performance.beta_and_correlation(
        [p.value for p in kept], [full[p.ts_ns // MINUTE_NS] for p in kept]
    )


def test_an_account_older_than_the_benchmark_is_paired_over_the_minutes_both_have() -> None:
    """After a start, an account's day is read back but the benchmark has only the
    minutes since: over the run of minutes both have, the figures are the pairing's, to
    the last bit (that run's window is kept for the round, not paired minute by minute
    for each account)."""
    rng = random.Random(4)
    first = T0 // MINUTE_NS
    returns = [PeriodReturn((first + m) * MINUTE_NS + 5, rng.gauss(0, 0.002)) for m in range(200)]
    for since, until in (
        (first + 37, first + 400),
        (first - 5, first + 150),
        (first + 20, first + 90),
    ):
        later = BenchmarkRound({m: rng.gauss(0, 0.001) for m in range(since, until)})
        assert later.span == (since, until - 1)
        both = [p for p in returns if p.ts_ns // MINUTE_NS in later.returns]
        expected = performance.beta_and_correlation(
            [p.value for p in both], [later.returns[p.ts_ns // MINUTE_NS] for p in both]
        )
        assert expected != (None, None)
        assert beta_and_correlation(*return_arrays(returns), later) == expected
    too_late = BenchmarkRound({first + 200 - MIN_PAIRED_MINUTES + 1 + m: 0.001 for m in range(50)})
    assert beta_and_correlation(*return_arrays(returns), too_late) == (None, None)


def test_too_few_minutes_in_common_give_no_beta() -> None:
    few = [PeriodReturn(T0 + m * MINUTE_NS, 0.01 * m) for m in range(MIN_PAIRED_MINUTES - 1)]
    benchmark = BenchmarkRound({T0 // MINUTE_NS + m: 0.02 * m for m in range(100)})
    assert beta_and_correlation(*return_arrays(few), benchmark) == (None, None)


def test_exposure_is_each_assets_share_of_the_holdings_valued_at_the_last_prices() -> None:
    prices = LastPrices()
    eth = Instrument("sim", "ETH/USDT", "ETH", "USDT")
    for venue, close in (("sim", "2000"), ("other", "1")):  # the first venue's price
        price = Decimal(close)
        prices.add_bar(
            Bar(instrument=Instrument(venue, "ETH/USDT", "ETH", "USDT"), interval_s=5, open_ns=T0,
                open=price, high=price, low=price, close=price, volume=Decimal(1))
        )  # fmt: skip
    assert eth.symbol == "ETH/USDT" and prices.price("ETH/USDT") == 2000.0
    balances = {"USDT": Decimal(500), "ETH": Decimal("0.25"), "XYZ": Decimal(7), "BTC": Decimal(0)}
    shares, concentration = exposure(balances, "USDT", prices)
    assert shares == {"ETH": 0.5, "USDT": 0.5}  # XYZ has no price: left out
    assert concentration == 0.5
    assert exposure({}, "USDT", prices) == ({}, None)
