"""What the user data stream says about stop orders and OCOs: executionReports (a NEW
that is not working, a second NEW when triggered, the fills) and listStatus events."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import OrderUpdate, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket
from tradewind.venues.simulated.matching import (
    DepthUpdate,
    OcoLeg,
    OrderListSnapshot,
    StopType,
    Trade,
)
from tradewind.venues.simulated.server import stream_payloads as payloads

START_NS = 1_700_000_000_000_000_000
D = Decimal


class Recorder:
    def __init__(self) -> None:
        self.updates: list[OrderUpdate] = []
        self.lists: list[OrderListSnapshot] = []

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        return None

    def on_depth(self, update: DepthUpdate) -> None:
        return None

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        self.updates += updates

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        return None

    def on_order_lists(self, order_lists: list[OrderListSnapshot]) -> None:
        self.lists += order_lists


def quoted_exchange() -> tuple[SimulatedExchange, Recorder, str, str]:
    """A quoted book with one trade printed; returns (exchange, recorder, me, mover)."""
    clock = [START_NS]
    exchange = SimulatedExchange(
        SyntheticMarket(seed=5, start_ms=START_NS // 10**6), clock=lambda: clock[0]
    )
    exchange.step()
    me = exchange.create_account({"BTC": D("1"), "USDT": D("100000")}).account_id
    mover = exchange.create_account({"BTC": D("50"), "USDT": D("10000000")}).account_id
    exchange.submit_order(mover, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=D("0.001"))
    recorder = Recorder()
    exchange.add_listener(recorder)
    return exchange, recorder, me, mover


def reports(recorder: Recorder, account_id: str) -> list[dict[str, object]]:
    return [
        msgspec.to_builtins(payloads.execution_report("BTCUSDT", u, 1))
        for u in recorder.updates
        if u.account_id == account_id
    ]


def test_a_stop_reports_new_not_working_then_new_working_and_its_fills() -> None:
    exchange, recorder, me, mover = quoted_exchange()
    bids = exchange.engine.depth("BTC/USDT", 5).bids
    stop = bids[1].price
    placed = exchange.submit_stop_order(
        me, "BTC/USDT", Side.SELL, StopType.STOP_LOSS, D("0.01"), stop, price=bids[4].price
    )
    quantity = bids[0].quantity + bids[1].quantity
    exchange.submit_order(mover, "BTC/USDT", Side.SELL, OrderType.MARKET, quantity=quantity)
    sent = reports(recorder, me)
    # Placed (not working), then triggered (working), then its fills.
    assert [(r["x"], r["X"], r["w"]) for r in sent[:2]] == [
        ("NEW", "NEW", False),
        ("NEW", "NEW", True),
    ]
    assert all(r["i"] == placed.order.order_id and r["o"] == "STOP_LOSS_LIMIT" for r in sent)
    assert all(r["P"] == f"{stop:.8f}" and r["g"] == -1 for r in sent)
    assert "W" not in sent[0]
    assert sent[-1]["x"] == "TRADE" and sent[-1]["X"] == "FILLED"


def test_a_triggered_stop_limit_that_rests_reports_working_with_its_working_time() -> None:
    exchange, recorder, me, mover = quoted_exchange()
    asks = exchange.engine.depth("BTC/USDT", 5).asks
    stop = asks[1].price
    exchange.submit_stop_order(
        me, "BTC/USDT", Side.BUY, StopType.STOP_LOSS, D("0.01"), stop, price=asks[0].price
    )
    quantity = asks[0].quantity + asks[1].quantity
    exchange.submit_order(mover, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=quantity)
    sent = reports(recorder, me)
    assert [(r["x"], r["w"]) for r in sent] == [("NEW", False), ("NEW", True)]
    assert sent[1]["W"] == START_NS // 10**6


def test_an_oco_reports_its_legs_and_list_status_until_all_done() -> None:
    exchange, recorder, me, _ = quoted_exchange()
    last = exchange.engine.last_price("BTC/USDT")
    assert last is not None
    placed = exchange.submit_oco(
        me, "BTC/USDT", Side.SELL, D("0.1"),
        above=OcoLeg(order_type="LIMIT_MAKER", price=(last * D("1.1")).quantize(D("0.01"))),
        below=OcoLeg(order_type="STOP_LOSS", stop_price=(last * D("0.9")).quantize(D("0.01"))),
    )  # fmt: skip
    exchange.cancel_order(me, "BTC/USDT", order_id=placed.orders[1].order_id)
    sent = reports(recorder, me)
    assert [(r["x"], r["o"]) for r in sent] == [
        ("NEW", "STOP_LOSS"), ("NEW", "LIMIT_MAKER"),
        ("CANCELED", "STOP_LOSS"), ("CANCELED", "LIMIT_MAKER"),
    ]  # fmt: skip
    assert {r["g"] for r in sent} == {placed.order_list_id}
    events = [
        msgspec.to_builtins(payloads.list_status_event("BTCUSDT", o, 1)) for o in recorder.lists
    ]
    assert [(e["l"], e["L"], e["c"]) for e in events] == [
        ("EXEC_STARTED", "EXECUTING", "OCO"), ("ALL_DONE", "ALL_DONE", "OCO"),
    ]  # fmt: skip
    assert [o["i"] for o in events[0]["O"]] == [o.order_id for o in placed.orders]
