"""The order state machine: our own steps are strict, the venue's messages are facts that
arrive late, twice and out of order; client order ids are derived, never random."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
)
from tradewind.domain.exact import quotient
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.order_events import order_event
from tradewind.domain.orders import (
    InvalidTransition,
    InvalidVenueReport,
    OrderState,
    Overfill,
    TrackedOrder,
    Transition,
)
from tradewind.venues.port import VenueOrder, VenueOrderStatus

D = Decimal
BTC_USDT = Instrument.parse("sim", "BTC/USDT")
T0 = 1_700_000_000_000_000_000  # ns
BINANCE_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,36}")


def intent(quantity: str = "1", intent_id: str = "i-1") -> OrderIntent:
    return OrderIntent(
        account_id="acct-1",
        bot_id="bot-1",
        intent_id=intent_id,
        instrument=BTC_USDT,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(quantity),
        price=D("50000"),
        ts_ns=T0,
    )


def new_order(quantity: str = "1") -> TrackedOrder:
    return TrackedOrder.from_intent(intent(quantity), ts_ns=T0)


def accepted_order(quantity: str = "1") -> TrackedOrder:
    order = new_order(quantity)
    order.mark_sent(ts_ns=T0 + 1)
    order.apply_venue_report(report(order, VenueOrderStatus.NEW), ts_ns=T0 + 2)
    return order


def report(
    order: TrackedOrder,
    status: VenueOrderStatus | str,
    filled: str = "0",
    *,
    venue_order_id: str = "v-1",
    client_order_id: str | None = None,
) -> VenueOrder:
    """The venue's view of `order` as the venue port returns it."""
    return VenueOrder(
        client_order_id=client_order_id or order.client_order_id,
        venue_order_id=venue_order_id,
        symbol=order.instrument.symbol,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        status=status,  # type: ignore[arg-type]  # unknown names on purpose, in one test
        quantity=order.quantity,
        filled_quantity=D(filled),
        price=order.price,
        average_price=None,
        updated_ms=0,
    )


# -- client order ids -----------------------------------------------------------------


def test_client_order_id_is_deterministic_and_fits_binance_rules() -> None:
    first = client_order_id_for("acct-1", "bot-1", "intent-42")
    assert first == client_order_id_for("acct-1", "bot-1", "intent-42")
    assert first.startswith("tw-")
    assert BINANCE_CLIENT_ORDER_ID.fullmatch(first)


def test_client_order_ids_differ_when_any_part_differs_even_if_the_concatenation_is_equal() -> None:
    ids = {
        client_order_id_for("ab", "c", "d"),
        client_order_id_for("a", "bc", "d"),
        client_order_id_for("a", "b", "cd"),
        client_order_id_for("a", "b", "c"),
        client_order_id_for("a", "b", "c\x00"),
    }
    assert len(ids) == 5


@given(st.text(), st.text(), st.text())
def test_any_ids_give_a_valid_client_order_id(account_id: str, bot_id: str, intent_id: str) -> None:
    assert BINANCE_CLIENT_ORDER_ID.fullmatch(client_order_id_for(account_id, bot_id, intent_id))


def test_an_order_from_an_intent_is_new_with_the_derived_client_order_id() -> None:
    order = new_order()
    assert order.state is OrderState.NEW
    assert order.client_order_id == client_order_id_for("acct-1", "bot-1", "i-1")
    assert (order.venue, order.quantity, order.filled_quantity) == ("sim", D(1), D(0))
    assert order.average_price is None
    assert order.history[0].to_state is OrderState.NEW


# -- sending and the unknown outcome --------------------------------------------------


def test_sending_twice_raises_invalid_transition_naming_the_order() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    with pytest.raises(InvalidTransition) as error:
        order.mark_sent(ts_ns=T0 + 2)
    assert order.client_order_id in str(error.value)
    assert (error.value.from_state, error.value.to_state) == (OrderState.SENT, OrderState.SENT)


