"""What the next rebalance of a `rebalance` bot would do, and the risk before and after:
its orders (the strategy's own `plan_rebalance` over the strategy's own targets), what
they trade and would cost in fees, and each asset's weight, the concentration and the
largest weight now and once the orders filled. Pure: the caller brings the balances,
prices and markets.

The equity is the strategy's: the quote balance plus the basket's holdings at the last
prices (an account's other assets are left out), in the quote asset. "After" is the
planned fills at those prices, their taker fees paid in quote. Money is `Decimal`
(exact); weights and fractions are floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

from tradewind.domain.model import Side
from tradewind.domain.performance import shares_and_concentration
from tradewind.errors import TradewindError
from tradewind.strategies.rebalance import (
    PlannedOrder,
    RebalanceParams,
    plan_rebalance,
    rebalance_targets,
)
from tradewind.venues.port import Market

ZERO = Decimal(0)


class RebalanceNotPlannable(TradewindError):
    """The next rebalance cannot be planned from what is known; `reason` says what is
    missing and when it will be known."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class AssetWeight(msgspec.Struct, frozen=True):
    """An asset's share of the equity now and after the planned fills (fractions)."""

    asset: str
    before: float
    after: float


class RiskFigures(msgspec.Struct, frozen=True):
    """`concentration`: the Herfindahl index of the weights (1: all in one asset);
    `largest_weight`: the largest single-asset weight (cash included); None without
    equity."""

    concentration: float | None
    largest_weight: float | None


class RebalancePreview(msgspec.Struct, frozen=True, kw_only=True):
    """What a `rebalance` bot's next rebalance would do: its orders, their value and fees,
    and the weights before and after. `equity`, `traded`, `fees`: quote. `traded`: the
    orders' values summed (buys and sells); `traded_fraction`: of `equity`."""

    quote: str
    orders: list[PlannedOrder]
    equity: Decimal
    traded: Decimal
    traded_fraction: float | None
    fee_rate: Decimal
    fees: Decimal
    weights: list[AssetWeight]
    before: RiskFigures
    after: RiskFigures


def basket_assets(params: RebalanceParams) -> dict[str, str]:
    """Each basket symbol's base asset (`BASE/QUOTE`)."""
    return {symbol: symbol.split("/", 1)[0] for symbol in params.basket}


def preview_rebalance(
    params: RebalanceParams,
    *,
    balances: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    markets: Mapping[str, Market] | None,
    fee_rate: Decimal,
    closes: Mapping[str, Sequence[Decimal]] | None = None,
) -> RebalancePreview:
    """The next rebalance of a bot with `params`, from the account's `balances` (by
    asset; a missing one is 0), the last `prices` (quote per base, by symbol) and the
    symbols' `markets` (None: not known, nothing rounded). `fee_rate`: the taker fee, a
    fraction of each order's value. `closes`: recent closes per symbol, for the momentum
    weighting only. Raises `RebalanceNotPlannable` naming what is missing."""
    targets = rebalance_targets(params, closes or {})
    if targets is None:
        raise RebalanceNotPlannable(
            f"the momentum weighting needs {params.momentum_bars + 1} closes of every basket "
            "symbol, and they are not known here"
        )
    missing = [s for s in params.basket if prices.get(s, ZERO) <= 0]
    if missing:
        raise RebalanceNotPlannable(
            f"no last price yet for {', '.join(missing)}; marketdata records one with the "
            "symbol's first trade"
        )
    bases = basket_assets(params)
    holdings = {s: balances.get(bases[s], ZERO) for s in params.basket}
    free_quote = balances.get(params.quote, ZERO)
    orders = plan_rebalance(
        targets=targets,
        holdings=holdings,
        prices=prices,
        free_quote=free_quote,
        markets=markets,
        min_trade_value=params.min_trade_value,
        cash_reserve=params.cash_reserve,
    )
    traded = sum((o.value for o in orders), ZERO)
    fees = traded * fee_rate
    held_after, quote_after = dict(holdings), free_quote - fees
    for order in orders:
        sign = 1 if order.side is Side.BUY else -1
        held_after[order.symbol] += sign * order.quantity
        quote_after -= sign * order.value
    before = _values(params.quote, free_quote, holdings, prices, bases)
    after = _values(params.quote, quote_after, held_after, prices, bases)
    equity = sum(before.values(), ZERO)
    shares_before, hhi_before = shares_and_concentration({a: float(v) for a, v in before.items()})
    shares_after, hhi_after = shares_and_concentration({a: float(v) for a, v in after.items()})
    return RebalancePreview(
        quote=params.quote,
        orders=orders,
        equity=equity,
        traded=traded,
        traded_fraction=float(traded / equity) if equity > 0 else None,
        fee_rate=fee_rate,
        fees=fees,
        weights=[
            AssetWeight(asset, shares_before.get(asset, 0.0), shares_after.get(asset, 0.0))
            for asset in sorted(before)
        ],
        before=RiskFigures(hhi_before, max(shares_before.values(), default=None)),
        after=RiskFigures(hhi_after, max(shares_after.values(), default=None)),
    )


def _values(
    quote: str,
    quote_amount: Decimal,
    holdings: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    bases: Mapping[str, str],
) -> dict[str, Decimal]:
    """Each asset's value in quote: the quote amount and every basket holding."""
    values = {quote: quote_amount}
    for symbol, amount in holdings.items():
        values[bases[symbol]] = amount * prices[symbol]
    return values
