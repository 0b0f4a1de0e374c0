"""Value types of the trading domain: instruments, sides, order types.

Prices, quantities and money are `decimal.Decimal` everywhere; msgspec encodes them
as strings, so they cross the wire exactly.
"""

from __future__ import annotations

import enum

import msgspec


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(enum.StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(enum.StrEnum):
    """How long an order rests. `GTX` is post-only: it is rejected if it would take."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"


class Liquidity(enum.StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class Instrument(msgspec.Struct, frozen=True, array_like=True):
    """A tradable pair on one venue, e.g. `Instrument("sim", "BTC/USDT", "BTC", "USDT")`.

    `symbol` uses ccxt's unified form `BASE/QUOTE`.
    """

    venue: str
    symbol: str
    base: str
    quote: str

    @classmethod
    def parse(cls, venue: str, symbol: str) -> Instrument:
        """Build an instrument from a unified symbol; raises ValueError naming the symbol."""
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote or "/" in quote:
            raise ValueError(f"symbol {symbol!r} is not of the form BASE/QUOTE")
        return cls(venue, symbol, base, quote)

    @property
    def key(self) -> str:
        """The bus key of market data for this instrument: `venue:BASE/QUOTE`."""
        return f"{self.venue}:{self.symbol}"