def test_an_order_whose_outcome_is_unknown_cannot_be_sent_before_it_is_looked_up() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    assert order.mark_unknown(ts_ns=T0 + 2)
    with pytest.raises(InvalidTransition, match="look it up by client order id"):
        order.mark_sent(ts_ns=T0 + 3)
    assert order.state is OrderState.UNKNOWN


def test_a_lookup_that_finds_nothing_allows_sending_again() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    order.mark_unknown(ts_ns=T0 + 2)
    assert order.mark_not_found(ts_ns=T0 + 3)
    assert order.mark_sent(ts_ns=T0 + 4)
    assert order.state is OrderState.SENT


def test_a_lookup_that_finds_the_order_applies_what_the_venue_says() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    order.mark_unknown(ts_ns=T0 + 2)
    assert order.apply_venue_report(
        report(order, VenueOrderStatus.PARTIALLY_FILLED, "0.4"), ts_ns=T0
    )
    assert (order.state, order.filled_quantity, order.venue_order_id) == (
        OrderState.PARTIALLY_FILLED,
        D("0.4"),
        "v-1",
    )


def test_a_timeout_after_the_venue_acknowledged_the_order_is_ignored() -> None:
    order = accepted_order()
    assert not order.mark_unknown(ts_ns=T0 + 5)
    assert order.state is OrderState.ACCEPTED


def test_an_order_never_sent_cannot_have_an_unknown_outcome() -> None:
    with pytest.raises(InvalidTransition, match="never sent"):
        new_order().mark_unknown(ts_ns=T0)


# -- fills ----------------------------------------------------------------------------


def test_fills_take_an_order_to_partially_filled_then_filled() -> None:
    order = accepted_order("1")
    assert order.apply_fill("t-1", D("0.25"), D("100"), ts_ns=T0 + 3)
    assert (order.state, order.filled_quantity) == (OrderState.PARTIALLY_FILLED, D("0.25"))
    assert order.apply_fill("t-2", D("0.75"), D("104"), ts_ns=T0 + 4)
    assert (order.state, order.filled_quantity, order.remaining_quantity) == (
        OrderState.FILLED,
        D(1),
        D(0),
    )


def test_a_duplicate_fill_is_counted_once() -> None:
    order = accepted_order("1")
    assert order.apply_fill("t-1", D("0.25"), D("100"), ts_ns=T0 + 3)
    assert not order.apply_fill("t-1", D("0.25"), D("100"), ts_ns=T0 + 4)
    assert (order.filled_quantity, order.fills_quantity, order.trade_ids) == (
        D("0.25"),
        D("0.25"),
        {"t-1"},
    )


def test_a_fill_that_would_overfill_raises_naming_the_order_and_changes_nothing() -> None:
    order = accepted_order("1")
    order.apply_fill("t-1", D("0.6"), D("100"), ts_ns=T0 + 3)
    before = msgspec.to_builtins(order)
    with pytest.raises(Overfill, match=order.client_order_id):
        order.apply_fill("t-2", D("0.5"), D("100"), ts_ns=T0 + 4)
    assert msgspec.to_builtins(order) == before


def test_a_fill_with_a_non_positive_quantity_or_price_is_refused() -> None:
    order = accepted_order()
    with pytest.raises(InvalidVenueReport):
        order.apply_fill("t-1", D(0), D("100"), ts_ns=T0)
    with pytest.raises(InvalidVenueReport):
        order.apply_fill("t-1", D("0.1"), D("-1"), ts_ns=T0)


def test_average_price_is_the_quantity_weighted_mean_of_the_fills() -> None:
    order = accepted_order("3")
    order.apply_fill("t-1", D("1"), D("100"), ts_ns=T0)
    order.apply_fill("t-2", D("2"), D("103"), ts_ns=T0)
    assert order.average_price == D("102")
    assert order.fills_notional == D("306")


