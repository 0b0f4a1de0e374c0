"""The simulated exchange's listings: filters chosen from a pair's quote asset and price,
close to what Binance uses for pairs of that size, maxima included (Binance's usual
`maxPrice` of 10**8 ticks — BTCUSDT: tick 0.01, max 1000000 — and `maxNotional` of
9000000), which the engine enforces: -1013 `Filter failure: PRICE_FILTER` / `NOTIONAL`."""

from __future__ import annotations

import math
from decimal import Decimal

from tradewind.domain.model import Instrument
from tradewind.venues.simulated.matching import InstrumentSpec, SymbolFilters

#: Minimum order value by quote asset (Binance's NOTIONAL filter), quote units.
MIN_NOTIONAL = {
    "USD": Decimal("1"),  # Coinbase's quote_min_size for USD pairs
    "USDT": Decimal("5"),
    "USDC": Decimal("5"),
    "BUSD": Decimal("5"),
    "BTC": Decimal("0.0001"),
    "ETH": Decimal("0.001"),
    "BNB": Decimal("0.01"),
}
_SIGNIFICANT_PRICE_DIGITS = 6  # a tick is about a millionth of the price
_MIN_TICK_EXPONENT = -8
_STEPS_PER_MIN_NOTIONAL = 100  # the smallest order is ~100 lot steps
TICKS_PER_MAX_PRICE = 10**8
MAX_NOTIONAL = Decimal(9_000_000)


def spec_for(venue: str, symbol: str, reference_price: Decimal) -> InstrumentSpec:
    """Filters for `symbol` trading near `reference_price` (quote per base)."""
    instrument = Instrument.parse(venue, symbol)
    if reference_price <= 0:
        raise ValueError(f"{symbol}: reference price must be positive, got {reference_price}")
    magnitude = math.floor(math.log10(reference_price))
    tick = Decimal(1).scaleb(max(_MIN_TICK_EXPONENT, magnitude - _SIGNIFICANT_PRICE_DIGITS))
    min_notional = MIN_NOTIONAL.get(instrument.quote, Decimal(0))
    base_per_min_notional = (min_notional or Decimal(10) * tick) / reference_price
    step_exponent = math.floor(math.log10(base_per_min_notional / _STEPS_PER_MIN_NOTIONAL))
    step = Decimal(1).scaleb(min(0, max(-8, step_exponent)))
    return InstrumentSpec(
        instrument,
        SymbolFilters(
            tick_size=tick,
            step_size=step,
            min_price=tick,
            max_price=tick * TICKS_PER_MAX_PRICE,
            min_qty=step,
            max_qty=Decimal(9_000_000),
            min_notional=min_notional,
            max_notional=MAX_NOTIONAL,
        ),
    )
