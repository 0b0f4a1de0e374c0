"""Binance's ticker and average price stream payloads (web-socket-streams.md): the
24-hour ticker (`24hrTicker`), its mini form (`24hrMiniTicker`), the rolling window
tickers (`1hTicker`, `4hTicker`, `1dTicker`) and `avgPrice`.

Pure, like `stream_payloads`: the numbers come in as `ticker_stats.WindowStats`, the same
the REST tickers are written from; times are ms since the Unix epoch.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.venues.simulated.matching import BookTicker
from tradewind.venues.simulated.server.formatting import fixed
from tradewind.venues.simulated.server.ticker_stats import AVERAGE_PRICE_MINUTES, WindowStats

_ZERO = Decimal(0)


class TickerEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@ticker` / `!ticker@arr`: the rolling 24 hours, with the best bid and ask.
    `x`, the price before the window, is the window's open (as REST's prevClosePrice)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    price_change: str = msgspec.field(name="p")
    price_change_percent: str = msgspec.field(name="P")
    weighted_average: str = msgspec.field(name="w")
    previous_close: str = msgspec.field(name="x")
    last_price: str = msgspec.field(name="c")
    last_quantity: str = msgspec.field(name="Q")
    bid_price: str = msgspec.field(name="b")
    bid_quantity: str = msgspec.field(name="B")
    ask_price: str = msgspec.field(name="a")
    ask_quantity: str = msgspec.field(name="A")
    open: str = msgspec.field(name="o")
    high: str = msgspec.field(name="h")
    low: str = msgspec.field(name="l")
    volume: str = msgspec.field(name="v")
    quote_volume: str = msgspec.field(name="q")
    open_ms: int = msgspec.field(name="O")
    close_ms: int = msgspec.field(name="C")
    first_trade_id: int = msgspec.field(name="F")
    last_trade_id: int = msgspec.field(name="L")
    trades: int = msgspec.field(name="n")


class MiniTickerEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@miniTicker` / `!miniTicker@arr`: the rolling 24 hours, prices and volumes."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    close: str = msgspec.field(name="c")
    open: str = msgspec.field(name="o")
    high: str = msgspec.field(name="h")
    low: str = msgspec.field(name="l")
    volume: str = msgspec.field(name="v")
    quote_volume: str = msgspec.field(name="q")


class WindowTickerEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@ticker_<window>` / `!ticker_<window>@arr`: a rolling window that opens
    on the minute (`O`) and closes now (`C`)."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    price_change: str = msgspec.field(name="p")
    price_change_percent: str = msgspec.field(name="P")
    open: str = msgspec.field(name="o")
    high: str = msgspec.field(name="h")
    low: str = msgspec.field(name="l")
    last_price: str = msgspec.field(name="c")
    weighted_average: str = msgspec.field(name="w")
    volume: str = msgspec.field(name="v")
    quote_volume: str = msgspec.field(name="q")
    open_ms: int = msgspec.field(name="O")
    close_ms: int = msgspec.field(name="C")
    first_trade_id: int = msgspec.field(name="F")
    last_trade_id: int = msgspec.field(name="L")
    trades: int = msgspec.field(name="n")


class AveragePriceEvent(msgspec.Struct, frozen=True, gc=False):
    """`<symbol>@avgPrice`: the volume-weighted price of the last 5 minutes."""

    event_type: str = msgspec.field(name="e")
    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    interval: str = msgspec.field(name="i")
    price: str = msgspec.field(name="w")
    last_trade_ms: int = msgspec.field(name="T")


def _percent(stats: WindowStats) -> str:
    return format(stats.price_change_percent, "f")


def ticker_event(
    wire_symbol: str,
    stats: WindowStats,
    last_quantity: Decimal,
    top: BookTicker,
    open_ms: int,
    event_ms: int,
) -> TickerEvent:
    """The 24-hour ticker closing at `event_ms`; an empty book side shows "0"."""

    def side(value: Decimal | None) -> str:
        return fixed(_ZERO if value is None else value)

    return TickerEvent(
        "24hrTicker", event_ms, wire_symbol, fixed(stats.price_change), _percent(stats),
        fixed(stats.weighted_average), fixed(stats.open), fixed(stats.last),
        fixed(last_quantity), side(top.bid_price), side(top.bid_quantity),
        side(top.ask_price), side(top.ask_quantity), fixed(stats.open), fixed(stats.high),
        fixed(stats.low), fixed(stats.volume), fixed(stats.quote_volume), open_ms, event_ms,
        stats.first_id, stats.last_id, stats.count,
    )  # fmt: skip


def mini_ticker_event(wire_symbol: str, stats: WindowStats, event_ms: int) -> MiniTickerEvent:
    return MiniTickerEvent(
        "24hrMiniTicker", event_ms, wire_symbol, fixed(stats.last), fixed(stats.open),
        fixed(stats.high), fixed(stats.low), fixed(stats.volume), fixed(stats.quote_volume),
    )  # fmt: skip


def window_ticker_event(
    window: str, wire_symbol: str, stats: WindowStats, open_ms: int, event_ms: int
) -> WindowTickerEvent:
    """The `window` ("1h", "4h", "1d") ticker from `open_ms` to `event_ms`."""
    return WindowTickerEvent(
        f"{window}Ticker", event_ms, wire_symbol, fixed(stats.price_change), _percent(stats),
        fixed(stats.open), fixed(stats.high), fixed(stats.low), fixed(stats.last),
        fixed(stats.weighted_average), fixed(stats.volume), fixed(stats.quote_volume),
        open_ms, event_ms, stats.first_id, stats.last_id, stats.count,
    )  # fmt: skip


def average_price_event(
    wire_symbol: str, price: Decimal, last_trade_ms: int, event_ms: int
) -> AveragePriceEvent:
    return AveragePriceEvent(
        "avgPrice", event_ms, wire_symbol, f"{AVERAGE_PRICE_MINUTES}m", fixed(price),
        last_trade_ms,
    )  # fmt: skip
