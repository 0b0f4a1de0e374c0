"""One candle of the simulated exchange's market history, as Binance's klines describe it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradewind.venues.simulated.matching import Trade

_ZERO = Decimal(0)


@dataclass(slots=True)
class Kline:
    """One candle; volumes in the base asset, quote volumes in the quote asset.
    `taker_buy_*` count the trades whose buyer was the taker (the aggressor bought);
    `first_trade_id` / `last_trade_id` are -1 for a candle without trades."""

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
    taker_buy_volume: Decimal = _ZERO
    taker_buy_quote_volume: Decimal = _ZERO
    first_trade_id: int = -1
    last_trade_id: int = -1

    @property
    def close_ms(self) -> int:
        return self.open_ms + self.interval_ms - 1

    @classmethod
    def of_trade(
        cls,
        open_ms: int,
        interval_ms: int,
        trade: Trade,
        price: Decimal,
        qty: Decimal,
        quote: Decimal,
    ) -> Kline:
        """The candle opened by `trade` (`price`, `qty`, `quote` are its values, passed in
        so that they are computed once per trade)."""
        taker_bought = not trade.is_buyer_maker
        return cls(
            open_ms, interval_ms, price, price, price, price, qty, quote, 1, False,
            qty if taker_bought else _ZERO, quote if taker_bought else _ZERO,
            trade.trade_id, trade.trade_id,
        )  # fmt: skip

    def add(self, trade: Trade, price: Decimal, qty: Decimal, quote: Decimal) -> None:
        """Fold a later `trade` of this candle in."""
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += qty
        self.quote_volume += quote
        self.trades += 1
        if not trade.is_buyer_maker:
            self.taker_buy_volume += qty
            self.taker_buy_quote_volume += quote
        self.last_trade_id = trade.trade_id

    def merge(self, later: Kline) -> None:
        """Fold a later candle of the same period in (aggregating to a wider interval)."""
        self.high = max(self.high, later.high)
        self.low = min(self.low, later.low)
        self.close = later.close
        self.volume += later.volume
        self.quote_volume += later.quote_volume
        self.trades += later.trades
        self.taker_buy_volume += later.taker_buy_volume
        self.taker_buy_quote_volume += later.taker_buy_quote_volume
        if later.last_trade_id != -1:
            self.last_trade_id = later.last_trade_id
            if self.first_trade_id == -1:
                self.first_trade_id = later.first_trade_id

    @classmethod
    def quiet(cls, open_ms: int, interval_ms: int, price: Decimal) -> Kline:
        """A candle in which nothing traded: open, high, low and close all `price` (the
        previous candle's close), no volume; Binance serves these too."""
        return cls(open_ms, interval_ms, price, price, price, price, _ZERO, _ZERO, 0, True)

    def widened(self, open_ms: int, interval_ms: int) -> Kline:
        """A copy of this candle as the start of a candle [open_ms, open_ms + interval_ms)."""
        return Kline(
            open_ms, interval_ms, self.open, self.high, self.low, self.close, self.volume,
            self.quote_volume, self.trades, False, self.taker_buy_volume,
            self.taker_buy_quote_volume, self.first_trade_id, self.last_trade_id,
        )  # fmt: skip
