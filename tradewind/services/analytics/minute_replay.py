"""A bot's PnL series replayed a minute at a time from its fills and its venue's
1-minute candles (pure: no I/O), for `tradewind analytics rebuild` (`rebuild.py`).

At the end of each minute the bot's book holds the fills executed before the minute's
end (`BotBook`, counted once by trade id, oldest first) and is valued at the minute's
close: of each symbol, the close of its last candle opening at or before the minute (a
minute without trades has no candle, and the price stays, as the live service keeps the
last bar's close). The account's equity then is its newest recorded valuation taken
before the minute's end, if it is valued in the series' quote (as the live service's
`equity_of`).

A minute is written by the live rule (`bot_series.BotSeries`): only when its PnL differs
from the last one recorded before it. Minutes that already hold a row are never written
again: their PnL is the one the next minutes are compared with. So a second replay over
the same record writes nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.bot_pnl import BotBook, BotFill, BotPnl
from tradewind.domain.time_units import NS_PER_MINUTE


class Closes:
    """The 1-minute closes of some symbols: `candles` maps a symbol to its (minute the
    candle opens in, close), oldest first; minutes count from the epoch."""

    def __init__(self, candles: Mapping[str, Sequence[tuple[int, Decimal]]]) -> None:
        self._minutes = {s: [m for m, _ in rows] for s, rows in candles.items()}
        self._closes = {s: [c for _, c in rows] for s, rows in candles.items()}

    def at(self, symbol: str, minute: int) -> Decimal | None:
        """The close of `symbol`'s last candle opening at or before `minute`; None
        without one."""
        minutes = self._minutes.get(symbol)
        if minutes is None:
            return None
        index = bisect_right(minutes, minute)
        return self._closes[symbol][index - 1] if index else None


class Equities:
    """An account's recorded valuations, (ts_ns, valuation asset, equity), oldest first."""

    def __init__(self, valuations: Sequence[tuple[int, str, Decimal]]) -> None:
        self._ts = [ts for ts, _, _ in valuations]
        self._valuations = valuations

    def before(self, end_ns: int, quote: str) -> Decimal | None:
        """The equity of the newest valuation taken before `end_ns`, if it is in
        `quote`; None otherwise."""
        index = bisect_right(self._ts, end_ns - 1)
        if not index:
            return None
        _, asset, equity = self._valuations[index - 1]
        return equity if asset == quote else None


class MissingPrice(Exception):
    """The bot held `symbol` at the end of `minute` and no candle gives its price then:
    its PnL would be wrong (a holding without a price counts at its cost)."""

    def __init__(self, symbol: str, minute: int) -> None:
        super().__init__(f"no 1-minute candle of {symbol} at or before minute {minute}")
        self.symbol = symbol
        self.minute = minute


class _PricesAt:
    """The closes at one minute, noting the symbols asked for that had none."""

    def __init__(self, closes: Closes, minute: int) -> None:
        self._closes = closes
        self._minute = minute
        self.missing: list[str] = []

    def price_of(self, symbol: str) -> Decimal | None:
        price = self._closes.at(symbol, self._minute)
        if price is None:
            self.missing.append(symbol)
        return price


@dataclass(frozen=True)
class ReplayedMinute:
    """A minute to write: `minute` counts from the epoch; `equity` is the account's."""

    minute: int
    pnl: BotPnl
    equity: Decimal | None


@dataclass(frozen=True)
class Replay:
    written: list[ReplayedMinute]
    holes_filled: int  # runs of minutes without a row in which a minute was written


def replay_minutes(
    fills: Sequence[BotFill],
    quote: str,
    first: int,
    last: int,
    *,
    recorded: Mapping[int, BotPnl | None],
    previous: BotPnl | None,
    closes: Closes,
    equities: Equities,
) -> Replay:
    """The minutes `first` .. `last` (inclusive) of the bot's series in `quote` that the
    live rule writes and `recorded` does not hold. `fills`: all the bot's fills, oldest
    first (those executed before `first` make its book as the first minute opens).
    `recorded`: the minutes that hold a row, with its PnL (None: a row in another quote,
    which takes the minute but is not compared with). `previous`: the PnL of the last
    row before `first`, if any. MissingPrice if a minute to value lacks a price."""
    book = BotBook()
    applied = 0
    last_pnl = previous
    written: list[ReplayedMinute] = []
    holes = 0
    in_filled_hole = False
    for minute in range(first, last + 1):
        end_ns = (minute + 1) * NS_PER_MINUTE
        while applied < len(fills) and fills[applied].ts_ns < end_ns:
            book.apply(fills[applied])
            applied += 1
        if minute in recorded:
            found = recorded[minute]
            if found is not None:
                last_pnl = found
            in_filled_hole = False
            continue
        prices = _PricesAt(closes, minute)
        pnl = book.pnl(quote, prices.price_of)
        if pnl is None:
            continue  # no fill in the quote yet: nothing to write, as live
        if prices.missing:
            raise MissingPrice(prices.missing[0], minute)
        if pnl == last_pnl:
            continue
        last_pnl = pnl
        written.append(ReplayedMinute(minute, pnl, equities.before(end_ns, quote)))
        if not in_filled_hole:
            holes += 1
            in_filled_hole = True
    return Replay(written, holes)
