"""The market before the venue started, served as its history: a price source's past
candles (`market.PastCandles`) on the wall clock, aggregated into the kline intervals
they can build, and trades synthesised from them.

Nothing is copied: the candles are the price source's own (a replay's loaded data), and
klines and trades are derived from them on request (only the kline the start falls in
is kept once built), so the back-history costs one list of references per symbol, plus
the last 1000 trades `MarketHistory` keeps anyway, and is never dropped.

What a past candle of volume V (base asset) holds, so that klines and trades agree:

- **Trades**: four of V/4 each (rounded to the lot step, at least one step), at 1/8, 3/8,
  5/8 and 7/8 of the candle, priced open, low, high, close when it rose (close >= open)
  and open, high, low, close when it fell (the replay's own walk through a candle),
  rounded to the tick. Their takers alternate so that each move's aggressor is the side
  it moved to: buy, sell, buy, sell when it rose; sell, buy, sell, buy when it fell.
  Candle `i` (0-based, oldest first) has the trade ids `4i + 1` to `4i + 4`; the live
  trades continue after the last (`next_trade_id`). A candle of volume 0 has none.
- **Kline**: the candle's prices and volume; 4 trades; quote volume V/4 x (open + high
  + low + close); taker-buy volume V/2, taker-buy quote volume V/4 x the two taker-buy
  prices; these derived volumes are rounded to 8 decimals. Wider klines sum them.
  Finer klines (`1s`, `1m`, `3m` over 5-minute candles) are built from the trades
  themselves: one per period that holds a trade (`fine_klines`).

Every rounding here names its mode (half-even): the decimal context is per thread, and a
client library in the same process may change it (ccxt's `decimal_to_precision` sets its
thread's to half-up), which made the trades synthesised in one thread and the klines
built from them in another disagree by a tick.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from tradewind.domain.model import Side
from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.kline import Kline
from tradewind.venues.simulated.kline_intervals import DAY_MS, FIXED_INTERVALS_MS, candle_bounds
from tradewind.venues.simulated.liquidity import HOUSE_PREFIX
from tradewind.venues.simulated.market import Candle, PastCandles
from tradewind.venues.simulated.matching import InstrumentSpec, MatchingOrderStatus, Trade
from tradewind.venues.simulated.matching.filters import MarketRules

TRADES_PER_CANDLE = 4
PAST_ACCOUNT = f"{HOUSE_PREFIX}history"  # maker and taker of every synthesised trade
_PLACES = Decimal("0.00000001")  # of the derived volumes, as Binance shows them
_ZERO = Decimal(0)
_LAST_KLINES_KEPT = 1024  # (symbol, interval, time zone) entries; time zones are many


def _open_ms(candle: Candle) -> int:
    return candle.open_ms


def _places(value: Decimal) -> Decimal:
    """`value` to 8 decimals, half-even."""
    return value.quantize(_PLACES, ROUND_HALF_EVEN)


def _joined(earlier: list[Kline], later: list[Kline]) -> list[Kline]:
    """Consecutive klines of one interval, oldest first; a kline that both lists hold a
    part of (a candle boundary inside it) merged into one."""
    if earlier and later and earlier[-1].open_ms == later[0].open_ms:
        earlier[-1].merge(later[0])
        later = later[1:]
    return earlier + later


class BackHistory:
    """The past candles of every listed symbol on the wall clock, ending at `end_ms`
    (where the live candles begin), `interval_ms` wide."""

    def __init__(self, past: PastCandles, specs: Mapping[str, InstrumentSpec]) -> None:
        self.interval_ms = past.interval_ms
        self.end_ms = past.end_ms
        self._shift_ms = past.shift_ms
        self._candles: dict[str, Sequence[Candle]] = {
            symbol: past.by_symbol.get(symbol, ()) for symbol in specs
        }
        self._rules = {symbol: MarketRules(spec) for symbol, spec in specs.items()}
        self._last_klines: dict[tuple[str, str, int], Kline] = {}  # see `_last_kline`

    def covers(self, interval: str) -> bool:
        """Whether klines of `interval` can be built from the past candles: their width
        (a whole number of days for `1w` and `1M`) is a multiple of the candles'."""
        width = FIXED_INTERVALS_MS.get(interval, DAY_MS)
        return width % self.interval_ms == 0

    def next_trade_id(self, symbol: str) -> int:
        """The id the first live trade of `symbol` should have."""
        return len(self._candles[symbol]) * TRADES_PER_CANDLE + 1

    # -- klines ---------------------------------------------------------------------

    def klines(
        self,
        symbol: str,
        interval: str,
        *,
        first_open: int | None,
        end_ms: int | None,
        limit: int,
        offset_ms: int = 0,
    ) -> list[Kline]:
        """Past klines of `interval` (one that `covers`), boundaries in the time zone
        `offset_ms` ahead of UTC, oldest first: from the one opening at `first_open` (a
        boundary) on, or the last `limit` when it is None; at most `limit`, none opening
        after `end_ms`. The one the back-history's end falls in holds only its past part
        (and is built once: the kline streams ask for it every second)."""
        candles, shift = self._candles[symbol], self._shift_ms
        stop = len(candles)
        if end_ms is not None:
            last_open, width = candle_bounds(interval, end_ms, offset_ms)
            stop = bisect.bisect_left(candles, last_open + width - shift, key=_open_ms)
        if first_open is not None:
            start = bisect.bisect_left(candles, first_open - shift, key=_open_ms)
        else:
            start = self._start_of_last(candles, stop, interval, limit, offset_ms)
        last_open = candle_bounds(interval, self.end_ms - 1, offset_ms)[0]
        last_start = bisect.bisect_left(candles, last_open - shift, key=_open_ms)
        ordered = self._aggregate(candles, start, min(stop, last_start), interval, limit, offset_ms)
        if start <= last_start < stop and len(ordered) < limit:
            ordered.append(self._last_kline(symbol, interval, offset_ms, last_start))
        for kline in ordered:
            kline.closed = kline.close_ms < self.end_ms
        return ordered

    def _aggregate(
        self,
        candles: Sequence[Candle],
        start: int,
        stop: int,
        interval: str,
        limit: int,
        offset_ms: int,
    ) -> list[Kline]:
        """candles[start:stop] as at most `limit` klines of `interval`, oldest first."""
        shift = self._shift_ms
        ordered: list[Kline] = []
        bucket: Kline | None = None
        for index in range(start, stop):
            candle = candles[index]
            open_ms = candle.open_ms + shift
            if bucket is not None and open_ms <= bucket.close_ms:
                bucket.merge(self._kline(index, candle, open_ms, self.interval_ms))
                continue
            if len(ordered) == limit:
                break
            bucket = self._kline(index, candle, *candle_bounds(interval, open_ms, offset_ms))
            ordered.append(bucket)
        return ordered

    def _last_kline(self, symbol: str, interval: str, offset_ms: int, start: int) -> Kline:
        """A copy of the past part of the kline the back-history's end falls in, whose
        candles start at index `start`."""
        key = (symbol, interval, offset_ms)
        kline = self._last_klines.get(key)
        if kline is None:
            candles = self._candles[symbol]
            (kline,) = self._aggregate(candles, start, len(candles), interval, 1, offset_ms)
            if len(self._last_klines) >= _LAST_KLINES_KEPT:
                self._last_klines.clear()
            self._last_klines[key] = kline
        return kline.widened(kline.open_ms, kline.interval_ms)

    def _start_of_last(
        self, candles: Sequence[Candle], stop: int, interval: str, limit: int, offset_ms: int
    ) -> int:
        """The index of the first candle of the last `limit` klines among candles[:stop]."""
        start, shift = stop, self._shift_ms
        for _ in range(limit):
            if not start:
                break
            bucket_open = candle_bounds(interval, candles[start - 1].open_ms + shift, offset_ms)[0]
            start = bisect.bisect_left(candles, bucket_open - shift, hi=start, key=_open_ms)
        return start

    def _kline(self, index: int, candle: Candle, open_ms: int, width_ms: int) -> Kline:
        """Candle `index` as a kline [open_ms, open_ms + width_ms) (wall clock; wider than
        the candle when it starts one of a wider interval)."""
        volume = candle.volume
        o, h, low, c = candle.open, candle.high, candle.low, candle.close
        if not volume:
            return Kline(open_ms, width_ms, o, h, low, c, _ZERO, _ZERO, 0, True)
        quarter = volume / TRADES_PER_CANDLE
        bought_at = o + h if c >= o else h + c
        first_id = index * TRADES_PER_CANDLE + 1
        return Kline(
            open_ms, width_ms, o, h, low, c, volume,
            _places(quarter * (o + h + low + c)), TRADES_PER_CANDLE, True,
            _places(volume / 2), _places(quarter * bought_at),
            first_id, first_id + TRADES_PER_CANDLE - 1,
        )  # fmt: skip

    def fine_klines(
        self,
        symbol: str,
        interval: str,
        *,
        first_open: int | None,
        end_ms: int | None,
        limit: int,
        offset_ms: int = 0,
    ) -> list[Kline]:
        """Past klines of an interval finer than the candles (`1s`, `1m`, `3m` over
        5-minute data: the ones the past does not `cover`), with `klines`' arguments and
        order. They are built from the synthesised trades, so they agree with `trades`,
        and, as live, a period without a trade has no kline."""
        candles, shift = self._candles[symbol], self._shift_ms
        last_open = None if end_ms is None else candle_bounds(interval, end_ms, offset_ms)[0]
        klines: list[Kline] = []
        if first_open is not None:
            index = max(0, bisect.bisect_right(candles, first_open - shift, key=_open_ms) - 1)
            for i in range(index, len(candles)):
                part = self._fine(symbol, i, interval, offset_ms, first_open, last_open)
                klines = _joined(klines, part)
                if len(klines) > limit:  # the first `limit` are whole
                    break
            chosen = klines[:limit]
        else:
            stop = len(candles)
            if end_ms is not None:
                stop = bisect.bisect_right(candles, end_ms - shift, key=_open_ms)
            for i in range(stop - 1, -1, -1):
                part = self._fine(symbol, i, interval, offset_ms, None, last_open)
                klines = _joined(part, klines)
                if len(klines) > limit:  # the last `limit` are whole
                    break
            chosen = klines[-limit:]
        for kline in chosen:
            kline.closed = kline.close_ms < self.end_ms
        return chosen

    def _fine(
        self,
        symbol: str,
        index: int,
        interval: str,
        offset_ms: int,
        first_open: int | None,
        last_open: int | None,
    ) -> list[Kline]:
        """Candle `index`'s trades as klines of `interval`, oldest first, only those
        opening from `first_open` to `last_open` (None: no bound)."""
        klines: list[Kline] = []
        for trade in self._candle_trades(symbol, index):
            open_ms, width = candle_bounds(interval, trade.time_ms, offset_ms)
            if (first_open is not None and open_ms < first_open) or (
                last_open is not None and open_ms > last_open
            ):
                continue
            price, qty, quote = trade.price, trade.quantity, trade.quote_quantity
            if klines and klines[-1].open_ms == open_ms:
                klines[-1].add(trade, price, qty, quote)
            else:
                klines.append(Kline.of_trade(open_ms, width, trade, price, qty, quote))
        return klines

    # -- trades ---------------------------------------------------------------------

    def trades(self, symbol: str, count: int) -> list[Trade]:
        """The last `count` synthesised trades (fewer if the past holds fewer), oldest
        first."""
        candles = self._candles[symbol]
        newest_first: list[list[Trade]] = []
        found, index = 0, len(candles)
        while found < count and index > 0:
            index -= 1
            trades = self._candle_trades(symbol, index)
            newest_first.append(trades)
            found += len(trades)
        ordered = [trade for trades in reversed(newest_first) for trade in trades]
        return ordered[len(ordered) - count :] if len(ordered) > count else ordered

    def _candle_trades(self, symbol: str, index: int) -> list[Trade]:
        candle = self._candles[symbol][index]
        if not candle.volume:
            return []
        rules = self._rules[symbol]
        rose = candle.close >= candle.open
        path = (
            (candle.open, candle.low, candle.high, candle.close)
            if rose
            else (candle.open, candle.high, candle.low, candle.close)
        )
        lot = candle.volume / TRADES_PER_CANDLE / rules.step_size
        steps = max(1, int(lot.to_integral_value(ROUND_HALF_EVEN)))
        open_ms, width = candle.open_ms + self._shift_ms, self.interval_ms
        first_id = index * TRADES_PER_CANDLE + 1
        trades = []
        for k, price in enumerate(path):
            ticks = max(1, int((price / rules.tick_size).to_integral_value(ROUND_HALF_EVEN)))
            quote_units = rules.quote_units(ticks * steps)  # as the engine's trades
            taker_bought = (k % 2 == 0) == rose
            ts_ms = open_ms + (2 * k + 1) * width // (2 * TRADES_PER_CANDLE)
            trades.append(
                Trade(
                    symbol=symbol,
                    trade_id=first_id + k,
                    price_ticks=ticks,
                    quantity_steps=steps,
                    quote_units=quote_units,
                    maker_side=Side.SELL if taker_bought else Side.BUY,
                    maker_order_id=0,
                    taker_order_id=0,
                    maker_client_order_id="",
                    taker_client_order_id="",
                    maker_account_id=PAST_ACCOUNT,
                    taker_account_id=PAST_ACCOUNT,
                    maker_fee_units=0,
                    taker_fee_units=0,
                    maker_executed_steps=steps,
                    maker_cumulative_quote_units=quote_units,
                    maker_status=MatchingOrderStatus.FILLED,
                    taker_executed_steps=steps,
                    taker_cumulative_quote_units=quote_units,
                    ts_ns=ts_ms * NS_PER_MS,
                    rules=rules,
                )
            )
        return trades

    # -- windows --------------------------------------------------------------------

    def traded_since(self, symbol: str, since_ms: int) -> list[Kline]:
        """What traded in the past from `since_ms` (wall clock) on, oldest first: the
        part of the candle `since_ms` falls in (from its trades at or after it), then
        every later past candle."""
        candles, shift = self._candles[symbol], self._shift_ms
        start = bisect.bisect_left(candles, since_ms - shift, key=_open_ms)
        window: list[Kline] = []
        if start > 0 and candles[start - 1].open_ms + shift + self.interval_ms > since_ms:
            part: Kline | None = None
            for trade in self._candle_trades(symbol, start - 1):
                if trade.time_ms < since_ms:
                    continue
                price, qty, quote = trade.price, trade.quantity, trade.quote_quantity
                if part is None:
                    part = Kline.of_trade(
                        candles[start - 1].open_ms + shift, self.interval_ms, trade, price,
                        qty, quote,
                    )  # fmt: skip
                else:
                    part.add(trade, price, qty, quote)
            if part is not None:
                window.append(part)
        for index in range(start, len(candles)):
            candle = candles[index]
            window.append(self._kline(index, candle, candle.open_ms + shift, self.interval_ms))
        return window
