"""Performance and risk figures of an equity series: time-weighted returns, drawdown,
volatility, risk-adjusted ratios, historical VaR and CVaR, beta and correlation to a
benchmark, and statistics of closed trades. Pure functions, no I/O: the same code for
live analytics and for backtests.

Conventions (checked against empyrical-reloaded in `tests/unit/domain/`):

- **Time-weighted returns.** Deposits and withdrawals (*flows*) are not performance. A
  flow is taken to arrive at the end of its period, just before the sample that
  includes it: `r_i = (E_i - F_i) / E_{i-1} - 1`. A period that starts with no equity
  (`E_{i-1} <= 0`) has no return and is left out.
- **A year is 365 days** of the sampling period (crypto trades every day):
  `periods_per_year = 365 * 86_400 / period_s`. empyrical's default for daily returns
  is 252 trading days; pass `annualization=365` to it to compare.
- **Risk-free rate 0.** Sharpe is the mean return over its standard deviation (ddof 1),
  Sortino the mean over the downside deviation (root mean square of the negative
  returns, counted over all periods), both times `sqrt(periods_per_year)`; the annual
  return is compounded (CAGR); Calmar is it over the maximum drawdown's size.
- **Drawdown** is measured on the wealth index (1 before the first return, times
  `1 + r_i` after each), so a deposit makes no new peak; it is <= 0.
- **Returns over standard periods** (`RETURN_PERIODS`: the last day, 7 days, 30 days, and
  `all` of the series) are the wealth index's growth from the last point at or before the
  series' end less the period (its start, where the index is 1, counts) to its end:
  time-weighted, as every return here. None when the series does not reach that far back.
- **Historical VaR** at cutoff `c` (0.05 for 95 %) is the return at the `c` quantile
  (linear between order statistics); **CVaR** the mean of the lowest
  `floor((n - 1) * c) + 1` returns. Both are returns, negative for a loss.

Money stays `Decimal` in the samples; the figures are ratios, computed in float64
(ARCHITECTURE.md: analytics may). A figure that a series cannot define (fewer than two
returns, no variance, no loss) is None, never NaN or infinity.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from typing import NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.time_units import NS_PER_S, datetime_from_ns

ZERO = Decimal(0)
SECONDS_PER_YEAR = 365 * 86_400
#: The standard periods returns are given over (`Performance.returns`): name -> seconds;
#: `all` is the whole series.
RETURN_PERIODS: dict[str, int | None] = {
    "1d": 86_400,
    "7d": 7 * 86_400,
    "30d": 30 * 86_400,
    "all": None,
}

Floats = npt.NDArray[np.float64]
Stamps = npt.NDArray[np.int64]
_ONE = np.ones(1)


class EquitySample(msgspec.Struct, frozen=True, array_like=True):
    """An equity (in the valuation asset) at `ts_ns` (ns since epoch); `flow` is the net
    of deposits (+) and withdrawals (-) since the previous sample, already in `equity`."""

    ts_ns: int
    equity: Decimal
    flow: Decimal = ZERO


class PeriodReturn(msgspec.Struct, frozen=True, array_like=True):
    """The time-weighted return of the period that ends at `ts_ns`."""

    ts_ns: int
    value: float


class Drawdown(msgspec.Struct, frozen=True, kw_only=True):
    """`max` (<= 0, a fraction of the peak) fell from the peak at `peak_ns` to the trough
    at `trough_ns`, and was made up at `recovered_ns` (None: not yet); `current` is how
    far below its peak the series ends, a fall that started at that peak, at
    `current_start_ns` (None: the series ends at its peak). Times are the samples' (ns);
    None without one."""

    max: float
    peak_ns: int | None
    trough_ns: int | None
    recovered_ns: int | None
    current: float
    current_start_ns: int | None = None


class Performance(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one equity series sampled every `period_s` seconds; see the
    module doc for each one's convention. Returns and drawdowns are fractions."""

    period_s: int
    periods: int
    total_return: float
    annual_return: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    drawdown: Drawdown
    best_period: float | None
    worst_period: float | None
    var_95: float | None
    cvar_95: float | None
    var_99: float | None
    cvar_99: float | None
    #: The return over each of `RETURN_PERIODS` (None: the series is shorter).
    returns: dict[str, float | None] = {}


