"""`OpenOrders`, the book both hosts keep (the contract across hosts is
`test_host_contract.py`): what only a live venue does to it, partial fills, and a
cancel request withdrawn."""

from __future__ import annotations

from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side
from tradewind.strategies.api import OpenOrder, client_order_id_for
from tradewind.strategies.open_orders import OpenOrders

from .factories import T0, D
from .hosts import Probe


def order(intent_id: str, quantity: str = "3") -> OpenOrder:
    return OpenOrder(
        intent_id=intent_id, client_order_id=client_order_id_for("a1", "b1", intent_id),
        symbol="ETH/BTC", side=Side.BUY, order_type=OrderType.LIMIT, quantity=D(quantity),
        price=D("0.04"),
    )  # fmt: skip


def fill_of(open_order: OpenOrder, quantity: str, trade_id: str) -> Fill:
    return Fill(
        account_id="a1", client_order_id=open_order.client_order_id, venue_order_id="v1",
        trade_id=trade_id, instrument=Instrument.parse("sim", "ETH/BTC"), side=Side.BUY,
        price=D("0.04"), quantity=D(quantity), fee=D(0), fee_asset="ETH",
        liquidity=Liquidity.MAKER, ts_ns=T0,
    )  # fmt: skip


def test_a_partly_filled_order_stays_open_with_what_filled_until_the_last_fill() -> None:
    first = order("b1:1")
    book = OpenOrders([first])
    assert book.apply_fill(fill_of(first, "1", "t1")) is False
    assert book[first.client_order_id].filled_quantity == D(1)
    assert book.apply_fill(fill_of(first, "2", "t2")) is True
    assert book == {}
    assert book.apply_fill(fill_of(first, "1", "t3")) is False  # a late fill: no change


def test_a_withdrawn_cancel_can_be_asked_again_and_an_ended_order_cannot() -> None:
    probe = Probe()
    probe.next_intent_id("b1")
    first = order("b1:1")
    book = OpenOrders([first])

    def ask() -> OpenOrder | None:
        return book.to_cancel(probe, account_id="a1", bot_id="b1", intent_id="b1:1")

    assert ask() == first
    assert ask() is None  # asked already
    book.cancel_withdrawn(first.client_order_id)
    assert ask() == first
    assert book.close(first.client_order_id) == first
    assert ask() is None  # ended: nothing to do, no error