def test_a_fill_before_the_acknowledgement_proves_the_order_was_accepted() -> None:
    order = new_order("1")
    order.mark_sent(ts_ns=T0 + 1)
    order.apply_fill("t-1", D("0.5"), D("100"), ts_ns=T0 + 2)
    assert order.state is OrderState.PARTIALLY_FILLED
    order.apply_venue_report(report(order, VenueOrderStatus.NEW), ts_ns=T0 + 3)  # late ack
    assert (order.state, order.filled_quantity) == (OrderState.PARTIALLY_FILLED, D("0.5"))


# -- reports out of order -------------------------------------------------------------


def test_a_stale_partially_filled_report_after_filled_is_ignored() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.FILLED, "1"), ts_ns=T0 + 3)
    assert not order.apply_venue_report(
        report(order, VenueOrderStatus.PARTIALLY_FILLED, "0.5"), ts_ns=T0 + 4
    )
    assert (order.state, order.filled_quantity) == (OrderState.FILLED, D(1))


def test_a_stale_new_report_does_not_undo_a_partial_fill() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.PARTIALLY_FILLED, "0.3"), ts_ns=T0 + 3)
    assert not order.apply_venue_report(report(order, VenueOrderStatus.NEW, "0"), ts_ns=T0 + 4)
    assert (order.state, order.filled_quantity) == (OrderState.PARTIALLY_FILLED, D("0.3"))


def test_a_late_fill_after_the_terminal_report_is_still_counted() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.CANCELED, "0.4"), ts_ns=T0 + 3)
    assert order.apply_fill("t-1", D("0.4"), D("100"), ts_ns=T0 + 4)
    assert (order.state, order.filled_quantity, order.average_price) == (
        OrderState.CANCELED,
        D("0.4"),
        D("100"),
    )


def test_a_report_ahead_of_its_fills_shows_the_missing_fill_quantity() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.PARTIALLY_FILLED, "0.7"), ts_ns=T0 + 3)
    order.apply_fill("t-1", D("0.2"), D("100"), ts_ns=T0 + 4)
    assert (order.filled_quantity, order.missing_fill_quantity) == (D("0.7"), D("0.5"))


def test_a_filled_report_means_the_whole_quantity_executed() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.FILLED, "0.9"), ts_ns=T0 + 3)
    assert (order.state, order.filled_quantity) == (OrderState.FILLED, D(1))


def test_a_report_of_more_than_the_quantity_filled_raises_overfill() -> None:
    order = accepted_order("1")
    with pytest.raises(Overfill):
        order.apply_venue_report(report(order, VenueOrderStatus.PARTIALLY_FILLED, "1.5"), ts_ns=T0)


def test_a_report_about_another_order_raises() -> None:
    order = accepted_order()
    with pytest.raises(InvalidVenueReport, match="about order tw-other"):
        order.apply_venue_report(
            report(order, VenueOrderStatus.NEW, client_order_id="tw-other"), ts_ns=T0
        )
    with pytest.raises(InvalidVenueReport, match="venue order id v-2 differs"):
        order.apply_venue_report(
            report(order, VenueOrderStatus.NEW, venue_order_id="v-2"), ts_ns=T0
        )


def test_an_unknown_venue_status_raises() -> None:
    order = accepted_order()
    with pytest.raises(InvalidVenueReport, match="unknown venue order status 'HALTED'"):
        order.apply_venue_report(report(order, "HALTED"), ts_ns=T0)


def test_expired_ends_the_order_expired_with_what_filled() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, "EXPIRED", "0.2"), ts_ns=T0 + 3)
    assert (order.state, order.filled_quantity) == (OrderState.EXPIRED, D("0.2"))


def test_a_venues_own_status_name_is_not_the_domains() -> None:
    # Each adapter reads its venue's names into the port's (Binance's EXPIRED_IN_MATCH
    # is EXPIRED there); one that reaches the domain unread is refused, not guessed.
    order = accepted_order("1")
    with pytest.raises(InvalidVenueReport, match="EXPIRED_IN_MATCH"):
        order.apply_venue_report(report(order, "EXPIRED_IN_MATCH", "0.2"), ts_ns=T0 + 3)


