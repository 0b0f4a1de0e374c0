"""What one read of the Redis bus asks for, and what a partition stream's entry holds."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tradewind.bus.envelope import UnreadableEvent, encode, envelope
from tradewind.bus.redis_leases import Unit
from tradewind.bus.redis_reading import entry_envelope, read_window, unreadable_entry
from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import DeadLetter
from tradewind.domain.model import Instrument, OrderType, Side

UNITS: list[Unit] = [("t", p) for p in range(5)]


def test_a_read_asks_every_partition_for_its_share_when_they_fit() -> None:
    units, count, rotation = read_window(UNITS, 12, 0)
    assert (units, count, rotation) == (UNITS, 2, 0)


def test_more_partitions_than_the_batch_take_turns_one_entry_each() -> None:
    turns: list[list[Unit]] = []
    rotation = 0
    for _ in range(3):
        units, count, rotation = read_window(UNITS, 2, rotation)
        assert count == 1
        turns.append(units)
    assert turns == [UNITS[0:2], UNITS[2:4], [UNITS[4], UNITS[0]]]


def test_an_entry_holds_its_envelope_in_field_e() -> None:
    intent = OrderIntent(
        account_id="acct-1",
        bot_id="bot-1",
        intent_id="i-1",
        instrument=Instrument.parse("sim", "BTC/USDT"),
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.001"),
        price=Decimal("27123.45"),
        ts_ns=1,
    )
    env = envelope(intent, "acct-1")
    assert entry_envelope([b"e", encode(env)]) == env


def test_an_entry_without_field_e_is_dead_lettered_whole_keyed_by_where_it_stands() -> None:
    fields = [b"x", b"1", b"y", b"2"]
    with pytest.raises(UnreadableEvent) as caught:
        entry_envelope(fields)
    topic, letter = unreadable_entry(("orders", 3), b"17-0", fields, "risk", caught.value.reason)
    assert topic == "orders.dlq"
    assert letter.key == "orders/3/17-0"
    given_up = letter.payload
    assert isinstance(given_up, DeadLetter)
    assert (given_up.group, given_up.attempts, given_up.reason) == (
        "risk",
        0,
        "cannot decode event: the entry has no field 'e'",
    )
    assert msgspec.msgpack.decode(given_up.raw) == fields
