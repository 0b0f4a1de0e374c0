"""What the ticker and average price streams push each second: `<symbol>@ticker`,
`@miniTicker`, `@ticker_<window>`, `@avgPrice` and the all-market `!ticker@arr`,
`!miniTicker@arr`, `!ticker_<window>@arr`.

Binance pushes them every 1000 ms, an all-market array holding only the symbols whose
ticker changed (web-socket-streams.md). Here every stream pushes only what changed since
it last pushed, and a newcomer gets the current values at the next push (as Binance's
first event after a subscription). The numbers are `ticker_stats`', as REST's.
`!ticker@arr` is served although Binance has announced its removal (use `<symbol>@ticker`
or `!miniTicker@arr`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.kline_intervals import DAY_MS
from tradewind.venues.simulated.server import stream_ticker_payloads as payloads
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.stream_names import (
    TICKER_WINDOWS_MS,
    MarketStream,
    StreamKind,
)
from tradewind.venues.simulated.server.ticker_stats import (
    WindowStats,
    average_price,
    day_stats,
    last_price,
    rolling_window_open,
    window_stats,
)

_encoder = msgspec.json.Encoder()
_ZERO = Decimal(0)

# What a stream last pushed for one symbol: equal keys mean nothing changed.
_Key = tuple[object, ...]
_Build = Callable[[], msgspec.Struct]


@dataclass
class _Moment:
    """The statistics of one push, each computed at most once per symbol, whichever
    streams ask for them."""

    exchange: SimulatedExchange
    now_ms: int
    lasts: dict[str, Decimal] = field(default_factory=dict)
    days: dict[str, WindowStats] = field(default_factory=dict)
    windows: dict[tuple[str, str], tuple[WindowStats, int]] = field(default_factory=dict)

    def last(self, symbol: str) -> Decimal:
        last = self.lasts.get(symbol)
        if last is None:
            last = self.lasts[symbol] = last_price(self.exchange, symbol, self.now_ms)
        return last

    def day(self, symbol: str) -> WindowStats:
        stats = self.days.get(symbol)
        if stats is None:
            history = self.exchange.history
            stats = self.days[symbol] = day_stats(history, symbol, self.now_ms, self.last(symbol))
        return stats

    def window(self, symbol: str, window: str) -> tuple[WindowStats, int]:
        """(stats, open ms) of the rolling `window` ending now."""
        known = self.windows.get((symbol, window))
        if known is None:
            open_ms = rolling_window_open(self.now_ms, TICKER_WINDOWS_MS[window])
            stats = window_stats(self.exchange.history, symbol, open_ms, self.last(symbol))
            known = self.windows[symbol, window] = (stats, open_ms)
        return known


class TickerStreams:
    """The pushes of the ticker and average price streams, remembering per stream what
    it last pushed. Pure but for the exchange it reads; the hub sends what `flush` returns."""

    def __init__(self, exchange: SimulatedExchange, symbols: SymbolMap) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._listed = list(exchange.specs)
        self._sent: dict[str, dict[str, _Key]] = {}  # stream -> symbol -> key last pushed

    def forget(self, name: str) -> None:
        """Forget what stream `name` pushed: its next push holds everything it covers (a
        client subscribed, or nobody listens any more)."""
        self._sent.pop(name, None)

    def flush(self, streams: Iterable[MarketStream], now_ms: int) -> list[tuple[str, str]]:
        """(stream name, JSON text) of every stream in `streams` with something new."""
        moment = _Moment(self._exchange, now_ms)
        pushes: list[tuple[str, str]] = []
        for stream in streams:
            sent = self._sent.setdefault(stream.name, {})
            changed: list[msgspec.Struct] = []
            for symbol in (stream.symbol,) if stream.symbol else self._listed:
                key, build = self._view(stream, symbol, moment)
                if sent.get(symbol) != key:
                    sent[symbol] = key
                    changed.append(build())
            if changed:
                body = changed[0] if stream.symbol else changed
                pushes.append((stream.name, _encoder.encode(body).decode()))
        return pushes

    def _view(self, stream: MarketStream, symbol: str, moment: _Moment) -> tuple[_Key, _Build]:
        """What `stream` would push for `symbol` now: its key and how to build it."""
        wire, now_ms = self._symbols.wire(symbol), moment.now_ms
        kind = stream.kind
        if kind is StreamKind.MINI_TICKER:
            day = moment.day(symbol)
            return (day,), lambda: payloads.mini_ticker_event(wire, day, now_ms)
        if kind is StreamKind.WINDOW_TICKER:
            window = stream.window
            stats, open_ms = moment.window(symbol, window)
            return (stats,), lambda: payloads.window_ticker_event(
                window, wire, stats, open_ms, now_ms
            )
        history = self._exchange.history
        if kind is StreamKind.AVG_PRICE:
            price, trade_ms = average_price(history, symbol, now_ms, moment.last(symbol))
            return (price, trade_ms), lambda: payloads.average_price_event(
                wire, price, trade_ms, now_ms
            )
        day = moment.day(symbol)
        recent = history.recent_trades(symbol, 1)
        last_quantity = recent[-1].quantity if recent else _ZERO
        top = self._exchange.engine.book_ticker(symbol)
        key = (day, last_quantity, top.bid_price, top.bid_quantity, top.ask_price, top.ask_quantity)
        return key, lambda: payloads.ticker_event(
            wire, day, last_quantity, top, now_ms - DAY_MS, now_ms
        )