# -- cancels and rejections -----------------------------------------------------------


def test_cancelling_an_unsent_order_cancels_it_at_once() -> None:
    order = new_order()
    assert order.request_cancel(ts_ns=T0 + 1, reason="bot stopped")
    assert (order.state, order.reason) == (OrderState.CANCELED, "bot stopped")
    with pytest.raises(InvalidTransition):
        order.mark_sent(ts_ns=T0 + 2)


def test_cancelling_an_accepted_order_is_pending_until_the_venue_confirms() -> None:
    order = accepted_order("1")
    order.apply_fill("t-1", D("0.1"), D("100"), ts_ns=T0 + 3)
    assert order.request_cancel(ts_ns=T0 + 4)
    assert order.state is OrderState.PENDING_CANCEL
    assert not order.request_cancel(ts_ns=T0 + 5)
    assert order.confirm_cancel(ts_ns=T0 + 6, filled_quantity=D("0.3"))
    assert (order.state, order.filled_quantity) == (OrderState.CANCELED, D("0.3"))
    assert not order.confirm_cancel(ts_ns=T0 + 7)


def test_a_fill_or_stale_report_during_a_pending_cancel_keeps_it_pending() -> None:
    order = accepted_order("1")
    order.request_cancel(ts_ns=T0 + 3)
    order.apply_fill("t-1", D("0.5"), D("100"), ts_ns=T0 + 4)
    order.apply_venue_report(report(order, VenueOrderStatus.NEW), ts_ns=T0 + 5)
    assert (order.state, order.filled_quantity) == (OrderState.PENDING_CANCEL, D("0.5"))


def test_an_order_that_fills_while_its_cancel_is_pending_ends_filled() -> None:
    order = accepted_order("1")
    order.request_cancel(ts_ns=T0 + 3)
    order.apply_fill("t-1", D("1"), D("100"), ts_ns=T0 + 4)
    assert order.state is OrderState.FILLED
    assert not order.mark_cancel_rejected(ts_ns=T0 + 5)  # the venue: unknown order
    assert order.state is OrderState.FILLED


def test_a_refused_cancel_returns_the_order_to_its_open_state() -> None:
    order = accepted_order("1")
    order.apply_fill("t-1", D("0.5"), D("100"), ts_ns=T0 + 3)
    order.request_cancel(ts_ns=T0 + 4)
    assert order.mark_cancel_rejected(ts_ns=T0 + 5)
    assert order.state is OrderState.PARTIALLY_FILLED


def test_a_cancel_cannot_be_requested_while_the_venue_has_not_answered() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    with pytest.raises(InvalidTransition, match="wait for the answer or look it up"):
        order.request_cancel(ts_ns=T0 + 2)


def test_confirming_or_refusing_a_cancel_nobody_requested_raises() -> None:
    order = accepted_order()
    with pytest.raises(InvalidTransition, match="no cancel was requested"):
        order.confirm_cancel(ts_ns=T0)
    with pytest.raises(InvalidTransition, match="no cancel was requested"):
        order.mark_cancel_rejected(ts_ns=T0)


def test_a_cancel_the_venue_made_on_its_own_arrives_as_a_report() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.CANCELED, "0"), ts_ns=T0 + 3)
    assert order.state is OrderState.CANCELED


def test_a_rejection_before_the_acknowledgement_is_terminal_and_idempotent() -> None:
    order = new_order()
    order.mark_sent(ts_ns=T0 + 1)
    assert order.mark_rejected("insufficient balance", ts_ns=T0 + 2)
    assert not order.mark_rejected("insufficient balance", ts_ns=T0 + 3)
    assert (order.state, order.reason, order.rejected_by) == (
        OrderState.REJECTED,
        "insufficient balance",
        "venue",
    )


