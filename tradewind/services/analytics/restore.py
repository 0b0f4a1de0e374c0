"""An account's recorded valuations turned into its minute series in one go, for the
analytics service meeting an account (a start, a take-over): `tracker.AccountSeries.restore`
(pure: no I/O).

Taking them one at a time (`AccountSeries.add`) costs ~30-50 us a valuation in Python:
with a day of minutes, 40-70 ms an account, minutes for 10,000 accounts. Here each
column is computed in one pass at C speed (`map` over `EXACT`'s methods, numpy for the
minutes' layout) with the same operations on the same operands as `add`'s, so the
series is the one `add` builds, to the last bit: each closed minute's return is
`float(quotient(equity - flows, base)) - 1.0` of the same exact Decimals, each kept
amount is the same exact difference, each total the same operands added in the same
order (`tests/unit/services/test_analytics_restore.py` compares the two for equality).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from tradewind.domain.exact import EXACT, quotients
from tradewind.domain.performance import Floats, Stamps

_ZERO = Decimal(0)
_add, _subtract = EXACT.add, EXACT.subtract

#: An account's recorded valuations as columns, oldest first
#: (`store.portfolio_snapshots.ValuationColumns`): ts_ns, valuation asset, equity,
#: realised PnL, unrealised PnL, fees, traded so far (None: not known).
Columns = tuple[
    Sequence[int], Sequence[str], Sequence[Decimal], Sequence[Decimal], Sequence[Decimal],
    Sequence[Decimal], Sequence[Decimal | None],
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Stamped:
    """Amounts and the times they were seen (ns), oldest first."""

    stamps: list[int]
    amounts: list[Decimal]


@dataclass(frozen=True, slots=True)
class RestoredSeries:
    """What `AccountSeries.add` of each valuation in turn leaves, before the window's
    horizon is applied (the caller does it once)."""

    valuation_asset: str
    start_ns: int
    return_ts: Stamps  # each closed minute's return: its time and value
    return_values: Floats
    equity_minutes: Stamps  # each closed minute's last equity (float), by minute
    equity_values: Floats
    trades: Stamped  # each change of realised PnL
    fees_paid: Stamped  # each change of the cumulative fees
    turnover: Stamped  # each rise of what was traded
    contributions: Decimal  # the newest valuation's net deposits
    realized: Decimal
    fees: Decimal
    traded: Decimal
    minute: int  # the open minute, its flows, and the minute before it's last equity
    flow: Decimal
    closed_equity: Decimal | None
    equity: Decimal
    last_ts_ns: int


def restored(columns: Columns, keep_minutes: int, period_ns: int) -> RestoredSeries | None:
    """The series of the valuations in `columns` for an account that had none, with
    minutes of `period_ns` and a window of `keep_minutes` (only to bound a long gap's
    equities, as `add` does). None unless there are at least two, each strictly newer
    than the one before, in one valuation asset, each with what was traded (the
    record's always are; others go through `add` one at a time)."""
    stamp_list, assets, equities = list(columns[0]), list(columns[1]), list(columns[2])
    realized, unrealized, fees = list(columns[3]), list(columns[4]), list(columns[5])
    traded_or_none = list(columns[6])
    if len(stamp_list) < 2:
        return None
    stamps = np.array(stamp_list, np.int64)
    if (
        assets.count(assets[0]) != len(assets)
        or set(map(type, traded_or_none)) != {Decimal}  # `None in`: Decimal's slow ==
        or not (np.diff(stamps) > 0).all()
    ):
        return None
    traded: list[Decimal] = traded_or_none  # type: ignore[assignment]  # none is None
    # Net deposits by the books' identity (`performance.net_deposits`), and each
    # valuation's flow: the change since the one before (none for the first).
    contributions = list(
        map(_add, map(_subtract, map(_subtract, equities, realized), unrealized), fees)
    )
    flows = [_ZERO, *map(_subtract, contributions[1:], contributions[:-1])]
    minutes = stamps // period_ns
    last_rows = [*np.flatnonzero(np.diff(minutes)).tolist(), len(stamp_list) - 1]
    first_rows = [0, *(row + 1 for row in last_rows[:-1])]
    # A minute's flows are folded as `add` folds them: the first's, then each next one.
    minute_flows = [
        flows[first] if first == last else functools.reduce(_add, flows[first : last + 1])
        for first, last in zip(first_rows, last_rows, strict=True)
    ]
    closed = [equities[row] for row in last_rows]  # each minute's last equity
    minute_of = minutes[last_rows]
    # Each minute but the open (last) one closes when the next one's first valuation
    # comes: its return, on the equity the minute before closed at, if that was > 0...
    growing = np.zeros(len(last_rows) - 1, bool)
    bases = closed[:-2]
    positive = list(map(_ZERO.__lt__, bases))
    growing[1:] = positive
    dividends = map(_subtract, closed[1:-1], minute_flows[1:-1])
    growth = quotients(itertools.compress(dividends, positive), itertools.compress(bases, positive))
    # ... then a flat return for each minute without a valuation before the next, if it
    # closed above 0.
    gaps = np.diff(minute_of) - 1
    flat = np.where(list(map(_ZERO.__lt__, closed[:-1])), gaps, 0)
    counts = growing + flat
    starts = np.cumsum(counts) - counts
    values = np.zeros(int(counts.sum()))
    at = np.empty(len(values), np.int64)
    grown = starts[growing]
    values[grown] = np.fromiter(map(float, growth), np.float64, len(growth)) - 1.0
    at[grown] = stamps[last_rows[:-1]][growing]
    flat_minute, step = _each(flat)
    at[starts[flat_minute] + growing[flat_minute] + step] = (
        minute_of[flat_minute] + 1 + step
    ) * period_ns
    # Each closed minute's last equity, for every minute up to the next valuation's (a
    # long gap's beyond the window left out).
    lowest = np.maximum(minute_of[:-1], minute_of[1:] - keep_minutes)
    spans = minute_of[1:] - lowest
    spanned, offset = _each(spans)
    as_floats = np.fromiter(map(float, closed[:-1]), np.float64, len(closed) - 1)
    return RestoredSeries(
        valuation_asset=assets[0],
        start_ns=stamp_list[0],
        return_ts=at,
        return_values=values,
        equity_minutes=lowest[spanned] + offset,
        equity_values=as_floats[spanned],
        trades=_changes(stamp_list, realized, _ZERO.__ne__),
        fees_paid=_changes(stamp_list, fees, _ZERO.__ne__),
        turnover=_changes(stamp_list, traded, _ZERO.__lt__),
        contributions=contributions[-1],
        realized=realized[-1],
        fees=fees[-1],
        traded=traded[-1],
        minute=int(minute_of[-1]),
        flow=minute_flows[-1],
        closed_equity=closed[-2] if len(closed) > 1 else None,
        equity=equities[-1],
        last_ts_ns=stamp_list[-1],
    )


def _each(counts: Stamps) -> tuple[Stamps, Stamps]:
    """For `counts[i]` items of each i: the i of each item, and its place among i's."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]


def _changes(
    stamps: list[int], cumulative: list[Decimal], kept: Callable[[Decimal], bool]
) -> Stamped:
    """The changes of a cumulative amount from one valuation to the next that `kept`
    (a test of the change against zero: `_ZERO.__ne__` any change, `_ZERO.__lt__` a
    rise), each stamped with the valuation that shows it."""
    changes = list(map(_subtract, cumulative[1:], cumulative[:-1]))
    chosen = list(map(kept, changes))
    return Stamped(
        list(itertools.compress(stamps[1:], chosen)), list(itertools.compress(changes, chosen))
    )
