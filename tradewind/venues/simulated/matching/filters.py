"""Binance's symbol filters and the exact integer scales the engine computes in.

Inside the engine a price is an `int` number of ticks (`price = ticks * tick_size`), a
quantity an `int` number of lot steps (`quantity = steps * step_size`), and a notional
`price * quantity` an `int` number of `tick_size * step_size` ("notional units").
Balances, holds and fees are `int` numbers of `10**-AMOUNT_DECIMALS` of their asset
("amount units"), one scale for every asset, so an asset can be the base of one
instrument and the quote of another. `Decimal` is converted to and from these integers
only here, at the API boundary.
"""

from __future__ import annotations

import sys
from decimal import Decimal, InvalidOperation

import msgspec

from tradewind.domain.exact import WIDE
from tradewind.domain.model import Instrument
from tradewind.venues.simulated.matching.errors import (
    INVALID_PRICE,
    INVALID_QUANTITY,
    LOT_SIZE,
    NOTIONAL,
    PRICE_FILTER,
    TOO_MUCH_PRECISION,
    InvalidInstrumentSpec,
    SubmitRejected,
)

AMOUNT_DECIMALS = 18
"""Balances, holds and fees are integers of 10**-18 of their asset (like wei)."""

BALANCE_DECIMALS = 8
"""Trading moves balances only in whole 10**-8 of their asset, as Binance's ledger shows
them (every spot asset has 8 decimals): fees, a trade's quote amount, holds."""

BALANCE_QUANTUM: int = 10 ** (AMOUNT_DECIMALS - BALANCE_DECIMALS)
"""10**-BALANCE_DECIMALS in amount units."""

_ZERO = Decimal(0)
_UNLIMITED = sys.maxsize


class SymbolFilters(msgspec.Struct, frozen=True, kw_only=True):
    """Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL filters of one symbol.

    Prices in the quote asset, quantities in the base asset, notionals in the quote
    asset. As on Binance, a maximum of 0 means "no maximum". Unlike Binance, `tick_size`
    and `step_size` must be positive (they define the engine's integer scales), and
    `min_price` / `min_qty` must be multiples of them, so "on tick" means the same
    whether counted from zero or from the minimum. `apply_min_to_market` /
    `apply_max_to_market` check market orders against the best opposite price, where
    Binance uses a 5-minute average price.
    """

    tick_size: Decimal
    step_size: Decimal
    min_price: Decimal = _ZERO
    max_price: Decimal = _ZERO
    min_qty: Decimal = _ZERO
    max_qty: Decimal = _ZERO
    min_notional: Decimal = _ZERO
    max_notional: Decimal = _ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False


class InstrumentSpec(msgspec.Struct, frozen=True):
    """An instrument listed on the engine, with its filters; keyed by `instrument.symbol`."""

    instrument: Instrument
    filters: SymbolFilters


def _ratio(value: Decimal, unit: Decimal, field: str) -> int:
    """`value / unit` as an int; raises InvalidInstrumentSpec if it is not whole."""
    quotient = WIDE.divide(value, unit)
    if quotient != quotient.to_integral_value():
        raise InvalidInstrumentSpec(f"{field}={value} is not a multiple of {unit}")
    return int(quotient)


def amount_to_units(amount: Decimal) -> int:
    """Convert an asset amount to amount units; rejects more than 18 decimals (-1111)."""
    if not isinstance(amount, Decimal):
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise TypeError(f"amount {amount!r} must be a Decimal (never a float)")
        amount = Decimal(amount)
    try:
        scaled = amount.scaleb(AMOUNT_DECIMALS, WIDE)
        units = int(scaled)
    except (InvalidOperation, ValueError, OverflowError, AttributeError):
        raise SubmitRejected(TOO_MUCH_PRECISION, f"{amount!r} is not a finite amount") from None
    if units != scaled:
        raise SubmitRejected(TOO_MUCH_PRECISION, f"{amount} has more than 18 decimals")
    return units