class TradeStats(msgspec.Struct, frozen=True, kw_only=True):
    """Closed trades' realised PnL (valuation asset): how many won (> 0) and lost (< 0;
    a trade at exactly 0 is neither), the win rate over all trades, gross profit over
    gross loss, and the average win and loss (the loss negative)."""

    trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    average_win: Decimal | None
    average_loss: Decimal | None


def periods_per_year(period_s: int) -> float:
    """How many sampling periods of `period_s` seconds make a (365-day) year."""
    if period_s <= 0:
        raise ValueError(f"period_s must be positive, got {period_s}")
    return SECONDS_PER_YEAR / period_s


def bucketed(
    samples: Sequence[EquitySample], period_s: int, *, fill: bool = False
) -> list[EquitySample]:
    """One sample per `period_s` bucket (aligned to the epoch) that has any: the bucket's
    last equity, stamped with its last sample's time, and the flows of all of its samples
    summed. With `fill`, a bucket between two that have samples gets the equity carried
    forward (no flow), stamped at its start: a series sampled only when it changed gets
    its flat periods back. `samples` in time order."""
    if period_s <= 0:
        raise ValueError(f"period_s must be positive, got {period_s}")
    width = period_s * NS_PER_S
    out: list[EquitySample] = []
    bucket = 0
    for sample in samples:
        here = sample.ts_ns // width
        if out and here == bucket:
            last = out[-1]
            out[-1] = EquitySample(sample.ts_ns, sample.equity, last.flow + sample.flow)
            continue
        if fill and out:
            carried = out[-1].equity
            out.extend(EquitySample(b * width, carried) for b in range(bucket + 1, here))
        out.append(sample)
        bucket = here
    return out


def samples_from_valuations(
    valuations: Iterable[tuple[int, Decimal, Decimal, Decimal, Decimal]],
) -> list[EquitySample]:
    """Equity samples from an account's valuations `(ts_ns, equity, realised PnL,
    unrealised PnL, fees)` in time order. The books' identity `equity = contributions +
    realised + unrealised - fees` gives the net deposits between two valuations: the
    change of `equity - realised - unrealised + fees`, which becomes the sample's flow."""
    out: list[EquitySample] = []
    before: Decimal | None = None
    for ts_ns, equity, realized, unrealized, fees in valuations:
        contributions = net_deposits(equity, realized, unrealized, fees)
        flow = ZERO if before is None else EXACT.subtract(contributions, before)
        out.append(EquitySample(ts_ns, equity, flow))
        before = contributions
    return out


#: One account's valuation: (ts_ns, equity, realised PnL, unrealised PnL, fees).
Valuation = tuple[int, Decimal, Decimal, Decimal, Decimal]


def summed_valuations(
    opening: Mapping[str, Valuation], changes: Iterable[tuple[str, Valuation]], start_ns: int
) -> list[Valuation]:
    """Many accounts' valuations as one (the platform's, per valuation asset): the sums
    over every account of its latest valuation at `start_ns` (`opening`: each account's
    latest before then; no row if none), then after each change `(account, valuation)`
    in time order. Each amount is linear in the books' identity, so
    `samples_from_valuations` of the sums takes an account's net deposits, and its
    arrival, as flows of the whole, not as returns."""
    latest = dict(opening)
    equity = realized = unrealized = fees = ZERO
    out: list[Valuation] = []
    with localcontext(EXACT):
        for _, e, r, u, f in latest.values():
            equity, realized, unrealized, fees = equity + e, realized + r, unrealized + u, fees + f
        if latest:
            out.append((start_ns, equity, realized, unrealized, fees))
        for account_id, valuation in changes:
            ts_ns, e, r, u, f = valuation
            before = latest.get(account_id)
            if before is not None:
                _, e0, r0, u0, f0 = before
                e, r, u, f = e - e0, r - r0, u - u0, f - f0
            equity, realized, unrealized, fees = equity + e, realized + r, unrealized + u, fees + f
            latest[account_id] = valuation
            out.append((ts_ns, equity, realized, unrealized, fees))
    return out


def time_weighted_returns(samples: Sequence[EquitySample]) -> list[PeriodReturn]:
    """Each period's return, flows taken out (see the module doc); `samples` in time
    order. The first sample only opens the first period."""
    returns: list[PeriodReturn] = []
    for before, after in itertools.pairwise(samples):
        if before.equity <= 0:
            continue
        growth = quotient(EXACT.subtract(after.equity, after.flow), before.equity)
        returns.append(PeriodReturn(after.ts_ns, float(growth) - 1.0))
    return returns


