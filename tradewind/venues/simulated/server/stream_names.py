"""Binance market stream names: `btcusdt@trade`, `btcusdt@depth@100ms`, ... (the symbol
is Binance's, `BTCUSDT`, in lower case; the engine's is `BTC/USDT`)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from tradewind.venues.simulated.history import INTERVALS_MS
from tradewind.venues.simulated.server.formatting import SymbolMap

MAX_STREAMS_PER_CONNECTION = 1024  # Binance's limit
PARTIAL_DEPTH_LEVELS = (5, 10, 20)
SLOW_MS, FAST_MS = 1000, 100  # Binance's two depth update speeds

_NAME = re.compile(
    r"(?P<symbol>[A-Za-z0-9]+)@(?:"
    r"(?P<plain>trade|aggTrade|bookTicker)"
    r"|depth(?P<levels>\d+)?(?:@(?P<speed>\d+)ms)?"
    r"|kline_(?P<interval>\w+))"
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


@dataclass(frozen=True)
class MarketStream:
    """One market stream. `name` is canonical (lower-case symbol; the 1000 ms depth
    speed written without a suffix, as Binance lists it); `symbol` is the engine's.
    `speed_ms` is set for depth streams, `levels` for partial depth, `interval` for
    klines (a key of `history.INTERVALS_MS`)."""

    name: str
    symbol: str
    kind: StreamKind
    speed_ms: int = 0
    levels: int = 0
    interval: str = ""


def parse_stream(name: str, symbols: SymbolMap) -> MarketStream:
    """The market stream `name` asks for; raises InvalidStream saying what is wrong."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise InvalidStream(
            f"invalid stream {name!r}: expected <symbol>@trade, @aggTrade, @bookTicker, "
            "@depth[@100ms], @depth<5|10|20>[@100ms] or @kline_<interval>"
        )
    prefix = match["symbol"].lower()
    symbol = symbols.unified(prefix.upper())
    if symbol is None:
        raise InvalidStream(f"invalid stream {name!r}: symbol {prefix.upper()} is not listed")
    if match["plain"]:
        kind = StreamKind(match["plain"])
        return MarketStream(f"{prefix}@{kind.value}", symbol, kind)
    if match["interval"] is not None:
        interval = match["interval"]
        if interval not in INTERVALS_MS:
            raise InvalidStream(
                f"invalid stream {name!r}: interval must be one of {', '.join(INTERVALS_MS)}"
            )
        return MarketStream(
            f"{prefix}@kline_{interval}", symbol, StreamKind.KLINE, interval=interval
        )
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
