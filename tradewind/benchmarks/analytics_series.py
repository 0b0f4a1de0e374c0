"""Accounts with a full window of valuations, for the analytics benchmarks
(`bench/analytics.py`, `bench/tick_to_order.py --analytics-accounts`, and recorded in
the database by `bench/analytics_round.py`)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from tradewind.domain.time_units import NS_PER_MINUTE, NS_PER_S
from tradewind.services.analytics.benchmark import BenchmarkRound
from tradewind.services.analytics.tracker import AccountSeries

T0 = 1_800_000_000 * NS_PER_S


def filled(accounts: int, minutes: int, rng: random.Random) -> list[AccountSeries]:
    out = []
    for n in range(accounts):
        series = AccountSeries(f"acct-{n}", minutes)
        for minute, equity, realized, traded in valuations(minutes, rng):
            at_ns = T0 + minute * NS_PER_MINUTE
            series.add(at_ns, "USDT", equity, realized, Decimal(0), Decimal(0), traded)
        out.append(series)
    return out


def valuations(minutes: int, rng: random.Random) -> Iterator[tuple[int, Decimal, Decimal, Decimal]]:
    """One account's valuation a minute, (minute, equity, realised PnL, cumulative
    traded): a random PnL and a trade each minute, a deposit of 100 every 600 minutes
    (which the time-weighted return leaves out)."""
    realized, deposits, traded = Decimal(0), Decimal(1000), Decimal(0)
    for minute in range(minutes):
        realized += Decimal(rng.randint(-200, 200)) / 100
        traded += 20  # a trade a minute
        if minute % 600 == 599:
            deposits += 100
        yield minute, deposits + realized, realized, traded


def benchmark_returns(minutes: int, rng: random.Random) -> BenchmarkRound:
    """A benchmark's return for each of the same minutes, for beta and correlation."""
    first = T0 // NS_PER_MINUTE
    return BenchmarkRound({first + m: rng.gauss(0.0, 0.001) for m in range(minutes)})