def test_rejecting_an_order_the_venue_accepted_raises() -> None:
    order = accepted_order()
    with pytest.raises(InvalidTransition, match="the venue accepted it"):
        order.mark_rejected("too late", ts_ns=T0)


# -- history, events, persistence -----------------------------------------------------


def test_history_records_each_transition_with_its_time_and_cause() -> None:
    order = accepted_order("1")
    order.apply_fill("t-1", D("1"), D("100"), ts_ns=T0 + 9)
    steps = [(t.from_state, t.to_state, t.ts_ns) for t in order.history]
    assert steps == [
        (None, OrderState.NEW, T0),
        (OrderState.NEW, OrderState.SENT, T0 + 1),
        (OrderState.SENT, OrderState.ACCEPTED, T0 + 2),
        (OrderState.ACCEPTED, OrderState.FILLED, T0 + 9),
    ]
    assert order.history[-1].cause == "fill t-1"


@pytest.mark.parametrize(
    ("status", "filled", "event_type"),
    [
        (VenueOrderStatus.NEW, "0", OrderAccepted),
        (VenueOrderStatus.PARTIALLY_FILLED, "0.4", OrderPartiallyFilled),
        (VenueOrderStatus.FILLED, "1", OrderFilled),
        (VenueOrderStatus.CANCELED, "0.4", OrderCanceled),
        (VenueOrderStatus.EXPIRED, "0", OrderExpired),
    ],
)
def test_the_order_event_tells_the_state_the_venue_reported(
    status: VenueOrderStatus, filled: str, event_type: type
) -> None:
    order = new_order("1")
    order.mark_sent(ts_ns=T0 + 1)
    order.apply_venue_report(report(order, status, filled), ts_ns=T0 + 2)
    event = order_event(order, ts_ns=T0 + 3)
    assert event is not None
    assert isinstance(event, event_type)
    assert (event.client_order_id, event.account_id, event.ts_ns) == (
        order.client_order_id,
        "acct-1",
        T0 + 3,
    )


def test_a_rejection_event_carries_the_reason_and_states_only_execution_sees_have_none() -> None:
    order = new_order()
    assert order_event(order, ts_ns=T0) is None
    order.mark_rejected("symbol halted", ts_ns=T0 + 1, rejected_by="execution")
    event = order_event(order, ts_ns=T0 + 2)
    assert isinstance(event, OrderRejected)
    assert (event.reason, event.source) == ("symbol halted", "execution")


def test_a_tracked_order_round_trips_through_msgpack() -> None:
    order = accepted_order("1")
    order.apply_fill("t-1", D("0.5"), D("100.5"), ts_ns=T0 + 3)
    restored = msgspec.msgpack.decode(msgspec.msgpack.encode(order), type=TrackedOrder)
    assert restored == order
    assert not restored.apply_fill("t-1", D("0.5"), D("100.5"), ts_ns=T0 + 4)


# -- properties: random venue histories, duplicated and reordered ---------------------

QTY_STEP = D("0.001")
Message = tuple[Any, ...]  # ("report", status, filled) | ("fill", id, qty, price) | (step,)
TrueFill = tuple[str, Decimal, Decimal]  # trade id, quantity, price


