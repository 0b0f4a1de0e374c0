"""One account's recent equity at one-minute resolution, kept from its `PortfolioUpdate`s
(pure: no I/O). Deposits and withdrawals are read from the books' identity (see
`domain.performance.samples_from_valuations`), so they are not taken for returns.

Each minute's return is computed once, when the minute closes (one Decimal division per
account per minute), and kept as a float; a round of analytics then only reads floats,
so its cost does not grow with the Decimal arithmetic of the whole window. The figures
are those `domain.performance.performance` gives for the same valuations bucketed by
minute with the flat minutes filled in (`tests/unit/services/test_analytics_tracker.py`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
from array import array
from collections import deque
from decimal import Decimal

import numpy as np

from tradewind.domain.analytics_figures import figure_values
from tradewind.domain.events import AnalyticsUpdate, PortfolioUpdate
from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.exact_sums import ExactTotal
from tradewind.domain.performance import (
    TradeTally,
    deviations,
    equity_mean,
    net_deposits,
    performance_of,
    turnover,
)
from tradewind.domain.time_units import NS_PER_S
from tradewind.services.analytics.benchmark import (
    BenchmarkRound,
    LastPrices,
    beta_and_correlation,
    exposure,
)
from tradewind.services.analytics.restore import Columns, RestoredSeries, restored

PERIOD_S = 60
_PERIOD_NS = PERIOD_S * NS_PER_S
_ZERO = Decimal(0)
_add, _subtract = EXACT.add, EXACT.subtract


class AccountSeries:
    """The last `keep_minutes` minutes of one account's returns. Valuations older than
    the newest taken are ignored (redelivery, or a stored one after a live one)."""

    __slots__ = (
        "_closed_equity",
        "_contributions",
        "_equities",
        "_equity_total",
        "_fees",
        "_fees_paid",
        "_flow",
        "_loss_total",
        "_minute",
        "_realized",
        "_return_total",
        "_return_ts",
        "_return_values",
        "_start_ns",
        "_traded",
        "_trades",
        "_turnover",
        "account_id",
        "balances",
        "equity",
        "keep_ns",
        "last_ts_ns",
        "valuation_asset",
    )  # fmt: skip

    def __init__(self, account_id: str, keep_minutes: int) -> None:
        self.account_id = account_id
        self.keep_ns = keep_minutes * _PERIOD_NS
        self.balances: dict[str, Decimal] = {}  # the newest live valuation's
        self._reset("")

    def _reset(self, valuation_asset: str) -> None:
        self.valuation_asset = valuation_asset
        self.last_ts_ns = 0
        self.equity = _ZERO  # the newest valuation's
        self._contributions: Decimal | None = None
        self._closed_equity: Decimal | None = None  # the last closed minute's last equity
        self._minute = -1  # the open minute (ns // period); -1: no valuation yet
        self._flow = _ZERO  # flows of the open minute
        # Closed minutes' returns, oldest first: each one's time and value (8 + 8 bytes).
        self._return_ts, self._return_values = array("q"), array("d")
        self._start_ns = 0  # where the wealth index of the returns is 1
        self._realized: Decimal | None = None  # the newest valuation's realised PnL
        self._trades = _KeptTrades()  # each realised change kept, and their tally
        self._fees: Decimal | None = None  # the newest valuation's cumulative fees
        self._fees_paid = _Kept()  # each change of the fees kept, and their total
        self._traded: Decimal | None = None  # the newest valuation's cumulative traded
        self._turnover = _Kept()  # each change of what was traded kept, and their total
        # Each closed minute's last equity, as the returns keep minutes (float: a mean
        # for turnover, not money; 8 bytes a minute): (minute, equity) in two arrays.
        self._equities = (array("q"), array("d"))
        # Exact totals of the closed minutes' returns, of their losses' squares and of
        # the equities kept, as they come and go: a round adds only the open minute
        # (`domain/exact_sums.py`; the same sums as `math.fsum` over the window).
        self._return_total = ExactTotal()
        self._loss_total = ExactTotal()
        self._equity_total = ExactTotal()

    def __len__(self) -> int:
        """Minutes with a return (closed ones, and the open one once it has a base)."""
        return len(self._return_values) + (self._closed_equity is not None)

    def add(
        self,
        ts_ns: int,
        valuation_asset: str,
        equity: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
        traded: Decimal | None = None,
    ) -> bool:
        """Take one valuation; False (nothing changed) unless it is newer than the last.
        A change of valuation asset starts the series again (returns across two assets
        mean nothing). `traded`: the books' cumulative quote amount traded (None: not
        known, counts as no trade)."""
        if ts_ns <= self.last_ts_ns:
            return False
        self._take(ts_ns, valuation_asset, equity, realized, unrealized, fees, traded)
        self._forget_before(ts_ns - self.keep_ns)
        return True

    def restore(self, valuations: Columns) -> int:
        """Take recorded valuations (columns, oldest first: `restore.Columns`), as `add`
        of each in turn would, and return how many were newer than the last. An account
        met for the first time (a start, a take-over) reads a day of minutes back: into
        a series without any yet, they are taken in one go (`restore.restored`: the same
        state as `add`'s, to the last bit, at a fraction of the cost), else one at a
        time. Either way the window's horizon is applied once, after the last: what
        `add` forgets at each valuation is the prefix older than its horizon, and the
        horizons only advance, so forgetting at the end leaves the same minutes and
        amounts, and the same exact totals (the same operands added and taken away, in
        another order: the same value and exponent)."""
        at_once = (
            restored(valuations, self.keep_ns // _PERIOD_NS, _PERIOD_NS)
            if self._minute < 0
            else None
        )
        if at_once is not None:
            self._take_all(at_once)
            taken = len(valuations[0])
        else:
            take, taken = self._take, 0
            for ts_ns, asset, equity, realized, unrealized, fees, traded in zip(
                *valuations, strict=True
            ):
                if ts_ns > self.last_ts_ns:
                    take(ts_ns, asset, equity, realized, unrealized, fees, traded)
                    taken += 1
        if taken:
            self._forget_before(self.last_ts_ns - self.keep_ns)
        return taken

    def _take_all(self, series: RestoredSeries) -> None:
        """Become `series` (this one had no valuation yet)."""
        self._reset(series.valuation_asset)
        self._start_ns = series.start_ns
        self._return_ts = array("q", series.return_ts.tobytes())
        self._return_values = array("d", series.return_values.tobytes())
        self._equities = (
            array("q", series.equity_minutes.tobytes()),
            array("d", series.equity_values.tobytes()),
        )
        returns = series.return_values
        losses = returns[returns < 0]
        self._return_total.add_all(returns)
        self._loss_total.add_all(losses * losses)
        self._equity_total.add_all(series.equity_values)
        for kept, stamped in (
            (self._trades, series.trades),
            (self._fees_paid, series.fees_paid),
            (self._turnover, series.turnover),
        ):
            kept.add_all(stamped.stamps, stamped.amounts)
        self._contributions, self._realized = series.contributions, series.realized
        self._fees, self._traded = series.fees, series.traded
        self._minute, self._flow = series.minute, series.flow
        self._closed_equity = series.closed_equity
        self.equity, self.last_ts_ns = series.equity, series.last_ts_ns

    def _take(
        self,
        ts_ns: int,
        valuation_asset: str,
        equity: Decimal,
        realized: Decimal,
        unrealized: Decimal,
        fees: Decimal,
        traded: Decimal | None,
    ) -> None:
        """`add` a valuation newer than the last, without forgetting what left the window."""
        if valuation_asset != self.valuation_asset:
            self._reset(valuation_asset)
        contributions = net_deposits(equity, realized, unrealized, fees)
        flow = (
            _ZERO if self._contributions is None else _subtract(contributions, self._contributions)
        )
        self._contributions = contributions
        if self._realized is not None and realized != self._realized:
            self._trades.add(ts_ns, _subtract(realized, self._realized))
        self._realized = realized
        if self._fees is not None and fees != self._fees:
            self._fees_paid.add(ts_ns, _subtract(fees, self._fees))
        self._fees = fees
        if traded is not None:
            if self._traded is not None and traded > self._traded:
                self._turnover.add(ts_ns, _subtract(traded, self._traded))
            self._traded = traded
        minute = ts_ns // _PERIOD_NS
        if self._minute < 0:
            self._start_ns = ts_ns
        elif minute == self._minute:
            flow = _add(flow, self._flow)
        else:
            self._close_minute(minute)
        self._minute, self._flow = minute, flow
        self.equity, self.last_ts_ns = equity, ts_ns

    def _forget_before(self, horizon: int) -> None:
        """Let go of the returns, amounts and equities stamped before `horizon` (ns); the
        wealth index is then 1 at the last return let go."""
        stamps = self._return_ts
        first = bisect.bisect_left(stamps, horizon)
        if first:
            self._start_ns = stamps[first - 1]
            returns, losses = self._return_total, self._loss_total
            for value in self._return_values[:first]:
                if value:
                    returns.remove(value)
                    if value < 0:
                        losses.remove(value * value)
            del stamps[:first], self._return_values[:first]
        for kept in (self._trades, self._fees_paid, self._turnover):
            kept.expire(horizon)
        minutes, equities = self._equities
        first = bisect.bisect_left(minutes, horizon // _PERIOD_NS)
        if first:
            for value in equities[:first]:
                self._equity_total.remove(value)
            del minutes[:first], equities[:first]

    def _close_minute(self, next_minute: int) -> None:
        """The open minute ends (a valuation of `next_minute` came): its return, then a
        flat return for each minute without a valuation before `next_minute`."""
        base = self._closed_equity
        if base is not None and base > 0:
            growth = quotient(EXACT.subtract(self.equity, self._flow), base)
            value = float(growth) - 1.0
            self._return_ts.append(self.last_ts_ns)
            self._return_values.append(value)
            self._return_total.add(value)
            if value < 0:
                self._loss_total.add(value * value)
        self._closed_equity = self.equity
        if self.equity > 0 and next_minute > self._minute + 1:  # minutes without valuation
            self._return_ts.extend(
                range((self._minute + 1) * _PERIOD_NS, next_minute * _PERIOD_NS, _PERIOD_NS)
            )
            self._return_values.extend(itertools.repeat(0.0, next_minute - self._minute - 1))
        minutes, equities = self._equities
        first = max(self._minute, next_minute - self.keep_ns // _PERIOD_NS)  # a long gap
        minutes.extend(range(first, next_minute))
        equity = float(self.equity)
        equities.extend([equity] * (next_minute - first))
        self._equity_total.add(equity, next_minute - first)

    def add_update(self, update: PortfolioUpdate) -> bool:
        added = self.add(
            update.ts_ns, update.valuation_asset, update.equity,
            update.realized_pnl, update.unrealized_pnl, update.fees, update.traded,
        )  # fmt: skip
        if added:
            self.balances = update.balances
        return added

    def analytics(
        self,
        now_ns: int,
        benchmark: BenchmarkRound | None = None,
        benchmark_name: str = "",
        prices: LastPrices | None = None,
    ) -> AnalyticsUpdate | None:
        """The figures of the kept minutes, the open one included; None before the first
        valuation. `benchmark`: its return per minute (`benchmark.Benchmark.returns`), for
        beta and correlation."""
        if self._minute < 0:
            return None
        closed_count = len(self._return_values)
        base = self._closed_equity
        now = (  # the open minute's return so far
            None
            if base is None or base <= 0
            else float(quotient(EXACT.subtract(self.equity, self._flow), base)) - 1.0
        )
        count = closed_count + (now is not None)
        values, stamps = np.empty(count), np.empty(count, np.int64)
        values[:closed_count] = np.frombuffer(self._return_values)
        stamps[:closed_count] = np.frombuffer(self._return_ts, np.int64)
        opened: tuple[float, ...] = ()
        if now is not None:
            values[-1], stamps[-1] = now, self.last_ts_ns
            opened = (now,)
        spread = deviations(values, self._return_total.value(*opened)) if count else None
        loss = self._loss_total.value(*(value * value for value in opened if value < 0))
        figures = performance_of(values, stamps, PERIOD_S, self._start_ns, spread, loss)
        closed = self._trades.tally.stats()
        equities = self._equities[1]
        equity = float(self.equity)
        total = self._equity_total.value(equity)
        mean = (
            equity_mean(itertools.chain(equities, (equity,)), len(equities) + 1)
            if total is None
            else total / (len(equities) + 1)
        )
        beta, correlation = (
            (None, None)
            if benchmark is None
            else beta_and_correlation(values, stamps, benchmark, spread)
        )
        shares, concentration = (
            ({}, None) if prices is None else exposure(self.balances, self.valuation_asset, prices)
        )
        return AnalyticsUpdate(
            account_id=self.account_id,
            valuation_asset=self.valuation_asset,
            equity=self.equity,
            since_ns=self._start_ns,
            ts_ns=now_ns,
            **figure_values(
                figures, closed,
                fees=self._fees_paid.total,
                turnover=turnover(self._turnover.total, mean),
                benchmark=benchmark_name if benchmark is not None else "",
                beta=beta, correlation=correlation,
                exposure=shares, concentration=concentration,
            ),
        )  # fmt: skip


class _Kept:
    """Amounts stamped with their time, kept while in the window, and their exact total
    kept as they come and go (so a round does not add them up again)."""

    __slots__ = ("_kept", "total")

    def __init__(self) -> None:
        self._kept: deque[tuple[int, Decimal]] = deque()
        self.total = _ZERO

    def add(self, ts_ns: int, amount: Decimal) -> None:
        self._kept.append((ts_ns, amount))
        self.total = EXACT.add(self.total, amount)

    def add_all(self, stamps: list[int], amounts: list[Decimal]) -> None:
        """`add` each amount with its time, oldest first."""
        self._kept.extend(zip(stamps, amounts, strict=True))
        self.total = functools.reduce(EXACT.add, amounts, self.total)

    def expire(self, horizon_ns: int) -> None:
        """Let go of the amounts stamped before `horizon_ns`."""
        kept = self._kept
        while kept and kept[0][0] < horizon_ns:
            self._let_go(kept.popleft()[1])

    def _let_go(self, amount: Decimal) -> None:
        self.total = EXACT.subtract(self.total, amount)


class _KeptTrades(_Kept):
    """Closed trades' realised PnL kept while in the window, with their `TradeTally`."""

    __slots__ = ("tally",)

    def __init__(self) -> None:
        super().__init__()
        self.tally = TradeTally()

    def add(self, ts_ns: int, amount: Decimal) -> None:
        super().add(ts_ns, amount)
        self.tally.add(amount)

    def add_all(self, stamps: list[int], amounts: list[Decimal]) -> None:
        super().add_all(stamps, amounts)
        self.tally.add_all(amounts)

    def _let_go(self, amount: Decimal) -> None:
        super()._let_go(amount)
        self.tally.remove(amount)