def drawdown(returns: Sequence[PeriodReturn], start_ns: int | None = None) -> Drawdown:
    """The drawdown of the wealth index of `returns` (1 at `start_ns`, before the first
    return)."""
    values, stamps = return_arrays(returns)
    return drawdown_of(values, stamps, start_ns)


def return_arrays(returns: Sequence[PeriodReturn]) -> tuple[Floats, Stamps]:
    """`returns` as two arrays: their values and their times."""
    values = np.fromiter((period.value for period in returns), np.float64, len(returns))
    stamps = np.fromiter((period.ts_ns for period in returns), np.int64, len(returns))
    return values, stamps


def drawdown_of(values: Floats, stamps: Stamps, start_ns: int | None = None) -> Drawdown:
    """`drawdown` of returns given as arrays (`return_arrays`): the wealth index is
    compounded in order, one rounding a period, as a loop over the periods would."""
    return _drawdown(np.multiply.accumulate(1.0 + values), stamps, start_ns)


def _drawdown(wealth: Floats, stamps: Stamps, start_ns: int | None) -> Drawdown:
    """`drawdown_of` the wealth index after each period."""
    if not len(wealth):
        return Drawdown(max=0.0, peak_ns=None, trough_ns=None, recovered_ns=None, current=0.0)
    # The peak each period is measured against: the highest wealth before it (1 at start).
    before = np.maximum.accumulate(np.concatenate((_ONE, wealth[:-1])))
    below = wealth < before
    depths = np.where(below, wealth / before - 1.0, 0.0)
    trough = int(depths.argmin())  # the first of the deepest
    worst = float(depths[trough])
    peak = max(float(before[-1]), float(wealth[-1]))
    current = float(wealth[-1]) / peak - 1.0
    # A period at or above its peak is a new peak: the current fall started at the last.
    current_start_ns = None
    if below[-1]:
        peaks = np.flatnonzero(~below)
        current_start_ns = int(stamps[peaks[-1]]) if len(peaks) else start_ns
    if not worst < 0.0:
        return Drawdown(
            max=0.0, peak_ns=None, trough_ns=None, recovered_ns=None, current=current,
            current_start_ns=current_start_ns,
        )  # fmt: skip
    # The worst fell from the last peak before the trough (or the start), and was made up
    # at the first one after it.
    peaks_before = np.flatnonzero(~below[:trough])
    peak_ns = int(stamps[peaks_before[-1]]) if len(peaks_before) else start_ns
    after = np.flatnonzero(~below[trough + 1 :])
    recovered_ns = int(stamps[trough + 1 + after[0]]) if len(after) else None
    return Drawdown(
        max=worst,
        peak_ns=peak_ns,
        trough_ns=int(stamps[trough]),
        recovered_ns=recovered_ns,
        current=current,
        current_start_ns=current_start_ns,
    )


def period_returns(wealth: Floats, stamps: Stamps, start_ns: int | None) -> dict[str, float | None]:
    """The return over each of `RETURN_PERIODS` of the wealth index `wealth` (after each
    period, ending at `stamps`; 1 at `start_ns`): its growth from the last point at or
    before the end less the period, to the end. None where the series does not reach
    back that far; without a period, `all` is 0."""
    if not len(wealth):
        return {
            name: (0.0 if seconds is None else None) for name, seconds in RETURN_PERIODS.items()
        }
    end_ns, last = int(stamps[-1]), float(wealth[-1])
    found: dict[str, float | None] = {}
    for name, seconds in RETURN_PERIODS.items():
        if seconds is None:
            found[name] = last - 1.0
            continue
        back_ns = end_ns - seconds * NS_PER_S
        at = int(np.searchsorted(stamps, back_ns, side="right")) - 1
        if at >= 0:
            base = float(wealth[at])
            found[name] = last / base - 1.0 if base > 0 else None  # all lost by then
        elif start_ns is not None and start_ns <= back_ns:
            found[name] = last - 1.0
        else:
            found[name] = None
    return found


def value_at_risk(returns: Sequence[float], cutoff: float) -> float | None:
    """The return at the `cutoff` quantile (0.05 for a 95 % VaR), linear between order
    statistics; None without returns."""
    return _quantile(sorted(returns), cutoff)


def value_at_risk_of_sorted(ordered: Sequence[float], cutoff: float) -> float | None:
    """`value_at_risk` of returns already sorted ascending (no sort)."""
    return _quantile(ordered, cutoff)


