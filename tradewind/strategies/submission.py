"""What every host does with `ctx.submit`: check the call and turn it into the bot's next
`OpenOrder`. Shared by the live host (`services/strategy/host.py`) and the backtest
(`backtest_context.py`), so a strategy meets the same refusal in both.

A malformed call is a bug in the strategy, not a market event: it raises here (the host
then counts the strategy's error as it counts any exception from a hook), in a backtest
as live. What the market refuses (filters, funds) comes back later as `OrderRejected`.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.strategies.api import OpenOrder, Strategy, client_order_id_for

ZERO = Decimal(0)


def next_order(
    strategy: Strategy,
    *,
    account_id: str,
    bot_id: str,
    listed: bool,
    side: Side,
    symbol: str,
    quantity: Decimal,
    order_type: OrderType,
    price: Decimal | None,
    tif: TimeInForce,
) -> OpenOrder:
    """The order a `ctx.submit` call makes, numbered with the strategy's next intent id
    (taken only once every check passed). `listed`: whether the account's venue has a
    market `symbol`. Raises TypeError (quantity or price not Decimals) or ValueError (a
    side, type or time in force that is none; quantity not above 0; a limit order without
    a price; a price not above 0; a symbol not listed), naming the problem."""
    if not isinstance(quantity, Decimal) or not isinstance(price, Decimal | None):
        raise TypeError(f"quantity and price must be Decimals: {quantity!r}, {price!r}")
    side, order_type, tif = Side(side), OrderType(order_type), TimeInForce(tif)
    if not quantity.is_finite() or quantity <= ZERO:
        raise ValueError(f"quantity must be above 0, got {quantity}")
    if order_type is OrderType.LIMIT and price is None:
        raise ValueError(f"a limit order of {symbol} needs a price")
    if price is not None and (not price.is_finite() or price <= ZERO):
        raise ValueError(f"price must be above 0, got {price}")
    if not listed:
        raise ValueError(f"no market {symbol} on this bot's venue")
    intent_id = strategy.next_intent_id(bot_id)
    return OpenOrder(
        intent_id=intent_id,
        client_order_id=client_order_id_for(account_id, bot_id, intent_id),
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=tif,
    )
