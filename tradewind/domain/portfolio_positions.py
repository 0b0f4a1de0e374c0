"""One instrument's holding at average cost: quantity, cost basis, mark, realised PnL.

The arithmetic of `portfolio.Portfolio` (see its module docstring for the definitions).
Quantities are in the base asset; cost, marks and PnL in the account's valuation asset.
Every method is exact (`exact.EXACT`) except the one division in `release`, which
rounds once; callers check quantities before calling (these methods do not).
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.model import Instrument

_ZERO = Decimal(0)


class Position:
    """One instrument's holding. Owned by its `Portfolio`: read it, do not change it.

    `quantity` in the base asset; `cost_basis` (what the units held cost) and
    `realized_pnl` (before fees) in the valuation asset; `mark` in valuation asset per
    unit, set by `revalue` or by the fill or deposit that opened the position.
    """

    __slots__ = ("cost_basis", "instrument", "mark", "quantity", "realized_pnl")

    def __init__(self, instrument: Instrument, mark: Decimal) -> None:
        self.instrument = instrument
        self.quantity = _ZERO
        self.cost_basis = _ZERO
        self.mark = mark
        self.realized_pnl = _ZERO

    @property
    def average_cost(self) -> Decimal:
        """`cost_basis / quantity` (rounded once, see `exact.quotient`); 0 when flat."""
        return quotient(self.cost_basis, self.quantity) if self.quantity else _ZERO

    @property
    def market_value(self) -> Decimal:
        """`quantity x mark`."""
        return EXACT.multiply(self.quantity, self.mark)

    @property
    def unrealized_pnl(self) -> Decimal:
        """`quantity x mark - cost_basis`, i.e. `quantity x (mark - average_cost)`."""
        return EXACT.subtract(self.market_value, self.cost_basis)

    def acquire(self, units: Decimal, unit_cost: Decimal) -> None:
        """Add `units` that cost `unit_cost` each; a position that was flat is marked at
        that cost until the next revaluation."""
        if not self.quantity:
            self.mark = unit_cost
        self.quantity = EXACT.add(self.quantity, units)
        self.cost_basis = EXACT.add(self.cost_basis, EXACT.multiply(units, unit_cost))

    def release(self, units: Decimal) -> Decimal:
        """Take out `units` (at most `quantity`) with their share of the cost basis,
        `cost_basis x units / quantity`, and return that share. The share is rounded
        once; taking out everything releases exactly what is left."""
        if units == self.quantity:
            released = self.cost_basis
        else:
            share = quotient(EXACT.multiply(self.cost_basis, units), self.quantity)
            released = min(share, self.cost_basis)
        self.quantity = EXACT.subtract(self.quantity, units)
        self.cost_basis = EXACT.subtract(self.cost_basis, released)
        return released

    def dispose(self, units: Decimal, price: Decimal) -> Decimal:
        """Give up `units` at `price` each; return the PnL this realises (also added to
        `realized_pnl`): proceeds minus the cost released."""
        realized = EXACT.subtract(EXACT.multiply(units, price), self.release(units))
        self.realized_pnl = EXACT.add(self.realized_pnl, realized)
        return realized

    def __repr__(self) -> str:
        return (
            f"Position({self.instrument.symbol}, quantity={self.quantity}, "
            f"cost_basis={self.cost_basis}, mark={self.mark})"
        )