@st.composite
def venue_messages(draw: st.DrawFn) -> tuple[Decimal, list[TrueFill], list[Message]]:
    """An order's true history at a consistent venue — its fills and the cumulative
    reports between them — then delivered with duplicates, reordered, with our own
    steps and impossible fills mixed in."""
    quantity = draw(st.integers(1, 2_000)) * QTY_STEP
    steps = int(quantity / QTY_STEP)
    executed_steps = draw(st.one_of(st.just(steps), st.integers(0, steps)))
    # Up to 8 fills: cut the executed steps at distinct points.
    cuts = draw(st.sets(st.integers(1, max(executed_steps - 1, 1)), max_size=7))
    bounds = [0, *sorted(c for c in cuts if c < executed_steps), executed_steps]
    sizes = [b - a for a, b in itertools.pairwise(bounds) if b > a]
    fills = [
        (
            f"t-{n}",
            size * QTY_STEP,
            D(draw(st.integers(1, 10**9))).scaleb(-draw(st.integers(0, 8))),
        )
        for n, size in enumerate(sizes)
    ]
    truth: list[Message] = [("report", "NEW", D(0))]
    cumulative = D(0)
    for fill in fills:
        cumulative += fill[1]
        truth.append(("fill", *fill))
        truth.append(("report", "PARTIALLY_FILLED", cumulative))
    if cumulative == quantity:
        truth.append(("report", "FILLED", cumulative))
    else:
        end = draw(st.sampled_from(["CANCELED", "EXPIRED", "REJECTED", None]))
        if end == "REJECTED" and cumulative:
            end = "CANCELED"
        if end is not None:
            truth.append(("report", end, cumulative))
    delivered = [m for m in truth for _ in range(draw(st.integers(1, 2)))]
    own_steps = st.sampled_from(
        [
            ("sent",),
            ("unknown",),
            ("not_found",),
            ("cancel",),
            ("confirm_cancel",),
            ("cancel_rejected",),
            ("rejected",),
            ("overfill",),
        ]
    )
    delivered += draw(st.lists(own_steps, max_size=6))
    return quantity, fills, draw(st.permutations(delivered))


def apply_message(order: TrackedOrder, message: Message, ts_ns: int) -> None:
    kind = message[0]
    if kind == "report":
        order.apply_venue_report(report(order, message[1], str(message[2])), ts_ns=ts_ns)
    elif kind == "fill":
        order.apply_fill(message[1], message[2], message[3], ts_ns=ts_ns)
    elif kind == "overfill":
        before = msgspec.to_builtins(order)
        with pytest.raises(Overfill):
            order.apply_fill(
                "t-bogus", order.quantity - order.fills_quantity + QTY_STEP, D(1), ts_ns=ts_ns
            )
        assert msgspec.to_builtins(order) == before
    else:
        steps = {
            "sent": order.mark_sent,
            "unknown": order.mark_unknown,
            "not_found": order.mark_not_found,
            "cancel": order.request_cancel,
            "confirm_cancel": order.confirm_cancel,
            "cancel_rejected": order.mark_cancel_rejected,
        }
        try:
            if kind == "rejected":
                order.mark_rejected("refused", ts_ns=ts_ns)
            else:
                steps[kind](ts_ns=ts_ns)
        except InvalidTransition as error:
            assert error.from_state is order.state  # refused, and nothing moved


@settings(max_examples=300)
@given(venue_messages())
def test_duplicated_and_reordered_venue_messages_keep_the_order_consistent(
    scenario: tuple[Decimal, list[TrueFill], list[Message]],
) -> None:
    quantity, fills, messages = scenario
    order = new_order(str(quantity))
    terminal: OrderState | None = None
    previous_filled = D(0)
    for step, message in enumerate(messages, start=1):
        state_before = order.state
        apply_message(order, message, T0 + step)
        if message[0] in ("report", "fill"):
            assert_not_backwards(state_before, order.state)
        assert previous_filled <= order.filled_quantity <= order.quantity
        previous_filled = order.filled_quantity
        if terminal is not None:
            assert order.state is terminal
        elif order.state.is_terminal:
            terminal = order.state
        assert order.history[-1].to_state is order.state
        if order.state in (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED):
            assert (order.state is OrderState.PARTIALLY_FILLED) == (order.filled_quantity > 0)
        if order.filled_quantity == order.quantity:
            assert order.state.is_terminal
        seen = [f for f in fills if f[0] in order.trade_ids]
        assert order.fills_quantity == sum((f[1] for f in seen), D(0))
        assert order.fills_quantity <= order.filled_quantity
        assert_average_price_is_the_exact_mean(order, seen)
    event(f"ends {order.state}")
    # Every true fill was delivered at least once, and counted once.
    assert order.trade_ids == {f[0] for f in fills}
    assert order.fills_quantity == sum((f[1] for f in fills), D(0))