def units_to_amount(units: int) -> Decimal:
    """Convert amount units to a Decimal without trailing zeros (`1000`, `0.5`)."""
    whole, fraction = divmod(units, 10**AMOUNT_DECIMALS)
    if not fraction:
        return Decimal(whole)
    return Decimal(units).scaleb(-AMOUNT_DECIMALS, WIDE).normalize(WIDE)


class MarketRules:
    """One instrument's filters compiled to the engine's integer scales.

    Attributes ending in `_ticks`, `_steps` and `_notional` are in ticks, lot steps and
    notional units; `base_units_per_step` and `quote_units_per_notional` convert a
    quantity and a notional to amount units of the base and quote asset.

    A lot step is a whole 10**-8 of the base asset, but a notional unit (tick * step) can
    be finer than 10**-8 of the quote (ETH/BTC: 10**-8 * 10**-5): then `rounds_quote` is
    True and a trade's quote amount is rounded down (`quote_units`), a buy's hold up
    (`quote_hold`), to whole 10**-8.
    """

    __slots__ = (
        "base",
        "base_units_per_step",
        "max_notional",
        "max_price_ticks",
        "max_qty_steps",
        "min_notional",
        "min_price_ticks",
        "min_qty_steps",
        "notional_unit",
        "quote",
        "quote_units_per_notional",
        "rounds_quote",
        "spec",
        "step_size",
        "symbol",
        "tick_size",
    )

    def __init__(self, spec: InstrumentSpec) -> None:
        f = spec.filters
        inst = spec.instrument
        if inst.base == inst.quote:
            raise InvalidInstrumentSpec(f"{inst.symbol}: base and quote are the same asset")
        if not (f.tick_size > 0 and f.step_size > 0):
            raise InvalidInstrumentSpec(f"{inst.symbol}: tick_size and step_size must be > 0")
        for name in ("min_price", "max_price", "min_qty", "max_qty"):
            if getattr(f, name) < 0:
                raise InvalidInstrumentSpec(f"{inst.symbol}: {name} must be >= 0")
        self.spec = spec
        self.symbol = inst.symbol
        self.base = inst.base
        self.quote = inst.quote
        self.tick_size = f.tick_size
        self.step_size = f.step_size
        self.notional_unit = WIDE.multiply(f.tick_size, f.step_size)
        amount_unit = Decimal(1).scaleb(-AMOUNT_DECIMALS)
        self.base_units_per_step = _ratio(f.step_size, amount_unit, "step_size")
        self.quote_units_per_notional = _ratio(
            self.notional_unit, amount_unit, "tick_size * step_size"
        )
        if self.base_units_per_step % BALANCE_QUANTUM:
            raise InvalidInstrumentSpec(
                f"{inst.symbol}: step_size={f.step_size} is finer than 10**-{BALANCE_DECIMALS}"
                f" (balances move in whole 10**-{BALANCE_DECIMALS} of an asset)"
            )
        self.rounds_quote = self.quote_units_per_notional % BALANCE_QUANTUM != 0
        self.min_price_ticks = max(1, _ratio(f.min_price, f.tick_size, "min_price"))
        self.max_price_ticks = _ratio(f.max_price, f.tick_size, "max_price") or _UNLIMITED
        self.min_qty_steps = max(1, _ratio(f.min_qty, f.step_size, "min_qty"))
        self.max_qty_steps = _ratio(f.max_qty, f.step_size, "max_qty") or _UNLIMITED
        # Notionals are compared in notional units: round the minimum up and the
        # maximum down, so the integer comparison says exactly what the Decimal one would.
        lowest = WIDE.divide(f.min_notional, self.notional_unit)
        self.min_notional = int(lowest.to_integral_value(rounding="ROUND_CEILING"))
        highest = WIDE.divide(f.max_notional, self.notional_unit)
        self.max_notional = int(highest.to_integral_value(rounding="ROUND_FLOOR")) or _UNLIMITED

    def price_ticks(self, price: Decimal) -> int:
        """Validate a limit price against PRICE_FILTER and return it in ticks."""
        try:
            ticks, rest = divmod(price, self.tick_size)
        except (InvalidOperation, TypeError):
            # Not a finite number, or so large that the quotient has over 28 digits.
            if isinstance(price, Decimal) and price.is_finite() and price > 0:
                raise SubmitRejected(PRICE_FILTER, f"price {price} is above max_price") from None
            raise SubmitRejected(INVALID_PRICE, f"price {price!r} is not a number") from None
        if rest:
            if price.is_nan() or price <= 0:
                raise SubmitRejected(INVALID_PRICE, f"price {price} must be positive")
            raise SubmitRejected(
                PRICE_FILTER, f"price {price} is not a multiple of tick size {self.tick_size}"
            )
        result = int(ticks)
        if result <= 0:
            raise SubmitRejected(INVALID_PRICE, f"price {price} must be positive")
        if result < self.min_price_ticks or result > self.max_price_ticks:
            raise SubmitRejected(
                PRICE_FILTER, f"price {price} is outside [{self.spec.filters.min_price}, max]"
            )
        return result

    def quantity_steps(self, quantity: Decimal) -> int:
        """Validate a quantity against LOT_SIZE and return it in lot steps."""
        try:
            steps, rest = divmod(quantity, self.step_size)
        except (InvalidOperation, TypeError):
            if isinstance(quantity, Decimal) and quantity.is_finite() and quantity > 0:
                raise SubmitRejected(LOT_SIZE, f"quantity {quantity} is above max_qty") from None
            raise SubmitRejected(
                INVALID_QUANTITY, f"quantity {quantity!r} is not a number"
            ) from None
        if rest:
            if quantity.is_nan() or quantity <= 0:
                raise SubmitRejected(INVALID_QUANTITY, f"quantity {quantity} must be positive")
            raise SubmitRejected(
                LOT_SIZE, f"quantity {quantity} is not a multiple of step size {self.step_size}"
            )
        result = int(steps)
        if result <= 0:
            raise SubmitRejected(INVALID_QUANTITY, f"quantity {quantity} must be positive")
        if result < self.min_qty_steps or result > self.max_qty_steps:
            raise SubmitRejected(
                LOT_SIZE, f"quantity {quantity} is outside [{self.spec.filters.min_qty}, max]"
            )
        return result

    def quote_units(self, notional: int) -> int:
        """What a trade of `notional` (notional units) moves: its quote amount in amount
        units, rounded down to a whole 10**-8 (`fills.take` inlines this)."""
        units = notional * self.quote_units_per_notional
        if self.rounds_quote:
            units -= units % BALANCE_QUANTUM
        return units

    def quote_hold(self, notional: int) -> int:
        """What a buy of `notional` (notional units) holds: its quote amount in amount
        units, rounded up to a whole 10**-8, so that its fills, each rounded down, never
        take more than it holds."""
        units = notional * self.quote_units_per_notional
        if self.rounds_quote:
            units += -units % BALANCE_QUANTUM
        return units

    def check_notional(self, notional: int) -> None:
        """Raise NOTIONAL unless min_notional <= notional <= max_notional (notional units)."""
        if notional < self.min_notional or notional > self.max_notional:
            raise SubmitRejected(
                NOTIONAL,
                f"notional {self.notional(notional)} is outside "
                f"[{self.spec.filters.min_notional}, {self.spec.filters.max_notional or 'inf'}]",
            )

    def price(self, ticks: int) -> Decimal:
        """Ticks to a price in the quote asset, with the tick size's decimals."""
        return WIDE.multiply(Decimal(ticks), self.tick_size)

    def quantity(self, steps: int) -> Decimal:
        """Lot steps to a quantity in the base asset, with the step size's decimals."""
        return WIDE.multiply(Decimal(steps), self.step_size)

    def notional(self, notional: int) -> Decimal:
        """Notional units to an amount of the quote asset."""
        return WIDE.multiply(Decimal(notional), self.notional_unit)
