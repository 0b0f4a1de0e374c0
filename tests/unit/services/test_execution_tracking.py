"""Execution's order tracker (`services/execution/tracking.py`) booking fills: a fill that
names its order is booked without reading the account's other tracked orders (a
placement's answer carries its fills, so that read was paid per order, growing with the
orders in flight), and one known by its venue order id only still finds its order. An
order-stream update carrying its execution leaves nothing to read apart; one whose
execution was lost has it read apart, and booked once."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from tradewind.bus.memory import MemoryBus
from tradewind.domain.commands import OrderIntent
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side, TimeInForce
from tradewind.domain.orders import TrackedOrder
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.gate import VenueGate
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.tracking import OrderTracker
from tradewind.venues.port import VenueFill, VenueOrder, VenueOrderStatus

BTC = Instrument.parse("sim", "BTC/USDT")
D = Decimal


class ReadCounted(dict[str, TrackedOrder]):
    """The session's tracked orders, counting reads of all of them."""

    whole_reads = 0

    def values(self) -> Any:
        self.whole_reads += 1
        return super().values()

    def items(self) -> Any:
        self.whole_reads += 1
        return super().items()


def a_tracker() -> tuple[OrderTracker, AccountSession]:
    settings = ExecutionSettings()
    metrics = ExecutionMetrics(CollectorRegistry())
    log = structlog.get_logger("test")
    gate = VenueGate("sim", settings, metrics, log, rules=None)
    tracker = OrderTracker(
        EventOutbox(MemoryBus(), None), metrics, log, fill_lookback_ms=0, retry=settings.backoff()
    )
    return tracker, AccountSession("a1", venue=NoCalls(), gate=gate, remembered=100)  # type: ignore[arg-type]


class NoCalls:
    """The session's venue: booking fills calls it for nothing but its usage reports."""

    def on_usage(self, observer: Any) -> None:
        pass


def sent_order(n: int, venue_order_id: str) -> TrackedOrder:
    intent = OrderIntent(
        account_id="a1", bot_id="b1", intent_id=f"i{n}", instrument=BTC, side=Side.BUY,
        order_type=OrderType.MARKET, quantity=Decimal("0.001"), ts_ns=time.time_ns(),
    )  # fmt: skip
    order = TrackedOrder.from_intent(intent, ts_ns=time.time_ns())
    order.mark_sent(ts_ns=time.time_ns())
    order.venue_order_id = venue_order_id
    return order


def fill_of(order: TrackedOrder, client_order_id: str) -> VenueFill:
    return VenueFill(
        trade_id=f"t-{order.venue_order_id}",
        venue_order_id=order.venue_order_id or "",
        client_order_id=client_order_id,
        symbol="BTC/USDT",
        side=Side.BUY,
        price=Decimal("30000"),
        quantity=Decimal("0.001"),
        quote_quantity=Decimal("30"),
        fee=Decimal("0.03"),
        fee_asset="USDT",
        liquidity=Liquidity.TAKER,
        ts_ms=1,
    )


def test_a_fill_naming_its_order_is_booked_without_reading_the_other_orders() -> None:
    tracker, session = a_tracker()
    orders = [sent_order(n, str(n)) for n in range(500)]
    session.orders = ReadCounted({o.client_order_id: o for o in orders})
    for order in orders:
        session.track(order, None)

    for order in orders[:100]:  # each placement's answer, with its own fill
        tracker.apply_fills(session, [fill_of(order, order.client_order_id)])

    assert session.orders.whole_reads == 0
    assert all(o.filled_quantity == Decimal("0.001") for o in orders[:100])
    assert orders[100].filled_quantity == 0


def test_a_fill_known_by_its_venue_order_id_only_is_booked_on_that_order() -> None:
    tracker, session = a_tracker()
    orders = [sent_order(n, f"v{n}") for n in range(3)]
    for order in orders:
        session.track(order, None)

    tracker.apply_fills(session, [fill_of(orders[1], client_order_id="")])

    assert [o.filled_quantity for o in orders] == [0, Decimal("0.001"), 0]


def stream_update(order: TrackedOrder, filled: str, fills: tuple[VenueFill, ...]) -> VenueOrder:
    """An order-stream update of `order` (a buy of 0.001) with `filled` executed,
    carrying `fills`."""
    return VenueOrder(
        client_order_id=order.client_order_id,
        venue_order_id=order.venue_order_id or "",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        status=VenueOrderStatus.FILLED if D(filled) == order.quantity else VenueOrderStatus.NEW,
        quantity=order.quantity,
        filled_quantity=D(filled),
        price=D("30000"),
        average_price=D("30000") if D(filled) else None,
        updated_ms=2,
        fills=fills,
    )


def test_a_stream_update_carrying_its_fill_leaves_nothing_to_read() -> None:
    tracker, session = a_tracker()
    order = sent_order(1, "v1")
    session.track(order, None)

    missing = tracker.apply_reports(
        session, [stream_update(order, "0.001", (fill_of(order, order.client_order_id),))]
    )

    assert not missing and order.missing_fill_quantity == 0
    assert order.filled_quantity == D("0.001") and order.trade_ids == {"t-v1"}


def test_a_stream_update_whose_fill_was_lost_has_it_read_apart_and_booked_once() -> None:
    """An update showing the execution without it (the message that carried it was
    lost): the order misses it, so `collect_fills` reads it apart; the same trade, come
    late on the stream, is not booked twice."""
    tracker, session = a_tracker()
    order = sent_order(1, "v1")
    session.track(order, None)

    missing = tracker.apply_reports(session, [stream_update(order, "0.001", ())])
    assert missing and order.missing_fill_quantity == D("0.001")

    tracker.apply_fills(session, [fill_of(order, order.client_order_id)])  # read apart
    late = stream_update(order, "0.001", (fill_of(order, order.client_order_id),))
    assert not tracker.apply_reports(session, [late])
    assert order.missing_fill_quantity == 0 and order.fills_quantity == D("0.001")
