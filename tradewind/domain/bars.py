"""OHLCV bars from trade ticks.

A `BarBuilder` keeps the bar in progress of one instrument. Bars are `interval_s` long
and aligned to the Unix epoch (a 60 s bar opens at a whole minute, UTC). A bar closes
when a trade of a later interval arrives, or when `close_due(now_ns)` finds its interval
over; an interval without trades has no bar. A trade of an interval that is already
closed (it arrived too late) cannot change a published bar: it is counted in
`late_trades` and left out.

Pure: no I/O, no clock (times are ns since the epoch). Prices and volumes are `Decimal`;
volume sums are exact.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.events import Bar, TradeTick
from tradewind.domain.exact import WIDE
from tradewind.domain.model import Instrument
from tradewind.domain.time_units import NS_PER_S


class BarBuilder:
    """Builds one instrument's OHLCV bars from its trades: `interval_s` long, aligned to the
    epoch, closed by a later trade or by `close_due`."""

    __slots__ = (
        "_close",
        "_closed_until_ns",
        "_high",
        "_interval_ns",
        "_low",
        "_open",
        "_open_ns",
        "_volume",
        "instrument",
        "interval_s",
        "late_trades",
    )

    def __init__(self, instrument: Instrument, interval_s: int) -> None:
        if interval_s < 1:
            raise ValueError(f"a bar interval must be at least 1 s, got {interval_s}")
        self.instrument = instrument
        self.interval_s = interval_s
        self._interval_ns = interval_s * NS_PER_S
        self._open_ns: int | None = None  # None: no bar in progress
        self._closed_until_ns = 0  # trades before this belong to closed bars
        self._open = self._high = self._low = self._close = self._volume = Decimal(0)
        self.late_trades = 0

    def add(self, price: Decimal, quantity: Decimal, ts_ns: int) -> Bar | None:
        """Take in one trade at `ts_ns`; returns the bar it closed, if it closed one."""
        start = ts_ns - ts_ns % self._interval_ns
        open_ns = self._open_ns
        if open_ns == start:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            self._volume = WIDE.add(self._volume, quantity)
            return None
        if start < self._closed_until_ns or (open_ns is not None and start < open_ns):
            self.late_trades += 1
            return None
        closed = self._finish() if open_ns is not None else None
        self._open_ns = start
        self._open = self._high = self._low = self._close = price
        self._volume = quantity
        return closed

    def add_trade(self, tick: TradeTick) -> Bar | None:
        """`add` for a `TradeTick` (of this builder's instrument)."""
        return self.add(tick.price, tick.quantity, tick.ts_ns)

    def close_due(self, now_ns: int) -> Bar | None:
        """Close and return the bar in progress if its interval ended by `now_ns`."""
        if self._open_ns is None or self._open_ns + self._interval_ns > now_ns:
            return None
        return self._finish()

    @property
    def current(self) -> Bar | None:
        """The bar in progress as it stands (not closed), or None."""
        if self._open_ns is None:
            return None
        return self._bar(self._open_ns)

    def _finish(self) -> Bar:
        assert self._open_ns is not None
        bar = self._bar(self._open_ns)
        self._closed_until_ns = self._open_ns + self._interval_ns
        self._open_ns = None
        return bar

    def _bar(self, open_ns: int) -> Bar:
        return Bar(
            instrument=self.instrument,
            interval_s=self.interval_s,
            open_ns=open_ns,
            open=self._open,
            high=self._high,
            low=self._low,
            close=self._close,
            volume=self._volume,
        )
