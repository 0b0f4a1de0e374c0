"""Price-change statistics of a window of candles, in Binance's ticker shapes
(`ticker/24hr`, `ticker`, `ticker/tradingDay`), the rolling `windowSize` values, and the
5-minute average price. The REST endpoints and the ticker / avgPrice streams take their
numbers from here, so that both say the same."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.history import Kline, MarketHistory
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.server.formatting import fixed

_WINDOW_SIZE = re.compile(r"([1-9][0-9]?)([mhd])")
_WINDOW_UNITS = {"m": (MINUTE_MS, 59), "h": (HOUR_MS, 23), "d": (DAY_MS, 7)}
_PERCENT_PLACES = Decimal("0.001")
_PRICE_PLACES = Decimal("0.00000001")
_ZERO = Decimal(0)
AVERAGE_PRICE_MINUTES = 5  # Binance's avgPrice window ("mins", the stream's "i": "5m")


def window_size_ms(text: str) -> int | None:
    """`windowSize` (1m…59m, 1h…23h, 1d…7d) in ms; None for anything else."""
    match = _WINDOW_SIZE.fullmatch(text)
    if match is None:
        return None
    unit_ms, most = _WINDOW_UNITS[match.group(2)]
    count = int(match.group(1))
    return count * unit_ms if count <= most else None


@dataclass(frozen=True)
class WindowStats:
    """What traded in a window. Prices in the quote asset; `volume` in the base asset,
    `quote_volume` in the quote asset; trade ids -1 and `count` 0 if nothing traded (the
    prices are then all the last price before the window)."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal
    quote_volume: Decimal
    first_id: int
    last_id: int
    count: int

    @classmethod
    def of(cls, candles: list[Kline], last_price: Decimal) -> WindowStats:
        """From `candles` (oldest first); `last_price` stands in when none traded."""
        traded = [k for k in candles if k.trades]
        if not traded:
            return cls(last_price, last_price, last_price, last_price, _ZERO, _ZERO, -1, -1, 0)
        return cls(
            open=traded[0].open,
            high=max(k.high for k in traded),
            low=min(k.low for k in traded),
            last=traded[-1].close,
            volume=sum((k.volume for k in traded), _ZERO),
            quote_volume=sum((k.quote_volume for k in traded), _ZERO),
            first_id=traded[0].first_trade_id,
            last_id=traded[-1].last_trade_id,
            count=sum(k.trades for k in traded),
        )

    @property
    def price_change(self) -> Decimal:
        return self.last - self.open

    @property
    def price_change_percent(self) -> Decimal:
        """Change relative to the open, percent with 3 decimals."""
        if not self.open:
            return _ZERO.quantize(_PERCENT_PLACES, ROUND_HALF_EVEN)
        return (self.price_change / self.open * 100).quantize(_PERCENT_PLACES, ROUND_HALF_EVEN)

    @property
    def weighted_average(self) -> Decimal:
        """quote_volume / volume with 8 decimals (0 if nothing traded)."""
        if not self.volume:
            return _ZERO
        return (self.quote_volume / self.volume).quantize(_PRICE_PLACES, ROUND_HALF_EVEN)


def window_ticker(
    stats: WindowStats, wire_symbol: str, open_ms: int, close_ms: int, *, mini: bool
) -> dict[str, object]:
    """A `ticker` / `ticker/tradingDay` item (FULL or MINI)."""
    ticker: dict[str, object] = {"symbol": wire_symbol}
    if not mini:
        ticker.update(
            priceChange=fixed(stats.price_change),
            priceChangePercent=format(stats.price_change_percent, "f"),
            weightedAvgPrice=fixed(stats.weighted_average),
        )
    ticker.update(
        openPrice=fixed(stats.open),
        highPrice=fixed(stats.high),
        lowPrice=fixed(stats.low),
        lastPrice=fixed(stats.last),
        volume=fixed(stats.volume),
        quoteVolume=fixed(stats.quote_volume),
        openTime=open_ms,
        closeTime=close_ms,
        firstId=stats.first_id,
        lastId=stats.last_id,
        count=stats.count,
    )
    return ticker


def last_price(exchange: SimulatedExchange, symbol: str, now_ms: int) -> Decimal:
    """The last trade's price; before any trade, the market's reference price at `now_ms`."""
    last = exchange.engine.last_price(symbol)
    return last if last is not None else exchange.prices.price(symbol, now_ms)


def window_stats(history: MarketHistory, symbol: str, since_ms: int, last: Decimal) -> WindowStats:
    """What traded on `symbol` from `since_ms` (minute-aligned) on; `last` stands in for
    the prices if nothing did."""
    return WindowStats.of(history.traded_since(symbol, since_ms), last)


def day_stats(history: MarketHistory, symbol: str, now_ms: int, last: Decimal) -> WindowStats:
    """The rolling 24 hours before `now_ms` (`ticker/24hr`, `<symbol>@ticker`,
    `<symbol>@miniTicker`), closing at the last price `last`."""
    in_window = WindowStats.of(history.traded_since(symbol, now_ms - DAY_MS), last)
    return dataclasses.replace(in_window, last=last)


def rolling_window_open(now_ms: int, size_ms: int) -> int:
    """Where a rolling window of `size_ms` ending at `now_ms` opens: Binance starts it on
    the minute, so it is up to 59999 ms wider than `size_ms`."""
    since = now_ms - size_ms
    return since - since % MINUTE_MS


def average_price(
    history: MarketHistory, symbol: str, now_ms: int, last: Decimal
) -> tuple[Decimal, int]:
    """(price, ms of the last trade) of `avgPrice`: the volume-weighted price of the last
    AVERAGE_PRICE_MINUTES with 8 decimals (`last` if nothing traded); `now_ms` stands in
    for the time before any trade."""
    window = history.traded_since(
        symbol, now_ms - AVERAGE_PRICE_MINUTES * MINUTE_MS, by_second=True
    )
    volume = sum((k.volume for k in window), _ZERO)
    quote_volume = sum((k.quote_volume for k in window), _ZERO)
    price = quote_volume / volume if volume else last
    recent = history.recent_trades(symbol, 1)
    return price.quantize(_PRICE_PLACES, ROUND_HALF_EVEN), recent[-1].time_ms if recent else now_ms
