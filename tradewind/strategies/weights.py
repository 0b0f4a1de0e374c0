"""Target weights of an index basket: fixed, by market capitalisation, or by momentum;
optionally capped per symbol. Weights are fractions of the invested equity that sum to
1, or to less when caps or the lack of positive momentum leave the rest in cash."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from tradewind.strategies.indicators import trailing_return

ZERO = Decimal(0)
ONE = Decimal(1)


def normalised(raw: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """`raw` scaled to sum to 1; all zeros stay zeros (nothing to hold)."""
    total = sum(raw.values(), ZERO)
    if total <= 0:
        return dict.fromkeys(raw, ZERO)
    return {symbol: value / total for symbol, value in raw.items()}


def fixed_weights(basket: Sequence[str], weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """The given weights normalised (a symbol left out weighs 0); equal weights when
    none are given."""
    if not weights:
        return normalised(dict.fromkeys(basket, ONE))
    return normalised({symbol: weights.get(symbol, ZERO) for symbol in basket})


def market_cap_weights(
    basket: Sequence[str], market_caps: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """Weights proportional to the given market capitalisations (any one unit)."""
    return normalised({symbol: market_caps[symbol] for symbol in basket})


def momentum_weights(
    basket: Sequence[str], closes: Mapping[str, Sequence[Decimal]], bars: int
) -> dict[str, Decimal] | None:
    """Weights proportional to each symbol's positive return over the last `bars` bars
    (a falling symbol weighs 0); None until every symbol has `bars + 1` closes."""
    returns: dict[str, Decimal] = {}
    for symbol in basket:
        change = trailing_return(closes.get(symbol, ()), bars)
        if change is None:
            return None
        returns[symbol] = max(change, ZERO)
    return normalised(returns)


def capped(weights: Mapping[str, Decimal], max_weight: Decimal) -> dict[str, Decimal]:
    """No weight above `max_weight`: the excess of capped symbols goes to the others in
    proportion to their weights; what cannot be placed stays in cash."""
    result = dict(weights)
    fixed: set[str] = set()
    while True:
        over = [s for s, w in result.items() if s not in fixed and w > max_weight]
        if not over:
            return result
        for symbol in over:
            result[symbol] = max_weight
            fixed.add(symbol)
        free_total = sum((w for s, w in result.items() if s not in fixed), ZERO)
        room = ONE - max_weight * len(fixed)
        if free_total <= 0 or room <= 0:
            return result
        scale = room / free_total
        for symbol in result:
            if symbol not in fixed:
                result[symbol] = result[symbol] * scale