def conditional_value_at_risk(returns: Sequence[float], cutoff: float) -> float | None:
    """The mean of the returns at or below the `cutoff` quantile (the lowest
    `floor((n - 1) * cutoff) + 1`); None without returns."""
    return _tail_mean(sorted(returns), cutoff)


def _quantile(ordered: Sequence[float], cutoff: float) -> float | None:
    if not ordered:
        return None
    below, above, position = _ranks_and_position(len(ordered), cutoff)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _tail_mean(ordered: Sequence[float], cutoff: float) -> float | None:
    if not ordered:
        return None
    tail = ordered[: int((len(ordered) - 1) * cutoff) + 1]
    return math.fsum(tail) / len(tail)


def beta(returns: Sequence[float], benchmark: Sequence[float]) -> float | None:
    """Covariance of `returns` with `benchmark` (the same periods, in the same order)
    over the benchmark's variance; None with fewer than two periods or a flat
    benchmark."""
    return beta_and_correlation(returns, benchmark)[0]


def correlation(returns: Sequence[float], benchmark: Sequence[float]) -> float | None:
    """Pearson's correlation of `returns` with `benchmark` (the same periods); None with
    fewer than two periods or either series flat."""
    return beta_and_correlation(returns, benchmark)[1]


def beta_and_correlation(
    returns: Sequence[float], benchmark: Sequence[float]
) -> tuple[float | None, float | None]:
    """`beta` and `correlation` from one pass over the series (the analytics service
    wants both, for every account, every round)."""
    if len(returns) != len(benchmark):
        raise ValueError(f"{len(returns)} returns against {len(benchmark)} benchmark returns")
    if len(returns) < 2:
        return None, None
    return co_movement(deviations(returns), deviations(benchmark))


class Deviations(NamedTuple):
    """Each value's deviation from the values' mean, the sum of their squares, and the
    mean."""

    values: Floats
    squares: float
    mean: float


def deviations(values: Sequence[float] | Floats, total: float | None = None) -> Deviations:
    """`values` (at least one) as `Deviations`; sums exact (`math.fsum`). A benchmark's
    are the same for every account over the same periods: compute them once. `total`:
    `math.fsum(values)`, if the caller keeps it (`exact_sums.ExactTotal`)."""
    given = np.asarray(values, dtype=np.float64)
    mean = (math.fsum(given.tolist()) if total is None else total) / len(given)
    spread = given - mean
    return Deviations(spread, math.fsum((spread * spread).tolist()), mean)


def co_movement(ours: Deviations, theirs: Deviations) -> tuple[float | None, float | None]:
    """Beta and correlation of a series (`ours`) to a benchmark (`theirs`) over the same
    periods (at least two): `beta_and_correlation` for a benchmark's deviations kept."""
    if len(ours.values) != len(theirs.values):
        raise ValueError(f"{len(ours.values)} deviations against {len(theirs.values)}")
    covariance = math.fsum((ours.values * theirs.values).tolist())
    if theirs.squares <= 0:
        return None, None
    if ours.squares <= 0:
        return covariance / theirs.squares, None
    return covariance / theirs.squares, _correlation(covariance, ours.squares, theirs.squares)


def _correlation(covariance: float, squares: float, other_squares: float) -> float | None:
    """`covariance / sqrt(squares * other_squares)` (both > 0), their product's root
    taken apart where the product underflows to 0 (tiny deviations); None if that
    underflows too."""
    scale = math.sqrt(squares * other_squares) or math.sqrt(squares) * math.sqrt(other_squares)
    return covariance / scale if scale else None


def performance(samples: Sequence[EquitySample], period_s: int) -> Performance:
    """Every figure of `samples` (time order), which are taken as one per `period_s`
    seconds (use `bucketed` first for raw samples)."""
    returns = time_weighted_returns(samples)
    return performance_of_returns(returns, period_s, samples[0].ts_ns if samples else None)


def performance_of_returns(
    returns: Sequence[PeriodReturn], period_s: int, start_ns: int | None
) -> Performance:
    """Every figure of a series of `period_s` returns (time order) whose wealth index is
    1 at `start_ns`: for callers that keep returns rather than equities (the analytics
    service adds one per minute instead of dividing the whole series again)."""
    values, stamps = return_arrays(returns)
    return performance_of(values, stamps, period_s, start_ns)


