"""What the simulated exchange tells listeners about clients' orders: one `OrderUpdate`
per Binance executionReport, built from the engine's results in the order Binance sends
them, and the order lists whose status changed (Binance's listStatus).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from tradewind.venues.simulated.matching import (
    ExpiredOrder,
    MatchingOrderStatus,
    OrderListSnapshot,
    OrderListUpdate,
    OrderSnapshot,
    SubmitResult,
    Trade,
    TriggeredOrder,
)
from tradewind.venues.simulated.matching.filters import units_to_amount


class OrderUpdate(msgspec.Struct, frozen=True):
    """One change of one account's order, in Binance's executionReport terms.

    `execution_type`: NEW, TRADE, CANCELED or EXPIRED. `status`, `executed_quantity`
    and `cumulative_quote` are as of this event (a TRADE report per fill, in order);
    `trade` is the fill for TRADE reports. A stop order reports NEW twice: when it is
    placed (`order.is_working` False) and when its stop price is reached (True).
    """

    account_id: str
    execution_type: str
    order: OrderSnapshot
    status: MatchingOrderStatus
    executed_quantity: Decimal
    cumulative_quote: Decimal
    trade: Trade | None
    ts_ms: int


@dataclass
class Happenings:
    """Everything one batch of engine results told: fills to publish (per symbol, in
    order), clients' order updates, the assets whose balances changed per account, and
    order lists whose status changed."""

    is_client: Callable[[str], bool]
    trades: list[tuple[str, list[Trade]]] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    touched: dict[str, set[str]] = field(default_factory=dict)
    order_lists: list[OrderListSnapshot] = field(default_factory=list)

    def touch(self, account_id: str, order: OrderSnapshot) -> None:
        rules = order.rules
        self.touched.setdefault(account_id, set()).update((rules.base, rules.quote))

    def add_result(
        self, result: SubmitResult, ts_ms: int, maker_of: Callable[[Trade], OrderSnapshot]
    ) -> None:
        """A submitted (or triggered) order: its reports, its makers' TRADE reports,
        then whatever its fills set off."""
        order = result.order
        if result.trades:
            self.trades.append((order.symbol, result.trades))
        if self.is_client(order.account_id):
            self.touch(order.account_id, order)
            self.updates += taker_updates(result, ts_ms)
        for trade in result.trades:
            if not self.is_client(trade.maker_account_id):
                continue
            maker = maker_of(trade)
            self.touch(maker.account_id, maker)
            self.updates.append(
                update_of(maker, "TRADE", trade.maker_status, trade.maker_executed_steps,
                          trade.maker_cumulative_quote_units, trade, ts_ms)
            )  # fmt: skip
        for consequence in result.consequences:
            if isinstance(consequence, TriggeredOrder):
                self.add_result(consequence.result, ts_ms, maker_of)
            elif isinstance(consequence, ExpiredOrder):
                self.add_closed(consequence.order, "EXPIRED", ts_ms)
            elif isinstance(consequence, OrderListUpdate):
                self.add_list(consequence.order_list)

    def add_closed(self, order: OrderSnapshot, execution_type: str, ts_ms: int) -> None:
        """An order canceled or expired outside of matching (its hold was released)."""
        if self.is_client(order.account_id):
            self.touch(order.account_id, order)
            self.updates.append(
                update_of(order, execution_type, order.status, order.executed_steps,
                          order.cumulative_quote_units, None, ts_ms)
            )  # fmt: skip

    def add_new(self, order: OrderSnapshot, ts_ms: int) -> None:
        """An order accepted without trading (a waiting stop, an OCO leg)."""
        if self.is_client(order.account_id):
            self.touch(order.account_id, order)
            self.updates.append(update_of(order, "NEW", MatchingOrderStatus.NEW, 0, 0, None, ts_ms))

    def add_list(self, order_list: OrderListSnapshot) -> None:
        if self.is_client(order_list.account_id):
            self.order_lists.append(order_list)


def taker_updates(result: SubmitResult, ts_ms: int) -> list[OrderUpdate]:
    """NEW, a TRADE per fill, then EXPIRED if the remainder expired."""
    order = result.order
    updates = [update_of(order, "NEW", MatchingOrderStatus.NEW, 0, 0, None, ts_ms)]
    last = len(result.trades) - 1
    for i, trade in enumerate(result.trades):
        done = order.status is MatchingOrderStatus.FILLED and i == last
        status = MatchingOrderStatus.FILLED if done else MatchingOrderStatus.PARTIALLY_FILLED
        updates.append(
            update_of(order, "TRADE", status, trade.taker_executed_steps,
                      trade.taker_cumulative_quote_units, trade, ts_ms)
        )  # fmt: skip
    if order.status in (MatchingOrderStatus.EXPIRED, MatchingOrderStatus.EXPIRED_IN_MATCH):
        updates.append(
            update_of(order, "EXPIRED", order.status, order.executed_steps,
                      order.cumulative_quote_units, None, ts_ms)
        )  # fmt: skip
    return updates


def update_of(
    order: OrderSnapshot,
    execution_type: str,
    status: MatchingOrderStatus,
    executed_steps: int,
    cumulative_quote_units: int,
    trade: Trade | None,
    ts_ms: int,
) -> OrderUpdate:
    """`cumulative_quote_units`: the sum of the order's trades' quote amounts so far
    (amount units of the quote asset), Binance's `Z`."""
    return OrderUpdate(
        account_id=order.account_id,
        execution_type=execution_type,
        order=order,
        status=status,
        executed_quantity=order.rules.quantity(executed_steps),
        cumulative_quote=units_to_amount(cumulative_quote_units),
        trade=trade,
        ts_ms=ts_ms,
    )
