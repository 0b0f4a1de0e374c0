"""One bot's results from its own fills (pure: no I/O): what it realised, paid and
traded, and what it still holds, at average cost per symbol.

Bots share their account's money, so a bot has no equity of its own to take returns
of; its figures are those of its trades. A bot's position in a symbol is what its buys
brought in less what its sells took out; a sell of more than that (base the account
held before the bot, a rebalance selling the account's coins) realises nothing on the
excess, whose cost the bot never paid. Fees are valued in the quote asset: a fee in
quote as it is, a fee in the base asset at the fill's price; a fee in any other asset
(BNB) is listed apart, not valued. Figures are per quote asset (a bot trading BTC/USDT
and ETH/BTC has two sets).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.model import Side
from tradewind.domain.performance import TradeStats, trade_stats

_ZERO = Decimal(0)


@dataclass(frozen=True)
class BotFill:
    ts_ns: int
    symbol: str  # BASE/QUOTE
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str


@dataclass(frozen=True)
class Holding:
    """What the bot holds of a symbol's base, and the average quote it paid per unit."""

    quantity: Decimal
    average_cost: Decimal | None


@dataclass
class QuoteResults:
    """A bot's results in one quote asset."""

    quote: str
    realized_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO
    bought: Decimal = _ZERO  # quote spent on buys
    sold: Decimal = _ZERO  # quote received for sells
    realized: list[Decimal] = field(default_factory=list)  # per sell that realised any
    holdings: dict[str, Holding] = field(default_factory=dict)  # symbol -> holding

    @property
    def volume(self) -> Decimal:
        return EXACT.add(self.bought, self.sold)

    @property
    def trades(self) -> TradeStats:
        return trade_stats(self.realized)


@dataclass(frozen=True)
class BotResults:
    by_quote: dict[str, QuoteResults]
    fills: int
    unvalued_fees: dict[str, Decimal]  # asset -> amount, fees in neither base nor quote


def bot_results(fills: Iterable[BotFill]) -> BotResults:
    """Apply `fills` (oldest first); see the module docstring."""
    by_quote: dict[str, QuoteResults] = {}
    held: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (quantity, cost in quote)
    unvalued: dict[str, Decimal] = {}
    count = 0
    for fill in fills:
        count += 1
        base, _, quote = fill.symbol.partition("/")
        results = by_quote.setdefault(quote, QuoteResults(quote))
        quantity, cost = held.get(fill.symbol, (_ZERO, _ZERO))
        notional = EXACT.multiply(fill.price, fill.quantity)
        fee_in_base = fill.fee if fill.fee_asset == base else _ZERO
        if fill.fee_asset == quote:
            results.fees = EXACT.add(results.fees, fill.fee)
        elif fill.fee_asset == base:
            results.fees = EXACT.add(results.fees, EXACT.multiply(fill.fee, fill.price))
        elif fill.fee:
            unvalued[fill.fee_asset] = EXACT.add(unvalued.get(fill.fee_asset, _ZERO), fill.fee)
        if fill.side is Side.BUY:
            results.bought = EXACT.add(results.bought, notional)
            quantity = EXACT.add(quantity, EXACT.subtract(fill.quantity, fee_in_base))
            cost = EXACT.add(cost, notional)
        else:
            results.sold = EXACT.add(results.sold, notional)
            sold_own = min(fill.quantity, quantity)
            if sold_own > 0:
                cost_out = quotient(EXACT.multiply(cost, sold_own), quantity)
                pnl = EXACT.subtract(EXACT.multiply(fill.price, sold_own), cost_out)
                results.realized.append(pnl)
                results.realized_pnl = EXACT.add(results.realized_pnl, pnl)
                quantity = EXACT.subtract(quantity, sold_own)
                cost = _ZERO if quantity == 0 else EXACT.subtract(cost, cost_out)
            quantity = max(_ZERO, EXACT.subtract(quantity, fee_in_base))
        held[fill.symbol] = (quantity, cost)
        results.holdings[fill.symbol] = Holding(
            quantity, quotient(cost, quantity) if quantity > 0 else None
        )
    return BotResults(by_quote, count, unvalued)