def performance_of(
    values: Floats,
    stamps: Stamps,
    period_s: int,
    start_ns: int | None,
    spread: Deviations | None = None,
    loss_squares: float | None = None,
) -> Performance:
    """`performance_of_returns` of returns given as arrays (`return_arrays`). Each figure
    is what a loop over the periods in order gives, to the last bit: the wealth index
    compounded in order, every sum exact (`math.fsum`), the order statistics of a sort.
    `spread`: `deviations(values)`, if the caller has it already (for beta too);
    `loss_squares`: `math.fsum` of the negative values' squares, if the caller keeps it."""
    per_year = periods_per_year(period_s)
    n = len(values)
    index = np.multiply.accumulate(1.0 + values)
    dd = _drawdown(index, stamps, start_ns)
    wealth = float(index[-1]) if n else 1.0
    annual = _compounded(wealth, per_year / n) if n and wealth > 0 else None
    if n and spread is None:
        spread = deviations(values)
    mean = spread.mean if spread is not None else 0.0
    deviation = math.sqrt(spread.squares / (n - 1)) if spread is not None and n >= 2 else None
    if loss_squares is None:
        losses = values[values < 0]
        loss_squares = math.fsum((losses * losses).tolist())
    downside = math.sqrt(loss_squares / n) if n else 0.0
    root_year = math.sqrt(per_year)
    tails = _Tails(values)
    return Performance(
        period_s=period_s,
        periods=n,
        total_return=wealth - 1.0,
        annual_return=annual,
        volatility=deviation * root_year if deviation is not None else None,
        sharpe=mean / deviation * root_year if deviation else None,
        sortino=mean / downside * root_year if n >= 2 and downside > 0 else None,
        calmar=annual / -dd.max if annual is not None and dd.max < 0 else None,
        drawdown=dd,
        best_period=float(values.max()) if n else None,
        worst_period=float(values.min()) if n else None,
        var_95=tails.quantile(0.05),
        cvar_95=tails.tail_mean(0.05),
        var_99=tails.quantile(0.01),
        cvar_99=tails.tail_mean(0.01),
        returns=period_returns(index, stamps, start_ns),
    )


class _Tails:
    """The low order statistics of a series that `_quantile` and `_tail_mean` read, at
    the cutoffs `performance_of` uses, without sorting it all: `np.partition` puts each
    needed rank where a sort would, and everything below it before it. The same numbers
    as of a sort, to the last bit (`_tail_mean`'s sum is exact, whatever the order)."""

    CUTOFFS = (0.01, 0.05)

    def __init__(self, values: Floats) -> None:
        n = len(values)
        self._parted: Floats = values
        if n:
            ranks = {r for c in self.CUTOFFS for r in _ranks_and_position(n, c)[:2]}
            self._parted = np.partition(values, sorted(ranks))

    def quantile(self, cutoff: float) -> float | None:
        parted = self._parted
        if not len(parted):
            return None
        below, above, position = _ranks_and_position(len(parted), cutoff)
        low = float(parted[below])
        return low + (float(parted[above]) - low) * (position - below)

    def tail_mean(self, cutoff: float) -> float | None:
        parted = self._parted
        if not len(parted):
            return None
        tail = parted[: int((len(parted) - 1) * cutoff) + 1]
        return math.fsum(tail.tolist()) / len(tail)


def _ranks_and_position(n: int, cutoff: float) -> tuple[int, int, float]:
    """The two ranks (0: the lowest) `_quantile` reads at `cutoff` among n, and the
    position between them; `_tail_mean` reads up to the first."""
    position = (n - 1) * cutoff
    below = math.floor(position)
    return below, min(below + 1, n - 1), position


def _compounded(growth: float, times: float) -> float | None:
    """`growth ** times - 1`, None where float64 cannot hold it (a short series that grew
    fast, annualised)."""
    try:
        return float(growth**times) - 1.0
    except OverflowError:
        return None


def net_deposits(equity: Decimal, realized: Decimal, unrealized: Decimal, fees: Decimal) -> Decimal:
    """Net deposits by the books' identity: `equity - realised - unrealised + fees`,
    exactly (not in the thread's decimal context, which another caller may have changed;
    `EXACT`'s methods rather than a `localcontext` around the operators: the same
    results, without a context switch for each of the analytics service's valuations)."""
    return EXACT.add(EXACT.subtract(EXACT.subtract(equity, realized), unrealized), fees)


def trade_stats(realized: Sequence[Decimal]) -> TradeStats:
    """Statistics of closed trades from each one's realised PnL."""
    tally = TradeTally()
    for pnl in realized:
        tally.add(pnl)
    return tally.stats()


