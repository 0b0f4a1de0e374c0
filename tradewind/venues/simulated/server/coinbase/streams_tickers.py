"""What the `ticker` and `ticker_batch` channels say of a product: its last price, top
of the book, and the rolling 24 hours and 52 weeks from the market history (the same
history the REST side's candles and tickers read)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.kline_intervals import DAY_MS, MINUTE_MS
from tradewind.venues.simulated.server.coinbase.streams_payloads import TickerFigures, product_id
from tradewind.venues.simulated.server.ticker_stats import WindowStats, day_stats, last_price

_YEAR_MS = 365 * DAY_MS
_PERCENT_PLACES = Decimal("0.00000001")


@dataclass(frozen=True)
class _Window:
    """A product's 24 hours as of its last trade, and its 52-week range as of a minute."""

    minute: int
    last_trade_id: int
    day: WindowStats
    low_52w: Decimal
    high_52w: Decimal


class TickerFigureBook:
    """Tickers of one exchange's products; the 24 hours are recomputed only after a
    trade, the 52 weeks at most once a minute."""

    def __init__(self, exchange: SimulatedExchange) -> None:
        self._exchange = exchange
        self._windows: dict[str, _Window] = {}
        self._last_trade_ids: dict[str, int] = {}  # symbol -> its last trade's id

    def traded(self, symbol: str, last_trade_id: int) -> None:
        """`symbol` printed trades up to `last_trade_id`."""
        self._last_trade_ids[symbol] = last_trade_id

    def figures(self, symbol: str, now_ms: int) -> TickerFigures:
        exchange = self._exchange
        last = last_price(exchange, symbol, now_ms)
        window = self._window(symbol, now_ms, last)
        day = window.day
        low, high = min(day.low, last), max(day.high, last)
        change = (last - day.open) / day.open * 100 if day.open else Decimal(0)
        top = exchange.engine.book_ticker(symbol)
        return TickerFigures(
            product=product_id(symbol),
            price=last,
            volume_24h=day.volume,
            low_24h=low,
            high_24h=high,
            low_52w=min(window.low_52w, low),
            high_52w=max(window.high_52w, high),
            change_24h_percent=change.quantize(_PERCENT_PLACES),
            best_bid=top.bid_price,
            best_bid_quantity=top.bid_quantity,
            best_ask=top.ask_price,
            best_ask_quantity=top.ask_quantity,
        )

    def _window(self, symbol: str, now_ms: int, last: Decimal) -> _Window:
        last_trade_id = self._last_trade_ids.get(symbol, -1)
        minute = now_ms // MINUTE_MS
        window = self._windows.get(symbol)
        if window is not None and (window.last_trade_id, window.minute) == (last_trade_id, minute):
            return window
        history = self._exchange.history
        if window is not None and window.minute == minute:
            year = (window.low_52w, window.high_52w)  # the year's range moves by minutes
        else:
            traded = WindowStats.of(history.traded_since(symbol, now_ms - _YEAR_MS), last)
            year = (traded.low, traded.high)
        window = _Window(minute, last_trade_id, day_stats(history, symbol, now_ms, last), *year)
        self._windows[symbol] = window
        return window
