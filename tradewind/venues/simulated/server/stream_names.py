"""Binance market stream names: `btcusdt@trade`, `btcusdt@depth@100ms`, `!ticker@arr`, ...
(the symbol is Binance's, `BTCUSDT`, in lower case; the engine's is `BTC/USDT`)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, KLINE_INTERVALS
from tradewind.venues.simulated.server.formatting import SymbolMap

MAX_STREAMS_PER_CONNECTION = 1024  # Binance's limit
PARTIAL_DEPTH_LEVELS = (5, 10, 20)
SLOW_MS, FAST_MS = 1000, 100  # Binance's two depth update speeds; tickers push every SLOW_MS
KLINE_MS = 2000  # Binance pushes klines every 2 s, `1s` klines every SLOW_MS
#: Rolling windows of `<symbol>@ticker_<window>` / `!ticker_<window>@arr`, ms.
TICKER_WINDOWS_MS = {"1h": HOUR_MS, "4h": 4 * HOUR_MS, "1d": DAY_MS}
#: The one time zone a kline stream may name (`btcusdt@kline_1d@+08:00`), ms ahead of UTC.
KLINE_TIME_ZONES_MS = {"+08:00": 8 * HOUR_MS}

_NAME = re.compile(
    r"(?P<symbol>[A-Za-z0-9]+)@(?:"
    r"(?P<plain>trade|aggTrade|bookTicker|ticker|miniTicker|avgPrice)"
    r"|ticker_(?P<window>\w+)"
    r"|depth(?P<levels>\d+)?(?:@(?P<speed>\d+)ms)?"
    r"|kline_(?P<interval>\w+)(?:@(?P<zone>[+-]\d\d:\d\d))?)"
)
# an all-market stream may name its speed, 1000 ms (python-binance asks for
# `!miniTicker@arr@1000ms`, which Binance serves although its documents do not show it)
_ALL_MARKET = re.compile(
    r"!(?:(?P<plain>ticker|miniTicker)|ticker_(?P<window>\w+))@arr(?:@(?P<speed>\d+)ms)?"
)
_EXPECTED = (
    "expected <symbol>@trade, @aggTrade, @bookTicker, @depth[@100ms], "
    "@depth<5|10|20>[@100ms], @kline_<interval>[@+08:00], @ticker, @miniTicker, "
    "@ticker_<1h|4h|1d>, @avgPrice, or !ticker@arr, !miniTicker@arr, !ticker_<1h|4h|1d>@arr"
)


class InvalidStream(ValueError):
    """A stream name the server does not serve; the message says why."""


class StreamKind(enum.Enum):
    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    BOOK_TICKER = "bookTicker"
    DIFF_DEPTH = "depth"
    PARTIAL_DEPTH = "partialDepth"
    KLINE = "kline"
    TICKER = "ticker"  # 24hrTicker
    MINI_TICKER = "miniTicker"  # 24hrMiniTicker
    WINDOW_TICKER = "windowTicker"  # 1hTicker, 4hTicker, 1dTicker
    AVG_PRICE = "avgPrice"


_REAL_TIME = (StreamKind.TRADE, StreamKind.AGG_TRADE, StreamKind.BOOK_TICKER)


@dataclass(frozen=True)
class MarketStream:
    """One market stream. `name` is canonical (lower-case symbol; the 1000 ms depth
    speed written without a suffix, as Binance lists it); `symbol` is the engine's, empty
    for an all-market stream (`!…@arr`: every listed symbol). `speed_ms` is how often a
    batched stream is pushed (0: each event as it happens); `levels` is set for partial
    depth, `interval` and `offset_ms` (the time zone's, ms ahead of UTC) for klines,
    `window` (a key of TICKER_WINDOWS_MS) for rolling window tickers."""

    name: str
    symbol: str
    kind: StreamKind
    speed_ms: int = 0
    levels: int = 0
    interval: str = ""
    offset_ms: int = 0
    window: str = ""


def parse_stream(name: str, symbols: SymbolMap) -> MarketStream:
    """The market stream `name` asks for; raises InvalidStream saying what is wrong."""
    if name.startswith("!"):
        return _all_market(name)
    match = _NAME.fullmatch(name)
    if match is None:
        raise InvalidStream(f"invalid stream {name!r}: {_EXPECTED}")
    prefix = match["symbol"].lower()
    symbol = symbols.unified(prefix.upper())
    if symbol is None:
        raise InvalidStream(f"invalid stream {name!r}: symbol {prefix.upper()} is not listed")
    if match["plain"]:
        kind = StreamKind(match["plain"])
        speed = 0 if kind in _REAL_TIME else SLOW_MS
        return MarketStream(f"{prefix}@{kind.value}", symbol, kind, speed)
    if match["window"] is not None:
        window = _window(name, match["window"])
        return MarketStream(
            f"{prefix}@ticker_{window}", symbol, StreamKind.WINDOW_TICKER, SLOW_MS, window=window
        )
    if match["interval"] is not None:
        return _kline(name, prefix, symbol, match["interval"], match["zone"])
    speed = int(match["speed"] or SLOW_MS)
    if speed not in (SLOW_MS, FAST_MS):
        raise InvalidStream(f"invalid stream {name!r}: depth speed must be 100ms or 1000ms")
    suffix = "@100ms" if speed == FAST_MS else ""
    if match["levels"] is None:
        return MarketStream(f"{prefix}@depth{suffix}", symbol, StreamKind.DIFF_DEPTH, speed)
    levels = int(match["levels"])
    if levels not in PARTIAL_DEPTH_LEVELS:
        raise InvalidStream(f"invalid stream {name!r}: partial depth levels must be 5, 10 or 20")
    return MarketStream(
        f"{prefix}@depth{levels}{suffix}", symbol, StreamKind.PARTIAL_DEPTH, speed, levels
    )


def _all_market(name: str) -> MarketStream:
    match = _ALL_MARKET.fullmatch(name)
    if match is None:
        raise InvalidStream(f"invalid stream {name!r}: {_EXPECTED}")
    suffix = ""
    if match["speed"] is not None:
        if int(match["speed"]) != SLOW_MS:
            raise InvalidStream(f"invalid stream {name!r}: the only speed is @1000ms")
        suffix = f"@{SLOW_MS}ms"
    if match["plain"]:
        kind = StreamKind(match["plain"])
        return MarketStream(f"!{kind.value}@arr{suffix}", "", kind, SLOW_MS)
    window = _window(name, match["window"])
    return MarketStream(
        f"!ticker_{window}@arr{suffix}", "", StreamKind.WINDOW_TICKER, SLOW_MS, window=window
    )


def _window(name: str, window: str) -> str:
    if window not in TICKER_WINDOWS_MS:
        raise InvalidStream(f"invalid stream {name!r}: window size must be 1h, 4h or 1d")
    return window


def _kline(name: str, prefix: str, symbol: str, interval: str, zone: str | None) -> MarketStream:
    if interval not in KLINE_INTERVALS:
        raise InvalidStream(
            f"invalid stream {name!r}: interval must be one of {', '.join(KLINE_INTERVALS)}"
        )
    offset_ms = 0
    if zone is not None:
        if zone not in KLINE_TIME_ZONES_MS:
            raise InvalidStream(f"invalid stream {name!r}: the only time zone is @+08:00")
        offset_ms = KLINE_TIME_ZONES_MS[zone]
    speed = SLOW_MS if interval == "1s" else KLINE_MS
    suffix = "" if zone is None else f"@{zone}"
    return MarketStream(
        f"{prefix}@kline_{interval}{suffix}", symbol, StreamKind.KLINE, speed,
        interval=interval, offset_ms=offset_ms,
    )  # fmt: skip
