from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tradewind.bus.envelope import (
    SCHEMA_VERSION,
    Envelope,
    UnreadableEvent,
    decode,
    encode,
    envelope,
    new_event_id,
)
from tradewind.domain.events import Fill, OrderIntent
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side

BTC = Instrument.parse("sim", "BTC/USDT")


def intent(price: str = "27123.45") -> OrderIntent:
    return OrderIntent(
        account_id="acct-1",
        bot_id="bot-1",
        intent_id="i-1",
        instrument=BTC,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.00100000"),
        price=Decimal(price),
        ts_ns=1,
    )


def test_event_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [new_event_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_an_envelope_round_trips_with_exact_decimals() -> None:
    env = envelope(intent("0.1"), "acct-1")
    back = decode(encode(env))
    assert back == env
    assert isinstance(back.payload, OrderIntent)
    assert back.payload.price == Decimal("0.1")
    assert str(back.payload.quantity) == "0.00100000"  # scale kept, not just value


def test_the_envelope_type_is_the_payload_tag_and_a_new_trace_starts() -> None:
    env = envelope(intent(), "acct-1")
    assert env.type == "order.intent"
    assert env.trace_id == env.event_id
    assert env.schema_version == SCHEMA_VERSION


def test_a_trace_id_follows_the_order() -> None:
    first = envelope(intent(), "acct-1")
    fill = Fill(
        account_id="acct-1",
        client_order_id="c-1",
        venue_order_id="v-1",
        trade_id="t-1",
        instrument=BTC,
        side=Side.BUY,
        price=Decimal("27000"),
        quantity=Decimal("0.001"),
        fee=Decimal("0.000001"),
        fee_asset="BTC",
        liquidity=Liquidity.TAKER,
        ts_ns=2,
    )
    second = envelope(fill, "acct-1", trace_id=first.trace_id)
    assert second.trace_id == first.trace_id != second.event_id


def test_garbage_is_unreadable_with_a_reason() -> None:
    with pytest.raises(UnreadableEvent, match="cannot decode"):
        decode(b"\x00not msgpack")


def test_an_unknown_event_type_is_unreadable() -> None:
    raw = bytearray(encode(envelope(intent(), "k")))
    raw = raw.replace(b"order.intent", b"order.mystic")
    with pytest.raises(UnreadableEvent, match=r"order\.mystic"):
        decode(bytes(raw))


def test_a_newer_schema_version_is_refused_naming_both_versions() -> None:
    env = envelope(intent(), "k")
    newer = msgspec.structs.replace(env, schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(UnreadableEvent, match=f"schema version {SCHEMA_VERSION + 1}"):
        decode(encode(newer))


def test_events_are_immutable() -> None:
    env: Envelope = envelope(intent(), "k")
    with pytest.raises(AttributeError):
        env.key = "other"  # type: ignore[misc]