# Where an order stands, as far as the venue's messages can take it: they only move it
# forward (our own steps may go back, e.g. a refused cancel or a lookup that found nothing).
PROGRESS = {
    OrderState.NEW: 0,
    OrderState.SENT: 0,
    OrderState.UNKNOWN: 0,
    OrderState.ACCEPTED: 1,
    OrderState.PARTIALLY_FILLED: 2,
    OrderState.PENDING_CANCEL: 3,
}


def assert_not_backwards(before: OrderState, after: OrderState) -> None:
    if before.is_terminal or after.is_terminal:
        return
    assert PROGRESS[after] >= PROGRESS[before], f"{before} -> {after}"


def assert_average_price_is_the_exact_mean(order: TrackedOrder, fills: list[TrueFill]) -> None:
    if not fills:
        assert order.average_price is None
        return
    notional = sum((Fraction(q) * Fraction(p) for _, q, p in fills), Fraction(0))
    quantity = sum((Fraction(q) for _, q, _ in fills), Fraction(0))
    assert Fraction(order.fills_notional) == notional  # the sum itself never rounds
    assert order.average_price == quotient(order.fills_notional, order.fills_quantity)
    exact_mean = notional / quantity
    assert abs(Fraction(order.average_price) - exact_mean) <= exact_mean * Fraction(1, 10**33)


# -- settled (what reconciliation's trade-history reading may skip) --------------------


def test_an_order_the_venue_reported_terminal_with_all_its_fills_is_settled() -> None:
    order = accepted_order("1")
    order.apply_venue_report(report(order, VenueOrderStatus.CANCELED, "0.4"), ts_ns=T0 + 3)
    assert not order.settled  # an execution of 0.4 the fills do not show yet
    order.apply_fill("t-1", D("0.4"), D("100"), ts_ns=T0 + 4)
    assert order.settled
    filled = accepted_order("1")
    filled.apply_fill("t-2", D("1"), D("100"), ts_ns=T0 + 3)
    assert filled.state is OrderState.FILLED and filled.settled


def test_an_open_given_up_or_restored_order_is_not_settled() -> None:
    assert not accepted_order("1").settled
    given_up = new_order()
    given_up.mark_sent(ts_ns=T0 + 1)
    given_up.mark_unknown(ts_ns=T0 + 2)
    given_up.mark_not_found(ts_ns=T0 + 3)
    given_up.mark_rejected("not placed", ts_ns=T0 + 4, rejected_by="execution")
    assert given_up.state is OrderState.REJECTED and not given_up.settled
    gave_up_sending = new_order()
    gave_up_sending.mark_sent(ts_ns=T0 + 1)
    gave_up_sending.mark_rejected("not placed", ts_ns=T0 + 2, rejected_by="execution")
    assert not gave_up_sending.settled
    refused = new_order()
    refused.mark_sent(ts_ns=T0 + 1)
    refused.mark_rejected("insufficient balance", ts_ns=T0 + 2, rejected_by="venue")
    assert refused.settled
    # Read back from the orders table (a trade the history found for it): how it ended
    # is the table's word, not the venue's.
    restored = msgspec.structs.replace(
        refused,
        state=OrderState.CANCELED,
        history=[Transition(T0 + 3, None, OrderState.CANCELED, "restored from the orders table")],
    )
    assert not restored.settled


def test_an_order_never_sent_is_settled() -> None:
    blocked = new_order()
    blocked.mark_rejected("kill switch", ts_ns=T0 + 1, rejected_by="risk")
    assert blocked.settled
    canceled = new_order()
    canceled.request_cancel(ts_ns=T0 + 1)
    assert canceled.settled
