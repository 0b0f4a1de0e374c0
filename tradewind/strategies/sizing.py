"""Order sizing against a market's filters: quantities round DOWN to the lot step (never
trade more than decided or held), prices round to the tick, and orders below the
minimum quantity or notional are skipped (quantity 0) rather than sent to be rejected.

Prices are in quote per base, quantities in base units, values in the quote asset.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from tradewind.venues.port import Market

ZERO = Decimal(0)


def floor_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` not above `quantity` (0 when `quantity` <= 0)."""
    if quantity <= 0:
        return ZERO
    return (quantity // step) * step  # `//` on Decimals is exact integer division


def ceil_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` not below `quantity` (0 when `quantity` <= 0)."""
    if quantity <= 0:
        return ZERO
    steps, rest = divmod(quantity, step)
    return (steps + 1 if rest else steps) * step


def round_to_tick(price: Decimal, tick: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """`price` (>= 0) on the tick grid, exactly: to the nearest tick (ties to even) by
    default, or down / up with `rounding` ROUND_FLOOR / ROUND_CEILING."""
    ticks, rest = divmod(price, tick)
    if rest and rounding == ROUND_CEILING:
        ticks += 1
    elif rest and rounding == ROUND_HALF_EVEN:
        twice = rest * 2
        if twice > tick or (twice == tick and ticks % 2):
            ticks += 1
    elif rounding not in (ROUND_FLOOR, ROUND_CEILING, ROUND_HALF_EVEN):
        raise ValueError(
            f"rounding must be ROUND_FLOOR, ROUND_CEILING or ROUND_HALF_EVEN: {rounding}"
        )
    return ticks * tick


def meets_minimums(
    quantity: Decimal, price: Decimal, market: Market, min_value: Decimal = ZERO
) -> bool:
    """Whether an order of `quantity` at `price` passes the minimum quantity, the
    minimum notional and the caller's own minimum trade value (quote)."""
    if quantity <= 0 or quantity < market.min_quantity:
        return False
    return quantity * price >= max(market.min_notional, min_value)


def order_quantity(
    quantity: Decimal, price: Decimal, market: Market, min_value: Decimal = ZERO
) -> Decimal:
    """`quantity` rounded down to the step, or 0 if the result is under the minimums."""
    rounded = floor_to_step(quantity, market.step_size)
    return rounded if meets_minimums(rounded, price, market, min_value) else ZERO


def affordable_quantity(
    spend: Decimal, price: Decimal, market: Market, min_value: Decimal = ZERO
) -> Decimal:
    """The most base that `spend` (quote) buys at `price`, on the step and never costing
    more than `spend`; 0 if that is under the minimums."""
    if spend <= 0 or price <= 0:
        return ZERO
    step = market.step_size
    quantity = floor_to_step(spend / price, step)
    while quantity > 0 and quantity * price > spend:  # the division may round up
        quantity -= step
    return quantity if meets_minimums(quantity, price, market, min_value) else ZERO
