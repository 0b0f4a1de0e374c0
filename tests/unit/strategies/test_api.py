"""The strategy API: parameters (defaults, validation naming the field, JSON schema),
intent ids, and state that survives a restart."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

from tradewind.errors import ConfigError
from tradewind.strategies.api import client_order_id_for
from tradewind.strategies.dca import DcaStrategy
from tradewind.strategies.errors import InvalidParams, ParamError, StrategyStateError
from tradewind.strategies.grid import GridStrategy
from tradewind.strategies.rebalance import RebalanceParams, RebalanceStrategy

from .factories import D, ScriptedContext, bar, market
from .plugin_strategy import EchoParams, EchoStrategy


def test_params_fill_in_defaults_and_read_decimals_exactly() -> None:
    params = RebalanceStrategy.parse_params(
        {"basket": ["ETH/BTC", "LTC/BTC"], "quote": "BTC", "drift_threshold": 0.1}
    )

    assert isinstance(params, RebalanceParams)
    assert params.basket == ("ETH/BTC", "LTC/BTC")
    assert params.drift_threshold == D("0.1")  # a JSON/float 0.1 is read as "0.1"
    assert params.rebalance_interval_s == 86_400
    assert params.weighting == "fixed"


@pytest.mark.parametrize(
    ("raw", "field", "says"),
    [
        ({"symbol": "ETH/BTC"}, "quote_amount", "missing required field"),
        ({"symbol": "ETH/BTC", "quote_amount": "abc"}, "quote_amount", "decimal"),
        ({"symbol": "ETH/BTC", "quote_amount": "-1"}, "quote_amount", "greater than 0"),
        ({"symbol": "ETH/BTC", "quote_amount": "NaN"}, "quote_amount", "finite"),
        ({"symbol": "ETHBTC", "quote_amount": "1"}, "symbol", "BASE/QUOTE"),
        ({"symbol": "ETH/BTC", "quote_amount": "1", "interval_s": 0}, "interval_s", ">= 1"),
        ({"symbol": "ETH/BTC", "quote_amount": "1", "colour": "red"}, "colour", "unknown"),
        (
            {"symbol": "ETH/BTC", "quote_amount": "1", "dip_multiplier": "0.5"},
            "dip_multiplier",
            "at least 1",
        ),
    ],
)
def test_bad_params_raise_an_error_naming_the_field(
    raw: dict[str, object], field: str, says: str
) -> None:
    with pytest.raises(InvalidParams) as caught:
        DcaStrategy.parse_params(raw)

    assert caught.value.field == field
    assert caught.value.strategy == "dca"
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value).startswith(f"dca.{field}: ")
    assert says in str(caught.value)


def test_a_nested_bad_value_names_its_path() -> None:
    with pytest.raises(InvalidParams) as caught:
        RebalanceStrategy.parse_params({"basket": ["ETH/BTC", "ETH-BTC"], "quote": "BTC"})
    assert caught.value.field == "basket[1]"

    with pytest.raises(InvalidParams) as caught:
        RebalanceStrategy.parse_params(
            {"basket": ["ETH/BTC"], "quote": "BTC", "weights": {"ETH/BTC": "x"}}
        )
    assert caught.value.field == "weights"


def test_params_built_directly_are_checked_too() -> None:
    with pytest.raises(ParamError) as caught:
        EchoParams(quantity=D(0))
    assert caught.value.field == "quantity"
    assert isinstance(caught.value, ValueError)


def test_params_schema_is_a_json_schema_with_defaults_for_the_gateway() -> None:
    schema = GridStrategy.params_schema()

    definition = schema["$defs"][schema["$ref"].split("/")[-1]]
    assert set(definition["required"]) == {"symbol", "lower", "upper", "order_value"}
    assert definition["properties"]["levels"] == {
        "type": "integer",
        "minimum": 2,
        "maximum": 500,
        "default": 10,
    }
    assert definition["properties"]["spacing"]["enum"] == ["arithmetic", "geometric"]
    assert definition["properties"]["lower"] == {
        "type": "string",
        "format": "decimal",
        "exclusiveMinimum": 0,
        "maximum": 10**12,
        "x-decimal-places": 18,
    }
    assert definition["additionalProperties"] is False
    json.dumps(schema)  # serialisable as is


def test_a_strategy_refuses_another_strategys_params() -> None:
    with pytest.raises(TypeError, match="params must be DcaParams"):
        DcaStrategy(EchoParams())  # type: ignore[arg-type]


def test_intent_ids_are_bot_id_and_a_sequence_that_never_repeats() -> None:
    strategy = EchoStrategy(EchoParams())

    ids = [strategy.next_intent_id("bot-7") for _ in range(3)]

    assert ids == ["bot-7:1", "bot-7:2", "bot-7:3"]
    assert strategy.intent_sequence == 3


def test_client_order_ids_are_derived_deterministically_and_fit_binance() -> None:
    ids = {client_order_id_for("acct", "b" * 32, f"{'b' * 32}:{n}") for n in range(1000)}

    assert len(ids) == 1000
    assert all(re.fullmatch(r"tw-[a-z2-7]{32}", cid) for cid in ids)  # 35 <= 36 chars
    assert client_order_id_for("a", "bot-1", "bot-1:5") == client_order_id_for(
        "a", "bot-1", "bot-1:5"
    )


def test_state_round_trips_memory_and_the_intent_sequence() -> None:
    before = EchoStrategy(EchoParams())
    ctx = ScriptedContext(before, {"ETH/BTC": market()})
    before.on_bar(ctx, bar("ETH/BTC", "0.05"))
    before.on_bar(ctx, bar("ETH/BTC", "0.051"))

    after = EchoStrategy(EchoParams())
    after.restore(before.state())

    assert after.memory == before.memory
    assert after.memory.last_close == D("0.051")
    assert after.intent_sequence == 2
    assert after.next_intent_id("bot-1") == "bot-1:3"  # a restart does not reuse ids


def test_a_restored_strategy_decides_exactly_as_one_that_never_stopped() -> None:
    """Redelivering the events after the saved state gives the same intent ids, which is
    what lets the venue's dedupe by client order id place each order once."""
    markets = {"ETH/BTC": market()}
    bars = [bar("ETH/BTC", f"0.05{i}", open_ns=i) for i in range(6)]
    uninterrupted = EchoStrategy(EchoParams(every=2))
    ctx = ScriptedContext(uninterrupted, markets)
    for b in bars:
        uninterrupted.on_bar(ctx, b)

    first = EchoStrategy(EchoParams(every=2))
    first_ctx = ScriptedContext(first, markets)
    for b in bars[:3]:
        first.on_bar(first_ctx, b)
    saved = first.state()
    second = EchoStrategy(EchoParams(every=2))
    second.restore(saved)
    second_ctx = ScriptedContext(second, markets)
    for b in bars[3:]:
        second.on_bar(second_ctx, b)

    ids = [s.intent_id for s in first_ctx.submitted + second_ctx.submitted]
    assert ids == [s.intent_id for s in ctx.submitted] == ["bot-1:1", "bot-1:2", "bot-1:3"]


def test_restoring_another_strategys_state_is_refused() -> None:
    with pytest.raises(StrategyStateError, match="belongs to strategy 'echo'"):
        DcaStrategy.from_params({"symbol": "ETH/BTC", "quote_amount": "1"}).restore(
            EchoStrategy(EchoParams()).state()
        )


def test_restoring_a_state_of_another_memory_version_is_refused() -> None:
    state = EchoStrategy(EchoParams()).state()

    class EchoV2(EchoStrategy):
        memory_version = 2

    with pytest.raises(StrategyStateError, match="version 1, this code reads version 2"):
        EchoV2(EchoParams()).restore(state)


def test_restoring_garbage_is_refused_with_a_clear_error() -> None:
    with pytest.raises(StrategyStateError, match="unreadable"):
        EchoStrategy(EchoParams()).restore(b"\x93not a snapshot")
    bad_memory = msgspec.msgpack.encode(
        ["echo", 1, 0, msgspec.Raw(msgspec.msgpack.encode({"bars_seen": "x"}))]
    )
    with pytest.raises(StrategyStateError, match="memory is unreadable"):
        EchoStrategy(EchoParams()).restore(bad_memory)
