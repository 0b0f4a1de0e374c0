"""Public market history of the simulated exchange: recent trades and 1-minute klines
(candles) per symbol, built from the trades that print. Other intervals are aggregated
from the minutes on request."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.matching import InstrumentSpec, Trade

MINUTE_MS = 60_000
INTERVALS_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}
_KEEP_TRADES = 1000
_KEEP_MINUTES = 2 * 1440


@dataclass
class Kline:
    """One candle; `volume` in the base asset, `quote_volume` in the quote asset."""

    open_ms: int
    interval_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    closed: bool = False

    @property
    def close_ms(self) -> int:
        return self.open_ms + self.interval_ms - 1

    def add(self, price: Decimal, quantity: Decimal, quote: Decimal) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += quantity
        self.quote_volume += quote
        self.trades += 1


class MarketHistory:
    """Recent trades and minute klines of every listed symbol."""

    def __init__(self, specs: dict[str, InstrumentSpec]) -> None:
        self._trades: dict[str, deque[Trade]] = {s: deque(maxlen=_KEEP_TRADES) for s in specs}
        self._minutes: dict[str, deque[Kline]] = {s: deque(maxlen=_KEEP_MINUTES) for s in specs}
        self.closed_klines: list[tuple[str, Kline]] = []  # closed since last drained

    def record_trades(self, symbol: str, trades: list[Trade]) -> None:
        self._trades[symbol].extend(trades)
        minutes = self._minutes[symbol]
        for trade in trades:
            open_ms = trade.time_ms - trade.time_ms % MINUTE_MS
            price, quantity = trade.price, trade.quantity
            current = minutes[-1] if minutes else None
            if current is None or current.open_ms != open_ms:
                if current is not None and not current.closed:
                    current.closed = True
                    self.closed_klines.append((symbol, current))
                quote = trade.quote_quantity
                minutes.append(
                    Kline(open_ms, MINUTE_MS, price, price, price, price, quantity, quote, 1)
                )
            else:
                current.add(price, quantity, trade.quote_quantity)

    def close_klines(self, now_ms: int) -> None:
        """Mark minutes that ended before `now_ms` closed (queued in `closed_klines`)."""
        for symbol, minutes in self._minutes.items():
            if minutes and not minutes[-1].closed and minutes[-1].close_ms < now_ms:
                minutes[-1].closed = True
                self.closed_klines.append((symbol, minutes[-1]))

    def current_kline(self, symbol: str) -> Kline | None:
        minutes = self._minutes[symbol]
        return minutes[-1] if minutes else None

    def recent_trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """Newest last, at most `limit`."""
        trades = self._trades[symbol]
        return list(trades)[-limit:]

    def klines(
        self,
        symbol: str,
        interval: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """Candles of `interval` (a key of INTERVALS_MS), oldest first, at most `limit`."""
        width = INTERVALS_MS[interval]
        buckets: dict[int, Kline] = {}
        for minute in self._minutes[symbol]:
            if start_ms is not None and minute.open_ms < start_ms - start_ms % width:
                continue
            if end_ms is not None and minute.open_ms > end_ms:
                continue
            open_ms = minute.open_ms - minute.open_ms % width
            bucket = buckets.get(open_ms)
            if bucket is None:
                buckets[open_ms] = Kline(
                    open_ms, width, minute.open, minute.high, minute.low, minute.close,
                    minute.volume, minute.quote_volume, minute.trades,
                )  # fmt: skip
            else:
                bucket.high = max(bucket.high, minute.high)
                bucket.low = min(bucket.low, minute.low)
                bucket.close = minute.close
                bucket.volume += minute.volume
                bucket.quote_volume += minute.quote_volume
                bucket.trades += minute.trades
        ordered = [buckets[k] for k in sorted(buckets)]
        return ordered[:limit] if start_ms is not None else ordered[-limit:]

    def day_window(self, symbol: str, now_ms: int) -> list[Kline]:
        """The minutes of the last 24 hours, oldest first (for ticker/24hr)."""
        since = now_ms - 1440 * MINUTE_MS
        return [k for k in self._minutes[symbol] if k.open_ms >= since]
