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
from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.commands import BalancesRequested, BotCommand, OrderCancelRequest, OrderIntent
from tradewind.domain.events import Fill
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


def test_a_fill_published_before_it_carried_a_quote_quantity_still_decodes() -> None:
    # Fills on a bus, in an outbox or in a bot's stored state were written without the
    # field: they decode with None, and their quote amount is price x quantity.
    fill = Fill(
        account_id="acct-1",
        client_order_id="c-1",
        venue_order_id="v-1",
        trade_id="t-1",
        instrument=BTC,
        side=Side.SELL,
        price=Decimal("27000.01"),
        quantity=Decimal("0.003"),
        fee=Decimal("0.081"),
        fee_asset="USDT",
        liquidity=Liquidity.MAKER,
        ts_ns=2,
        quote_quantity=Decimal("81.00003"),
    )
    wire = msgspec.msgpack.decode(encode(envelope(fill, "acct-1")))
    del wire[-1]["quote_quantity"]  # the payload as older code wrote it
    old = decode(msgspec.msgpack.encode(wire))
    assert isinstance(old.payload, Fill)
    assert old.payload == msgspec.structs.replace(fill, quote_quantity=None)
    assert old.payload.quote_amount == Decimal("81.00003")


def test_a_fill_round_trips_with_its_quote_quantity_exact() -> None:
    fill = Fill(
        account_id="acct-1",
        client_order_id="c-1",
        venue_order_id="v-1",
        trade_id="t-1",
        instrument=Instrument.parse("sim", "ETH/BTC"),
        side=Side.BUY,
        price=Decimal("0.09128012"),
        quantity=Decimal("0.12345"),
        fee=Decimal("0.00012345"),
        fee_asset="ETH",
        liquidity=Liquidity.TAKER,
        ts_ns=2,
        quote_quantity=Decimal("0.01126853"),
    )
    back = decode(encode(envelope(fill, "acct-1"))).payload
    assert back == fill
    assert isinstance(back, Fill) and back.quote_amount == Decimal("0.01126853")


def test_commands_travel_in_the_same_envelope_under_their_wire_tags() -> None:
    # Commands live apart from events (domain.commands) but their wire form is as it
    # was: the same `type` tags and field names, decoded by the one envelope decoder.
    commands = [
        intent(),
        OrderCancelRequest(
            account_id="acct-1",
            bot_id="bot-1",
            intent_id="i-1",
            client_order_id="c-1",
            instrument=BTC,
            reason="bot stopped",
            ts_ns=1,
        ),
        BalancesRequested(account_id="acct-1", requested_by="risk", ts_ns=1),
        BotCommand(
            account_id="acct-1", bot_id="bot-1", action=BotAction.STOP, issued_by="u1", ts_ns=1
        ),
    ]
    tags = ["order.intent", "order.cancel_request", "account.balances_requested", "bot.command"]
    for command, tag in zip(commands, tags, strict=True):
        env = envelope(command, "acct-1")
        assert env.type == tag
        assert decode(encode(env)).payload == command
    wire = msgspec.msgpack.decode(msgspec.msgpack.encode(commands[3]))
    assert wire == {
        "type": "bot.command",
        "account_id": "acct-1",
        "bot_id": "bot-1",
        "action": "stop",
        "issued_by": "u1",
        "ts_ns": 1,
    }
