"""The benchmark an account's returns are compared with (BTC by default): its last price
in each minute, from the bars marketdata publishes (pure: no I/O).

A minute without a bar kept the previous price (a return of 0), as an account's minute
without a valuation does; so each minute after the first bar's has a benchmark return
(the first is the base, as an account's first minute is), and
`beta_and_correlation` pairs it with the account's return of the same minute.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from decimal import Decimal

from tradewind.domain import performance
from tradewind.domain.analytics_figures import MIN_PAIRED_PERIODS, exposure_of
from tradewind.domain.events import Bar
from tradewind.domain.performance import Floats, Stamps
from tradewind.domain.time_units import NS_PER_MINUTE, NS_PER_S

#: Minutes both series need before beta and correlation mean anything.
MIN_PAIRED_MINUTES = MIN_PAIRED_PERIODS


class Benchmark:
    """Minute returns of one symbol over the last `keep_minutes`; the first venue whose
    bars of it arrive is the one followed."""

    def __init__(self, symbol: str, keep_minutes: int) -> None:
        self.symbol = symbol
        self.venue: str | None = None
        self._keep = keep_minutes
        self._minute = -1  # the open minute
        self._open_price = 0.0  # its last price so far
        self._closed_price = 0.0  # the last price of the minute before it (0: none yet)
        self._returns: deque[tuple[int, float]] = deque()  # (minute, return), closed ones

    def add_bar(self, bar: Bar) -> None:
        """Take a bar of the benchmark (others, and bars older than the open minute, are
        ignored)."""
        if bar.instrument.symbol != self.symbol:
            return
        if self.venue is None:
            self.venue = bar.instrument.venue
        elif bar.instrument.venue != self.venue:
            return
        minute = (bar.open_ns + bar.interval_s * NS_PER_S - 1) // NS_PER_MINUTE  # its close
        price = float(bar.close)
        if price <= 0 or minute < self._minute:
            return
        if minute > self._minute >= 0:
            self._close_until(minute)
        self._minute, self._open_price = minute, price

    def _close_until(self, minute: int) -> None:
        returns = self._returns
        if self._closed_price > 0:
            returns.append((self._minute, self._open_price / self._closed_price - 1.0))
        returns.extend((empty, 0.0) for empty in range(self._minute + 1, minute))
        self._closed_price = self._open_price
        while returns and returns[0][0] <= minute - self._keep:
            returns.popleft()

    def returns(self) -> BenchmarkRound:
        """{minute: return} of the closed minutes kept, and the open one so far."""
        found = dict(self._returns)
        if self._minute >= 0 and self._closed_price > 0:
            found[self._minute] = self._open_price / self._closed_price - 1.0
        return BenchmarkRound(found)


class BenchmarkRound:
    """The benchmark's minute returns as one round of the service sees them. Accounts
    that have every minute of the same window are paired with the same benchmark
    series, so its deviations are computed once per window a round meets, not once per
    account (most accounts share one)."""

    def __init__(self, returns: Mapping[int, float]) -> None:
        self.returns = returns
        self._windows: dict[tuple[int, int], performance.Deviations | None] = {}
        # The minutes it has, if they run without a hole (the service's always do: a
        # minute without a bar has a return of 0); None otherwise.
        self.span: tuple[int, int] | None = None
        if returns:
            first, last = min(returns), max(returns)
            if last - first + 1 == len(returns):
                self.span = first, last

    def window(self, first: int, count: int) -> performance.Deviations | None:
        """The deviations of the benchmark over minutes `first` .. `first + count - 1`;
        None if it lacks one of them."""
        key = (first, count)
        if key not in self._windows:
            get = self.returns.get
            values = [get(minute) for minute in range(first, first + count)]
            self._windows[key] = (
                None
                if values.count(None) or count < 2
                else performance.deviations([v for v in values if v is not None])
            )
        return self._windows[key]


def beta_and_correlation(
    values: Floats,
    stamps: Stamps,
    benchmark: BenchmarkRound,
    spread: performance.Deviations | None = None,
) -> tuple[float | None, float | None]:
    """Beta and correlation of the account's minute returns (`values`, each ending at
    the time in `stamps`) with the benchmark's over the minutes both have; (None, None)
    with fewer than `MIN_PAIRED_MINUTES`. `spread`: `performance.deviations(values)`,
    if the caller has it already."""
    count = len(values)
    if count < MIN_PAIRED_MINUTES:
        return None, None
    first = int(stamps[0]) // NS_PER_MINUTE
    last = int(stamps[-1]) // NS_PER_MINUTE
    span = benchmark.span
    if last - first + 1 == count and span is not None:  # every minute, both
        # The minutes both have are one run: the account's within the benchmark's. An
        # account restored after a start has a day of minutes, the benchmark only those
        # since the start: paired one by one, every account took ~3x a round's time.
        low, high = max(first, span[0]), min(last, span[1])
        both = high - low + 1
        if both < MIN_PAIRED_MINUTES:
            return None, None
        theirs = benchmark.window(low, both)
        if theirs is not None:
            if both == count:
                ours = performance.deviations(values) if spread is None else spread
            else:  # the same values the pairing below takes, so the same figures
                ours = performance.deviations(values[low - first : high - first + 1])
            return performance.co_movement(ours, theirs)
    get = benchmark.returns.get
    paired = [
        (value, other)
        for value, ts_ns in zip(values.tolist(), stamps.tolist(), strict=True)
        if (other := get(ts_ns // NS_PER_MINUTE)) is not None
    ]
    if len(paired) < MIN_PAIRED_MINUTES:
        return None, None
    return performance.beta_and_correlation([r for r, _ in paired], [b for _, b in paired])


class LastPrices:
    """The last close of every symbol marketdata publishes bars of (the first venue that
    has it), to value each account's holdings for its exposure."""

    def __init__(self) -> None:
        self._prices: dict[str, tuple[str, float, Decimal]] = {}  # symbol -> (venue, close)

    def add_bar(self, bar: Bar) -> None:
        symbol, venue = bar.instrument.symbol, bar.instrument.venue
        known = self._prices.get(symbol)
        if known is None or known[0] == venue:
            self._prices[symbol] = (venue, float(bar.close), bar.close)

    def price(self, symbol: str) -> float | None:
        known = self._prices.get(symbol)
        return None if known is None else known[1]

    def close(self, symbol: str) -> Decimal | None:
        """The last close, exact (money: a bot's holdings are valued at it)."""
        known = self._prices.get(symbol)
        return None if known is None else known[2]


def exposure(
    balances: Mapping[str, Decimal], valuation_asset: str, prices: LastPrices
) -> tuple[dict[str, float], float | None]:
    """`analytics_figures.exposure_of` the holdings, valued at the last bars' prices."""
    return exposure_of(balances, valuation_asset, prices.price)
