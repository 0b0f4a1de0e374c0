"""The next rebalance's preview: the strategy's own plan over its own targets, what it
trades and pays in fees, and the weights, concentration and largest weight before and
after the planned fills. Hand-checked numbers; money exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.model import Side
from tradewind.strategies.rebalance import PlannedOrder, RebalanceParams, RebalanceStrategy
from tradewind.strategies.rebalance_preview import (
    RebalanceNotPlannable,
    preview_rebalance,
)

from .factories import D, market

BTC, ETH = "BTC/USDT", "ETH/USDT"
MARKETS = {BTC: market(BTC, tick="0.01", step="0.001", min_notional="5"),
           ETH: market(ETH, tick="0.01", step="0.001", min_notional="5")}  # fmt: skip


def params(**overrides: object) -> RebalanceParams:
    raw: dict[str, object] = {
        "basket": [BTC, ETH],
        "weights": {BTC: "3", ETH: "1"},
        "cash_reserve": "0.2",
    }
    raw.update(overrides)
    parsed = RebalanceStrategy.parse_params(raw)
    assert isinstance(parsed, RebalanceParams)
    return parsed


def test_a_fixed_weight_plan_sells_first_and_reports_trade_fees_and_weights() -> None:
    """Equity 1,000 USDT + 10 ETH x 200 = 3,000. Targets (3:1 less a 20 % reserve):
    BTC 0.6 (1,800), ETH 0.2 (600): sell 7 ETH (1,400), buy 0.06 BTC (1,800; the
    budget 1,000 + 1,400 - 600 reserve pays it whole)."""
    preview = preview_rebalance(
        params(),
        balances={"USDT": D(1000), "ETH": D(10), "DOGE": D(5)},  # DOGE: not the bot's
        prices={BTC: D(30000), ETH: D(200)},
        markets=MARKETS,
        fee_rate=D("0.001"),
    )

    assert preview.orders == [
        PlannedOrder(Side.SELL, ETH, D(7), D(1400)),
        PlannedOrder(Side.BUY, BTC, D("0.06"), D(1800)),
    ]
    assert (preview.quote, preview.equity, preview.traded) == ("USDT", D(3000), D(3200))
    assert preview.traded_fraction == pytest.approx(3200 / 3000)
    assert (preview.fee_rate, preview.fees) == (D("0.001"), D("3.2"))
    # after: USDT 1,000 + 1,400 - 1,800 - 3.2 fees = 596.8; BTC 1,800; ETH 3 x 200 = 600
    after_total = 596.8 + 1800 + 600
    assert [w.asset for w in preview.weights] == ["BTC", "ETH", "USDT"]
    expected = [(0.0, 1800 / after_total), (2 / 3, 600 / after_total), (1 / 3, 596.8 / after_total)]
    for weight, (before, after) in zip(preview.weights, expected, strict=True):
        assert (weight.before, weight.after) == pytest.approx((before, after))
    assert preview.before.concentration == pytest.approx(4 / 9 + 1 / 9)
    assert preview.before.largest_weight == pytest.approx(2 / 3)
    assert preview.after.concentration == pytest.approx(
        (1800**2 + 600**2 + 596.8**2) / after_total**2
    )
    assert preview.after.largest_weight == pytest.approx(1800 / after_total)


def test_quantities_round_down_to_the_step_and_small_trades_are_skipped() -> None:
    """Equity 1,000 USDT; targets BTC 0.6 (600 → 0.0218... BTC, 0.021 on the step),
    ETH 0.2 (200 → 0.733... ETH, 0.733). ETH's minimum notional of 500 skips it."""
    markets = {BTC: MARKETS[BTC], ETH: market(ETH, tick="0.01", step="0.001", min_notional="500")}
    preview = preview_rebalance(
        params(),
        balances={"USDT": D(1000)},
        prices={BTC: D(27500), ETH: D("272.5")},
        markets=markets,
        fee_rate=D("0.001"),
    )

    assert preview.orders == [PlannedOrder(Side.BUY, BTC, D("0.021"), D("577.500"))]
    assert preview.fees == D("0.5775")


def test_money_is_exact_decimal_and_unknown_filters_round_nothing() -> None:
    """Equity 3 x 0.1 = 0.3; A weighs 0 (sold whole, 0.3), B 0.99 of it (1 % reserve):
    0.297 buys 1.485 B at 0.2, unrounded. Floats would not add these up exactly."""
    a, b = "A/USDT", "B/USDT"
    preview = preview_rebalance(
        RebalanceParams(basket=(a, b), weights={a: D(0), b: D(1)}, cash_reserve=D("0.01")),
        balances={"A": D(3)},
        prices={a: D("0.1"), b: D("0.2")},
        markets=None,
        fee_rate=D("0.001"),
    )

    assert preview.orders == [
        PlannedOrder(Side.SELL, a, D(3), D("0.3")),
        PlannedOrder(Side.BUY, b, D("1.485"), D("0.297")),
    ]
    money = (preview.equity, preview.traded, preview.fees)
    assert money == (D("0.3"), D("0.597"), D("0.000597"))
    assert all(type(amount) is Decimal for amount in money)
    # after: USDT 0.3 - 0.297 - 0.000597 = 0.002403 of 0.299403; B 0.297; A 0
    usdt = next(w for w in preview.weights if w.asset == "USDT")
    assert (usdt.before, usdt.after) == pytest.approx((0.0, 0.002403 / 0.299403))


def test_a_missing_price_names_the_symbol_and_momentum_needs_history() -> None:
    with pytest.raises(RebalanceNotPlannable, match="no last price yet for ETH/USDT"):
        preview_rebalance(
            params(),
            balances={"USDT": D(1000)},
            prices={BTC: D(30000)},
            markets=MARKETS,
            fee_rate=D("0.001"),
        )
    with pytest.raises(RebalanceNotPlannable, match="momentum weighting needs 4 closes"):
        preview_rebalance(
            params(weighting="momentum", momentum_bars=3),
            balances={"USDT": D(1000)},
            prices={BTC: D(30000), ETH: D(200)},
            markets=MARKETS,
            fee_rate=D("0.001"),
        )


def test_with_nothing_to_trade_the_weights_stay_and_nothing_is_paid() -> None:
    """Already at target: 0.6 x 3,000 in BTC, 0.2 in ETH, 0.2 in USDT."""
    preview = preview_rebalance(
        params(),
        balances={"USDT": D(600), "BTC": D("0.06"), "ETH": D(3)},
        prices={BTC: D(30000), ETH: D(200)},
        markets=MARKETS,
        fee_rate=D("0.001"),
    )

    assert (preview.orders, preview.traded, preview.fees) == ([], D(0), D(0))
    assert preview.traded_fraction == 0.0
    assert [w.asset for w in preview.weights] == ["BTC", "ETH", "USDT"]
    assert [(w.before, w.after) for w in preview.weights] == [
        pytest.approx((0.6, 0.6)),
        pytest.approx((0.2, 0.2)),
        pytest.approx((0.2, 0.2)),
    ]
    assert preview.before == preview.after
