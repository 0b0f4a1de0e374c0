"""Public market history of the simulated exchange: recent trades, 1-second and 1-minute
klines (candles) per symbol, built from the trades that print. Every other interval is
aggregated on request: `1s` from the seconds, the rest from the minutes.

What is kept bounds what can be asked: the last 1000 trades, 1 hour of seconds and 2 days
of minutes per symbol (Binance keeps everything; docs/venues/binance-spot-endpoints.md).

Before those, the market may have a past (`back_history`): the price source's candles
from before the venue started, served whole, never dropped. Klines of the intervals they
can build continue into the live ones (the kline the start falls in holds both parts);
the trades kept start with trades synthesised from the last past candles.
"""

from __future__ import annotations

import itertools
from collections import deque

from tradewind.venues.simulated.back_history import BackHistory
from tradewind.venues.simulated.kline import Kline
from tradewind.venues.simulated.kline_intervals import (
    MINUTE_MS,
    SECOND_MS,
    candle_bounds,
)
from tradewind.venues.simulated.market import PastCandles
from tradewind.venues.simulated.matching import InstrumentSpec, Trade

__all__ = ["Kline", "MarketHistory"]

_KEEP_TRADES = 1000
_KEEP_SECONDS = 3600
_KEEP_MINUTES = 2 * 1440


class MarketHistory:
    """Recent trades and second and minute klines of every listed symbol, after the
    candles of the market's past if it has one (`past`, ending at or before the first
    live trade)."""

    def __init__(self, specs: dict[str, InstrumentSpec], past: PastCandles | None = None) -> None:
        self._trades: dict[str, deque[Trade]] = {s: deque(maxlen=_KEEP_TRADES) for s in specs}
        self._seconds: dict[str, deque[Kline]] = {s: deque(maxlen=_KEEP_SECONDS) for s in specs}
        self._minutes: dict[str, deque[Kline]] = {s: deque(maxlen=_KEEP_MINUTES) for s in specs}
        self.past = None if past is None else BackHistory(past, specs)
        if self.past is not None:
            for symbol, trades in self._trades.items():
                trades.extend(self.past.trades(symbol, _KEEP_TRADES))

    def next_trade_id(self, symbol: str) -> int:
        """The id the first live trade of `symbol` should have: after the past's."""
        return 1 if self.past is None else self.past.next_trade_id(symbol)

    def record_trades(self, symbol: str, trades: list[Trade]) -> None:
        self._trades[symbol].extend(trades)
        minutes, seconds = self._minutes[symbol], self._seconds[symbol]
        for trade in trades:
            price, qty, quote = trade.price, trade.quantity, trade.quote_quantity
            time_ms = trade.time_ms
            second = seconds[-1] if seconds else None
            open_ms = time_ms - time_ms % SECOND_MS
            if second is None or second.open_ms != open_ms:
                if second is not None:
                    second.closed = True
                seconds.append(Kline.of_trade(open_ms, SECOND_MS, trade, price, qty, quote))
            else:
                second.add(trade, price, qty, quote)
            minute = minutes[-1] if minutes else None
            open_ms = time_ms - time_ms % MINUTE_MS
            if minute is None or minute.open_ms != open_ms:
                if minute is not None:
                    minute.closed = True
                minutes.append(Kline.of_trade(open_ms, MINUTE_MS, trade, price, qty, quote))
            else:
                minute.add(trade, price, qty, quote)

    def close_klines(self, now_ms: int) -> None:
        """Mark candles that ended before `now_ms` closed."""
        for seconds in self._seconds.values():
            if seconds and seconds[-1].close_ms < now_ms:
                seconds[-1].closed = True
        for minutes in self._minutes.values():
            if minutes and minutes[-1].close_ms < now_ms:
                minutes[-1].closed = True

    def current_kline(self, symbol: str) -> Kline | None:
        minutes = self._minutes[symbol]
        return minutes[-1] if minutes else None

    def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """Newest last, at most `limit`."""
        trades = self._trades[symbol]
        return list(trades)[-limit:]

    def trades_from(self, symbol: str, from_id: int, limit: int) -> list[Trade]:
        """Kept trades with `trade_id >= from_id`, oldest first, at most `limit`."""
        chosen: list[Trade] = []
        for trade in self._trades[symbol]:
            if trade.trade_id >= from_id:
                chosen.append(trade)
                if len(chosen) == limit:
                    break
        return chosen

    def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        offset_ms: int = 0,
    ) -> list[Kline]:
        """Candles of `interval` (one of kline_intervals.KLINE_INTERVALS) with boundaries
        in the time zone `offset_ms` ahead of UTC, oldest first, at most `limit`: from the
        candle holding `start_ms` if given, else the most recent ones; none that opens
        after `end_ms`. A period without a trade between two that traded is a quiet
        candle (`Kline.quiet`), as on Binance ("a kline is generated even if there is no
        trade"); none is made up before the first trade served or after the last. The
        past serves the intervals it `covers` from its candles, and finer ones from its
        trades."""
        first_open = None if start_ms is None else candle_bounds(interval, start_ms, offset_ms)[0]
        ordered = self._live_klines(symbol, interval, first_open, end_ms, offset_ms)
        past = self.past
        if past is not None:
            built = past.klines if past.covers(interval) else past.fine_klines
            before = built(
                symbol, interval, first_open=first_open, end_ms=end_ms, limit=limit,
                offset_ms=offset_ms,
            )  # fmt: skip
            if before and ordered and before[-1].open_ms == ordered[0].open_ms:
                before[-1].merge(ordered[0])  # the candle the start falls in
                before[-1].closed = ordered[0].closed
                ordered = ordered[1:]
            ordered = before + ordered
        return _with_quiet_periods(ordered, interval, offset_ms, limit, newest=start_ms is None)

    def _live_klines(
        self, symbol: str, interval: str, first_open: int | None, end_ms: int | None, offset: int
    ) -> list[Kline]:
        """The live candles of `interval` from the one opening at `first_open` on, none
        opening after `end_ms`, boundaries `offset` ms ahead of UTC."""
        source = self._seconds[symbol] if interval == "1s" else self._minutes[symbol]
        ordered: list[Kline] = []
        bucket: Kline | None = None
        for candle in source:
            if first_open is not None and candle.open_ms < first_open:
                continue
            if bucket is not None and candle.open_ms <= bucket.close_ms:
                bucket.merge(candle)
                continue
            bounds = candle_bounds(interval, candle.open_ms, offset)
            if end_ms is not None and bounds[0] > end_ms:
                break
            bucket = candle.widened(*bounds)
            ordered.append(bucket)
        return ordered

    def traded_since(self, symbol: str, since_ms: int, *, by_second: bool = False) -> list[Kline]:
        """What traded from `since_ms` on, as candles, oldest first: the past's (see
        `BackHistory.traded_since`), then the kept live minutes (seconds if `by_second`)
        opened at or after `since_ms`."""
        live = self._seconds[symbol] if by_second else self._minutes[symbol]
        window = [] if self.past is None else self.past.traded_since(symbol, since_ms)
        window += [k for k in live if k.open_ms >= since_ms]
        return window


