"""Every strategy parameter is bounded where it is declared, and no parameter of any
strategy (plug-ins included) may hold a number decimal arithmetic overflows on; so a
bot saved with such a value is refused when the strategy service loads it, instead of
crashing into `decimal.Overflow` and being paused later."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.strategies import registry
from tradewind.strategies.dca import DcaParams, DcaStrategy
from tradewind.strategies.errors import InvalidParams, ParamError
from tradewind.strategies.params import Amount, StrategyParams, parse_params

from .factories import T0, D, ScriptedContext, market
from .plugin_strategy import EchoStrategy

HUGE = "1E+999999999"


@pytest.mark.parametrize(
    ("strategy", "params", "field"),
    [
        ("dca", {"symbol": "BTC/USDT", "quote_amount": HUGE}, "quote_amount"),
        ("dca", {"symbol": "BTC/USDT", "quote_amount": "1", "interval_s": 2**63}, "interval_s"),
        ("dca", {"symbol": "x", "quote_amount": "1"}, "symbol"),
        ("grid", {"symbol": "BTC/USDT", "lower": "1", "upper": HUGE, "order_value": "1"},
         "upper"),
        ("grid", {"symbol": "BTC/USDT", "lower": "1", "upper": "2", "order_value": "Infinity"},
         "order_value"),
        ("momentum", {"symbol": "BTC/USDT", "stop_loss": "NaN"}, "stop_loss"),
        ("rebalance", {"basket": ["BTC/USDT"], "weighting": "market_cap",
                       "market_caps": {"BTC/USDT": HUGE}}, "market_caps.BTC/USDT"),
        ("rebalance", {"basket": ["BTC/USDT"], "cash_reserve": "-1E+999999999"}, "cash_reserve"),
    ],
)  # fmt: skip
def test_what_the_service_builds_bots_with_refuses_unusable_values(
    strategy: str, params: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidParams) as refused:
        registry.create(strategy, params)
    assert refused.value.field == field
    assert "999999999" not in str(refused.value)


def test_params_built_directly_are_bounded_too() -> None:
    with pytest.raises(ParamError, match="at most 1000000000000"):
        DcaParams(symbol="BTC/USDT", quote_amount=Decimal(HUGE))


def test_a_plug_in_without_declared_bounds_still_gets_no_unusable_number() -> None:
    for raw, field in [
        ({"quantity": HUGE}, "quantity"),
        ({"quantity": "1E-40"}, "quantity"),
        ({"every": 2**62}, "every"),
    ]:
        with pytest.raises(InvalidParams) as refused:
            EchoStrategy.parse_params(raw)
        assert refused.value.field == field


class ForgetfulParams(StrategyParams, frozen=True):
    """A plug-in's params whose own check forgets to call super().__post_init__()."""

    amount: Amount = Decimal(1)

    def __post_init__(self) -> None:
        pass


def test_declared_bounds_hold_even_when_a_plug_in_skips_super() -> None:
    with pytest.raises(InvalidParams) as refused:
        parse_params("forgetful", ForgetfulParams, {"amount": "0"})
    assert (refused.value.field, "greater than 0" in str(refused.value)) == ("amount", True)


def test_the_largest_allowed_dca_buy_computes_without_overflow() -> None:
    symbol = "BTC/USDT"
    strategy = DcaStrategy.from_params(
        {"symbol": symbol, "quote_amount": "1000000000000", "dip_multiplier": "100"}
    )
    ctx = ScriptedContext(strategy, {symbol: market(symbol)}, free={"USDT": D(10**12)})
    ctx.prices[symbol] = D("0.00000001")
    ctx.now_ns = T0
    strategy.on_timer(ctx, T0)  # no decimal.Overflow, nor any other decimal trap
    [buy] = ctx.take_submitted()
    assert buy.quantity * D("0.00000001") <= D(10**12)