class TradeTally:
    """Closed trades' counts and gross profit and loss, kept as trades come and go (a
    window that slides), so `trade_stats` of the trades held costs nothing per trade.
    The totals are exact (`EXACT`), so they do not depend on the order of the trades."""

    __slots__ = ("gross_loss", "gross_win", "losses", "trades", "wins")

    def __init__(self) -> None:
        self.trades = self.wins = self.losses = 0
        self.gross_win = self.gross_loss = ZERO

    def add(self, pnl: Decimal) -> None:
        self._count(pnl, 1)

    def add_all(self, pnls: Sequence[Decimal]) -> None:
        """`add` each of `pnls` (a restored day of trades at once): the same counts and
        the same exact totals, the sums taken in the same order."""
        wins = list(filter(ZERO.__lt__, pnls))
        losses = list(filter(ZERO.__gt__, pnls))
        self.trades += len(pnls)
        self.wins += len(wins)
        self.losses += len(losses)
        self.gross_win = functools.reduce(EXACT.add, wins, self.gross_win)
        self.gross_loss = functools.reduce(EXACT.add, losses, self.gross_loss)

    def remove(self, pnl: Decimal) -> None:
        """Take back a trade `add` counted (it left the window)."""
        self._count(pnl, -1)

    def _count(self, pnl: Decimal, sign: int) -> None:
        self.trades += sign
        move = EXACT.add if sign > 0 else EXACT.subtract
        if pnl > ZERO:  # Decimal to Decimal: ~3x an int's speed
            self.wins += sign
            self.gross_win = move(self.gross_win, pnl)
        elif pnl < ZERO:
            self.losses += sign
            self.gross_loss = move(self.gross_loss, pnl)

    def stats(self) -> TradeStats:
        wins, losses = self.wins, self.losses
        return TradeStats(
            trades=self.trades,
            wins=wins,
            losses=losses,
            win_rate=wins / self.trades if self.trades else None,
            profit_factor=float(quotient(self.gross_win, -self.gross_loss)) if losses else None,
            average_win=quotient(self.gross_win, Decimal(wins)) if wins else None,
            average_loss=quotient(self.gross_loss, Decimal(losses)) if losses else None,
        )


def realized_changes(realized: Iterable[Decimal]) -> list[Decimal]:
    """Closed trades' PnL as live accounts show them: each change of the cumulative
    realised PnL between two valuations (two trades closed between the same two
    valuations count as one)."""
    changes: list[Decimal] = []
    previous: Decimal | None = None
    for value in realized:
        if previous is not None and value != previous:
            changes.append(EXACT.subtract(value, previous))
        previous = value
    return changes


def turnover(traded: Decimal, mean_equity: float) -> float | None:
    """What was traded (the fills' quote amounts, bought and sold) over the mean equity
    of the same period; None when that equity was not positive. The same for backtests
    and live accounts."""
    return float(traded) / mean_equity if mean_equity > 0 else None


def mean_equity(samples: Sequence[EquitySample]) -> float:
    """The mean of the samples' equities (0.0 without any), as `equity_mean` takes it."""
    return equity_mean([float(sample.equity) for sample in samples], len(samples))


def equity_mean(equities: Iterable[float], count: int) -> float:
    """The mean of `count` equities given as float64 (0.0 when `count` is 0): their sum
    rounded once (`math.fsum`), over `count`. Turnover's denominator for backtests
    (`mean_equity`) and the analytics service, which keeps each minute's equity as a
    float, alike: an exact Decimal sum, or a float added after `fsum`, can round the last
    bit differently."""
    return math.fsum(equities) / count if count else 0.0


def shares_and_concentration(
    values: Mapping[str, float],
) -> tuple[dict[str, float], float | None]:
    """Each asset's share of the summed `values` (one currency; assets sorted), and
    their concentration: the Herfindahl index of the shares (sum of their squares; 1:
    all in one asset). ({}, None) when the values sum to 0 or less."""
    total = sum(values.values())
    if total <= 0:
        return {}, None
    shares = {asset: value / total for asset, value in sorted(values.items())}
    return shares, sum(share * share for share in shares.values())


def iso_utc(ts_ns: int | None) -> str | None:
    """`ts_ns` (ns since the epoch) as ISO 8601 UTC to the second; None stays None."""
    if ts_ns is None:
        return None
    return datetime_from_ns(ts_ns).isoformat(timespec="seconds")