def _with_quiet_periods(
    klines: list[Kline], interval: str, offset_ms: int, limit: int, *, newest: bool
) -> list[Kline]:
    """At most `limit` of `klines` (consecutive candles of `interval`, oldest first) with
    a quiet candle in each period between two of them in which nothing traded: the
    oldest ones, or the `newest`. Stops making candles at `limit` (a second's klines
    over a quiet day would be thousands)."""
    pairs = list(itertools.pairwise(klines))
    if all(later.open_ms == earlier.close_ms + 1 for earlier, later in pairs):
        return klines[-limit:] if newest else klines[:limit]
    if newest:
        chosen = [klines[-1]]
        for earlier, later in reversed(pairs):
            quiet = _quiet_between(
                earlier, later, interval, offset_ms, limit - len(chosen), latest=True
            )
            chosen.extend(reversed(quiet))
            chosen.append(earlier)
            if len(chosen) >= limit:
                break
        chosen.reverse()
        return chosen[-limit:]
    chosen = [klines[0]]
    for earlier, later in pairs:
        quiet = _quiet_between(
            earlier, later, interval, offset_ms, limit - len(chosen), latest=False
        )
        chosen.extend(quiet)
        chosen.append(later)
        if len(chosen) >= limit:
            break
    return chosen[:limit]


def _quiet_between(
    earlier: Kline, later: Kline, interval: str, offset_ms: int, most: int, *, latest: bool
) -> list[Kline]:
    """The quiet candles of the periods between `earlier` and `later`, oldest first: at
    most `most`, the earliest ones or the `latest`."""
    quiet: list[Kline] = []
    if latest:
        moment = later.open_ms
        while len(quiet) < most:
            open_ms, width = candle_bounds(interval, moment - 1, offset_ms)
            if open_ms <= earlier.open_ms:
                break
            quiet.append(Kline.quiet(open_ms, width, earlier.close))
            moment = open_ms
        quiet.reverse()
        return quiet
    moment = earlier.close_ms + 1
    while moment < later.open_ms and len(quiet) < most:
        open_ms, width = candle_bounds(interval, moment, offset_ms)
        quiet.append(Kline.quiet(open_ms, width, earlier.close))
        moment = open_ms + width
    return quiet
